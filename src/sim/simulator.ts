/**
 * Deterministic Raft simulator: 3–7 RaftCore nodes on virtual time, one seed driving every choice, faults
 * injected into the network (drop, duplicate, reorder, delay, partitions) and the nodes (crash losing what
 * was not persisted, restart from what was), membership churn, snapshots with compaction, and a client
 * workload of real IpamStateMachine commands. Safety invariants are checked after every event; then a
 * liveness phase heals everything and requires convergence. A failure names the command that replays it.
 */
import { decodeEntry, encodeEntry } from '../ipam/log-entry.js';
import { IpamStateMachine, type ApplyResult } from '../ipam/state-machine.js';
import type { IpamCommand } from '../ipam/commands.js';
import { RaftCore, type RaftBootState, type RaftConfig } from '../raft/raft.js';
import { RaftError, type ConfState, type Entry, type HardState, type Message, type NodeId, type Snapshot } from '../raft/types.js';
import { createRng, type Rng } from '../raft/rng.js';
import { logView, withTestingKnobs } from '../raft/internal.js';
import { EventQueue } from './event-queue.js';
import { nextCommand, SETUP } from './workload.js';
import { clientHistoryViolation, type Proposal } from './client-oracle.js';
import { entryKey, logMatchingViolation } from './invariants.js';

export type Variant = 'none' | 'vote-without-log-check' | 'commit-prior-term' | 'vote-not-persisted' | 'lease-without-quorum-acks';

export interface SimOptions {
  seed: number;
  /** Events processed in the fault phase. */
  steps: number;
  /** Initial voters (3–7). */
  nodes?: number;
  variant?: Variant;
  /** Virtual milliseconds allowed for the liveness phase. */
  livenessMs?: number;
}

export interface SimResult {
  ok: boolean;
  seed: number;
  violation?: string;
  replay: string;
  stats: { events: number; virtualMs: number; elections: number; committed: number; acked: number; crashes: number; snapshots: number; snapshotsSent: number; confChanges: number; readsServed: number };
}

const TICK_MS = 10;

interface Storage {
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

interface SimNode {
  id: NodeId;
  storage: Storage;
  core: RaftCore | undefined;
  sm: IpamStateMachine | undefined;
  /** Incremented on crash so events scheduled for a previous life are dropped. */
  life: number;
  readyScheduled: boolean;
  /** Monotonicity watermarks within the current life. */
  seenTerm: number;
  seenCommit: number;
  seenApplied: number;
  /** Watermarks of persisted state, across lives. */
  persistedTerm: number;
  persistedCommit: number;
  initialConf: ConfState | undefined;
}

type Event =
  | { kind: 'tick'; node: NodeId; life: number }
  | { kind: 'deliver'; msg: Message }
  | { kind: 'ready'; node: NodeId; life: number }
  | { kind: 'client' }
  | { kind: 'read' }
  | { kind: 'fault' }
  | { kind: 'restart'; node: NodeId }
  | { kind: 'crash'; node: NodeId; life: number }
  | { kind: 'isolate'; node: NodeId };

class Violation extends Error {}

export function replayCommand(o: SimOptions): string {
  return `npx raft-ipam simulate --seed ${o.seed} --steps ${o.steps} --nodes ${o.nodes ?? 3}${o.variant && o.variant !== 'none' ? ` --variant ${o.variant}` : ''}`;
}

export class Simulation {
  private readonly rng: Rng;
  private readonly net: Rng;
  private readonly queue = new EventQueue<Event>();
  private readonly nodes = new Map<NodeId, SimNode>();
  private now = 0;
  private events = 0;

  // Faults currently in force.
  private dropRate = 0;
  private dupRate = 0;
  private maxDelay = 5;
  private blocked = new Set<string>(); // "from>to"
  private healing = false;

  // Invariant bookkeeping.
  private readonly leaders = new Map<number, NodeId>();
  /** index → term/bytes of every entry known committed anywhere. */
  private readonly committed = new Map<number, { term: number; key: string }>();
  /** index → bytes of every entry applied anywhere. */
  private readonly applied = new Map<number, { key: string; entry: Entry }>();

