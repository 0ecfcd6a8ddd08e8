/**
 * The real peer: etcd 3.4 (Debian's etcd-server package), three members on 127.0.0.1 with their data in
 * the run's temp root (the same disk as raft-ipam's), driven through its JSON gateway by the same load
 * generator and HTTP client as raft-ipam. Timing settings match the raft-ipam nodes' (timing.ts): the same
 * minimum election timeout (etcd randomizes it up to 2× as raft-ipam does) and heartbeat interval (at most
 * a fifth of the timeout: etcd refuses less), pre-vote
 * on (raft-ipam always pre-votes).
 *
 * Rows: plain durable puts; an address allocation built the way one is built on etcd — a key per address
 * (/ipam/<net>/<address as 8 hex digits>, so keys sort by address), the lowest free one found with a
 * linearizable range read from the client's cursor, claimed with a transaction whose compare is
 * create_revision == 0, retried on conflict; and failover (in failover.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Compiled } from './compiled.js';
import { onCleanup } from './cleanup.js';
import { JsonHttp } from './http.js';
import { sleep, startChild, type Child } from './proc.js';
import { Acks, type LoadTarget, type PreparedRow } from './targets.js';
import { electionTimeoutMs, etcdHeartbeatMs } from './timing.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
/** The first key after every key with this prefix (etcd's range_end for a prefix). */
const prefixEnd = (prefix: string): string => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

