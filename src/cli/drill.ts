/**
 * `raft-ipam drill`: the whole backup-and-restore drill on real processes, end to end, with every number
 * measured in this run. It starts an N-node cluster of `raft-ipam serve` processes (mutual TLS, a bearer
 * token, data in a temporary directory, frequent policy snapshots so the save shares the node with them),
 * runs concurrent allocation load through exactly-once sessions, saves a snapshot while the load goes on
 * (`snapshot save`'s code path: streamed, verified, atomic), restores it into a fresh N-node cluster (new
 * data directories, addresses and ports, a new cluster id; `snapshot restore` once per member) and checks:
 *
 *  1. every member's restored snapshot is byte-identical (same index, term, membership, data);
 *  2. the restored cluster reports exactly the state hash the file names;
 *  3. every allocation acknowledged to a client before the save began is in the restored cluster, with
 *     the owner and generation the client was told (the save is a linearizable point);
 *  4. allocation goes on in the restored cluster and never grants an address the snapshot holds, nor one
 *     address twice.
 *
 * It prints a line per step (or a JSON report), and stops every process and removes every file it made,
 * whatever happens (`keep` leaves the directory, with node logs, for an investigation).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Cluster } from '../../cluster/cluster.js';
import { IpamClient, IpamClientError } from '../api/client.js';
import { BackupError } from '../backup/errors.js';
import { restoreSnapshot } from '../backup/restore.js';
import { saveSnapshot } from '../backup/save.js';
import { readSnapshotFile } from '../backup/snapshot-file.js';

export interface DrillOptions {
  /** Members of the source cluster and of the restored one (default 3). */
  nodes?: number;
  /** Concurrent allocating clients (default 4). */
  loadClients?: number;
  /** Seconds of load on the source cluster; the save starts halfway (default 4). */
  seconds?: number;
  /** Allocations made on the restored cluster (default 40). */
  newAllocations?: number;
  /** Keep the temporary directory (node logs, data, the snapshot file) instead of removing it. */
  keep?: boolean;
  print?: (line: string) => void;
}

export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DrillReport {
  ok: boolean;
  nodes: number;
  loadClients: number;
  source: { clusterId: string; allocationsAcknowledged: number; allocationFailures: number; poolFull: boolean };
  save: { index: number; term: number; bytes: number; stateHash: string; addresses: number; ms: number; acknowledgedBeforeSave: number; acknowledgedDuringSave: number };
  restore: { clusterId: string; ms: number; electionMs: number };
  restored: { stateHash: string; newAllocations: number };
  checks: DrillCheck[];
  ms: number;
  /** Where the files are, when kept. */
  kept?: string;
}

interface Grant {
  address: string;
  owner: string;
  generation: number;
  node: string;
  /** performance.now() when the client got the answer. */
  at: number;
}

const NETWORK = 'pods';
const NETWORK_V6 = 'pods-v6';
const SOURCE_CLUSTER = 'drill-source';

