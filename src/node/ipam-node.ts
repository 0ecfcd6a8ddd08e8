/**
 * IpamNode: one raft-ipam cluster member in a process. It wires the Replica (the Ready loop) to LevelDB
 * storage, the TCP/TLS peer transport and a ticker, replicates IPAM commands and member attributes
 * (ClusterApp), and offers the NodeService that the HTTP API and embedding hosts use.
 *
 * Time enters in two places only: the ticker (Raft's logical clock) and `now()`, which stamps the
 * durations reported to metrics. Randomness (election timeouts, backoff jitter) comes from one injected
 * source, so an embedding host can make a node reproducible.
 */
import { randomInt } from 'node:crypto';
import { sha256Stepwise } from '../backup/snapshot-file.js';
import { OverlayError } from '../ipam/errors.js';
import type { IpamCommand } from '../ipam/commands.js';
import type { ApplyResult, IpamStateMachine } from '../ipam/state-machine.js';
import { parseMessage } from '../raft/message-parse.js';
import { createRng } from '../raft/rng.js';
import type { ConfState, Message, NodeId } from '../raft/types.js';
import { DEFAULT_SNAPSHOT_LOG_RATIO } from '../raft/snapshot-policy.js';
import { LevelStorage } from '../storage/level-storage.js';
import type { RaftStorage } from '../storage/types.js';
import { loadNodeTls } from '../transport/certs.js';
import { specificAddress, TcpTransport, type PeerAddress } from '../transport/tcp.js';
import { addressedAdapter, type Transport, type TransportStats } from '../transport/types.js';
import { ClusterApp, checkMember, encodeIpamEntry, encodeMemberEntry, parseHostPort, type ClusterOut, type MemberAttributes } from './cluster-app.js';
import { Replica, type ReplicaObserver } from './replica.js';
import { staggeredLogRatio, staggeredSnapshotEntries } from './snapshot-stagger.js';
import { DEFAULT_RAFT_TIMING } from './timing.js';
import { NodeError, type Consistency, type LeaderRef, type MemberView, type NodeService, type NodeStatusView, type RaftStatusView, type SessionRef, type SnapshotExport } from './service.js';

/** A transport the node can tell about members that join, move or leave (TcpTransport can). */
export type NodeTransport = Transport<Message> & Partial<{ addPeer(id: NodeId, addr: PeerAddress): void; removePeer(id: NodeId): void }>;

export interface IpamNodeOptions {
  /** This member's id (etcd's --name). */
  name: NodeId;
  /** Where the Raft log, hard state and snapshots live (LevelDB + snapshot files). */
  dataDir: string;
  /** Guards against pointing a node at another cluster's data or peers. */
  clusterId?: string;
  /** Every founding member's peer address, this node included: `{ n1: '127.0.0.1:7001', … }`. */
  initialCluster: Record<NodeId, string>;
  /**
   * 'new' bootstraps the founding membership from initialCluster on an empty data dir; 'existing' joins a
   * running cluster (the node was added with members add and learns everything from the leader).
   */
  initialClusterState?: 'new' | 'existing';
  /** Peer listener; defaults to this node's entry in initialCluster. */
  listenPeer?: string;
  /**
   * The peer address this node publishes for itself in its member record (etcd's
   * --initial-advertise-peer-urls), when peers reach it elsewhere than where it listens (a proxy, NAT,
   * the chaos harness's relays). Defaults to this node's initialCluster entry, else listenPeer.
   */
  advertisePeer?: string;
  /** This node's client URL, published to the cluster so followers can point clients at the leader. */
  clientUrl?: string;
  /** Directory made by `raft-ipam certs` (ca.pem, <name>.pem, <name>-key.pem); required unless insecure. */
  tlsDir?: string;
  insecure?: boolean;
  /** Replace the TCP transport (embedding hosts with their own network). */
  transport?: NodeTransport;
  /** Replace LevelDB storage (tests, embedding). */
  storage?: RaftStorage;
  /**
   * Raft timing (defaults: DEFAULT_RAFT_TIMING in timing.ts): a tick in ms, the election timeout in ticks
   * (randomized per election up to twice that), the heartbeat interval in ticks.
   */
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  readMode?: 'safe' | 'lease';
  snapshotEntries?: number;
  /**
   * Log bytes written since the last snapshot, as a multiple of its size, needed before the next one
   * besides snapshotEntries (SnapshotPolicyOptions.logToSnapshot; default DEFAULT_SNAPSHOT_LOG_RATIO, 0
   * for the entry count alone).
   */
  snapshotLogRatio?: number;
  snapshotKeepTrailing?: number;
  /** A command or read not finished in this time is answered with Timeout (default 5000 ms). */
  requestTimeoutMs?: number;
  /** Wall clock for the log time stamped on entries (session expiry); default Date.now. */
  clock?: () => number;
  /** Seed for election-timeout randomness (default: from the OS). */
  seed?: number;
  observer?: ReplicaObserver<ClusterOut>;
  /** Called when the node stopped on its own (storage or apply failure). */
  onFatal?: (error: unknown) => void;
  /**
   * Deliberately broken behaviour, for proving that the chaos suite's checker catches it (as etcd's
   * robustness tests inject failpoints). `stale-reads`: linearizable reads skip ReadIndex and answer from
   * this node's state, on any node — a deposed leader or a lagging follower then serves stale data.
   * Never set it on a real cluster; the node logs a warning at start.
   */
  unsafeFault?: 'stale-reads';
}