  // Client bookkeeping.
  private nextRequestId = 1;
  private readonly proposals = new Map<number, Proposal>();
  private readonly acked = new Map<number, ApplyResult>();
  private readonly recentGenerations: number[] = [];
  private setupDone = 0;
  private lastLeader: NodeId | undefined;

  /** Optional event trace (debugging a seed); not used by checks. */
  trace: ((line: string) => void) | undefined;

  private readonly maxSizePerMsg: number;
  private readonly readOnly: 'safe' | 'lease';
  /** Reads in flight: ctx → the highest write index acknowledged before the read began. */
  private readonly reads = new Map<string, { node: NodeId; life: number; mustSee: number }>();
  /** Reads whose ReadState arrived, waiting for the node to apply up to its index. */
  private readonly readsToServe = new Map<NodeId, Array<{ ctx: string; index: number }>>();
  private maxAckedIndex = 0;
  private nextReadId = 1;
  /** Fault intensity of this run, drawn from the seed: calm, moderate or violent. */
  private readonly profile: { faultMin: number; faultSpread: number; restartMin: number; restartSpread: number; killLeader: number; isolateAfterCommit: number };

  readonly stats = { events: 0, virtualMs: 0, elections: 0, committed: 0, acked: 0, crashes: 0, snapshots: 0, snapshotsSent: 0, confChanges: 0, readsServed: 0 };

  constructor(readonly options: SimOptions) {
    const n = options.nodes ?? 3;
    if (!Number.isInteger(n) || n < 3 || n > 7) throw new RangeError(`nodes must be 3..7, got ${n}`);
    this.rng = createRng(options.seed);
    this.net = this.rng.fork();
    this.maxSizePerMsg = this.rng.pick([1, 1, 300, 4096]);
    this.readOnly = this.rng.pick(['safe', 'lease'] as const);
    if (options.variant === 'lease-without-quorum-acks') this.readOnly = 'lease';
    this.profile = this.rng.pick([
      { faultMin: 40, faultSpread: 300, restartMin: 50, restartSpread: 400, killLeader: 0.1, isolateAfterCommit: 0.1 },
      { faultMin: 20, faultSpread: 200, restartMin: 50, restartSpread: 400, killLeader: 0.3, isolateAfterCommit: 0.3 },
      { faultMin: 5, faultSpread: 60, restartMin: 5, restartSpread: 80, killLeader: 0.6, isolateAfterCommit: 0.3 },
    ]);
    const voters = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    const spares = ['n8', 'n9'];
    for (const id of [...voters, ...spares]) {
      const isInitial = voters.includes(id);
      this.nodes.set(id, {
        id,
        storage: { hardState: { term: 0, vote: null, commit: 0 }, entries: [] },
        core: undefined,
        sm: undefined,
        life: 0,
        readyScheduled: false,
        seenTerm: 0,
        seenCommit: 0,
        seenApplied: 0,
        persistedTerm: 0,
        persistedCommit: 0,
        // Spares start with no membership: they join only through conf changes.
        initialConf: isInitial ? { voters, learners: [] } : undefined,
      });
      this.start(id);
    }
  }

  run(): SimResult {
    try {
      this.queue.push(20, { kind: 'client' });
      this.queue.push(50, { kind: 'fault' });
      this.queue.push(30, { kind: 'read' });
      while (this.events < this.options.steps) this.processOne();
      this.liveness();
      this.clientOracle();
      return this.result(true);
    } catch (e) {
      if (e instanceof Violation) return this.result(false, e.message);
      return this.result(false, `exception: ${(e as Error).stack ?? String(e)}`);
    }
  }

  private result(ok: boolean, violation?: string): SimResult {
    this.stats.events = this.events;
    this.stats.virtualMs = this.now;
    this.stats.acked = this.acked.size;
    this.stats.committed = this.committed.size;
    return { ok, seed: this.options.seed, ...(violation ? { violation } : {}), replay: replayCommand(this.options), stats: { ...this.stats } };
  }

  // --- node lifecycle ----------------------------------------------------------------------------------

