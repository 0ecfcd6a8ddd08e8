/**
 * The scenario API of the chaos harness: a raft-ipam cluster of real nodes that a test starts, watches
 * and breaks on purpose. Each node is `raft-ipam serve` launched by a backend (backend.ts: child
 * processes by default), on its own loopback address 127.0.0.x with its own data directory and log
 * file, optionally with mutual TLS. Unless `relays: false`, every node's peer listener sits behind a
 * harness relay (network.ts), so any set of links can be cut at the network level.
 *
 * Operations: lay a cluster out without launching it (so a snapshot restore can fill its data
 * directories first) and start it later, find or wait for the leader, SIGKILL, SIGTERM, pause/resume,
 * restart on the same data, wipe a node and rejoin it as a new member, add/remove/promote members and
 * transfer leadership through the HTTP API, partition/cut/heal links, wait for convergence, keep every
 * log (harness.log records what the harness did and when), copy the logs for a failure report, and
 * destroy everything.
 *
 * Polling waits take a timeout that only bounds the wait; nothing here measures time.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { IpamClient, type IpamClientOptions } from '../src/api/client.js';
import type { NodeStatusView } from '../src/node/service.js';
import type { ClusterCa } from '../src/transport/cert-authority.js';
import { certFiles } from '../src/transport/certs.js';
import { validateClusterId } from '../src/transport/errors.js';
import { freePorts, isLoopbackHost, pickLoopbackHosts } from './addresses.js';
import type { NodeBackend, NodeHandle } from './backend.js';
import { Network, type Cut, type CutMode, type FlapOptions, type Flapper } from './network.js';
import { ProcessBackend } from './process-backend.js';

export type { Cut, CutMode, FlapOptions, Flapper } from './network.js';
export type { NodeStatusView } from '../src/node/service.js';

export interface ClusterOptions {
  /** Founding member ids, or how many (n1 … nN). Default 3. */
  nodes?: number | readonly string[];
  /** Mutual TLS between peers, with a CA and per-node certificates (SAN = the node's IP) the harness makes. Default false (--insecure). */
  tls?: boolean;
  /** A harness relay in front of every peer listener, so links can be cut (default true). */
  relays?: boolean;
  /** How nodes run (default: a new ProcessBackend, closed by destroy()). */
  backend?: NodeBackend;
  /** Directory for data, logs and certificates (default: a new temporary directory, removed by destroy()). */
  root?: string;
  /** The founding nodes' addresses, one distinct 127.x.y.z each (default: random distinct 127.0.0.x). */
  hosts?: readonly string[];
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  snapshotEntries?: number;
  /** --cluster-id of every node (default: serve's own). startAll() can still set it after Cluster.layout(). */
  clusterId?: string;
  /** Bearer token for the HTTP API (passed to every node and used by the harness's own requests). */
  token?: string;
  /** Node log level (default RAFT_IPAM_LOG_LEVEL or info); a --log-level in extraArgs wins. */
  logLevel?: string;
  /** More `serve` flags for every node. */
  extraArgs?: readonly string[];
  /** More environment for every node. */
  env?: Readonly<Record<string, string>>;
  /** Bound on waiting for a launched node to answer HTTP (default 30 000 ms). */
  startTimeoutMs?: number;
}

/** Where one node lives; fixed for the node's life (a restart reuses all of it). */
export interface ClusterNode {
  readonly id: string;
  /** The node's own loopback address: it listens and dials from here. */
  readonly host: string;
  /** host:port of its real peer listener. */
  readonly peerListen: string;
  /** host:port the other members dial: its relay, or peerListen without relays. */
  readonly peerAdvertised: string;
  readonly clientUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
}

interface Slot extends ClusterNode {
  handle: NodeHandle | undefined;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Only these nodes are asked (default: every node of the cluster). */
  among?: readonly string[];
  /** Never these. */
  exclude?: readonly string[];
}