export class IpamNode implements NodeService {
  readonly id: NodeId;
  readonly clusterId: string;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private nextRequestId = 1;
  private stopping: Promise<void> | undefined;
  private readonly clock: () => number;
  private hashCache: { index: number; hash: string } | undefined;
  private hashing: Promise<{ index: number; hash: string }> | undefined;

  private constructor(
    private readonly options: IpamNodeOptions,
    private readonly replica: Replica<ClusterOut>,
    private readonly app: ClusterApp,
    private readonly storage: RaftStorage,
    private readonly transport: NodeTransport,
  ) {
    this.id = options.name;
    this.clusterId = options.clusterId ?? 'raft-ipam';
    this.clock = options.clock ?? Date.now;
  }

  static async start(options: IpamNodeOptions): Promise<IpamNode> {
    const o = validateOptions(options);
    const clusterId = o.clusterId ?? 'raft-ipam';
    const storage = o.storage ?? (await LevelStorage.open({ dir: o.dataDir, clusterId, nodeId: o.name }));
    let transport: NodeTransport | undefined;
    try {
      transport = o.transport ?? (await tcpTransport(o, clusterId));
      const peerTransport = transport;
      const app = new ClusterApp(undefined, (m) => updatePeer(peerTransport, o.name, m));
      // No storage.load() here: Replica.open loads the store, and only the first load after open() is
      // served from what open() already read; a second one reads every entry and the snapshot file again.
      const founding: ConfState = { voters: Object.keys(o.initialCluster).sort(), learners: [] };
      let node: IpamNode | undefined;
      const replica = await Replica.open<ClusterOut>({
        raft: {
          id: o.name,
          electionTick: o.electionTicks ?? DEFAULT_RAFT_TIMING.electionTicks,
          heartbeatTick: o.heartbeatTicks ?? DEFAULT_RAFT_TIMING.heartbeatTicks,
          rng: createRng(o.seed ?? randomInt(2 ** 31)),
          readOnly: o.readMode ?? 'safe',
        },
        storage,
        transport,
        app,
        scheduler: { soon: (work) => setImmediate(work) },
        ...((o.initialClusterState ?? 'new') === 'new' ? { initialConf: founding } : {}),
        snapshotPolicy: {
          entries: staggeredSnapshotEntries(o.name, o.snapshotEntries ?? 10_000),
          bytes: 64 * 1024 * 1024,
          keepTrailing: o.snapshotKeepTrailing ?? 5_000,
          logToSnapshot: staggeredLogRatio(o.name, o.snapshotLogRatio ?? DEFAULT_SNAPSHOT_LOG_RATIO),
        },
        now: () => performance.now(),
        observer: {
          ...o.observer,
          softState: (s, term) => {
            o.observer?.softState?.(s, term);
            node?.onSoftState(s.role === 'leader');
          },
          applied: (entry, out) => {
            o.observer?.applied?.(entry, out);
            if (entry.type === 'conf' && entry.change.op === 'remove') node?.onRemoved(entry.change.node);
          },
        },
        onFatal: (e) => {
          void node?.stop();
          o.onFatal?.(e);
        },
      });
      node = new IpamNode(o, replica, app, storage, transport);
      await transport.start();
      node.ticker = setInterval(() => replica.tick(), o.tickMs ?? DEFAULT_RAFT_TIMING.tickMs);
      return node;
    } catch (e) {
      await transport?.close().catch(() => undefined);
      await storage.close().catch(() => undefined);
      throw e;
    }
  }