  private config(id: NodeId): RaftConfig {
    const variant = this.options.variant ?? 'none';
    const knobs = {
      grantVotesWithoutLogCheck: variant === 'vote-without-log-check',
      commitEntriesOfPriorTerms: variant === 'commit-prior-term',
      forgetVoteOnRestart: variant === 'vote-not-persisted',
      leaseWithoutQuorumAcks: variant === 'lease-without-quorum-acks',
    };
    return withTestingKnobs({
      id,
      electionTick: 10,
      heartbeatTick: 2,
      rng: this.rng.fork(),
      // Batching varies by run: one entry per append exposes interleavings that big batches hide.
      maxSizePerMsg: this.maxSizePerMsg,
      readOnly: this.readOnly,
      maxInflightMsgs: 8,
      snapshotChunkBytes: 512,
    }, knobs);
  }

  private start(id: NodeId): void {
    const node = this.nodes.get(id) as SimNode;
    const boot: RaftBootState = {
      hardState: { ...node.storage.hardState },
      entries: node.storage.entries.slice(),
      ...(node.storage.snapshot ? { snapshot: node.storage.snapshot } : {}),
      ...(node.initialConf ? { initialConf: node.initialConf } : {}),
    };
    node.core = new RaftCore(this.config(id), boot);
    node.sm = new IpamStateMachine();
    if (node.storage.snapshot) node.sm.restore(node.storage.snapshot.data);
    const st = node.core.status();
    node.seenTerm = st.term;
    node.seenCommit = st.commit;
    node.seenApplied = st.applied;
    node.readyScheduled = false;
    this.queue.push(this.now + 1 + this.rng.int(TICK_MS), { kind: 'tick', node: id, life: node.life });
  }

  private crash(id: NodeId): void {
    const node = this.nodes.get(id) as SimNode;
    if (!node.core) return;
    // Everything not persisted is gone: the core, the state machine, a ready not yet processed.
    node.core = undefined;
    node.sm = undefined;
    node.life++;
    this.readsToServe.delete(id);
    this.stats.crashes++;
    this.queue.push(this.now + this.profile.restartMin + this.rng.int(this.profile.restartSpread), { kind: 'restart', node: id });
  }

  // --- event loop --------------------------------------------------------------------------------------

  private processOne(): void {
    const item = this.queue.pop();
    if (!item) throw new Violation('event queue ran dry');
    this.now = item.at;
    this.events++;
    const ev = item.event;
    if (this.trace) this.trace(`${this.now} ${JSON.stringify(ev, (k, v) => (v instanceof Uint8Array ? `<${v.length}b>` : v))}`);
    let touched: SimNode | undefined;
    switch (ev.kind) {
      case 'tick': {
        const node = this.nodes.get(ev.node) as SimNode;
        if (node.life !== ev.life || !node.core) break;
        node.core.tick();
        this.queue.push(this.now + TICK_MS, ev);
        touched = node;
        break;
      }
      case 'deliver': {
        const node = this.nodes.get(ev.msg.to) as SimNode;
        if (!node.core) break;
        // A partition that began while the message was in flight loses it, as a real network would.
        if (this.blocked.has(`${ev.msg.from}>${ev.msg.to}`)) break;
        // Stepping while a ready event is pending is fine: ready() and advance() run back to back in
        // handleReady, so the core never sees a step between them.
        node.core.step(ev.msg);
        touched = node;
        break;
      }
      case 'ready': {
        const node = this.nodes.get(ev.node) as SimNode;
        if (node.life !== ev.life || !node.core) break;
        node.readyScheduled = false;
        this.handleReady(node);
        touched = node;
        break;
      }
      case 'client':
        this.client();
        if (!this.healing) this.queue.push(this.now + 5 + this.rng.int(30), { kind: 'client' });
        break;
      case 'read':
        this.startRead();
        if (!this.healing) this.queue.push(this.now + 10 + this.rng.int(60), { kind: 'read' });
        break;
      case 'fault':
        if (this.healing) break; // a fault queued before healing must not undo it
        this.fault();
        if (!this.healing) this.queue.push(this.now + this.profile.faultMin + this.rng.int(this.profile.faultSpread), { kind: 'fault' });
        break;
      case 'isolate': {
        if (this.healing) break;
        // Cut a fresh leader off before (most of) its first entries of the term get out.
        this.blocked.clear();
        for (const other of this.nodes.keys()) if (other !== ev.node) this.blocked.add(`${ev.node}>${other}`).add(`${other}>${ev.node}`);
        break;
      }
      case 'crash': {
        const node = this.nodes.get(ev.node) as SimNode;
        if (node.life === ev.life && !this.healing) this.crash(ev.node);
        break;
      }
      case 'restart': {
        const node = this.nodes.get(ev.node) as SimNode;
        if (!node.core) this.start(ev.node);
        touched = node;
        break;
      }
    }
    if (touched) this.scheduleReady(touched);
    this.checkInvariants();
  }

