/**
 * The replica driver: one Raft node's loop, the same code in production and in the simulator. It owns a
 * RaftCore and runs its Ready contract (src/raft/types.ts) against three edges:
 *
 *   inputs (tick, peer message, proposal, read) ──► RaftCore ──Ready──► 1. storage.persist (durable)
 *                                                                       2. transport.send
 *                                                                       3. app.restore / app.apply
 *                                                                       4. read states, waiters
 *                                                                       5. core.advance
 *
 * A leader's appends and heartbeats (Ready.earlyMessages) leave before step 1, so followers write in
 * parallel with the leader (§10.2.1), and committed entries an earlier batch made durable are applied
 * while step 1 runs; everything else waits for the disk — except in a Ready whose only write is a new
 * commit index, which nothing waits for (commitOnly). An append that only tells a follower the new commit
 * index waits for the next message to that follower or the next tick (heldAppends).
 *
 * Storage is asynchronous: while a Ready's batch is being made durable the core must not be touched
 * (no step between ready() and advance()), so inputs wait in a bounded inbox and are fed to the core as
 * soon as the batch is durable. Everything that arrived meanwhile then goes out in the next Ready: one
 * fsync for all of it (group commit) without any timer. Proposals made while the core is free wait for
 * the turn that builds the next Ready (one scheduler hop) and are appended there as one batch, so a burst
 * of requests travels as one append per follower, not one each.
 *
 * Results flow one way, back to whoever proposed: a proposal's promise resolves with what the application
 * returned when its entry was applied here. A ReplicaObserver sees what happened (persisted hard state,
 * applied entries, leader changes, snapshots) for metrics, logs and the simulator's checker; it cannot
 * change anything.
 */
import { RaftCore, type RaftConfig } from '../raft/raft.js';
import { DEFAULT_SNAPSHOT_LOG_RATIO, SnapshotPolicy, type SnapshotPolicyOptions } from '../raft/snapshot-policy.js';
import { RaftError, type ConfChange, type ConfState, type Entry, type HardState, type Message, type NodeId, type Ready, type SnapshotSend, type SoftState } from '../raft/types.js';
import type { RaftStorage } from '../storage/types.js';
import type { Transport } from '../transport/types.js';
import { NodeError } from './service.js';

/** The replicated application: deterministic apply, whole-state snapshot and restore. */
export interface ReplicatedApp<Out> {
  /** Apply one committed entry carrying data. Throw only when this replica cannot go on (fatal). */
  apply(entry: { index: number; term: number; data: Uint8Array }): Out;
  snapshot(): Uint8Array;
  /**
   * Optional, for large states: the snapshot of the state as it is now, encoded later in bounded steps
   * while apply() goes on (its bytes are those snapshot() returns now). Without it the replica calls
   * snapshot() on the loop, which for a large state holds off heartbeats for as long as it runs.
   */
  beginSnapshot?(): SnapshotTask;
  /** Replace the whole state; throws (fatal) if the bytes are not a valid snapshot. */
  restore(data: Uint8Array): void;
  /**
   * Optional, for large states: decode a received snapshot in bounded steps while the replica goes on
   * answering peers and ticking; the state is replaced at finish(). Without it the replica calls
   * restore() on the loop, which for a large state holds off heartbeats for as long as it runs.
   */
  beginRestore?(data: Uint8Array): RestoreTask;
}

/** A received snapshot being decoded a step at a time (hashicorp/raft's FSM.Restore, sliced). */
export interface RestoreTask {
  /** Decode a bounded amount; true once everything is decoded. Throws (fatal) on invalid bytes. */
  step(): boolean;
  /** Swap the decoded state in, once step() returned true. */
  finish(): void;
}

/** A snapshot being encoded a step at a time (hashicorp/raft's FSMSnapshot, sliced instead of threaded). */
export interface SnapshotTask {
  /** Encode a bounded amount of the state; true once everything is encoded. */
  step(): boolean;
  /** The snapshot bytes, once step() returned true. */
  result(): Uint8Array;
  /** Give up: the application stops preserving the captured state. */
  abort(): void;
}

/** Runs work soon, after the current input: production uses setImmediate, the simulator an event. */
export interface Scheduler {
  soon(work: () => void): void;
}

/** Sees what the replica did, in order. Must not call back into the replica. */
export interface ReplicaObserver<Out> {
  persisted?(batch: { hardState?: HardState; entries: number; snapshotIndex?: number }, durationMs: number): void;
  applied?(entry: Entry, out: Out | undefined): void;
  softState?(state: SoftState, term: number): void;
  snapshotTaken?(index: number, bytes: number): void;
  /** One step of encoding the snapshot of `index` ran (`step` counts from 1); other inputs run between steps. */
  snapshotStep?(index: number, step: number): void;
  /** A snapshot of `index` was encoded but not recorded (overtaken by a received snapshot or a conf change). */
  snapshotDiscarded?(index: number, reason: string): void;
  snapshotInstalled?(index: number, bytes: number): void;
  /** Bytes of a snapshot sent to a follower (one chunk, handed to the transport) or received from the leader. */
  snapshotTraffic?(direction: 'sent' | 'received', bytes: number): void;
  /** One step of decoding the received snapshot of `index` ran; other inputs run between steps. */
  restoreStep?(index: number, step: number): void;
  inboxDropped?(): void;
}