  // --- NodeService -----------------------------------------------------------------------------------

  async submit(command: IpamCommand, session?: SessionRef): Promise<ApplyResult> {
    let data: Uint8Array;
    try {
      // The leader's clock stamps the entry: session expiry runs on this log time, the same on every
      // replica (Raft dissertation §6.3), never on a replica's own clock.
      data = encodeIpamEntry({ id: this.nextRequestId++, command, ...(session ? { session } : {}), time: Math.max(0, Math.floor(this.clock())) });
    } catch (e) {
      // A malformed command never enters the log: refused here exactly as apply() would refuse it.
      if (e instanceof OverlayError) return { ok: false, error: e.toJSON() };
      throw e;
    }
    const applied = await this.withTimeout(this.replica.propose(data), 'command');
    if (applied.result.kind !== 'ipam') throw new NodeError('InvalidRequest', 'a command entry was applied as member attributes');
    return applied.result.result;
  }

  async query<T>(consistency: Consistency, read: (sm: IpamStateMachine) => T): Promise<T> {
    if (consistency === 'linearizable' && this.options.unsafeFault !== 'stale-reads') await this.withTimeout(this.replica.readIndex(), 'read');
    else if (this.replica.isStopped) throw new NodeError('Stopped', `${this.id} is stopped`);
    return read(this.app.ipam.sm);
  }

  raftStatus(): RaftStatusView {
    const s = this.replica.status();
    return {
      id: this.id,
      clusterId: this.clusterId,
      role: s.role,
      term: s.term,
      leader: s.lead === null ? null : this.leaderRef(s.lead),
      commit: s.commit,
      applied: s.applied,
      lastIndex: s.lastIndex,
      snapshotIndex: s.snapshotIndex,
      members: this.memberViews(s.conf),
    };
  }

  async status(): Promise<NodeStatusView> {
    let h: { index: number; hash: string };
    try {
      h = await this.stateHashNow();
    } catch (e) {
      // Stopped meanwhile (removed from the cluster, a fatal error): still answer, as raftStatus() does.
      if (!this.replica.isStopped) throw e;
      h = this.stoppedStateHash();
    }
    return { ...this.raftStatus(), stateHash: h.hash, stateHashIndex: h.index };
  }

  /** A stopped replica's state never changes again: hash it once, on the spot (nothing else runs). */
  private stoppedStateHash(): { index: number; hash: string } {
    const index = this.replica.status().applied;
    if (this.hashCache?.index !== index) this.hashCache = { index, hash: this.app.ipam.sm.stateHash() };
    return this.hashCache;
  }

  /**
   * The state hash at the applied index now: from the cache when nothing was applied since, else from a
   * capture encoded a step at a time (Replica.exportSnapshot, the path of GET /v1/snapshot) and hashed a
   * slice per turn. Callers that arrive while one is computed share it, so status polls cost at most one
   * capture at a time.
   */
  private stateHashNow(): Promise<{ index: number; hash: string }> {
    if (this.replica.isStopped) return Promise.resolve(this.stoppedStateHash());
    const cached = this.hashCache;
    if (cached && cached.index === this.replica.status().applied) return Promise.resolve(cached);
    this.hashing ??= (async () => {
      try {
        const s = await this.replica.exportSnapshot(() => this.app.ipam.beginSnapshot());
        this.hashCache = { index: s.index, hash: await sha256Stepwise(s.data) };
        return this.hashCache;
      } finally {
        this.hashing = undefined;
      }
    })();
    return this.hashing;
  }