  private handleReady(node: SimNode): void {
    const core = node.core as RaftCore;
    const sm = node.sm as IpamStateMachine;
    const rd = core.ready();
    // 1. persist
    const st = node.storage;
    if (rd.snapshot) {
      st.snapshot = rd.snapshot;
      st.entries = [];
    }
    if (rd.entries.length > 0) {
      const first = (rd.entries[0] as Entry).index;
      st.entries = st.entries.filter((e) => e.index < first).concat(rd.entries);
    }
    if (rd.hardState) {
      if (rd.hardState.term < node.persistedTerm) throw new Violation(`${node.id}: persisted term went back ${node.persistedTerm} → ${rd.hardState.term}`);
      if (rd.hardState.commit < node.persistedCommit) throw new Violation(`${node.id}: persisted commit went back ${node.persistedCommit} → ${rd.hardState.commit}`);
      st.hardState = { ...rd.hardState };
      node.persistedTerm = rd.hardState.term;
      node.persistedCommit = rd.hardState.commit;
    }
    // 2. send
    for (const m of rd.messages) this.send(m);
    // 3. apply
    if (rd.snapshot) {
      sm.restore(rd.snapshot.data);
      this.stats.snapshotsSent++;
    }
    for (const e of rd.committedEntries) this.apply(node, sm, e);
    for (const rs of rd.readStates) {
      const list = this.readsToServe.get(node.id) ?? [];
      list.push({ ctx: rs.ctx, index: rs.index });
      this.readsToServe.set(node.id, list);
    }
    core.advance(rd);
    this.serveReads(node, core.status().applied);
    if (rd.softState?.role === 'leader') this.onNewLeader(node);
    // Snapshot policy: every 25–40 applied entries, keep a trailing window of 8.
    const status = core.status();
    if (status.applied - status.snapshotIndex >= 25 + (node.id.charCodeAt(1) % 16)) {
      const { snapshot, compactedTo } = core.compact(status.applied, sm.snapshot(), 8);
      st.snapshot = snapshot;
      st.entries = st.entries.filter((e) => e.index > compactedTo);
      this.stats.snapshots++;
    }
  }

  private apply(node: SimNode, sm: IpamStateMachine, e: Entry): void {
    const key = entryKey(e);
    const seen = this.applied.get(e.index);
    if (seen && seen.key !== key) throw new Violation(`state machine safety: ${node.id} applied a different entry at index ${e.index}`);
    if (!seen) this.applied.set(e.index, { key, entry: e });
    if (e.type !== 'normal' || e.data.length === 0) return;
    const { id, command } = decodeEntry(e.data);
    const result = sm.apply(command);
    const p = this.proposals.get(id);
    if (p && p.node === node.id && p.index === e.index && !this.acked.has(id)) {
      this.acked.set(id, result);
      this.maxAckedIndex = Math.max(this.maxAckedIndex, e.index);
      if (result.ok && typeof (result.value as { generation?: unknown }).generation === 'number') {
        this.recentGenerations.push((result.value as { generation: number }).generation);
        if (this.recentGenerations.length > 20) this.recentGenerations.shift();
      }
    }
  }

  private send(m: Message): void {
    if (this.blocked.has(`${m.from}>${m.to}`)) return;
    if (!this.healing && this.net.chance(this.dropRate)) return;
    const copies = !this.healing && this.net.chance(this.dupRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) this.queue.push(this.now + 1 + this.net.int(this.maxDelay), { kind: 'deliver', msg: m });
  }