const DEFAULT_WAIT_MS = 30_000;
const POLL_MS = 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GET /healthz answers 200: the process serves HTTP (liveness only; an open route, no token). */
async function answersHttp(clientUrl: string, timeoutMs: number): Promise<boolean> {
  try {
    const r = await fetch(`${clientUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new TypeError(`node id must be 1–64 of [A-Za-z0-9._-], got ${JSON.stringify(id)}`);
  return id;
}

/** The spelling serve accepts (src/transport), reported as the harness's other option errors are. */
function checkClusterId(id: unknown): string {
  try {
    return validateClusterId(id);
  } catch (e) {
    throw new TypeError(`clusterId: ${(e as Error).message}`);
  }
}

function checkOptions(o: ClusterOptions): { ids: string[] } {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  const n = o.nodes ?? 3;
  const ids = typeof n === 'number' ? Array.from({ length: n }, (_, i) => `n${i + 1}`) : [...n].map(checkId);
  if (typeof n === 'number' && (!Number.isInteger(n) || n < 1 || n > 50)) throw new TypeError(`nodes must be 1..50, got ${n}`);
  if (ids.length === 0 || new Set(ids).size !== ids.length) throw new TypeError('node ids must be distinct and at least one');
  if (o.hosts !== undefined) {
    if (o.hosts.length !== ids.length) throw new TypeError(`hosts must list one address per node (${ids.length}), got ${o.hosts.length}`);
    for (const h of o.hosts) if (!isLoopbackHost(h)) throw new TypeError(`hosts must be 127.0.0.0/8 addresses (traffic stays on loopback), got ${JSON.stringify(h)}`);
    if (new Set(o.hosts).size !== o.hosts.length) throw new TypeError('hosts must be distinct: relays tell nodes apart by source IP');
  }
  if (o.root !== undefined && (typeof o.root !== 'string' || !isAbsolute(o.root))) throw new TypeError(`root must be an absolute path, got ${JSON.stringify(o.root)}`);
  for (const k of ['tickMs', 'electionTicks', 'heartbeatTicks', 'snapshotEntries', 'startTimeoutMs'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new TypeError(`${k} must be a positive integer, got ${String(v)}`);
  }
  if (o.extraArgs !== undefined && !o.extraArgs.every((a) => typeof a === 'string')) throw new TypeError('extraArgs must be strings');
  if (o.clusterId !== undefined) checkClusterId(o.clusterId);
  return { ids };
}

export class Cluster {
  readonly root: string;
  readonly backend: NodeBackend;
  /** The relays and cut links; undefined when started with `relays: false`. */
  readonly network: Network | undefined;
  readonly tlsDir: string | undefined;
  private readonly slots = new Map<string, Slot>();
  /** Members removed from the cluster: their logs stay available for reports. */
  private readonly retired = new Map<string, Slot>();
  private ca: ClusterCa | undefined;
  /** Passed as --cluster-id at every launch; fixed once the founding nodes start. */
  private clusterId: string | undefined;
  private started = false;
  private destroyed: Promise<void> | undefined;

  private constructor(
    root: string,
    private readonly options: ClusterOptions,
    private readonly ownsRoot: boolean,
    private readonly ownsBackend: boolean,
  ) {
    this.root = root;
    this.backend = options.backend ?? new ProcessBackend();
    this.network = options.relays === false ? undefined : new Network();
    this.tlsDir = options.tls ? join(root, 'tls') : undefined;
    this.clusterId = options.clusterId;
  }

  /** Lay out the founding nodes, launch them all, and resolve once every one answers HTTP (not necessarily with a leader yet). */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const c = await Cluster.layout(options);
    try {
      await c.startAll();
    } catch (e) {
      await c.destroy();
      throw e;
    }
    return c;
  }

  /**
   * Lay out the founding nodes (addresses, ports, relays, certificates, empty data directories) without
   * launching any, so their data directories can be prepared first (`snapshot restore` needs the final
   * initialCluster() to derive the new cluster id); then startAll(). The caller destroy()s the result.
   */
  static async layout(options: ClusterOptions = {}): Promise<Cluster> {
    const { ids } = checkOptions(options);
    const root = options.root ?? (await mkdtemp(join(tmpdir(), 'raft-ipam-cluster-')));
    const c = new Cluster(root, options, options.root === undefined, options.backend === undefined);
    try {
      await mkdir(root, { recursive: true });
      if (c.tlsDir) {
        // Loaded only for a TLS cluster: `raft-ipam serve` imports this harness (demo, drill) and must not
        // carry the certificate library (≈ 20 MB of RSS) it never uses.
        const { createClusterCa } = await import('../src/transport/cert-authority.js');
        c.ca = await createClusterCa();
        await mkdir(c.tlsDir, { recursive: true, mode: 0o700 });
        // Only the CA certificate goes to disk; its key stays in this process to sign later members' certificates.
        await writeFile(join(c.tlsDir, 'ca.pem'), c.ca.cert, { mode: 0o644 });
      }
      const hosts = options.hosts ?? pickLoopbackHosts(ids.length);
      for (const [i, id] of ids.entries()) await c.layoutNode(id, hosts[i] as string);
      c.note(`lay out ${ids.length} nodes (${options.tls ? 'mutual TLS' : 'plaintext'}, ${c.network ? 'relays' : 'no relays'}, backend ${c.backend.name}): ${c.hostList()}`);
    } catch (e) {
      await c.destroy();
      throw new Error(`cluster could not be laid out: ${(e as Error).message}`, { cause: e });
    }
    return c;
  }

  /**
   * Launch the laid-out founding nodes (--initial-cluster-state new) and resolve once every one answers
   * HTTP. `clusterId`, when given, replaces the option for every launch from now on: the id a restore
   * derived after the layout. Only once per cluster; a node that fails to start is left for destroy(),
   * with its log.
   */
  async startAll(options: { clusterId?: string } = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    if (this.started) throw new Error('startAll: this cluster was started already');
    if (this.destroyed) throw new Error('startAll: this cluster was destroyed');
    if (options.clusterId !== undefined) this.clusterId = checkClusterId(options.clusterId);
    this.started = true;
    const ids = this.ids();
    try {
      this.note(`start ${ids.length} nodes (cluster id ${this.clusterId ?? "serve's default"}): ${this.hostList()}`);
      await Promise.all(ids.map((id) => this.launch(id, 'new')));
      await Promise.all(ids.map((id) => this.waitForServing(id)));
    } catch (e) {
      const tails = await Promise.all(ids.map(async (id) => `--- ${id} ---\n${(await this.readLog(id)).split('\n').slice(-15).join('\n')}`));
      throw new Error(`cluster did not start: ${(e as Error).message}\n${tails.join('\n')}`, { cause: e });
    }
  }

  // --- where things are ---------------------------------------------------------------------------

  /** Ids of the nodes the harness runs (removed members not included), in the order they were added. */
  ids(): string[] {
    return [...this.slots.keys()];
  }

  node(id: string): ClusterNode {
    const s = this.slots.get(id);
    if (!s) throw new TypeError(`unknown node ${JSON.stringify(id)} (nodes: ${this.ids().join(', ')})`);
    return s;
  }

  /** Where every node lives, in ids() order. */
  nodes(): ClusterNode[] {
    return [...this.slots.values()];
  }

  /** Client URLs of the given nodes (default: all). */
  endpoints(ids: readonly string[] = this.ids()): string[] {
    return ids.map((id) => this.node(id).clientUrl);
  }

  /** `id=peerAdvertised,…` of every node, as --initial-cluster wants it. */
  initialCluster(): string {
    return [...this.slots.values()].map((s) => `${s.id}=${s.peerAdvertised}`).join(',');
  }

  /** An IpamClient for the whole cluster (or the nodes in `options.endpoints`), with the token. */
  client(options: Partial<IpamClientOptions> = {}): IpamClient {
    return new IpamClient({ endpoints: this.endpoints(), timeoutMs: 20_000, ...(this.options.token !== undefined ? { token: this.options.token } : {}), ...options });
  }

  // --- observing ----------------------------------------------------------------------------------

  /** The backend's handle of the node's current run (undefined before its first launch). */
  handle(id: string): NodeHandle | undefined {
    return this.slot(id).handle;
  }

  isRunning(id: string): boolean {
    return this.slot(id).handle?.isRunning() ?? false;
  }

  isPaused(id: string): boolean {
    return this.slot(id).handle?.isPaused() ?? false;
  }

  /** The node's own /v1/status, or undefined when it is down, paused or does not answer in time. */
  async status(id: string, timeoutMs = 1000): Promise<NodeStatusView | undefined> {
    const s = this.slot(id);
    if (!s.handle?.isRunning() || s.handle.isPaused()) return undefined;
    try {
      const r = await fetch(`${s.clientUrl}/v1/status`, { signal: AbortSignal.timeout(timeoutMs), headers: this.options.token ? { authorization: `Bearer ${this.options.token}` } : {} });
      if (!r.ok) return undefined;
      const body = (await r.json()) as { ok: boolean; value?: NodeStatusView };
      return body.ok ? body.value : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every node's status (undefined for those that do not answer). */
  async statuses(among: readonly string[] = this.ids()): Promise<Map<string, NodeStatusView | undefined>> {
    const list = await Promise.all(among.map(async (id) => [id, await this.status(id)] as const));
    return new Map(list);
  }

  /**
   * The leader right now, by one round of status requests: a node of `among` (default all) that says it
   * leads, at the highest term any of them reports, and that every other answering node of `among`
   * follows. Undefined while there is none or they disagree (an election, a partition: ask one side).
   */
  async findLeader(options: Omit<WaitOptions, 'timeoutMs'> = {}): Promise<string | undefined> {
    const among = this.among(options);
    const seen = [...(await this.statuses(among)).values()].filter((s): s is NodeStatusView => s !== undefined);
    const leaders = seen.filter((s) => s.role === 'leader');
    if (leaders.length === 0) return undefined;
    const top = leaders.reduce((a, b) => (b.term > a.term ? b : a));
    return seen.every((s) => s.id === top.id || s.leader?.id === top.id) ? top.id : undefined;
  }

  async waitForLeader(options: WaitOptions = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.findLeader(options);
      if (leader !== undefined) return leader;
      if (Date.now() > deadline) throw new Error(`no leader agreed on by ${this.among(options).join(', ')} within ${timeoutMs} ms; logs in ${this.root}`);
      await sleep(POLL_MS);
    }
  }

  /**
   * Wait until every running, unpaused node of `among` answers with the same applied index and state
   * hash, and has applied everything any of them has committed.
   */
  async waitForConvergence(options: WaitOptions = {}): Promise<{ applied: number; stateHash: string }> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const ids = this.among(options).filter((id) => this.isRunning(id) && !this.isPaused(id));
      const ss = await Promise.all(ids.map((id) => this.status(id)));
      if (ids.length > 0 && ss.every((s) => s !== undefined)) {
        const all = ss as NodeStatusView[];
        const first = all[0] as NodeStatusView;
        last = all.map((s) => `${s.id}@${s.applied}/${s.commit}:${s.stateHash.slice(0, 8)}`).join(' ');
        const same = all.every((s) => s.stateHash === first.stateHash && s.applied === first.applied && s.stateHashIndex === s.applied);
        if (same && Math.max(...all.map((s) => s.commit)) === first.applied) return { applied: first.applied, stateHash: first.stateHash };
      }
      if (Date.now() > deadline) throw new Error(`nodes did not converge within ${timeoutMs} ms (last: ${last || 'no answers'}); logs in ${this.root}`);
      await sleep(POLL_MS);
    }
  }

  // --- processes ------------------------------------------------------------------------------------

  /** SIGKILL: no shutdown, unsynced writes lost; the data directory stays for a restart. */
  async kill(id: string): Promise<void> {
    this.note(`kill ${id}`);
    await this.slot(id).handle?.kill();
  }

  /** SIGTERM, a graceful stop (SIGKILL after `graceMs`). */
  async stop(id: string, graceMs?: number): Promise<void> {
    this.note(`stop ${id}`);
    await this.slot(id).handle?.stop(graceMs);
  }

  /** Freeze the node (SIGSTOP): its sockets stay open, it answers nothing. */
  async pause(id: string): Promise<void> {
    const h = this.running(id);
    this.note(`pause ${id}`);
    await h.pause();
  }

  async resume(id: string): Promise<void> {
    const h = this.running(id);
    this.note(`resume ${id}`);
    await h.resume();
  }

  /** Start a stopped or killed node again on the same data directory, addresses and log file. */
  async restart(id: string): Promise<void> {
    if (this.isRunning(id)) throw new Error(`${id} is still running`);
    this.note(`restart ${id}`);
    await this.launch(id, 'existing');
    await this.waitForServing(id);
  }

  // --- membership (through the HTTP API) ------------------------------------------------------------

  /**
   * Lay out a node that is not a member yet (address, ports, relay, certificate, directories) without
   * starting it; `host` defaults to a new 127.0.0.x.
   */
  async prepareNode(id: string, options: { host?: string } = {}): Promise<ClusterNode> {
    checkId(id);
    if (this.slots.has(id) || this.retired.has(id)) throw new TypeError(`node id ${id} was used before in this cluster`);
    const used = [...this.slots.values()].map((s) => s.host);
    const host = options.host ?? (pickLoopbackHosts(1, used)[0] as string);
    if (!isLoopbackHost(host)) throw new TypeError(`host must be a 127.0.0.0/8 address, got ${JSON.stringify(host)}`);
    if (used.includes(host)) throw new TypeError(`${host} is already in use by another node of this cluster`);
    await this.layoutNode(id, host);
    return this.node(id);
  }

  /** Ask the cluster to add a prepared node (as a learner unless `learner: false`). */
  async addMember(id: string, options: { learner?: boolean } = {}): Promise<void> {
    const n = this.node(id);
    this.note(`add member ${id} (${options.learner === false ? 'voter' : 'learner'}) peer ${n.peerAdvertised}`);
    await this.client().addMember({ id, peerUrl: n.peerAdvertised, clientUrl: n.clientUrl, learner: options.learner !== false });
  }

  /** Start a prepared node that joins a running cluster (--initial-cluster-state existing). */
  async startJoining(id: string): Promise<void> {
    this.note(`start ${id} (joining)`);
    await this.launch(id, 'existing');
    await this.waitForServing(id);
  }

  async promote(id: string): Promise<void> {
    this.note(`promote ${id}`);
    await this.client().promoteMember(id);
  }

  /**
   * A new member, the safe way (§4.2.1): lay it out, add it as a learner, start it, wait until it has
   * applied what the leader had committed, then promote it unless `voter: false`.
   */
  async addNode(id: string, options: { voter?: boolean; host?: string; timeoutMs?: number } = {}): Promise<ClusterNode> {
    await this.prepareNode(id, options.host !== undefined ? { host: options.host } : {});
    await this.addMember(id, { learner: true });
    await this.startJoining(id);
    await this.waitForCatchUp(id, options.timeoutMs ?? DEFAULT_WAIT_MS);
    if (options.voter !== false) await this.promote(id);
    return this.node(id);
  }

  /**
   * Remove a member through the API; then (unless `stop: false`) stop its process and retire it from the
   * harness (relay closed, cuts involving it forgotten; its log kept).
   */
  async removeMember(id: string, options: { stop?: boolean } = {}): Promise<void> {
    this.slot(id);
    this.note(`remove member ${id}`);
    await this.client().removeMember(id);
    if (options.stop !== false) await this.retire(id);
  }

  /** Stop a node and forget it (after it left the membership some other way). */
  async retire(id: string): Promise<void> {
    const s = this.slot(id);
    await s.handle?.stop(5000);
    await this.network?.remove(id);
    this.slots.delete(id);
    this.retired.set(id, s);
    this.note(`retired ${id}`);
  }

  /**
   * The operator's answer to a lost disk: remove the member through the API, stop it, wipe its data
   * directory, and bring the machine back (same address) as a new member with a new id (default
   * `<id>.1`, `<id>.2`, …), added as a learner, caught up, promoted. Resolves to the new id.
   */
  async wipeAndRejoin(id: string, options: { newId?: string; voter?: boolean; timeoutMs?: number } = {}): Promise<string> {
    const old = this.slot(id);
    const newId = options.newId !== undefined ? checkId(options.newId) : this.nextIdFor(id);
    if (this.slots.has(newId) || this.retired.has(newId)) throw new TypeError(`node id ${newId} was used before in this cluster`);
    this.note(`wipe ${id} and rejoin as ${newId}`);
    await this.removeMember(id);
    await rm(old.dataDir, { recursive: true, force: true });
    await this.addNode(newId, { host: old.host, ...(options.voter !== undefined ? { voter: options.voter } : {}), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
    return newId;
  }

  /** Move leadership (to `to`, or to the most up-to-date voter); resolves to the new leader's id. */
  async transferLeader(to?: string): Promise<string> {
    if (to !== undefined) this.node(to);
    this.note(`transfer leadership${to !== undefined ? ` to ${to}` : ''}`);
    const r = await this.client().transferLeader(to);
    if (!r.leader) throw new Error('transfer finished without a leader');
    return r.leader.id;
  }

  // --- network ---------------------------------------------------------------------------------------

  /** Make the network exactly these groups (see Network.partition: unnamed nodes form one more group). */
  partition(groups: readonly (readonly string[])[], mode: CutMode = 'drop'): void {
    this.relays().partition(groups, mode);
    this.note(`partition ${groups.map((g) => `[${g.join(' ')}]`).join(' | ')} (${mode})`);
  }

  /** Cut every link to and from `id`. */
  isolate(id: string, mode: CutMode = 'drop'): void {
    this.relays().isolate(id, mode);
    this.note(`isolate ${id} (${mode})`);
  }

  /** Cut the one-way link from → to: `from`'s messages stop reaching `to`. */
  cut(from: string, to: string, mode: CutMode = 'drop'): void {
    this.relays().cut(from, to, mode);
    this.note(`cut ${from} → ${to} (${mode})`);
  }

  healLink(from: string, to: string): void {
    this.relays().healLink(from, to);
    this.note(`heal ${from} → ${to}`);
  }

  heal(): void {
    this.relays().heal();
    this.note('heal all links');
  }

  cuts(): Cut[] {
    return this.relays().cuts();
  }

  flap(from: string, to: string, options: FlapOptions): Flapper {
    const f = this.relays().flap(from, to, options);
    this.note(`flap ${from} → ${to}${options.both ? ' (both ways)' : ''}: down ${options.downMs} ms, up ${options.upMs} ms`);
    return f;
  }

  // --- logs ------------------------------------------------------------------------------------------

  /** The log file of a node, current or removed. */
  logFile(id: string): string {
    const s = this.slots.get(id) ?? this.retired.get(id);
    if (!s) throw new TypeError(`unknown node ${JSON.stringify(id)}`);
    return s.logFile;
  }

  async readLog(id: string): Promise<string> {
    return readFile(this.logFile(id), 'utf8').catch(() => '');
  }

  /** Copy every node's log (removed members too) and harness.log into `dir`, as <id>.log; resolves to the paths written. */
  async copyLogs(dir: string): Promise<string[]> {
    if (typeof dir !== 'string' || !isAbsolute(dir)) throw new TypeError(`dir must be an absolute path, got ${JSON.stringify(dir)}`);
    await mkdir(dir, { recursive: true });
    const out: string[] = [];
    for (const s of [...this.retired.values(), ...this.slots.values()]) {
      if (!existsSync(s.logFile)) continue;
      const to = join(dir, `${s.id}.log`);
      await copyFile(s.logFile, to);
      out.push(to);
    }
    const harness = join(this.root, 'harness.log');
    if (existsSync(harness)) {
      await copyFile(harness, join(dir, 'harness.log'));
      out.push(join(dir, 'harness.log'));
    }
    return out;
  }

  /** Stop every node (SIGTERM, SIGKILL after 3 s), close the relays and the backend, remove the root if the harness made it. */
  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      this.note('destroy');
      await Promise.all([...this.slots.values(), ...this.retired.values()].map((s) => s.handle?.stop(3000)));
      await this.network?.close();
      if (this.ownsBackend) await this.backend.close();
      if (this.ownsRoot) await rm(this.root, { recursive: true, force: true });
    })();
    return this.destroyed;
  }

  // --- internals ------------------------------------------------------------------------------------

  private slot(id: string): Slot {
    this.node(id);
    return this.slots.get(id) as Slot;
  }

  private running(id: string): NodeHandle {
    const h = this.slot(id).handle;
    if (!h?.isRunning()) throw new Error(`${id} is not running`);
    return h;
  }

  private relays(): Network {
    if (!this.network) throw new Error('this cluster was started with relays: false; links cannot be cut');
    return this.network;
  }

  private among(options: Omit<WaitOptions, 'timeoutMs'>): string[] {
    const ids = options.among ? options.among.map((id) => this.node(id).id) : this.ids();
    return ids.filter((id) => !options.exclude?.includes(id));
  }

  /** `id@host …` of the current nodes, for harness.log. */
  private hostList(): string {
    return [...this.slots.values()].map((s) => `${s.id}@${s.host}`).join(' ');
  }

  private nextIdFor(id: string): string {
    const base = id.replace(/\.\d+$/, '');
    for (let k = 1; ; k++) {
      const candidate = `${base}.${k}`;
      if (!this.slots.has(candidate) && !this.retired.has(candidate)) return candidate;
    }
  }

  /** One line in harness.log: what the harness did, so a failure report reads alongside the node logs. */
  private note(text: string): void {
    try {
      appendFileSync(join(this.root, 'harness.log'), `${new Date().toISOString()} ${text}\n`);
    } catch {
      // The root is gone (after destroy): nothing left to report to.
    }
  }

  private async layoutNode(id: string, host: string): Promise<void> {
    const [peerPort, clientPort] = await freePorts(2, host);
    const peerListen = `${host}:${peerPort}`;
    let peerAdvertised = peerListen;
    if (this.network) {
      const relay = await this.network.add(id, host, { host, port: peerPort as number });
      peerAdvertised = `${relay.host}:${relay.port}`;
    }
    const dir = join(this.root, id);
    const slot: Slot = { id, host, peerListen, peerAdvertised, clientUrl: `http://${host}:${clientPort}`, dataDir: join(dir, 'data'), logFile: join(dir, 'node.log'), handle: undefined };
    await mkdir(slot.dataDir, { recursive: true });
    if (this.tlsDir && this.ca) {
      // The node's own IP in the SAN: peers dial its relay at that IP and check the SAN against it.
      const { createNodeCert } = await import('../src/transport/cert-authority.js');
      const pair = await createNodeCert(this.ca, id, { ips: [host, '127.0.0.1', '::1'] });
      const files = certFiles(this.tlsDir, id);
      await writeFile(files.cert, pair.cert, { mode: 0o644 });
      await writeFile(files.key, pair.key, { mode: 0o600 });
    }
    this.slots.set(id, slot);
  }

  private async launch(id: string, state: 'new' | 'existing'): Promise<void> {
    const s = this.slot(id);
    const o = this.options;
    await mkdir(s.dataDir, { recursive: true });
    const argv = [
      'serve',
      '--name', id,
      '--data-dir', s.dataDir,
      '--listen-peer', s.peerListen,
      '--advertise-peer', s.peerAdvertised,
      '--listen-client', s.clientUrl.slice('http://'.length),
      '--initial-cluster', this.initialCluster(),
      '--initial-cluster-state', state,
      ...(this.tlsDir ? ['--tls-dir', this.tlsDir] : ['--insecure']),
      // Timing flags only when asked for: otherwise serve's defaults (src/node/timing.ts) apply, or the
      // RAFT_IPAM_TICK_MS / _ELECTION_TICKS / _HEARTBEAT_TICKS the nodes inherit (how the bench compares).
      ...(o.tickMs !== undefined ? ['--tick-ms', String(o.tickMs)] : []),
      ...(o.electionTicks !== undefined ? ['--election-ticks', String(o.electionTicks)] : []),
      ...(o.heartbeatTicks !== undefined ? ['--heartbeat-ticks', String(o.heartbeatTicks)] : []),
      ...(o.snapshotEntries ? ['--snapshot-entries', String(o.snapshotEntries)] : []),
      ...(o.token ? ['--token', o.token] : []),
      ...(this.clusterId !== undefined ? ['--cluster-id', this.clusterId] : []),
      ...(o.extraArgs ?? []),
    ];
    // The level goes in the environment so that a --log-level in extraArgs (a flag) overrides it.
    const env = { RAFT_IPAM_LOG_LEVEL: o.logLevel ?? process.env.RAFT_IPAM_LOG_LEVEL ?? 'info', ...o.env };
    s.handle = await this.backend.launch({ id, argv, env, logFile: s.logFile, dataDir: s.dataDir, ...(this.tlsDir ? { readOnlyDirs: [this.tlsDir] } : {}) });
  }

  /**
   * Until the node answers HTTP (GET /healthz); fails early, with its log's tail, if it exits first. Not
   * /v1/status: its stateHash is a capture and SHA-256 of the whole state (spread over many event-loop
   * turns, but seconds of work at 1,000,000 addresses), more than "is it up" needs.
   */
  private async waitForServing(id: string): Promise<void> {
    const s = this.slot(id);
    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_WAIT_MS;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!s.handle?.isRunning()) {
        const exit = await s.handle?.exited;
        throw new Error(`${id} exited (code ${exit?.code}, signal ${exit?.signal}) before serving:\n${(await this.readLog(id)).split('\n').slice(-10).join('\n')}`);
      }
      if (await answersHttp(s.clientUrl, 500)) return;
      if (Date.now() > deadline) throw new Error(`${id} did not answer on ${s.clientUrl} within ${timeoutMs} ms; log ${s.logFile}`);
      await sleep(POLL_MS);
    }
  }

  /** Until `id` has applied what the leader had committed when we started waiting. */
  private async waitForCatchUp(id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const leader = await this.waitForLeader({ timeoutMs, exclude: [id] });
    const target = (await this.status(leader))?.commit ?? 0;
    for (;;) {
      const s = await this.status(id);
      if (s !== undefined && s.applied >= target) return;
      if (Date.now() > deadline) throw new Error(`${id} did not catch up to index ${target} within ${timeoutMs} ms (at ${s?.applied ?? 'no answer'}); logs in ${this.root}`);
      await sleep(POLL_MS);
    }
  }
}