/** Install Debian's etcd-server when `etcd` is missing (only ever called with --peer etcd). */
export function ensureEtcd(): string {
  const which = (): string => spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  let path = which();
  if (path === '') {
    console.log('etcd not found: apt-get install -y etcd-server');
    const install = (): boolean => spawnSync('apt-get', ['install', '-y', 'etcd-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
    if (!install()) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit' });
      if (!install()) throw new Error('apt-get install -y etcd-server failed');
    }
    path = which();
    if (path === '') throw new Error('etcd-server installed but `etcd` is not on PATH');
  }
  return path;
}

export function etcdVersion(bin: string): string {
  return /etcd Version: (\S+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
}

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  child: Child | undefined;
  http: JsonHttp;
  /** etcd's member id (decimal string, as the gateway prints uint64). */
  id?: string;
}

export class EtcdCluster {
  readonly members: Member[] = [];

  private constructor(
    private readonly bin: string,
    private readonly root: string,
  ) {}

  static async start(bin: string, c: Compiled, root: string, connections: number): Promise<EtcdCluster> {
    const cluster = new EtcdCluster(bin, join(root, 'etcd'));
    await mkdir(cluster.root, { recursive: true });
    const ports = await c.freePorts(6);
    for (let i = 0; i < 3; i++) {
      const clientUrl = `http://127.0.0.1:${ports[2 * i]}`;
      cluster.members.push({ name: `e${i + 1}`, clientUrl, peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`, dataDir: join(cluster.root, `e${i + 1}`), child: undefined, http: new JsonHttp(clientUrl, connections) });
    }
    onCleanup('etcd cluster', () => cluster.destroy());
    for (const m of cluster.members) cluster.spawn(m, 'new');
    await cluster.leader(60_000);
    return cluster;
  }

  private spawn(m: Member, state: 'new' | 'existing'): void {
    const initial = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    m.child = startChild(`etcd ${m.name}`, this.bin, [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initial,
      '--initial-cluster-state', state,
      '--initial-cluster-token', 'raft-ipam-bench',
      '--heartbeat-interval', String(etcdHeartbeatMs()),
      '--election-timeout', String(electionTimeoutMs()),
      '--pre-vote',
      '--logger', 'zap',
      '--log-level', 'warn',
    ], join(this.root, `${m.name}.log`));
  }

  member(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no etcd member ${name}`);
    return m;
  }

  running(m: Member): boolean {
    return m.child?.running() ?? false;
  }

  async status(m: Member, timeoutMs = 500): Promise<{ id: string; leader: string } | undefined> {
    if (!this.running(m)) return undefined;
    try {
      const a = await m.http.post('/v3/maintenance/status', {}, timeoutMs);
      const b = a.body as { header?: { member_id?: string }; leader?: string };
      if (a.status !== 200 || !b.header?.member_id) return undefined;
      m.id = b.header.member_id;
      return { id: b.header.member_id, leader: b.leader ?? '0' };
    } catch {
      return undefined;
    }
  }

  /** The member every running member's status names as leader, excluding `exclude`. */
  async leader(timeoutMs = 30_000, exclude: string[] = []): Promise<Member> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const running = this.members.filter((m) => this.running(m) && !exclude.includes(m.name));
      const statuses = await Promise.all(running.map((m) => this.status(m)));
      const leaders = new Set(statuses.map((s) => s?.leader));
      if (statuses.every((s) => s !== undefined) && leaders.size === 1) {
        const lead = running.find((_, i) => statuses[i]?.id === statuses[i]?.leader);
        if (lead) return lead;
      }
      await sleep(50);
    }
    throw new Error(`etcd: no leader within ${timeoutMs} ms; logs in ${this.root}`);
  }

  async kill(m: Member): Promise<void> {
    await m.child?.kill('SIGKILL');
  }

  async restart(m: Member): Promise<void> {
    if (this.running(m)) throw new Error(`${m.name} is running`);
    this.spawn(m, 'existing');
  }

  async put(m: Member, key: string, value: string, timeoutMs?: number): Promise<void> {
    const a = await m.http.post('/v3/kv/put', { key: b64(key), value: b64(value) }, timeoutMs);
    if (a.status !== 200) throw new Error(`etcd put: HTTP ${a.status} ${JSON.stringify(a.body).slice(0, 200)}`);
  }

  /** Keys (and values) under a prefix, paged, read linearizably. */
  async scan(m: Member, prefix: string): Promise<Array<[string, string]>> {
    const out: Array<[string, string]> = [];
    let from = prefix;
    for (;;) {
      const a = await m.http.post('/v3/kv/range', { key: b64(from), range_end: b64(prefixEnd(prefix)), limit: 10_000 }, 60_000);
      const b = a.body as { kvs?: Array<{ key: string; value?: string }>; more?: boolean };
      for (const kv of b.kvs ?? []) out.push([unb64(kv.key), unb64(kv.value ?? '')]);
      if (!b.more || !b.kvs?.length) return out;
      from = `${unb64((b.kvs.at(-1) as { key: string }).key)}\0`;
    }
  }

  async count(m: Member, prefix: string): Promise<number> {
    const a = await m.http.post('/v3/kv/range', { key: b64(prefix), range_end: b64(prefixEnd(prefix)), count_only: true }, 60_000);
    return Number((a.body as { count?: string }).count ?? 0);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.members.map(async (m) => {
      await m.child?.kill('SIGKILL');
      await m.http.close();
    }));
  }
}