  private onNewLeader(node: SimNode): void {
    this.stats.elections++;
    this.lastLeader = node.id;
    // Chaos tests kill fresh leaders: a leader that dies before its first entry of the new term reaches
    // a quorum is exactly where commit rules (§5.4.2, Figure 8) are tested.
    if (!this.healing && this.rng.chance(this.profile.killLeader)) {
      if (this.rng.chance(0.5)) this.queue.push(this.now + 1 + this.rng.int(40), { kind: 'crash', node: node.id, life: node.life });
      else this.queue.push(this.now + this.rng.int(6), { kind: 'isolate', node: node.id });
    }
    const st = (node.core as RaftCore).status();
    // Leader completeness (§5.4): the new leader holds every entry committed so far.
    const view = logView(node.core as RaftCore);
    for (const [index, c] of this.committed) {
      if (index <= view.offset) continue;
      const e = view.entries[index - view.offset - 1];
      if (!e || e.term !== c.term) throw new Violation(`leader completeness: ${node.id} leads term ${st.term} without committed entry ${index}`);
    }
  }

  // --- client workload ---------------------------------------------------------------------------------

  private client(): void {
    const alive = [...this.nodes.values()].filter((n) => n.core);
    if (alive.length === 0) return;
    const leader = this.lastLeader ? this.nodes.get(this.lastLeader) : undefined;
    const target = leader?.core && this.rng.chance(0.8) ? leader : this.rng.pick(alive);
    const core = target.core as RaftCore;
    const command = this.setupDone < SETUP.length ? (SETUP[this.setupDone] as IpamCommand) : nextCommand(this.rng, this.recentGenerations);
    const id = this.nextRequestId++;
    try {
      const { index, term } = core.propose(encodeEntry({ id, command }));
      this.proposals.set(id, { id, node: target.id, index, term, command });
      if (this.setupDone < SETUP.length) this.setupDone++;
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
      if (e.leaderHint) this.lastLeader = e.leaderHint;
      return;
    }
    this.scheduleReady(target);
  }

  // --- linearizable reads ------------------------------------------------------------------------------

  private startRead(): void {
    // Any node that believes it leads may be asked, including a deposed one behind a partition: that is
    // where a stale read would come from.
    const leaders = [...this.nodes.values()].filter((n) => n.core?.status().role === 'leader');
    if (leaders.length === 0) return;
    const node = this.rng.pick(leaders);
    if (!node.core) return;
    const ctx = `r${this.nextReadId++}`;
    try {
      node.core.readIndex(ctx);
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
      return;
    }
    this.reads.set(ctx, { node: node.id, life: node.life, mustSee: this.maxAckedIndex });
    this.scheduleReady(node);
  }

  /**
   * Serve reads whose index the node has applied. Linearizability: a read that began after a write was
   * acknowledged must observe it, so its read index must cover every index acknowledged before it began.
   */
  private serveReads(node: SimNode, applied: number): void {
    const list = this.readsToServe.get(node.id);
    if (!list) return;
    const keep: Array<{ ctx: string; index: number }> = [];
    for (const r of list) {
      if (r.index > applied) {
        keep.push(r);
        continue;
      }
      const read = this.reads.get(r.ctx);
      this.reads.delete(r.ctx);
      if (!read || read.life !== node.life) continue;
      if (r.index < read.mustSee) throw new Violation(`stale read: ${node.id} served ${r.ctx} at index ${r.index}, but index ${read.mustSee} was acknowledged before the read began (${this.readOnly} reads)`);
      this.stats.readsServed++;
    }
    this.readsToServe.set(node.id, keep);
  }

  // --- faults ------------------------------------------------------------------------------------------

  private fault(): void {
    const ids = [...this.nodes.keys()];
    const members = this.members();
    const r = this.rng.next();
    if (r < 0.15) {
      this.dropRate = this.rng.pick([0, 0, 0.05, 0.2, 0.4]);
      this.dupRate = this.rng.pick([0, 0.05, 0.2]);
      this.maxDelay = this.rng.pick([3, 10, 40, 120]); // long tails reorder messages
    } else if (r < 0.3) {
      // Symmetric partition of the members into two sides.
      this.blocked.clear();
      const side = new Set(members.filter(() => this.rng.chance(0.5)));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.blocked.add(`${a}>${b}`);
    } else if (r < 0.4) {
      // One-way partition: a node can send but not receive (or the reverse).
      this.blocked.clear();
      const victim = this.rng.pick(members);
      const inbound = this.rng.chance(0.5);
      for (const other of ids) if (other !== victim) this.blocked.add(inbound ? `${other}>${victim}` : `${victim}>${other}`);
    } else if (r < 0.5) {
      // Isolate the leader.
      this.blocked.clear();
      const leader = this.currentLeader();
      if (leader) for (const other of ids) if (other !== leader) this.blocked.add(`${leader}>${other}`).add(`${other}>${leader}`);
    } else if (r < 0.62) {
      this.blocked.clear();
    } else if (r < 0.8) {
      this.crash(this.rng.pick(ids));
    } else if (r < 0.92) {
      this.churn();
    } else {
      // Leadership transfer to a random voter.
      const leader = this.currentLeader();
      const node = leader ? this.nodes.get(leader) : undefined;
      if (node?.core) {
        const voters = node.core.status().conf.voters.filter((v) => v !== leader);
        if (voters.length > 0) node.core.transferLeadership(this.rng.pick(voters));
        this.scheduleReady(node);
      }
    }
  }