  async addMember(member: { id: NodeId; peerUrl: string; clientUrl?: string; learner?: boolean }): Promise<void> {
    const attrs = this.checked(() => checkMember({ id: member.id, peerUrl: member.peerUrl, ...(member.clientUrl ? { clientUrl: member.clientUrl } : {}) }));
    const conf = this.replica.status().conf;
    if (conf.voters.includes(attrs.id) || conf.learners.includes(attrs.id)) throw new NodeError('InvalidMembership', `${attrs.id} is already a member`);
    // Addresses first: once the conf change applies, every replica must already know where it lives.
    await this.withTimeout(this.replica.propose(encodeMemberEntry(attrs)), 'member attributes');
    // A new node always starts as a learner (§4.2.1: catch up before it counts toward a quorum).
    await this.withTimeout(this.replica.proposeConfChange({ op: 'addLearner', node: attrs.id }), 'membership change');
    if (member.learner === false) await this.promoteMember(attrs.id);
  }

  async promoteMember(id: NodeId): Promise<void> {
    const s = this.replica.status();
    if (!s.conf.learners.includes(id)) throw new NodeError('InvalidMembership', `${id} is not a learner`);
    const match = s.progress?.[id]?.match ?? 0;
    // Promoting a learner that is far behind would stall commits until it catches up (§4.2.1).
    if (s.role === 'leader' && s.lastIndex - match > 1000) throw new NodeError('InvalidMembership', `${id} is ${s.lastIndex - match} entries behind; promote it once it has caught up`);
    await this.withTimeout(this.replica.proposeConfChange({ op: 'addVoter', node: id }), 'membership change');
  }

  async removeMember(id: NodeId): Promise<void> {
    const conf = this.replica.status().conf;
    if (!conf.voters.includes(id) && !conf.learners.includes(id)) throw new NodeError('InvalidMembership', `${id} is not a member`);
    if (conf.voters.length === 1 && conf.voters[0] === id) throw new NodeError('InvalidMembership', `${id} is the last voter`);
    await this.withTimeout(this.replica.proposeConfChange({ op: 'remove', node: id }), 'membership change');
  }