/** Plain durable puts: one new key per request, `/bench/put/<row>/<client>/<n>`. */
export function etcdPutTarget(etcd: EtcdCluster): LoadTarget {
  return {
    key: 'etcd-put',
    system: 'etcd',
    label: 'etcd put (durable), JSON gateway',
    async prepare(clients) {
      const prefix = `/bench/put/${clients}/`;
      const m = await etcd.leader();
      let acked = 0;
      return {
        async makeClient(i) {
          let n = 0;
          return async () => {
            await etcd.put(m, `${prefix}${i}/${++n}`, `owner-${i}-${n}`);
            acked++;
          };
        },
        async verify() {
          const stored = await etcd.count(m, prefix);
          if (stored < acked) throw new Error(`etcd put: ${stored} keys stored, ${acked} acknowledged`);
          return { stored, acknowledged: acked };
        },
        close: async () => undefined,
      };
    },
  };
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const dotted = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/**
 * The transactional allocation. A client scans from its cursor (the lowest address it has not seen
 * taken; a scan from the slice start each time would make etcd pay O(allocated) per call) for the first
 * free key, then claims it with create_revision == 0; if another client claimed it first the compare
 * fails and the client moves past it and tries again. Each success costs two round trips (a
 * linearizable range read and a transaction), as in etcd-based allocators (flannel's lease list-then-
 * create, a Kubernetes-style allocator on etcd).
 */
export function etcdTxnTarget(etcd: EtcdCluster): LoadTarget {
  return {
    key: 'etcd-txn',
    system: 'etcd',
    label: 'etcd allocation: range read + create_revision txn',
    async prepare(clients, shared) {
      const net = shared ? `txn-shared-${clients}` : `txn-${clients}`;
      const prefix = `/ipam/${net}/`;
      const key = (addr: number): string => `${prefix}${hex8(addr)}`;
      const m = await etcd.leader();
      const acks = new Acks();
      let conflicts = 0;
      let failed = 0;
      const row: PreparedRow = {
        async makeClient(i) {
          // Own slice: 10.i.0.0/16 (hosts .0.1 … .255.254); shared: 10.0.0.0/12 for everybody.
          const first = shared ? 0x0a000001 : (0x0a000000 | (i << 16)) + 1;
          const last = shared ? 0x0a0ffffe : (0x0a000000 | (i << 16)) + 0xfffe;
          let cursor = first;
          let n = 0;
          return async () => {
            const owner = `c${i}-${++n}`;
            try {
              for (;;) {
                if (cursor > last) throw new Error(`${net}: slice of client ${i} is full`);
                const r = await m.http.post('/v3/kv/range', { key: b64(key(cursor)), range_end: b64(key(last + 1)), keys_only: true, limit: 64 });
                if (r.status !== 200) throw new Error(`range: HTTP ${r.status}`);
                const kvs = (r.body as { kvs?: Array<{ key: string }> }).kvs ?? [];
                const taken = new Set(kvs.map((kv) => parseInt(unb64(kv.key).slice(prefix.length), 16)));
                let candidate = cursor;
                while (taken.has(candidate)) candidate++;
                if (kvs.length === 64 && candidate === cursor + 64) {
                  cursor = candidate; // a full page of taken keys: read the next page before claiming
                  continue;
                }
                if (candidate > last) throw new Error(`${net}: slice of client ${i} is full`);
                const t = await m.http.post('/v3/kv/txn', {
                  compare: [{ key: b64(key(candidate)), result: 'EQUAL', target: 'CREATE', create_revision: '0' }],
                  success: [{ request_put: { key: b64(key(candidate)), value: b64(owner) } }],
                });
                if (t.status !== 200) throw new Error(`txn: HTTP ${t.status} ${JSON.stringify(t.body).slice(0, 200)}`);
                cursor = candidate + 1;
                if ((t.body as { succeeded?: boolean }).succeeded === true) {
                  acks.add(dotted(candidate), owner);
                  return;
                }
                conflicts++; // somebody claimed it between our read and our txn: move on and retry
              }
            } catch (e) {
              failed++;
              throw e;
            }
          };
        },
        async verify() {
          const stored = await etcd.scan(m, prefix);
          if (acks.duplicates > 0) throw new Error(`${net}: ${acks.duplicates} addresses acknowledged twice`);
          let mismatched = 0;
          for (const [k, owner] of stored) {
            const addr = dotted(parseInt(k.slice(prefix.length), 16));
            const acked = acks.owners.get(addr);
            if (acked !== undefined && acked !== owner) mismatched++;
          }
          if (mismatched > 0) throw new Error(`${net}: ${mismatched} keys hold another owner than the one acknowledged`);
          if (stored.length < acks.count || stored.length > acks.count + failed) throw new Error(`${net}: ${stored.length} keys stored, ${acks.count} acknowledged, ${failed} failed`);
          return { stored: stored.length, acknowledged: acks.count, duplicates: 0, conflicts };
        },
        close: async () => undefined,
      };
      return row;
    },
  };
}