  /** Membership churn through the leader: add/promote/remove, keeping at least three voters. */
  private churn(): void {
    const leaderId = this.currentLeader();
    const node = leaderId ? this.nodes.get(leaderId) : undefined;
    if (!node?.core) return;
    const { voters, learners } = node.core.status().conf;
    const outsiders = [...this.nodes.keys()].filter((id) => !voters.includes(id) && !learners.includes(id));
    const options: Array<() => void> = [];
    if (outsiders.length > 0) options.push(() => node.core?.proposeConfChange({ op: 'addLearner', node: this.rng.pick(outsiders) }));
    if (learners.length > 0) options.push(() => node.core?.proposeConfChange({ op: 'addVoter', node: this.rng.pick(learners) }));
    if (learners.length > 0) options.push(() => node.core?.proposeConfChange({ op: 'remove', node: this.rng.pick(learners) }));
    if (voters.length > 3) options.push(() => node.core?.proposeConfChange({ op: 'remove', node: this.rng.pick(voters) }));
    if (options.length === 0) return;
    try {
      this.rng.pick(options)();
      this.stats.confChanges++;
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
    }
    this.scheduleReady(node);
  }

  private scheduleReady(node: SimNode): void {
    if (node.core && !node.readyScheduled && node.core.hasReady()) {
      node.readyScheduled = true;
      this.queue.push(this.now + this.rng.int(3), { kind: 'ready', node: node.id, life: node.life });
    }
  }

  private currentLeader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined;
    for (const n of this.nodes.values()) {
      const st = n.core?.status();
      if (st?.role === 'leader' && (!best || st.term > best.term)) best = { id: n.id, term: st.term };
    }
    return best?.id;
  }

  /** Members according to the most advanced live node. */
  private members(): NodeId[] {
    let best: { commit: number; conf: ConfState } | undefined;
    for (const n of this.nodes.values()) {
      const st = n.core?.status();
      if (st && (!best || st.applied > best.commit)) best = { commit: st.applied, conf: st.conf };
    }
    const members = best ? [...best.conf.voters, ...best.conf.learners] : [];
    // Before anyone has applied the bootstrap entries, the founding nodes are the members.
    return members.length > 0 ? members : [...this.nodes.values()].filter((n) => n.initialConf).map((n) => n.id);
  }

  // --- invariants --------------------------------------------------------------------------------------