  async transferLeader(to?: NodeId): Promise<void> {
    const s = this.replica.status();
    if (s.role !== 'leader') throw this.notLeader(s.lead);
    const target = to ?? mostUpToDate(s.progress ?? {}, s.conf.voters, this.id);
    if (target === undefined) throw new NodeError('InvalidMembership', 'no other voter to transfer leadership to');
    if (!s.conf.voters.includes(target)) throw new NodeError('InvalidMembership', `${target} is not a voter`);
    await this.replica.transferLeadership(target);
    const deadline = performance.now() + (this.options.requestTimeoutMs ?? 5000);
    while (performance.now() < deadline) {
      const lead = this.replica.status().lead;
      if (lead === target) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new NodeError('Timeout', `leadership did not move to ${target} in time`);
  }

  async exportSnapshot(): Promise<SnapshotExport> {
    // The read point first (§6.4): once it is applied here, the capture that starts afterwards holds every
    // write acknowledged before this call. Only the IPAM part is captured (see SnapshotExport).
    const asked = Math.max(0, Math.floor(this.clock()));
    await this.withTimeout(this.replica.readIndex(), 'snapshot read point');
    const { index, term, data } = await this.replica.exportSnapshot(() => this.app.ipam.beginSnapshot());
    return { clusterId: this.clusterId, index, term, takenAt: asked, data };
  }

  isReady(): boolean {
    const s = this.replica.status();
    return !this.replica.isStopped && s.lead !== null && s.applied >= this.replica.bootCommit;
  }

  /** Stop ticking, settle the batch in flight, close the transport and storage (releasing the lock). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.ticker) clearInterval(this.ticker);
      await this.replica.stop();
      await this.transport.close();
      await this.storage.close();
    })();
    return this.stopping;
  }

  /** The peer address this node listens on (useful with port 0). */
  peerAddress(): PeerAddress | undefined {
    return this.transport instanceof TcpTransport ? this.transport.address() : undefined;
  }

  /** The peer transport's counters (frames, bytes, drops and rejections by reason, reconnects). */
  transportStats(): TransportStats {
    return this.transport.stats();
  }

  /** The local state machine (metrics, embedding hosts); read it, never change it. */
  stateMachine(): IpamStateMachine {
    return this.app.ipam.sm;
  }

  /** @internal the replica, for tests and metrics that inspect the Raft core. */
  get raftReplica(): Replica<ClusterOut> {
    return this.replica;
  }

  // --- helpers -------------------------------------------------------------------------------------

  private onSoftState(isLeader: boolean): void {
    if (!isLeader) return;
    // A new leader publishes its own client URL (etcd's member publish), so followers can redirect to it.
    const url = this.options.clientUrl;
    const known = this.app.member(this.id);
    const peerUrl = advertisedPeer(this.options);
    if (url === undefined || (known?.clientUrl === url && known.peerUrl === peerUrl)) return;
    this.replica.propose(encodeMemberEntry({ id: this.id, ...(peerUrl ? { peerUrl } : {}), clientUrl: url })).catch(() => undefined);
  }

  private onRemoved(id: NodeId): void {
    // A removed member is no longer a peer; a node removed itself stops serving (as etcd's member does).
    if (id !== this.id) this.transport.removePeer?.(id);
    else setImmediate(() => void this.stop());
  }

  private leaderRef(id: NodeId): LeaderRef {
    const url = this.app.member(id)?.clientUrl;
    return url ? { id, clientUrl: url } : { id };
  }

  private notLeader(lead: NodeId | null): NodeError {
    return lead === null ? new NodeError('NoLeader', 'no leader is known right now; retry shortly') : new NodeError('NotLeader', `${this.id} is not the leader; ${lead} is`, this.leaderRef(lead));
  }

  private memberViews(conf: ConfState): MemberView[] {
    const view = (id: NodeId, role: 'voter' | 'learner'): MemberView => {
      const m = this.app.member(id);
      const peerUrl = m?.peerUrl ?? (id === this.id ? advertisedPeer(this.options) : this.options.initialCluster[id]);
      return { id, role, ...(peerUrl ? { peerUrl } : {}), ...(m?.clientUrl ? { clientUrl: m.clientUrl } : {}) };
    };
    return [...conf.voters.map((id) => view(id, 'voter')), ...conf.learners.map((id) => view(id, 'learner'))].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  private checked<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof OverlayError) throw new NodeError('InvalidRequest', e.message);
      throw e;
    }
  }

  /** Bound a wait; NotLeader errors from the replica gain the leader's client URL on the way out. */
  private async withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    const ms = this.options.requestTimeoutMs ?? 5000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NodeError('Timeout', `${what} did not complete within ${ms} ms (it may still be applied; retry with the same session)`)), ms);
    });
    try {
      return await Promise.race([p, timeout]);
    } catch (e) {
      if (e instanceof NodeError && e.code === 'NotLeader' && e.leader) throw this.notLeader(e.leader.id);
      throw e;
    } finally {
      clearTimeout(timer);
      p.catch(() => undefined);
    }
  }
}