export interface ReplicaOptions<Out> {
  raft: RaftConfig;
  storage: RaftStorage;
  transport: Transport<Message>;
  app: ReplicatedApp<Out>;
  scheduler: Scheduler;
  /** Membership of a brand-new cluster; ignored (and must match nothing) when storage holds state. */
  initialConf?: ConfState;
  snapshotPolicy?: SnapshotPolicyOptions;
  /** Peer messages that may wait while a batch is being made durable; beyond it the newest are dropped. */
  maxInboxMessages?: number;
  observer?: ReplicaObserver<Out>;
  /** Milliseconds since some origin, for durations reported to the observer only (never for decisions). */
  now?: () => number;
  /** Called once when the replica stops because it cannot go on (storage failure, apply failure). */
  onFatal?: (error: unknown) => void;
  /**
   * Whether this Ready's early messages (Ready.earlyMessages) leave before its write, asked per Ready;
   * always when absent. Sending them after the write is also correct, only slower: the simulator picks
   * either from its seeded RNG so that its seeds explore both orders.
   */
  earlySend?: () => boolean;
}

/** The core's status as the replica reports it (see Replica.status). */
export type ReplicaStatus = ReturnType<RaftCore['status']> & { installing?: number };

/** A proposal that was committed and applied here. */
export interface Applied<Out> {
  index: number;
  term: number;
  result: Out;
}

interface ProposalWaiter<Out> {
  term: number;
  resolve: (applied: Applied<Out>) => void;
  reject: (error: Error) => void;
}

interface ReadWaiter {
  /** Known once the core released the read (ReadState); serve when applied ≥ index. */
  index: number | undefined;
  resolve: (index: number) => void;
  reject: (error: Error) => void;
}

/** A snapshot of the application exported at an applied index (a backup), with the term of that index. */
export interface ExportedState {
  index: number;
  term: number;
  data: Uint8Array;
}

interface ExportWaiter {
  begin: () => SnapshotTask;
  resolve: (state: ExportedState) => void;
  reject: (error: Error) => void;
}

/** The one snapshot being encoded between inputs: for the policy (recorded, compacts the log) or an export. */
interface Capture {
  /** The applied index, and its term, when the capture began: the state it holds. */
  index: number;
  term: number;
  task: SnapshotTask;
  steps: number;
  done: boolean;
  export: ExportWaiter | undefined;
}

/** A received snapshot being installed: its bytes read back from storage, then decoded (task). */
interface Install {
  index: number;
  term: number;
  bytes: number;
  /** Undefined while the bytes are being read from storage. */
  task: RestoreTask | undefined;
  steps: number;
  held: Entry[];
}

type Proposal = { kind: 'proposal'; data: Uint8Array; waiter: Omit<ProposalWaiter<unknown>, 'term'> };

type InboxItem = { kind: 'message'; message: Message } | { kind: 'work'; work: () => void; reject: ((e: Error) => void) | undefined } | Proposal;

const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicyOptions = { entries: 10_000, bytes: 64 * 1024 * 1024, keepTrailing: 5_000, logToSnapshot: DEFAULT_SNAPSHOT_LOG_RATIO };

export class Replica<Out> {
  private readonly core: RaftCore;
  private readonly storage: RaftStorage;
  private readonly transport: Transport<Message>;
  private readonly app: ReplicatedApp<Out>;
  private readonly scheduler: Scheduler;
  private readonly policy: SnapshotPolicy;
  private readonly observer: ReplicaObserver<Out>;
  private readonly now: () => number;
  private readonly maxInboxMessages: number;
  private readonly onFatal: (error: unknown) => void;
  private readonly earlySend: () => boolean;