export async function runDrill(options: DrillOptions = {}): Promise<DrillReport> {
  const nodes = options.nodes ?? 3;
  const loadClients = options.loadClients ?? 4;
  const seconds = options.seconds ?? 4;
  const newAllocations = options.newAllocations ?? 40;
  for (const [name, v, min, max] of [['nodes', nodes, 1, 7], ['loadClients', loadClients, 1, 256], ['seconds', seconds, 1, 3600], ['newAllocations', newAllocations, 1, 10_000]] as const) {
    if (!Number.isInteger(v) || v < min || v > max) throw new BackupError('InvalidArgument', `${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  const print = options.print ?? ((line: string) => console.log(line));
  const t0 = performance.now();
  const at = (): string => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s]`;
  const root = await mkdtemp(join(tmpdir(), 'raft-ipam-drill-'));
  const token = randomBytes(16).toString('hex');
  const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  let source: Cluster | undefined;
  let restored: Cluster | undefined;
  const checks: DrillCheck[] = [];
  const check = (name: string, ok: boolean, detail: string): void => {
    checks.push({ name, ok, detail });
    print(`${at()} ${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
  };
  try {
    // --- the source cluster under load ------------------------------------------------------------
    // No partitions in the drill, so no relays: peers dial each other directly, as in production.
    source = await Cluster.start({ root: join(root, 'source'), nodes: ids, tls: true, relays: false, token, clusterId: SOURCE_CLUSTER, snapshotEntries: 300 });
    const sourceLeader = await source.waitForLeader();
    print(`${at()} source cluster ${SOURCE_CLUSTER}: ${ids.length} serve processes (mutual TLS, token), ${sourceLeader} leads; files in ${root}`);
    const admin = new IpamClient({ endpoints: source.endpoints(), token, session: true, timeoutMs: 30_000 });
    await admin.configureNetwork({ name: NETWORK, cidr: '10.0.0.0/16', slicePrefix: 22 });
    await admin.configureNetwork({ name: NETWORK_V6, cidr: 'fd00:d::/56', slicePrefix: 64, pair: NETWORK });
    const workers = Array.from({ length: 16 }, (_, i) => `worker-${i + 1}`);
    for (const w of workers) await admin.assignSlice({ network: NETWORK, nodeId: w });
    print(`${at()} ${NETWORK} 10.0.0.0/16 (/22 per node) paired with ${NETWORK_V6}; ${workers.length} workers hold slices`);

    const grants: Grant[] = [];
    const failures: string[] = [];
    let poolFull = false;
    const loadEnds = performance.now() + seconds * 1000;
    print(`${at()} ${loadClients} clients allocate with owners through exactly-once sessions for ${seconds} s; the save starts halfway`);
    const load = Array.from({ length: loadClients }, async (_, c) => {
      const client = new IpamClient({ endpoints: source?.endpoints() ?? [], token, session: true, timeoutMs: 30_000 });
      for (let i = 0; performance.now() < loadEnds && !poolFull; i++) {
        const owner = `ctr-${c}-${i}`;
        const node = workers[(c * 7 + i) % workers.length] as string;
        try {
          const r = await client.allocate({ network: NETWORK, nodeId: node, owner });
          grants.push({ address: r.address, owner, generation: r.generation, node, at: performance.now() });
        } catch (e) {
          if (e instanceof IpamClientError && e.code === 'NoAvailableIps') poolFull = true;
          else failures.push(`${owner}: ${e instanceof IpamClientError ? `[${e.code}] ${e.message}` : String(e)}`);
        }
      }
    });

    // --- save under load --------------------------------------------------------------------------
    const file = join(root, 'backup.snap');
    const saving = (async () => {
      await new Promise((r) => setTimeout(r, (seconds * 1000) / 2));
      // Everything acknowledged before this instant must be in the file; grants land in `grants` in the
      // order their answers arrived, so a prefix of it is exactly that set.
      const began = performance.now();
      const ackedBefore = grants.length;
      const saver = new IpamClient({ endpoints: source?.endpoints() ?? [], token, timeoutMs: 60_000 });
      const saved = await saveSnapshot({ client: saver, file });
      const ms = performance.now() - began;
      const during = grants.filter((g) => g.at >= began && g.at <= began + ms).length;
      print(`${at()} saved ${saved.bytes} bytes from ${saved.endpoint} in ${Math.round(ms)} ms under load: index ${saved.index} term ${saved.term}, ${saved.addresses} addresses, state ${saved.stateHash.slice(0, 16)}…; ${ackedBefore} allocations were acknowledged before the save began, ${during} while it ran`);
      return { saved, ms, ackedBefore, during };
    })();
    const [{ saved, ms: saveMs, ackedBefore, during }] = await Promise.all([saving, ...load]);
    print(`${at()} load done: ${grants.length} allocations acknowledged, ${failures.length} failed${poolFull ? ', pool full' : ''}`);
    for (const f of failures.slice(0, 5)) print(`          failed: ${f}`);
    check('load', failures.length === 0 && ackedBefore > 0, `${grants.length} acknowledged, ${failures.length} failed, ${ackedBefore} before the save`);
    // The source has served its purpose: stopping it leaves the two cores to the restored cluster.
    await source.destroy();
    source = undefined;

    // --- restore into a fresh cluster -------------------------------------------------------------
    // Laid out, not started: each member's data directory is built by the restore first.
    restored = await Cluster.layout({ root: join(root, 'restored'), nodes: ids, tls: true, relays: false, token });
    const members = restored.nodes();
    const initialCluster = Object.fromEntries(members.map((n) => [n.id, n.peerAdvertised]));
    const restoreStart = performance.now();
    const results = [];
    for (const n of members) results.push(await restoreSnapshot({ file, dataDir: n.dataDir, name: n.id, initialCluster, sourceClusterId: SOURCE_CLUSTER }));
    const restoreMs = performance.now() - restoreStart;
    const clusterIds = new Set(results.map((r) => r.clusterId));
    const clusterId = results[0]?.clusterId ?? '';
    print(`${at()} restored ${results.length} data directories in ${Math.round(restoreMs)} ms (new addresses and ports, new cluster id ${clusterId})`);
    const snapFiles = await Promise.all(members.map((n) => snapFileOf(n.dataDir)));
    const identical = snapFiles.every((b) => b.equals(snapFiles[0] as Buffer));
    check('members agree', clusterIds.size === 1 && identical && clusterId !== SOURCE_CLUSTER, `${snapFiles.length} identical snapshot files of ${snapFiles[0]?.length ?? 0} bytes, one new cluster id (${[...clusterIds].join(', ')})`);

    const bootStart = performance.now();
    await restored.startAll({ clusterId });
    const restoredLeader = await restored.waitForLeader({ timeoutMs: 60_000 });
    const electionMs = performance.now() - bootStart;
    const converged = await restored.waitForConvergence({ timeoutMs: 60_000 });
    print(`${at()} restored cluster ${clusterId}: ${restoredLeader} leads ${Math.round(electionMs)} ms after the start; all ${ids.length} at applied index ${converged.applied}`);
    check('state hash', converged.stateHash === saved.stateHash, `restored ${converged.stateHash.slice(0, 16)}…, file ${saved.stateHash.slice(0, 16)}…`);

    const client = new IpamClient({ endpoints: restored.endpoints(), token, session: true, timeoutMs: 30_000 });
    const listed = await client.allocations(NETWORK, { consistency: 'linearizable', limit: 100_000 });
    const held = new Map(listed.allocations.map((a) => [a.address, a]));
    const before = grants.slice(0, ackedBefore);
    const missing = before.filter((g) => held.get(g.address)?.owner !== g.owner || held.get(g.address)?.generation !== g.generation);
    check('acknowledged before the save', missing.length === 0, `${before.length - missing.length}/${before.length} present with their owner and generation${missing.length > 0 ? `; missing e.g. ${missing.slice(0, 3).map((g) => `${g.address} (${g.owner})`).join(', ')}` : ''}`);

    // --- allocation goes on ------------------------------------------------------------------------
    const inFile = (await readSnapshotFile(file)).state;
    const snapshotHeld = new Set((inFile.allocations(NETWORK) ?? []).map((a) => a.address));
    const fresh: Grant[] = [];
    const freshFailures: string[] = [];
    for (let i = 0; i < newAllocations; i++) {
      const owner = `after-restore-${i}`;
      const node = workers[i % workers.length] as string;
      try {
        const r = await client.allocate({ network: NETWORK, nodeId: node, owner });
        fresh.push({ address: r.address, owner, generation: r.generation, node, at: performance.now() });
      } catch (e) {
        freshFailures.push(`${owner}: ${e instanceof IpamClientError ? `[${e.code}] ${e.message}` : String(e)}`);
      }
    }
    const regranted = fresh.filter((g) => snapshotHeld.has(g.address));
    const twice = fresh.length - new Set(fresh.map((g) => g.address)).size;
    check(
      'no duplicate after restore',
      freshFailures.length === 0 && regranted.length === 0 && twice === 0 && fresh.length === newAllocations,
      `${fresh.length}/${newAllocations} new allocations, ${regranted.length} equal to an address the snapshot holds, ${twice} granted twice${freshFailures.length > 0 ? `; failed: ${freshFailures.slice(0, 2).join('; ')}` : ''}`,
    );

    const ok = checks.every((c) => c.ok);
    print(`${at()} ${ok ? 'OK: the snapshot taken under load restored into a new cluster with every acknowledged write, the same state, and allocation went on without a duplicate' : 'FAILED: see above'}`);
    return {
      ok,
      nodes,
      loadClients,
      source: { clusterId: SOURCE_CLUSTER, allocationsAcknowledged: grants.length, allocationFailures: failures.length, poolFull },
      save: { index: saved.index, term: saved.term, bytes: saved.bytes, stateHash: saved.stateHash, addresses: saved.addresses, ms: Math.round(saveMs), acknowledgedBeforeSave: ackedBefore, acknowledgedDuringSave: during },
      restore: { clusterId, ms: Math.round(restoreMs), electionMs: Math.round(electionMs) },
      restored: { stateHash: converged.stateHash, newAllocations: fresh.length },
      checks,
      ms: Math.round(performance.now() - t0),
      ...(options.keep ? { kept: root } : {}),
    };
  } finally {
    await source?.destroy().catch(() => undefined);
    await restored?.destroy().catch(() => undefined);
    if (options.keep) print(`${at()} stopped every process; files kept in ${root}`);
    else {
      await rm(root, { recursive: true, force: true });
      print(`${at()} stopped every process and removed ${root}`);
    }
  }
}

/** The one snapshot data file a restored directory holds (src/storage: <dir>/snap/*.snap). */
async function snapFileOf(dataDir: string): Promise<Buffer> {
  const names = (await readdir(join(dataDir, 'snap'))).filter((n) => n.endsWith('.snap'));
  if (names.length !== 1) throw new BackupError('SnapshotFileIo', `${dataDir}/snap holds ${names.length} snapshot files, expected 1`);
  return readFile(join(dataDir, 'snap', names[0] as string));
}