  private checkInvariants(): void {
    for (const n of this.nodes.values()) {
      const core = n.core;
      if (!core) continue;
      const st = core.status();
      // Nemesis: cut a leader off right after its commit index moves, before the news (and its next
      // entries) spread. This is where commit-rule bugs (§5.4.2, Figure 8) turn into lost writes.
      if (st.role === 'leader' && st.commit > n.seenCommit && !this.healing && this.rng.chance(this.profile.isolateAfterCommit)) {
        this.blocked.clear();
        for (const other of this.nodes.keys()) if (other !== n.id) this.blocked.add(`${n.id}>${other}`).add(`${other}>${n.id}`);
      }
      // Election safety: at most one leader per term (§5.2).
      if (st.role === 'leader') {
        const other = this.leaders.get(st.term);
        if (other !== undefined && other !== n.id) throw new Violation(`election safety: ${other} and ${n.id} both lead term ${st.term}`);
        this.leaders.set(st.term, n.id);
      }
      // Monotonic within a life.
      if (st.term < n.seenTerm) throw new Violation(`${n.id}: term went back ${n.seenTerm} → ${st.term}`);
      if (st.commit < n.seenCommit) throw new Violation(`${n.id}: commit went back ${n.seenCommit} → ${st.commit}`);
      if (st.applied < n.seenApplied) throw new Violation(`${n.id}: applied went back ${n.seenApplied} → ${st.applied}`);
      if (!(st.snapshotIndex <= st.applied && st.applied <= st.commit && st.commit <= st.lastIndex)) {
        throw new Violation(`${n.id}: expected snapshot ≤ applied ≤ commit ≤ last, got ${st.snapshotIndex} ${st.applied} ${st.commit} ${st.lastIndex}`);
      }
      // Committed entries never change: record what this node says is committed, compare with what
      // anyone else said was committed at the same index.
      const view = logView(core);
      for (let i = Math.max(n.seenCommit, view.offset) + 1; i <= st.commit; i++) {
        const e = view.entries[i - view.offset - 1] as Entry;
        const known = this.committed.get(i);
        const key = entryKey(e);
        if (known && (known.term !== e.term || known.key !== key)) throw new Violation(`committed entry ${i} changed: ${n.id} has term ${e.term}, committed was term ${known.term}`);
        if (!known) this.committed.set(i, { term: e.term, key });
      }
      n.seenTerm = st.term;
      n.seenCommit = st.commit;
      n.seenApplied = st.applied;
    }
    if (this.events % 64 === 0) this.checkLogMatching();
  }

  private checkLogMatching(): void {
    const views = [...this.nodes.values()].flatMap((n) => (n.core ? [{ id: n.id, view: logView(n.core) }] : []));
    const violation = logMatchingViolation(views);
    if (violation) throw new Violation(violation);
  }

  // --- liveness and the client oracle ------------------------------------------------------------------

  private liveness(): void {
    this.healing = true;
    this.blocked.clear();
    this.dropRate = 0;
    this.dupRate = 0;
    this.maxDelay = 5;
    for (const n of this.nodes.values()) if (!n.core) this.start(n.id);
    const deadline = this.now + (this.options.livenessMs ?? 30_000);
    let stableSince: number | undefined;
    while (this.now < deadline) {
      this.processOne();
      if (this.events % 16 !== 0) continue;
      if (this.converged()) {
        stableSince ??= this.now;
        if (this.now - stableSince > 200) return;
      } else {
        stableSince = undefined;
      }
    }
    const summary = [...this.nodes.values()].map((n) => {
      const s = n.core?.status();
      return s ? `${n.id}:${s.role}/t${s.term}/c${s.commit}/a${s.applied}/l${s.lastIndex}` : `${n.id}:down`;
    });
    throw new Violation(`liveness: no convergence within ${this.options.livenessMs ?? 30_000} virtual ms after healing (${summary.join(' ')})`);
  }

  /** One leader; every member applied everything the leader holds; equal state hashes. */
  private converged(): boolean {
    const leaderId = this.currentLeader();
    if (!leaderId) return false;
    const leader = (this.nodes.get(leaderId) as SimNode).core as RaftCore;
    const ls = leader.status();
    if (ls.commit !== ls.lastIndex) return false;
    const members = [...ls.conf.voters, ...ls.conf.learners];
    let hash: string | undefined;
    for (const id of members) {
      const n = this.nodes.get(id) as SimNode;
      const st = n.core?.status();
      if (!st || st.applied !== ls.commit) return false;
      const h = (n.sm as IpamStateMachine).stateHash();
      if (hash !== undefined && h !== hash) throw new Violation(`replicas ${members.join(',')} applied index ${ls.commit} but hold different states`);
      hash = h;
    }
    return true;
  }

  private clientOracle(): void {
    const replicas = [...this.nodes.values()].flatMap((n) => (n.core && n.sm ? [{ id: n.id, applied: n.core.status().applied, sm: n.sm }] : []));
    const violation = clientHistoryViolation(this.applied, this.proposals, this.acked, replicas);
    if (violation) throw new Violation(`client oracle: ${violation}`);
  }
}

export function simulate(options: SimOptions): SimResult {
  return new Simulation(options).run();
}