  /** The hard state of the last batch handed to storage (written or being written). */
  private handedHard: HardState;
  /** A Ready is out: its batch is being made durable and the core must not be touched. */
  private busy = false;
  private scheduled = false;
  private stopped: Error | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly inbox: InboxItem[] = [];
  /** Proposals made while the core was free, appended as one batch just before the next ready(). */
  private waitingProposals: Proposal[] = [];
  private inboxMessages = 0;
  private pendingTicks = 0;
  /**
   * A leader's appends without entries (what it sends a follower when only the commit index moved), by
   * follower: held until the next message to that follower or the next tick, whichever comes first. Sent
   * at once, each woke every follower between two requests of one client to write the new commit index
   * and answer it, while the leader was taking the next request: the scratch one-client loop measured
   * +12% allocations/s holding them (Raft tolerates any delay or loss of a message, and the core counts
   * no empty append as in flight, so nothing waits for it). An append with entries supersedes the held
   * one (it carries the same or a newer commit index: a node's commit index never goes back); any other
   * message to that follower sends the held one first, so each follower still receives the leader's
   * messages in the order the core made them. A follower's applied state thus trails the leader's by at
   * most one tick when the leader has nothing else to send it (linearizable reads are the leader's).
   */
  private readonly heldAppends = new Map<NodeId, Message>();
  private readonly proposals = new Map<number, ProposalWaiter<Out>>();
  private readonly reads = new Map<string, ReadWaiter>();
  private nextReadId = 1;
  private lastSoft: SoftState = { lead: null, role: 'follower' };
  /**
   * The snapshot being encoded between inputs: of the state at applied index `index`. One at a time,
   * because the application's copy-on-write hooks serve one capture (AllocationBlock.watch); exports wait
   * in `exports` for the slot, and the policy waits while an export holds it.
   */
  private capture: Capture | undefined;
  private readonly exports: ExportWaiter[] = [];
  /** Term of the entry at the applied index (of the snapshot's last entry after a restore). */
  private appliedTerm = 0;
  /** The index the application's state reflects: behind the core's while a received snapshot installs. */
  private appliedIndex: number;
  /**
   * A received snapshot being decoded between inputs. The core counts it as applied already (it went
   * through advance), so committed entries after it arrive meanwhile; they wait in `held`, in log order,
   * and are applied once the new state is in.
   */
  private install: Install | undefined;
  /**
   * The commit index of the hard state this replica booted from: the log it must have applied before it
   * may call itself ready. Kept here so a host need not load the store a second time to learn it.
   */
  readonly bootCommit: number;

  private constructor(options: ReplicaOptions<Out>, core: RaftCore, boot: HardState) {
    this.core = core;
    this.handedHard = boot;
    this.bootCommit = boot.commit;
    this.storage = options.storage;
    this.transport = options.transport;
    this.app = options.app;
    this.scheduler = options.scheduler;
    this.policy = new SnapshotPolicy(options.snapshotPolicy ?? DEFAULT_SNAPSHOT_POLICY);
    this.observer = options.observer ?? {};
    this.now = options.now ?? (() => 0);
    this.maxInboxMessages = options.maxInboxMessages ?? 10_000;
    this.onFatal = options.onFatal ?? (() => undefined);
    this.earlySend = options.earlySend ?? (() => true);
    this.appliedIndex = core.status().applied;
  }

  /**
   * Boot from what storage holds (Figure 2's persistent state; the snapshot restores the application),
   * then listen on the transport. A fresh store with `initialConf` bootstraps a new cluster.
   */
  static async open<Out>(options: ReplicaOptions<Out>): Promise<Replica<Out>> {
    const boot = await options.storage.load();
    const fresh = !boot.snapshot && boot.entries.length === 0 && boot.hardState.term === 0;
    const snapshot = boot.snapshot && { meta: boot.snapshot.meta, size: boot.snapshot.data.length };
    const core = new RaftCore(options.raft, {
      hardState: boot.hardState,
      entries: boot.entries,
      ...(snapshot ? { snapshot } : {}),
      ...(fresh && options.initialConf ? { initialConf: options.initialConf } : {}),
    });
    // Restored once, before the node serves: the bytes are dropped afterwards (the core and later
    // snapshot sends read them from storage).
    if (boot.snapshot) options.app.restore(boot.snapshot.data);
    const replica = new Replica(options, core, boot.hardState);
    replica.appliedTerm = boot.snapshot?.meta.term ?? 0;
    replica.policy.reset(boot.snapshot?.data.length ?? 0);
    options.transport.onMessage((m) => replica.receive(m));
    options.transport.onPeerUnreachable((peer) => replica.enqueue(() => replica.core.reportUnreachable(peer), undefined));
    replica.kick();
    return replica;
  }

  get id(): NodeId {
    return this.core.id;
  }

  /** One unit of Raft time. Ticks that arrive while a batch is in flight are coalesced, not dropped. */
  tick(): void {
    if (this.stopped) return;
    this.flushHeldAppends();
    if (this.busy) {
      this.pendingTicks++;
      return;
    }
    this.core.tick();
    this.kick();
  }

  /** A message from a peer (already validated by the transport with parseMessage). */
  receive(message: Message): void {
    if (this.stopped) return;
    if (this.busy) {
      // Raft tolerates lost messages; an unbounded inbox behind a stalled disk would not be tolerated.
      if (this.inboxMessages >= this.maxInboxMessages) {
        this.observer.inboxDropped?.();
        return;
      }
      this.inboxMessages++;
      this.inbox.push({ kind: 'message', message });
      return;
    }
    this.core.step(message);
    this.kick();
  }