function validateOptions(o: IpamNodeOptions): IpamNodeOptions {
  const fail = (message: string): never => {
    throw new NodeError('InvalidRequest', message);
  };
  if (typeof o.name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(o.name)) fail(`name must be 1–64 characters of [A-Za-z0-9._-], got ${JSON.stringify(o.name)}`);
  if (!o.storage && (typeof o.dataDir !== 'string' || o.dataDir === '')) fail('dataDir is required');
  const ids = Object.keys(o.initialCluster ?? {});
  if (ids.length === 0) fail('initialCluster must name at least one member');
  if ((o.initialClusterState ?? 'new') === 'new' && !ids.includes(o.name)) fail(`initialCluster must include this node (${o.name})`);
  for (const [id, addr] of Object.entries(o.initialCluster)) {
    try {
      checkMember({ id, peerUrl: addr });
    } catch (e) {
      fail(`initialCluster ${id}: ${(e as Error).message}`);
    }
  }
  if (!o.transport && !o.insecure && !o.tlsDir) fail('peer traffic needs tlsDir (mutual TLS) or an explicit insecure: true');
  if (o.insecure && o.tlsDir) fail('choose tlsDir or insecure, not both');
  for (const k of ['tickMs', 'electionTicks', 'heartbeatTicks', 'requestTimeoutMs', 'snapshotEntries'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) fail(`${k} must be a positive integer, got ${String(v)}`);
  }
  if (o.snapshotLogRatio !== undefined && !(typeof o.snapshotLogRatio === 'number' && Number.isFinite(o.snapshotLogRatio) && o.snapshotLogRatio >= 0)) {
    fail(`snapshotLogRatio must be a finite number ≥ 0, got ${String(o.snapshotLogRatio)}`);
  }
  if (o.clientUrl !== undefined) checkClientUrl(o.clientUrl, fail);
  for (const k of ['listenPeer', 'advertisePeer'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    try {
      parseHostPort(v);
    } catch {
      fail(`${k} must be host:port, got ${JSON.stringify(v)}`);
    }
  }
  // Every other member dials the founding entry; publishing another address would move them elsewhere.
  const listed = o.initialCluster[o.name];
  if (o.advertisePeer !== undefined && listed !== undefined && listed !== o.advertisePeer) fail(`advertisePeer ${o.advertisePeer} differs from this node's initialCluster entry ${listed}`);
  return o;
}

/** The peer address this node publishes (see IpamNodeOptions.advertisePeer). */
function advertisedPeer(o: IpamNodeOptions): string | undefined {
  return o.advertisePeer ?? o.initialCluster[o.name] ?? o.listenPeer;
}

function checkClientUrl(url: string, fail: (m: string) => never): void {
  try {
    checkMember({ id: 'x', clientUrl: url });
  } catch (e) {
    fail((e as Error).message);
  }
}

async function tcpTransport(o: IpamNodeOptions, cluster: string): Promise<TcpTransport<Message>> {
  const peers: Record<NodeId, PeerAddress> = {};
  for (const [id, addr] of Object.entries(o.initialCluster)) if (id !== o.name) peers[id] = parseHostPort(addr);
  const listenText = o.listenPeer ?? o.initialCluster[o.name];
  if (!listenText) throw new NodeError('InvalidRequest', `no peer address for ${o.name}: give listenPeer or list it in initialCluster`);
  const tls = o.tlsDir ? await loadNodeTls(o.tlsDir, o.name) : undefined;
  const listen = parseHostPort(listenText);
  // Outbound peer connections leave from the listener's IP, so the receiving side (or the chaos harness's
  // relay in front of it) can tell the dialler by its source address.
  const localAddress = specificAddress(listen.host);
  return new TcpTransport<Message>({
    id: o.name,
    cluster,
    listen,
    ...(localAddress !== undefined ? { localAddress } : {}),
    peers,
    adapter: addressedAdapter((raw) => parseMessage(raw)),
    ...(tls ? { tls } : { insecure: true }),
  });
}

function updatePeer(transport: NodeTransport, self: NodeId, m: MemberAttributes): void {
  if (m.id === self || !m.peerUrl || !transport.addPeer) return;
  transport.addPeer(m.id, parseHostPort(m.peerUrl));
}

function mostUpToDate(progress: Record<NodeId, { match: number }>, voters: NodeId[], self: NodeId): NodeId | undefined {
  let best: NodeId | undefined;
  let bestMatch = -1;
  for (const id of voters) {
    if (id === self) continue;
    const match = progress[id]?.match ?? 0;
    if (match > bestMatch) {
      best = id;
      bestMatch = match;
    }
  }
  return best;
}