  /**
   * Replicate `data`; resolves once the entry is committed and applied on this node, with what the
   * application returned. Rejects with NodeError: NotLeader (with the leader), NoLeader, Overloaded,
   * ProposalDropped (the entry lost to a leader change, or overtaken by a snapshot: its outcome is
   * unknown, retry with the same session), Stopped.
   */
  propose(data: Uint8Array): Promise<Applied<Out>> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      const item: Proposal = { kind: 'proposal', data, waiter: { resolve: resolve as (a: Applied<unknown>) => void, reject } };
      // Proposals that arrive while a batch is being synced go into the leader's log together, as one
      // batch, right after that batch is durable. Those that arrive while the core is free wait for the
      // turn that builds the next Ready (at most one scheduler hop): appended one by one, each would
      // send its own append to every follower and get its own acknowledgement back, hundreds of
      // frames per fsync under load; as one batch they travel in one append per follower.
      if (this.busy) {
        this.inbox.push(item);
        return;
      }
      this.waitingProposals.push(item);
      this.kick();
    });
  }

  /** A membership change; resolves once applied here (the new configuration is in force). */
  proposeConfChange(change: ConfChange): Promise<Applied<Out | undefined>> {
    return this.placed(() => this.core.proposeConfChange(change));
  }

  /** Put an entry in the leader's log and wait for it to be applied here (§5.3: or replaced). */
  private placed(append: () => { index: number; term: number }): Promise<Applied<Out>> {
    return new Promise((resolve, reject) => {
      this.enqueue(() => {
        let at: { index: number; term: number };
        try {
          at = append();
        } catch (e) {
          reject(this.translate(e));
          return;
        }
        this.proposals.set(at.index, { term: at.term, resolve, reject });
      }, reject);
    });
  }

  /**
   * A linearizable read point (§6.4): resolves with an index once this node has applied it, after which
   * the application's state reflects every write committed before the call. Leader only.
   */
  readIndex(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.enqueue(() => {
        const ctx = `r${this.nextReadId++}`;
        try {
          this.core.readIndex(ctx);
        } catch (e) {
          reject(this.translate(e));
          return;
        }
        this.reads.set(ctx, { index: undefined, resolve, reject });
      }, reject);
    });
  }

  transferLeadership(to: NodeId): Promise<void> {
    return new Promise((resolve, reject) => {
      this.enqueue(() => {
        try {
          this.core.transferLeadership(to);
          resolve();
        } catch (e) {
          reject(this.translate(e));
        }
      }, reject);
    });
  }

  /**
   * The application's state for a backup: captured through `begin` (the application's own stepwise
   * capture, e.g. only part of its state) when the capture slot is free, encoded a step at a time between
   * inputs like a policy snapshot, so a large state never holds off heartbeats. The state is the one at
   * the applied index when the capture begins, which is at or after every index applied before this call:
   * after readIndex() resolved, it holds every write acknowledged before the read. A snapshot received
   * from the leader meanwhile restarts the capture on the newer state (an export asked for while one is
   * being decoded waits for it). Rejects with Stopped.
   */
  exportSnapshot(begin: () => SnapshotTask): Promise<ExportedState> {
    return new Promise((resolve, reject) => {
      if (this.stopped) {
        reject(this.stopped);
        return;
      }
      this.exports.push({ begin, resolve, reject });
      this.startExport();
    });
  }

  /**
   * Raft status of the core (role, term, leader, commit, membership, progress), with `applied` the index
   * the application's state reflects, and `installing` the index of a received snapshot being decoded.
   */
  status(): ReplicaStatus {
    const st = this.core.status();
    return { ...st, applied: this.appliedIndex, ...(this.install ? { installing: this.install.index } : {}) };
  }

  /** @internal the core itself, for the simulator's invariant checks only. */
  get raft(): RaftCore {
    return this.core;
  }

  get isStopped(): boolean {
    return this.stopped !== undefined;
  }

  /**
   * Stop: no more input is taken, waiters are rejected with Stopped, and the batch in flight (if any)
   * settles. The caller closes storage and transport afterwards.
   */
  async stop(reason = 'the node is stopping'): Promise<void> {
    this.halt(new NodeError('Stopped', reason));
    await this.inFlight.catch(() => undefined);
  }

  // --- the loop ------------------------------------------------------------------------------------

  /** Run `work` against the core now, or after the batch in flight is durable. */
  private enqueue(work: () => void, reject?: (e: Error) => void): void {
    if (this.stopped) {
      reject?.(this.stopped);
      return;
    }
    if (this.busy) {
      this.inbox.push({ kind: 'work', work, reject });
      return;
    }
    // Proposals made before this work keep their place ahead of it (a conf change, a read index).
    this.appendWaitingProposals();
    work();
    this.kick();
  }

  private appendWaitingProposals(): void {
    if (this.waitingProposals.length === 0) return;
    const run = this.waitingProposals;
    this.waitingProposals = [];
    this.proposeRun(run);
  }

  private kick(): void {
    if (this.scheduled || this.busy || this.stopped || (this.waitingProposals.length === 0 && !this.core.hasReady())) return;
    this.scheduled = true;
    this.scheduler.soon(() => {
      this.scheduled = false;
      this.processReady();
    });
  }

  private processReady(): void {
    if (this.busy || this.stopped) return;
    this.appendWaitingProposals();
    if (!this.core.hasReady()) return;
    const rd = this.core.ready();
    this.busy = true;
    const started = this.now();
    // Nothing to write but (perhaps) the hard state.
    const onlyHard = rd.entries.length === 0 && !rd.snapshot && !rd.snapshotChunks;
    if (!rd.hardState && onlyHard) {
      this.afterDurable(rd, 0, 0);
      return;
    }
    const previous = this.handedHard;
    if (rd.hardState) this.handedHard = rd.hardState;
    if (rd.hardState && onlyHard && rd.hardState.term === previous.term && rd.hardState.vote === previous.vote) {
      this.commitOnly(rd, started);
      return;
    }
    // A leader's appends and heartbeats leave now (Ready.earlyMessages, §10.2.1): the followers write
    // while we do, instead of after.
    const early = rd.earlyMessages !== undefined && this.earlySend() ? rd.earlyMessages : 0;
    for (let i = 0; i < early; i++) this.send(rd.messages[i] as Message);
    if (rd.snapshotChunks) {
      let bytes = 0;
      for (const c of rd.snapshotChunks) bytes += c.data.length;
      this.observer.snapshotTraffic?.('received', bytes);
    }
    // Step 1 of the Ready contract: durable before anything that depends on it leaves this node.
    let applied = 0;
    this.inFlight = this.storage.persist({ hardState: rd.hardState, entries: rd.entries, snapshotChunks: rd.snapshotChunks, snapshot: rd.snapshot }).then(
      () => {
        this.reportPersisted(rd, started);
        this.afterDurable(rd, early, applied);
      },
      (e: unknown) => this.fatal(e),
    );
    applied = this.applyPersisted(rd);
  }

  /**
   * A Ready whose only write is a new commit index (same term and vote, no entries, no snapshot): nothing
   * in it waits for that write (commitIndex is volatile, Figure 2; the storage queue keeps it ahead of
   * every later write, and a crash before it lands only restarts this node with an older commit index,
   * which the leader tells it again). So the committed entries (all durable here already) are applied and
   * their callers answered in this turn; the write and the messages follow on the next turn, after the
   * answers (a leader's appends that only carry the new commit index are then held: heldAppends), and the
   * core is free again without waiting for the write: a busy leader's cycle is one write (its entries'
   * fsync) instead of two.
   */
  private commitOnly(rd: Ready, started: number): void {
    const applied = this.applyPersisted(rd);
    // The write is handed to storage on the next turn, not before the answers: the promise callbacks that
    // write the callers' replies run when this turn ends, and storage's own callbacks queued ahead of them
    // (building the LevelDB batch) delayed every reply by ≈ 55 µs at one client (traced). The core stays
    // busy until then, so no later write can overtake this one.
    this.scheduler.soon(() => {
      if (this.stopped) return;
      const written = this.storage.persist({ hardState: rd.hardState, entries: rd.entries });
      this.inFlight = written.then(
        () => this.reportPersisted(rd, started),
        (e: unknown) => this.fatal(e),
      );
      this.afterDurable(rd, 0, applied);
    });
  }

  private reportPersisted(rd: Ready, started: number): void {
    if (this.stopped) return;
    this.observer.persisted?.({ ...(rd.hardState ? { hardState: rd.hardState } : {}), entries: rd.entries.length, ...(rd.snapshot ? { snapshotIndex: rd.snapshot.meta.index } : {}) }, this.now() - started);
  }

  /**
   * Committed entries that an earlier Ready already made durable here are applied while this Ready's
   * batch is written, not after it (etcd applies CommittedEntries alongside saving the Ready's entries):
   * a quorum holds them on disk, so nothing about them waits for this fsync, and their callers get their
   * answers one write sooner. Entries of this Ready's own batch, and everything after a received snapshot,
   * still wait for the disk (step 3 of the contract). Returns how many of rd.committedEntries it applied.
   */
  private applyPersisted(rd: Ready): number {
    if (rd.snapshot || this.stopped) return 0;
    const unwritten = rd.entries.length > 0 ? (rd.entries[0] as Entry).index : Infinity;
    let n = 0;
    try {
      while (n < rd.committedEntries.length && (rd.committedEntries[n] as Entry).index < unwritten) this.applyCommitted(rd.committedEntries[n++] as Entry);
    } catch (e) {
      this.fatal(e);
    }
    return n;
  }

  private applyCommitted(e: Entry): void {
    if (this.install) this.install.held.push(e);
    else this.applyEntry(e);
  }

  /** Hand a Ready's message to the transport, or hold it (heldAppends). */
  private send(m: Message): void {
    if (m.type === 'app') {
      if (m.entries.length === 0) {
        this.heldAppends.set(m.to, m);
        return;
      }
      this.heldAppends.delete(m.to);
    } else this.flushHeldAppend(m.to);
    this.transport.send(m.to, m);
  }

  private flushHeldAppend(to: NodeId): void {
    const held = this.heldAppends.get(to);
    if (!held) return;
    this.heldAppends.delete(to);
    this.transport.send(to, held);
  }

  private flushHeldAppends(): void {
    if (this.heldAppends.size === 0) return;
    for (const m of this.heldAppends.values()) this.transport.send(m.to, m);
    this.heldAppends.clear();
  }

  /** `sent`: how many of rd.messages already left (the early ones); `applied`: of rd.committedEntries. */
  private afterDurable(rd: Ready, sent: number, applied: number): void {
    if (this.stopped) return;
    try {
      // 2. Send: votes and acknowledgements now describe durable state (§5.2, §5.3).
      for (let i = sent; i < rd.messages.length; i++) this.send(rd.messages[i] as Message);
      for (const send of rd.snapshotSends ?? []) this.sendSnapshotChunk(send);
      // 3. Apply: a received snapshot replaces the state, then committed entries in log order.
      if (rd.snapshot) this.installSnapshot(rd.snapshot.meta.index, rd.snapshot.meta.term, rd.snapshot.size);
      for (let i = applied; i < rd.committedEntries.length; i++) this.applyCommitted(rd.committedEntries[i] as Entry);
      for (const rs of rd.readStates) {
        const read = this.reads.get(rs.ctx);
        if (read) read.index = rs.index;
      }
      if (rd.softState) this.onSoftState(rd.softState);
      this.core.advance(rd);
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.busy = false;
    this.serveReads();
    if (this.capture?.done) this.finishCapture();
    this.maybeSnapshot();
    this.startExport();
    this.drainInbox();
    this.kick();
  }

  private drainInbox(): void {
    const ticks = this.pendingTicks;
    this.pendingTicks = 0;
    for (let i = 0; i < ticks && !this.stopped; i++) this.core.tick();
    // Nothing here calls ready(), so the core stays free for every queued input.
    const items = this.inbox.splice(0);
    this.inboxMessages = 0;
    for (let i = 0; i < items.length && !this.stopped; i++) {
      const item = items[i] as InboxItem;
      if (item.kind === 'message') this.core.step(item.message);
      else if (item.kind === 'work') item.work();
      else {
        // A run of consecutive proposals (order kept relative to everything else in the inbox).
        let end = i + 1;
        while (end < items.length && (items[end] as InboxItem).kind === 'proposal') end++;
        this.proposeRun(items.slice(i, end) as Proposal[]);
        i = end - 1;
      }
    }
  }

  private proposeRun(run: Proposal[]): void {
    let first: { index: number; term: number };
    try {
      first = this.core.proposeBatch(run.map((p) => p.data));
    } catch (e) {
      const error = this.translate(e);
      for (const p of run) p.waiter.reject(error);
      return;
    }
    run.forEach((p, k) => this.proposals.set(first.index + k, { term: first.term, resolve: p.waiter.resolve as ProposalWaiter<Out>['resolve'], reject: p.waiter.reject }));
  }

  private applyEntry(e: Entry): void {
    let out: Out | undefined;
    if (e.type === 'normal' && e.data.length > 0) out = this.app.apply({ index: e.index, term: e.term, data: e.data });
    this.appliedIndex = e.index;
    this.appliedTerm = e.term;
    this.policy.appliedEntry(e);
    this.observer.applied?.(e, out);
    const waiter = this.proposals.get(e.index);
    if (!waiter) return;
    this.proposals.delete(e.index);
    // Another leader's entry took this index: ours was never committed (§5.3 log matching).
    if (waiter.term !== e.term) waiter.reject(new NodeError('ProposalDropped', `the proposal at index ${e.index} (term ${waiter.term}) was replaced by a new leader's entry; retry`));
    else waiter.resolve({ index: e.index, term: e.term, result: out as Out });
  }

  /**
   * A range of our stored snapshot for a follower, read from storage and sent as it arrives (the core
   * keeps only the snapshot's metadata). Dropped if storage holds a newer snapshot by then: the core
   * resends, from that one, when the chunk goes unanswered.
   */
  private sendSnapshotChunk(send: SnapshotSend): void {
    this.storage.readSnapshot(send.meta.index, send.offset, send.length).then(
      (chunk) => {
        if (this.stopped || !chunk) return;
        this.flushHeldAppend(send.to);
        this.transport.send(send.to, { type: 'snap', from: this.core.id, to: send.to, term: send.term, meta: send.meta, offset: send.offset, total: send.total, chunk });
        this.observer.snapshotTraffic?.('sent', chunk.length);
      },
      (e: unknown) => this.fatal(e),
    );
  }

  /**
   * A snapshot from the leader replaces the state (§7). Its bytes were staged in storage as they arrived;
   * they are read back (off the loop) and, with an application that can restore in steps, decoded
   * between inputs — heartbeats are answered and ticks counted meanwhile — and the state is swapped in at
   * the end; otherwise it is restored at once when read. Committed entries after it wait in `held`.
   */
  private installSnapshot(index: number, term: number, size: number): void {
    // A capture of the state being replaced is of an index below this snapshot: the core would refuse it.
    this.dropCapture();
    // Proposals at or below the snapshot were decided elsewhere; whether ours is among them is unknown.
    for (const [at, waiter] of this.proposals) {
      if (at > index) continue;
      this.proposals.delete(at);
      waiter.reject(new NodeError('ProposalDropped', `a snapshot at index ${index} overtook the proposal at ${at}: it may or may not have been applied; retry with the same session`));
    }
    // A newer snapshot overtakes one still installing; the entries held for the old one are below this one.
    const install: Install = { index, term, bytes: size, task: undefined, steps: 0, held: [] };
    this.install = install;
    this.storage
      .readSnapshot(index, 0, size)
      .then((data) => {
        if (this.stopped || this.install !== install) return;
        // It was durable when this read was asked for, and only a newer install replaces it.
        if (!data || data.length !== size) throw new NodeError('Stopped', `the snapshot at ${index} (${size} bytes) just installed is not in storage`);
        if (!this.app.beginRestore) {
          this.app.restore(data);
          this.finishInstall(install);
          return;
        }
        install.task = this.app.beginRestore(data);
        this.restoreStep(install);
      })
      .catch((e: unknown) => this.fatal(e));
  }

  private restoreStep(install: Install): void {
    if (this.stopped || this.install !== install) return;
    try {
      const task = install.task as RestoreTask;
      const done = task.step();
      install.steps++;
      this.observer.restoreStep?.(install.index, install.steps);
      if (!done) {
        this.scheduler.soon(() => this.restoreStep(install));
        return;
      }
      task.finish();
    } catch (e) {
      // The bytes were durable and acknowledged before decoding began: a snapshot this node cannot read
      // leaves it with no state to serve from, so it stops (and refuses the same bytes at restart).
      this.fatal(e);
      return;
    }
    this.finishInstall(install);
  }

  /** The new state is in: apply what was held for it, then serve and snapshot again. */
  private finishInstall(install: Install): void {
    this.install = undefined;
    this.installed(install.index, install.term, install.bytes);
    try {
      // An apply failure of a held entry is fatal exactly as it is in afterDurable.
      for (const e of install.held) this.applyEntry(e);
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.serveReads();
    // The core cannot be touched while a Ready is out; afterDurable looks at the policy again then.
    if (!this.busy) this.maybeSnapshot();
    this.startExport();
  }

  private installed(index: number, term: number, bytes: number): void {
    this.appliedIndex = index;
    this.appliedTerm = term;
    this.policy.reset(bytes);
    this.observer.snapshotInstalled?.(index, bytes);
  }

  private onSoftState(soft: SoftState): void {
    const wasLeader = this.lastSoft.role === 'leader';
    this.lastSoft = soft;
    this.observer.softState?.(soft, this.core.status().term);
    if (wasLeader && soft.role !== 'leader') {
      // A deposed leader's appends are stale news; the new leader tells the followers its commit index.
      this.heldAppends.clear();
      // The core dropped its pending ReadIndex requests with its leadership; their callers must retry.
      for (const [ctx, read] of this.reads) {
        if (read.index !== undefined) continue;
        this.reads.delete(ctx);
        read.reject(this.notLeader(soft.lead));
      }
    }
  }

  private serveReads(): void {
    if (this.reads.size === 0) return;
    const applied = this.appliedIndex;
    for (const [ctx, read] of this.reads) {
      if (read.index === undefined || read.index > applied) continue;
      this.reads.delete(ctx);
      read.resolve(read.index);
    }
  }

  /**
   * Snapshot the application and compact the log when the policy says so (§7). With an application that
   * can capture (beginSnapshot), the state at the applied index I is captured now and encoded a step at a
   * time through the scheduler, so ticks, peer messages and proposals are handled between steps and
   * entries after I keep being applied; the core then records the snapshot at I (compact accepts an older
   * applied index). Otherwise the whole snapshot is taken now, on the loop.
   */
  private maybeSnapshot(): void {
    // Not while a received snapshot installs: the state being captured would be the one it replaces.
    if (this.stopped || this.capture || this.install || !this.policy.due()) return;
    const applied = this.appliedIndex;
    if (applied < 1) return;
    if (this.app.beginSnapshot) {
      const cap: Capture = { index: applied, term: this.appliedTerm, task: this.app.beginSnapshot(), steps: 0, done: false, export: undefined };
      this.capture = cap;
      this.scheduler.soon(() => this.captureStep(cap));
      return;
    }
    this.record(applied, this.app.snapshot());
  }

  /** One step of `cap`; a step scheduled for a capture that was dropped meanwhile does nothing. */
  private captureStep(cap: Capture): void {
    if (this.stopped || this.capture !== cap) return;
    try {
      cap.done = cap.task.step();
    } catch (e) {
      if (cap.export) {
        // The export's own capture failed: that caller gets the error, the replica goes on.
        cap.task.abort();
        this.capture = undefined;
        cap.export.reject(e as Error);
        this.startExport();
      } else this.fatal(e);
      return;
    }
    cap.steps++;
    if (!cap.export) this.observer.snapshotStep?.(cap.index, cap.steps);
    if (!cap.done) this.scheduler.soon(() => this.captureStep(cap));
    // An export never touches the core: it is handed over at once.
    else if (cap.export) this.finishExport(cap, cap.export);
    // The core cannot be touched while a Ready is out: afterDurable finishes it then.
    else if (!this.busy) this.finishCapture();
  }

  /** Take the capture slot for the next waiting export, if the slot is free. */
  private startExport(): void {
    // Not while a received snapshot installs: the export waits for the state that replaces this one.
    if (this.stopped || this.capture || this.install || this.exports.length === 0) return;
    const waiter = this.exports.shift() as ExportWaiter;
    let task: SnapshotTask;
    try {
      task = waiter.begin();
    } catch (e) {
      // The application refused to capture (a defect of the caller's begin, not of this replica).
      waiter.reject(e as Error);
      this.startExport();
      return;
    }
    // Between inputs the application holds exactly the applied index (entries are applied in one turn of
    // afterDurable, or of the install's last step), so this is the index of the state captured.
    const cap: Capture = { index: this.appliedIndex, term: this.appliedTerm, task, steps: 0, done: false, export: waiter };
    this.capture = cap;
    this.scheduler.soon(() => this.captureStep(cap));
  }

  private finishExport(cap: Capture, waiter: ExportWaiter): void {
    this.capture = undefined;
    try {
      waiter.resolve({ index: cap.index, term: cap.term, data: cap.task.result() });
    } catch (e) {
      waiter.reject(e as Error);
    }
    // The policy may have become due while the export held the slot.
    if (!this.busy) this.maybeSnapshot();
    this.startExport();
  }

  private finishCapture(): void {
    const cap = this.capture as Capture;
    this.capture = undefined;
    try {
      this.record(cap.index, cap.task.result());
    } catch (e) {
      // Overtaken: a received snapshot replaced the state, or a conf change was applied after the index.
      // Not an error: the policy is still due and the next capture starts from the state as it is now.
      if (!(e instanceof RaftError && e.code === 'SnapshotOutOfDate')) {
        this.fatal(e);
        return;
      }
      this.observer.snapshotDiscarded?.(cap.index, e.message);
      this.maybeSnapshot();
    }
    // An export that waited for the slot goes now (when the policy did not take the slot again).
    this.startExport();
  }

  private record(index: number, data: Uint8Array): void {
    const { snapshot, compactedTo } = this.core.compact(index, data.length, this.policy);
    this.observer.snapshotTaken?.(snapshot.meta.index, data.length);
    // The storage queue keeps call order: the snapshot is durable before the entries it covers go, and
    // before any read of it (a follower's chunk) is served. The bytes live in storage from here on.
    const saved = this.storage.saveSnapshot({ meta: snapshot.meta, data }).then(() => (compactedTo >= this.storage.firstIndex() ? this.storage.compact(compactedTo) : undefined));
    saved.catch((e: unknown) => this.fatal(e));
  }

  private dropCapture(): void {
    const cap = this.capture;
    if (!cap) return;
    cap.task.abort();
    this.capture = undefined;
    // The state it was capturing is being replaced by a newer one: capture that instead (still at or
    // after every index applied when the export was asked for). Halt rejects it instead.
    if (cap.export && !this.stopped) this.exports.unshift(cap.export);
    else cap.export?.reject(this.stopped ?? new NodeError('Stopped', 'the replica stopped'));
  }

  private fatal(error: unknown): void {
    if (this.stopped) return;
    this.halt(new NodeError('Stopped', `the replica stopped: ${(error as Error)?.message ?? String(error)}`));
    this.onFatal(error);
  }

  private halt(reason: Error): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.dropCapture();
    this.install = undefined;
    this.heldAppends.clear();
    for (const waiter of this.proposals.values()) waiter.reject(reason);
    this.proposals.clear();
    for (const read of this.reads.values()) read.reject(reason);
    this.reads.clear();
    for (const waiter of this.exports.splice(0)) waiter.reject(reason);
    for (const item of [...this.waitingProposals.splice(0), ...this.inbox.splice(0)]) {
      if (item.kind === 'work') item.reject?.(reason);
      else if (item.kind === 'proposal') item.waiter.reject(reason);
    }
    this.inboxMessages = 0;
  }

  private notLeader(lead: NodeId | null): NodeError {
    return lead === null || lead === this.core.id ? new NodeError('NoLeader', 'no leader is known right now; retry shortly') : new NodeError('NotLeader', `${this.core.id} is not the leader; ${lead} is`, { id: lead });
  }

  /** Core refusals become service errors with stable codes. */
  private translate(e: unknown): Error {
    if (!(e instanceof RaftError)) return e as Error;
    switch (e.code) {
      case 'NotLeader':
        return this.notLeader(e.leaderHint);
      case 'ProposalDropped':
        // Refused before anything was appended, so never ambiguous: the core names itself when its
        // uncommitted tail is full; otherwise leadership is moving away (a transfer, or a leader outside
        // its configuration about to step down) and the caller retries once a leader is known.
        return new NodeError(e.leaderHint === this.core.id ? 'Overloaded' : 'NoLeader', `${e.message}; retry shortly`);
      case 'ConfChangePending':
      case 'InvalidConfChange':
        return new NodeError('InvalidMembership', e.message);
      default:
        return e;
    }
  }
}
