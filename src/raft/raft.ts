/**
 * The Raft consensus core: pure and deterministic (Ongaro & Ousterhout, "In Search of an Understandable
 * Consensus Algorithm"; Ongaro's dissertation for PreVote, CheckQuorum, leadership transfer, ReadIndex and
 * single-server membership changes). No clocks, sockets, disk or Math.random: time arrives as tick(),
 * messages as step(), randomness from the injected Rng; output is a Ready (see types.ts for what must be
 * durable before messages leave). The shape follows etcd-io/raft: become<Role>() installs the role's step
 * and tick handlers; each message type has its own small handler.
 */
import { RaftLog, entrySize } from './log.js';
import { checkMessage, MAX_TERM } from './message-parse.js';
import type { Progress } from './progress.js';
import { ReadOnly } from './read-only.js';
import type { Rng } from './rng.js';
import { SnapshotPolicy } from './snapshot-policy.js';
import { confAfter, ProgressTracker } from './tracker.js';
import {
  RaftError,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type Role,
  type SnapshotChunk,
  type SnapshotInfo,
  type SnapshotSend,
  type SoftState,
} from './types.js';

export interface RaftConfig {
  id: NodeId;
  /** Ticks without hearing from a leader before campaigning; randomized in [electionTick, 2·electionTick). */
  electionTick: number;
  /** Ticks between leader heartbeats. Must be < electionTick. */
  heartbeatTick: number;
  rng: Rng;
  /** §9.6 PreVote: a node only increments its term after a quorum says it could win. Default on. */
  preVote?: boolean;
  /** §6.2 CheckQuorum: a leader that has not heard from a quorum in an election timeout steps down. Default on. */
  checkQuorum?: boolean;
  /** 'safe' = ReadIndex with a heartbeat round; 'lease' = answer from the leader lease (needs checkQuorum). */
  readOnly?: 'safe' | 'lease';
  /** Soft cap on the bytes of entries in one append message. */
  maxSizePerMsg?: number;
  /** Unacknowledged appends per follower in replicate state. */
  maxInflightMsgs?: number;
  /** Unacknowledged append bytes per follower (0 = unlimited). */
  maxInflightBytes?: number;
  /** Bytes of snapshot data per InstallSnapshot chunk. */
  snapshotChunkBytes?: number;
  /**
   * Entries a leader holds beyond its commit index before it refuses proposals with 'ProposalDropped'
   * (a leader cut off from its quorum would otherwise grow without bound). Default 10,000.
   */
  maxUncommittedEntries?: number;
  /** Bytes of proposals a leader holds beyond its commit index before refusing more. Default 64 MiB. */
  maxUncommittedBytes?: number;
}

/**
 * @internal
 * Deliberate bugs, only for proving the simulator and the scenarios find them. Not part of RaftConfig:
 * they are attached to a config object with withTestingKnobs() from './internal.js', which the public
 * export list does not carry.
 */
export interface TestingKnobs {
  grantVotesWithoutLogCheck?: boolean;
  commitEntriesOfPriorTerms?: boolean;
  forgetVoteOnRestart?: boolean;
  leaseWithoutQuorumAcks?: boolean;
}

const knobsByConfig = new WeakMap<RaftConfig, TestingKnobs>();

/**
 * Election timeouts a learner waits without a leader before it campaigns (see hup): long enough that a
 * voter with an up-to-date log, which waits one, normally wins first.
 */
const LEARNER_PATIENCE = 3;

/** Message types only a leader sends (see earlyPrefix). */
const LEADER_MESSAGES: ReadonlySet<Message['type']> = new Set(['app', 'heartbeat', 'timeoutNow']);

/** @internal A copy of `config` that makes the core misbehave as `knobs` say (tests and the simulator only). */
export function withTestingKnobs(config: RaftConfig, knobs: TestingKnobs): RaftConfig {
  const copy = { ...config };
  knobsByConfig.set(copy, knobs);
  return copy;
}

/** @internal Read-only view of a core's retained log, for invariant checks; assigned inside the class. */
export interface LogView {
  offset: number;
  offsetTerm: number;
  entries: readonly Entry[];
  stable: number;
}
let readLogView: (core: RaftCore) => LogView;

/** @internal The retained log of `core` (simulator invariants and tests only; not on the public class). */
export function logView(core: RaftCore): LogView {
  return readLogView(core);
}

/** What a node persisted before it stopped: everything it needs to restart (§5, Figure 2). */
export interface RaftBootState {
  hardState: HardState;
  /** Latest stored snapshot, if any (its meta.conf is the membership at that point); the driver keeps its bytes. */
  snapshot?: SnapshotInfo;
  /** Persisted entries after the snapshot (or from index 1). */
  entries: Entry[];
  /** Membership when there is no snapshot yet (the initial cluster). */
  initialConf?: ConfState;
}

export interface Status {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId | null;
  lead: NodeId | null;
  commit: number;
  applied: number;
  lastIndex: number;
  snapshotIndex: number;
  conf: ConfState;
  progress?: Record<NodeId, { match: number; next: number; state: string }>;
  /** Leader only: ReadIndex requests waiting for a quorum of heartbeat acknowledgements (§6.4). */
  pendingReads?: number;
}

/**
 * An InstallSnapshot arriving in chunks (§7), kept across chunks so transfers resume. The bytes go to the
 * driver's storage as they arrive (Ready.snapshotChunks); only the count of bytes staged is kept here.
 */
interface IncomingSnapshot {
  index: number;
  term: number;
  total: number;
  received: number;
}

type StepFn = (m: Message) => void;

export class RaftCore {
  readonly id: NodeId;
  private readonly cfg: Required<RaftConfig>;
  private readonly knobs: TestingKnobs;
  private readonly log: RaftLog;

  private term = 0;
  private vote: NodeId | null = null;
  private lead: NodeId | null = null;
  // Stryker disable next-line StringLiteral: equivalent, the constructor's becomeFollower() sets the role
  private role: Role = 'follower';

  /**
   * Membership, per-member progress and votes (tracker.ts). The membership is the latest configuration in
   * the log, committed or not (see refreshConf).
   */
  private readonly tracker: ProgressTracker;
  /** Index and term of the entry that made the tracker's configuration (the last conf entry in the log). */
  private confIndex = 0;
  private confTerm = 0;

  /** Ticks since this core started; heartbeats carry the leader's value so responses date its lease. */
  private ticks = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  /** Index of the last conf change appended by this leader; no new one until it is applied. */
  private pendingConfIndex = 0;
  /** Index of the no-op this leader appended on election: the first entry of its term. */
  private leaderStart = 0;
  /** Bytes of this leader's proposals above the commit index (bounded by maxUncommittedBytes). */
  private uncommittedBytes = 0;
  private leadTransferee: NodeId | null = null;
  /**
   * This leader has told someone to campaign (TimeoutNow) in this term. Voters bypass their leases for
   * that election, so our lease can never be trusted again in this term, even if the transfer "times out".
   */
  // Stryker disable next-line BooleanLiteral: equivalent, the constructor's becomeFollower() → reset() sets it
  private sentTimeoutNow = false;

  private readonly readOnly = new ReadOnly();
  /** Reads asked for before this leader committed an entry of its term (§6.4: it cannot know the commit index yet). */
  // Stryker disable next-line ArrayDeclaration: equivalent, the constructor's becomeFollower() → reset() sets it
  private deferredReads: string[] = [];

  private snapshot: SnapshotInfo | undefined;
  /** Installed from the leader, not yet handed to the driver. */
  private pendingSnapshot: SnapshotInfo | undefined;
  private incoming: IncomingSnapshot | undefined;

  private msgs: Message[] = [];
  /** Received snapshot bytes for the driver to stage, and ranges of our stored snapshot to send. */
  private chunksIn: SnapshotChunk[] = [];
  private snapshotSends: SnapshotSend[] = [];
  private readStates: ReadState[] = [];
  private prevHard: HardState;
  private prevSoft: SoftState;
  private readyOutstanding = false;

  private stepRole: StepFn = () => undefined;
  private tickRole: () => void = () => undefined;

  constructor(config: RaftConfig, boot: RaftBootState) {
    this.id = config.id;
    if (!(config.heartbeatTick > 0 && config.electionTick > config.heartbeatTick)) {
      throw new RaftError('Misuse', `need 0 < heartbeatTick < electionTick, got ${config.heartbeatTick} and ${config.electionTick}`);
    }
    this.cfg = {
      preVote: true,
      checkQuorum: true,
      // Stryker disable next-line StringLiteral: equivalent, only readOnly === 'lease' is ever tested
      readOnly: 'safe',
      maxSizePerMsg: 64 * 1024,
      maxInflightMsgs: 64,
      maxInflightBytes: 0,
      snapshotChunkBytes: 64 * 1024,
      maxUncommittedEntries: 10_000,
      maxUncommittedBytes: 64 * 1024 * 1024,
      ...config,
    };
    for (const k of ['maxSizePerMsg', 'maxInflightMsgs', 'snapshotChunkBytes', 'maxUncommittedEntries', 'maxUncommittedBytes'] as const) {
      if (!(this.cfg[k] >= 1)) throw new RaftError('Misuse', `${k} must be at least 1, got ${this.cfg[k]}`);
    }
    this.knobs = knobsByConfig.get(config) ?? {};
    if (this.cfg.readOnly === 'lease' && !this.cfg.checkQuorum) {
      throw new RaftError('Misuse', 'lease reads are only safe with checkQuorum (a leader must step down when it loses its quorum)');
    }
    const snap = boot.snapshot;
    if (snap && snap.meta.index < 1) {
      // A membership in a snapshot at 0 is never replicated (no entry carries it), so a member that joins
      // later would see only itself and commit alone. initialConf writes it as log entries instead.
      throw new RaftError('Misuse', 'a boot snapshot must be at index 1 or later; give the initial membership as initialConf');
    }
    if (!(Number.isSafeInteger(boot.hardState.term) && boot.hardState.term >= 0 && boot.hardState.term < MAX_TERM)) {
      throw new RaftError('Misuse', `persisted term ${boot.hardState.term} is not a usable term (0 ≤ term < ${MAX_TERM})`);
    }
    this.snapshot = snap;
    const offset = snap?.meta.index ?? 0;
    const offsetTerm = snap?.meta.term ?? 0;
    const entries = boot.entries.filter((e) => e.index > offset);
    entries.forEach((e, i) => {
      if (e.index !== offset + 1 + i) throw new RaftError('Misuse', `boot entries are not contiguous after ${offset}`);
    });
    this.log = new RaftLog(offset, offsetTerm, entries, Math.max(boot.hardState.commit, offset));
    if (this.log.committed > this.log.lastIndex()) throw new RaftError('Misuse', `commit ${this.log.committed} beyond last index ${this.log.lastIndex()}`);
    this.term = boot.hardState.term;
    this.vote = this.knobs.forgetVoteOnRestart ? null : boot.hardState.vote;
    // Membership is a function of the log: the snapshot's conf, then every conf entry after it, applied
    // or not (refreshConf). Re-applying entries after a restart does not touch it again.
    this.tracker = new ProgressTracker(snap?.meta.conf ?? { voters: [], learners: [] }, this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
    const fresh = !snap && entries.length === 0 && boot.hardState.term === 0;
    if (fresh && boot.initialConf) this.bootstrap(boot.initialConf);
    else if (boot.initialConf && !snap && entries.length === 0) throw new RaftError('Misuse', 'initialConf given to a node with persisted state');
    this.refreshConf();
    this.prevHard = boot.hardState;
    this.prevSoft = { lead: null, role: 'follower' };
    this.becomeFollower(this.term, null);
  }

  // --- inputs ----------------------------------------------------------------------------------------

  /** One unit of logical time. */
  tick(): void {
    this.assertNoReady();
    this.ticks++;
    this.tickRole();
  }

  /** A message from a peer. Messages for another node or from a non-member are ignored by the handlers. */
  step(m: Message): void {
    this.assertNoReady();
    // A malformed message (a NaN or unincrementable term, a missing field) is dropped before it can touch
    // any state: adopting its term or its sender as leader first and failing later would leave the node
    // half-changed. The transport refuses such frames with parseMessage; this is the core's own guard.
    if (checkMessage(m) !== undefined) return;
    if (m.to !== this.id || m.from === this.id) return;
    if (m.term > this.term) {
      if (!this.onHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.onLowerTerm(m);
      return;
    }
    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVoteRequest(m);
      return;
    }
    this.stepRole(m);
  }

  /** Start an election now (e.g. operator request); same path as an election timeout. */
  campaign(): void {
    this.assertNoReady();
    this.hup(false);
  }

  /** Leader only: append a command. Returns the entry's index and term (the proposal is not yet committed). */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.proposeBatch([data]);
  }

  /**
   * Leader only: append several commands as consecutive entries and replicate them in one round (the
   * driver's group commit). Returns the index of the first and the term; entry i is at first + i.
   */
  proposeBatch(batch: readonly Uint8Array[]): { index: number; term: number } {
    this.assertNoReady();
    this.checkCanPropose();
    if (batch.length === 0) throw new RaftError('Misuse', 'empty proposal batch');
    const bytes = batch.reduce((n, data) => n + entrySize({ term: 0, index: 0, type: 'normal', data }), 0);
    this.checkUncommittedRoom(batch.length, bytes);
    const first = this.log.lastIndex() + 1;
    this.log.append(batch.map((data, i): Entry => ({ term: this.term, index: first + i, type: 'normal', data })));
    this.uncommittedBytes += bytes;
    this.broadcastAppend();
    return { index: first, term: this.term };
  }

  /**
   * Leader only: a single-server membership change (§4.1 of the dissertation). It takes effect on every
   * server as soon as the entry is in its log. Refused until the leader has committed an entry of its own
   * term (the fix to the single-server change bug, raft-dev 2015) and while an earlier change is not yet
   * applied: §4.1 requires the previous configuration entry to be committed before the next is appended,
   * and becomeLeader counts every entry it inherited as possibly one, so two uncommitted configuration
   * entries never coexist in any log.
   */
  proposeConfChange(change: ConfChange): { index: number; term: number } {
    this.assertNoReady();
    this.checkCanPropose();
    if (this.log.term(this.log.committed) !== this.term) {
      throw new RaftError('ConfChangePending', 'leader has not committed an entry of its term yet', this.id);
    }
    if (this.pendingConfIndex > this.log.applied) {
      throw new RaftError('ConfChangePending', `conf change at index ${this.pendingConfIndex} is not applied yet`, this.id);
    }
    this.validateConfChange(change);
    const r = this.appendEntry({ type: 'conf', change });
    this.pendingConfIndex = r.index;
    return r;
  }

  /** The transport could not deliver to `id`: stop pipelining to it and probe (etcd MsgUnreachable). */
  reportUnreachable(id: NodeId): void {
    this.assertNoReady();
    // Stryker disable next-line ConditionalExpression: equivalent for `true`, a follower's progress is never read and is rebuilt when it becomes leader
    const pr = this.role === 'leader' ? this.tracker.progress(id) : undefined;
    if (pr && pr.state === 'replicate') pr.becomeProbe();
  }

  /** Leader only: hand leadership to `target` (§3.10 of the dissertation). */
  transferLeadership(target: NodeId): void {
    this.assertNoReady();
    if (this.role !== 'leader') throw new RaftError('NotLeader', 'not the leader', this.lead);
    if (target === this.id) return;
    if (!this.tracker.isVoter(target)) throw new RaftError('InvalidConfChange', `${target} is not a voter`);
    this.leadTransferee = target;
    this.electionElapsed = 0; // the transfer must finish within one election timeout
    const pr = this.tracker.progress(target) as Progress;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to: target });
    else this.sendAppend(target);
  }

  /**
   * Ask for a linearizable read (§6.4). The answer arrives as a ReadState in a later Ready; serve the read
   * once the state machine has applied ReadState.index.
   */
  readIndex(ctx: string): void {
    this.assertNoReady();
    if (this.role !== 'leader') throw new RaftError('NotLeader', 'reads are served by the leader', this.lead);
    if (this.log.term(this.log.committed) !== this.term) {
      this.deferredReads.push(ctx);
      return;
    }
    this.startRead(ctx);
  }

  /**
   * The driver took a snapshot of the state machine at an applied index (the current one, or an older
   * one with no conf change applied since, above the last snapshot), `size` bytes long, and keeps the
   * bytes (in storage; Ready.snapshotSends asks for ranges of them). Records it for followers that
   * fall behind and drops log entries up to `index − keepTrailing` (a trailing window lets slightly slow
   * followers catch up from the log instead of a snapshot, §7). `keep` is a SnapshotPolicy — its
   * keepTrailing is the window, and its counters start over — or an explicit window.
   *
   * Refused with 'SnapshotOutOfDate' while a snapshot received from the leader waits for the driver: the
   * state machine is about to be replaced, and a snapshot taken now would pair the old state with the
   * new membership and a log point this node no longer holds.
   */
  compact(index: number, size: number, keep: SnapshotPolicy | number): { snapshot: SnapshotInfo; compactedTo: number } {
    this.assertNoReady();
    if (this.pendingSnapshot) {
      throw new RaftError('SnapshotOutOfDate', `a snapshot at ${this.pendingSnapshot.meta.index} from the leader is waiting to be restored (call ready()/advance() first)`);
    }
    if (!Number.isSafeInteger(index) || index > this.log.applied) throw new RaftError('Misuse', `compact at ${index} but applied is ${this.log.applied}`);
    if (index < 1) throw new RaftError('Misuse', 'nothing is applied yet: there is nothing to snapshot');
    if (!Number.isSafeInteger(size) || size < 0) throw new RaftError('Misuse', `snapshot size must be a non-negative integer, got ${size}`);
    if (this.snapshot && index <= this.snapshot.meta.index) throw new RaftError('SnapshotOutOfDate', `snapshot at ${this.snapshot.meta.index} is not older than ${index}`);
    const keepTrailing = typeof keep === 'number' ? keep : keep.options.keepTrailing;
    if (!(Number.isSafeInteger(keepTrailing) && keepTrailing >= 0)) throw new RaftError('Misuse', `keepTrailing must be a non-negative integer, got ${keepTrailing}`);
    // A snapshot may be of an older applied index (the driver encodes it while entries keep being applied).
    // Its membership is the one AT `index` (§4.1: the latest configuration in the log up to there), not the
    // tracker's, which may already hold later, even uncommitted, changes. The entries index+1 … applied
    // are all retained: index is above the last snapshot, and compaction never passes it.
    this.snapshot = { meta: { index, term: this.log.term(index) as number, conf: this.confAt(index) }, size };
    this.log.compactTo(Math.max(this.log.offset, index - keepTrailing));
    if (keep instanceof SnapshotPolicy) keep.reset(size);
    return { snapshot: this.snapshot, compactedTo: this.log.offset };
  }

  // --- output ----------------------------------------------------------------------------------------

  hasReady(): boolean {
    const hs = this.hardState();
    return (
      this.msgs.length > 0 ||
      this.chunksIn.length > 0 ||
      this.snapshotSends.length > 0 ||
      this.readStates.length > 0 ||
      this.pendingSnapshot !== undefined ||
      this.log.lastIndex() > this.log.stable ||
      this.committedToApply() > this.log.applied ||
      !sameHard(hs, this.prevHard) ||
      this.lead !== this.prevSoft.lead ||
      this.role !== this.prevSoft.role
    );
  }

  ready(): Ready {
    this.assertNoReady();
    const hs = this.hardState();
    const rd: Ready = {
      entries: this.log.slice(this.log.stable + 1, this.log.lastIndex()),
      messages: this.msgs,
      committedEntries: this.log.slice(this.log.applied + 1, this.committedToApply()),
      readStates: this.readStates,
    };
    if (!sameHard(hs, this.prevHard)) rd.hardState = hs;
    if (this.lead !== this.prevSoft.lead || this.role !== this.prevSoft.role) rd.softState = { lead: this.lead, role: this.role };
    if (this.pendingSnapshot) rd.snapshot = this.pendingSnapshot;
    if (this.chunksIn.length > 0) rd.snapshotChunks = this.chunksIn;
    if (this.snapshotSends.length > 0) rd.snapshotSends = this.snapshotSends;
    const early = this.earlyPrefix(hs);
    if (early > 0) rd.earlyMessages = early;
    this.msgs = [];
    this.chunksIn = [];
    this.snapshotSends = [];
    this.readStates = [];
    this.readyOutstanding = true;
    return rd;
  }

  /**
   * Ready.earlyMessages: the leading run of messages only a leader sends, of the term already durable
   * (prevHard is the hard state of the last Ready advanced, so on disk), when this Ready changes neither
   * term nor vote.
   */
  private earlyPrefix(hs: HardState): number {
    const durable = this.prevHard;
    if (hs.term !== durable.term || hs.vote !== durable.vote) return 0;
    let n = 0;
    while (n < this.msgs.length) {
      const m = this.msgs[n] as Message;
      if (m.term !== durable.term || !LEADER_MESSAGES.has(m.type)) break;
      n++;
    }
    return n;
  }

  /** The driver has done everything the Ready asked (persisted, sent, applied). */
  advance(rd: Ready): void {
    if (!this.readyOutstanding) throw new RaftError('Misuse', 'advance() without ready()');
    this.readyOutstanding = false;
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.snapshot) {
      this.snapshot = rd.snapshot;
      this.pendingSnapshot = undefined;
      // Only now is the state machine at the snapshot: applied moves here, not when it arrived.
      this.log.applied = Math.max(this.log.applied, rd.snapshot.meta.index);
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) this.log.stable = Math.max(this.log.stable, lastEntry.index);
    for (const e of rd.committedEntries) {
      if (e.type === 'conf') this.confChangeCommitted(e.change);
      this.log.applied = e.index;
    }
    // A leader outside its latest configuration — removing itself (§4.2.2), or elected from a removal
    // not known committed or as a learner (hup) — leads only until its configuration and the first entry
    // of its term are applied; the voters holding them then elect one of themselves.
    if (this.role === 'leader' && !this.tracker.isVoter(this.id) && this.log.applied >= Math.max(this.confIndex, this.leaderStart)) {
      this.becomeFollower(this.term, null);
    }
    if (this.role === 'leader') {
      // Our own entries count toward commit only once they are on our disk.
      this.tracker.progress(this.id)?.maybeUpdate(this.log.stable);
      if (this.maybeCommit()) this.broadcastAppend();
      if (this.deferredReads.length > 0 && this.log.term(this.log.committed) === this.term) {
        const reads = this.deferredReads;
        this.deferredReads = [];
        for (const ctx of reads) this.startRead(ctx);
      }
    }
  }

  status(): Status {
    const s: Status = {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      lead: this.lead,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.snapshot?.meta.index ?? 0,
      conf: this.tracker.confState(),
    };
    if (this.role === 'leader') {
      s.progress = {};
      for (const [id, pr] of this.tracker.entries()) s.progress[id] = { match: pr.match, next: pr.next, state: pr.state };
      s.pendingReads = this.readOnly.pendingCount + this.deferredReads.length;
    }
    return s;
  }

  static {
    readLogView = (core) => ({ offset: core.log.offset, offsetTerm: core.log.offsetTerm, entries: core.log.entries, stable: core.log.stable });
  }

  /**
   * A brand-new cluster member writes the initial membership into its log as conf entries 1…k of term 1,
   * committed by construction (etcd-io/raft bootstrap). Every founding node writes the same entries, and a
   * node that joins later learns the membership by replaying them like any other entry.
   */
  private bootstrap(conf: ConfState): void {
    const changes: ConfChange[] = [
      ...[...new Set(conf.voters)].sort().map((node): ConfChange => ({ op: 'addVoter', node })),
      ...[...new Set(conf.learners)].sort().map((node): ConfChange => ({ op: 'addLearner', node })),
    ];
    if (!changes.some((c) => c.op === 'addVoter')) throw new RaftError('Misuse', 'initial membership needs at least one voter');
    this.log.append(changes.map((change, i) => ({ term: 1, index: i + 1, type: 'conf', change })));
    this.term = 1;
    this.log.commitTo(changes.length);
  }

  // --- roles -----------------------------------------------------------------------------------------

  private becomeFollower(term: number, lead: NodeId | null): void {
    this.reset(term);
    this.role = 'follower';
    this.lead = lead;
    this.stepRole = (m) => this.stepFollower(m);
    this.tickRole = () => this.tickElection();
  }

  private becomePreCandidate(): void {
    // PreVote does not touch term or vote (§9.6): a partitioned node cannot inflate terms.
    this.role = 'preCandidate';
    this.tracker.resetVotes();
    this.readOnly.reset();
    this.lead = null;
    this.stepRole = (m) => this.stepCandidate(m);
    this.tickRole = () => this.tickElection();
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.role = 'candidate';
    this.vote = this.id;
    this.stepRole = (m) => this.stepCandidate(m);
    this.tickRole = () => this.tickElection();
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.role = 'leader';
    this.lead = this.id;
    // Everyone gets a full CheckQuorum round to answer the new leader (§6.2).
    for (const [, pr] of this.tracker.entries()) pr.markActive();
    // Conservatively treat everything up to here as possibly holding an unapplied conf change.
    this.pendingConfIndex = this.log.lastIndex();
    this.uncommittedBytes = 0;
    this.stepRole = (m) => this.stepLeader(m);
    this.tickRole = () => this.tickHeartbeat();
    // §8: a no-op entry of the new term lets the leader commit (and learn the commit index) promptly.
    this.appendEntry({ type: 'normal', data: new Uint8Array(0) });
    this.leaderStart = this.log.lastIndex();
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTick + this.cfg.rng.int(this.cfg.electionTick);
    this.tracker.resetVotes();
    this.leadTransferee = null;
    this.sentTimeoutNow = false;
    this.readOnly.reset();
    this.deferredReads = [];
    this.tracker.resetProgress(this.id, this.log.lastIndex(), this.log.stable);
  }

  // --- ticks -----------------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    const promotable = this.promotable();
    // Only with CheckQuorum: then voters that hear from a live leader ignore a learner's campaign (leases),
    // so a learner cut off from a healthy leader cannot depose it.
    const lastResort = !promotable && this.cfg.checkQuorum && this.tracker.isLearner(this.id);
    if (!promotable && !lastResort) return;
    if (this.electionElapsed >= this.randomizedElectionTimeout * (lastResort ? LEARNER_PATIENCE : 1)) {
      this.electionElapsed = 0;
      this.hup(false, lastResort);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) {
        // §6.2: a leader that cannot reach a quorum steps down, so clients look elsewhere.
        if (!this.tracker.quorumActiveAndReset(this.id)) {
          this.becomeFollower(this.term, null);
          return;
        }
      }
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, clearing an already null transferee changes nothing
      if (this.leadTransferee !== null) this.leadTransferee = null; // transfer timed out
      // A pipelined append can be lost without anyone saying so (a dropped packet, a reset connection
      // the transport did not report). A follower in replicate state whose match has not moved for a whole
      // election timeout while appends are outstanding goes back to probing, which retransmits.
      for (const id of this.tracker.peers(this.id)) (this.tracker.progress(id) as Progress).checkStalled();
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(this.readOnly.heartbeatSeq());
    }
  }

  // --- elections -------------------------------------------------------------------------------------

  /**
   * May this server campaign? A voter of its latest configuration may. So may a server whose latest
   * configuration removes it while that removal is not known committed, if it was a voter before it
   * (hashicorp/raft runFollower does the same): the others may still count it in the old configuration,
   * and if its log is the most up to date they can win only with its vote, which its log check refuses
   * them. Such a candidate counts the votes of its latest configuration without its own, as a leader it
   * commits the removal with a majority of the remaining voters (§4.2.2: a leader need not be a member of
   * the configuration it manages), and it steps down once the removal is applied. A server that knows its
   * removal is committed stays out for good.
   */
  private promotable(): boolean {
    if (this.tracker.isVoter(this.id)) return true;
    if (this.confIndex <= this.log.committed) return false;
    const e = this.log.entry(this.confIndex);
    return e?.type === 'conf' && e.change.op === 'remove' && e.change.node === this.id && this.confAt(this.confIndex - 1).voters.includes(this.id);
  }

  /**
   * A learner of its latest configuration campaigns too, as a last resort (`lastResort`): only after
   * LEARNER_PATIENCE election timeouts without a leader (tickElection), only with CheckQuorum, always
   * through a pre-vote; never on campaign() or a transfer.
   * Without it a cluster can wedge with a live majority in both configurations (simulator seed 24435,
   * testdata/learner-last-resort.txt): leader 1 of {1,2,3} appends `addVoter 4`, uncommitted; node 3 wins
   * the next term without it, replicates its entries only to learner 4, and is lost for good. Node 1
   * counts {1,2,3,4} and needs node 4, whose log is newer (§5.4.1 refuses); node 2 counts {1,2,3} and
   * needs node 1, whose log is newer than node 2's; only learner 4 holds a log every live voter grants to.
   * Who the candidate is does not enter the safety argument (refreshConf): it counts a majority of its
   * latest configuration, as any candidate does, just without its own vote. Such a leader refuses
   * proposals (checkCanPropose) and steps down once the first entry of its term is applied (advance),
   * leaving voters with its log to elect one of themselves.
   */
  private hup(transfer: boolean, lastResort = false): void {
    // No wait for committed-but-unapplied conf entries: the configuration counted is already the latest
    // in the log (§4.1), whatever has been applied.
    if (this.role === 'leader' || !(lastResort || this.promotable())) return;
    // A last-resort campaign always starts with a pre-vote: a learner that cannot win never raises a term.
    if ((this.cfg.preVote || lastResort) && !transfer) this.campaignPre();
    else this.campaignReal(transfer);
  }

  private campaignPre(): void {
    this.becomePreCandidate();
    this.requestVotes('preVote', this.term + 1, false);
  }

  private campaignReal(transfer: boolean): void {
    this.becomeCandidate();
    this.requestVotes('vote', this.term, transfer);
  }

  private requestVotes(type: 'vote' | 'preVote', term: number, transfer: boolean): void {
    this.tracker.recordVote(this.id, true);
    if (this.tallyAndMaybeWin(type === 'preVote')) return;
    for (const id of this.tracker.voters()) {
      if (id === this.id) continue;
      this.msgs.push({ type, from: this.id, to: id, term, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), transfer });
    }
  }

  /** Returns true if the election ended (won or lost). */
  private tallyAndMaybeWin(pre: boolean): boolean {
    const outcome = this.tracker.tallyVotes();
    if (outcome === 'won') {
      if (pre) this.campaignReal(false);
      else this.becomeLeader();
      // Stryker disable next-line BooleanLiteral: equivalent, an election won inside requestVotes has a single voter, so there is nobody else to ask
      return true;
    }
    if (outcome === 'lost') {
      this.becomeFollower(this.term, null);
      // Stryker disable next-line BooleanLiteral: equivalent, an election cannot be lost inside requestVotes (only our own grant is counted there)
      return true;
    }
    return false;
  }

  private handleVoteRequest(m: Extract<Message, { type: 'vote' | 'preVote' }>): void {
    const pre = m.type === 'preVote';
    // §5.2/§5.4.1: one vote per term, and only for a log at least as up to date as ours. A pre-vote for a
    // future term may be granted freely (it changes nothing) as long as the log check passes.
    const canVote = this.vote === m.from || (this.vote === null && this.lead === null) || (pre && m.term > this.term);
    const upToDate = this.knobs.grantVotesWithoutLogCheck ? true : this.log.isUpToDate(m.lastIndex, m.lastTerm);
    const respType = pre ? 'preVoteResp' : 'voteResp';
    if (canVote && upToDate) {
      this.msgs.push({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (!pre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.msgs.push({ type: respType, from: this.id, to: m.from, term: this.term, reject: true, reason: canVote ? 'logBehind' : 'alreadyVoted' });
    }
  }

  /** A message from a higher term. Returns false if it must be dropped without further handling. */
  private onHigherTerm(m: Message): boolean {
    if (m.type === 'vote' || m.type === 'preVote') {
      // Leader stickiness (§6 / §9.6): while we hear from a live leader, ignore disruptive candidates,
      // unless the leader itself asked for the election (leadership transfer).
      // A freshly (re)started node counts as in lease for its first election timeout: it may have
      // answered a heartbeat just before a crash, and a leader's lease counts on that answer.
      const inLease = this.cfg.checkQuorum && this.electionElapsed < this.cfg.electionTick && (this.lead !== null || this.ticks < this.cfg.electionTick);
      if (inLease && !m.transfer) return false;
    }
    if (m.type === 'preVote') return true; // answering a pre-vote never changes our term
    if (m.type === 'preVoteResp' && !m.reject) return true; // granted pre-votes carry the future term
    // The leader of the new term, if m comes from one, is recorded by stepFollower, which handles m next.
    this.becomeFollower(m.term, null);
    return true;
  }

  private onLowerTerm(m: Message): void {
    if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
      // A stale leader (e.g. back from a partition): tell it our term so it steps down. Without this, with
      // PreVote/CheckQuorum it could never learn it was deposed and the cluster could stall.
      // Stryker disable next-line BooleanLiteral: equivalent, the stale leader steps down on the higher term before it reads reject
      this.msgs.push({ type: 'appResp', from: this.id, to: m.from, term: this.term, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
    } else if (m.type === 'preVote') {
      this.msgs.push({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, reject: true, reason: 'staleTerm' });
    }
  }

  // --- role step handlers ----------------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'app':
      case 'heartbeat':
      case 'snap':
        // Any of these comes from the leader of our term: it is alive, so our election timer restarts.
        this.electionElapsed = 0;
        this.lead = m.from;
        if (m.type === 'app') this.handleAppend(m);
        else if (m.type === 'heartbeat') this.handleHeartbeat(m);
        else this.handleSnapshotChunk(m);
        return;
      case 'timeoutNow':
        // The leader is handing over: campaign now, skipping PreVote and the lease check (§3.10).
        // Stryker disable next-line ConditionalExpression: equivalent, hup() checks promotable() again
        if (this.promotable()) this.hup(true);
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    const pre = this.role === 'preCandidate';
    switch (m.type) {
      case 'app':
      case 'heartbeat':
      case 'snap':
        // A leader of our term exists (§5.2): return to follower and handle it.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'voteResp':
      case 'preVoteResp':
        if ((m.type === 'preVoteResp') !== pre) return;
        this.tracker.recordVote(m.from, !m.reject);
        this.tallyAndMaybeWin(pre);
        return;
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.tracker.progress(m.from);
    if (!pr) return; // not a member (any more)
    pr.markActive();
    switch (m.type) {
      case 'appResp':
        this.handleAppendResponse(m, pr);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResponse(m, pr);
        return;
      case 'snapResp':
        this.handleSnapshotResponse(m, pr);
        return;
      default:
        return;
    }
  }

  // --- replication: follower side --------------------------------------------------------------------

  private handleAppend(m: Extract<Message, { type: 'app' }>): void {
    if (m.prevIndex < this.log.committed) {
      // Everything up to our commit index is already settled; say how far we are.
      this.acceptAppend(m.from, this.log.committed);
      return;
    }
    const last = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.entries);
    if (last !== undefined) {
      // §4.1: a new conf entry takes effect now; a truncated one (never committed) is rolled back to the
      // previous configuration in the log.
      const confTruncated = this.confIndex > this.log.committed && !this.log.matchTerm(this.confIndex, this.confTerm);
      if (confTruncated || m.entries.some((e) => e.type === 'conf')) this.refreshConf();
      // §5.3: commit up to min(leaderCommit, index of last new entry).
      this.log.commitTo(Math.min(m.commit, last));
      this.acceptAppend(m.from, last);
      return;
    }
    // Log mismatch at prevIndex: hint the largest index whose term ≤ prevTerm (fast backtracking).
    const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.msgs.push({ type: 'appResp', from: this.id, to: m.from, term: this.term, index: m.prevIndex, reject: true, hintIndex: hint.index, hintTerm: hint.term });
  }

  private acceptAppend(to: NodeId, index: number): void {
    this.msgs.push({ type: 'appResp', from: this.id, to, term: this.term, index, reject: false, hintIndex: 0, hintTerm: 0 });
  }

  private handleHeartbeat(m: Extract<Message, { type: 'heartbeat' }>): void {
    // The leader sends min(its commit, our match), so this never points past what we hold from it.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.msgs.push({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.term, readSeq: m.readSeq, sentAt: m.sentAt });
  }

  private handleSnapshotChunk(m: Extract<Message, { type: 'snap' }>): void {
    const { meta } = m;
    const reply = (nextOffset: number, done: boolean): void => {
      this.msgs.push({ type: 'snapResp', from: this.id, to: m.from, term: this.term, snapIndex: meta.index, snapTerm: meta.term, nextOffset, done });
    };
    if (meta.index <= this.log.committed) {
      // Already have everything it covers (a duplicate or a late chunk): report done so the leader probes.
      this.incoming = undefined;
      reply(m.total, true);
      return;
    }
    // A snapshot complete here and not yet handed to the driver owns the staged bytes until ready():
    // starting another now would overwrite them. The leader resends after a heartbeat interval.
    if (this.pendingSnapshot) return;
    let inc = this.incoming;
    if (!inc || inc.index !== meta.index || inc.term !== meta.term || inc.total !== m.total) {
      if (m.offset !== 0) {
        reply(0, false); // we hold none of this snapshot: restart from the beginning
        return;
      }
      inc = { index: meta.index, term: meta.term, total: m.total, received: 0 };
      this.incoming = inc;
    }
    if (m.offset !== inc.received) {
      reply(inc.received, false); // resume where we are (a lost chunk, or a new leader restarting at 0)
      return;
    }
    this.chunksIn.push({ meta, total: inc.total, offset: m.offset, data: m.chunk });
    inc.received += m.chunk.length;
    if (inc.received < inc.total) {
      reply(inc.received, false);
      return;
    }
    this.incoming = undefined;
    this.installSnapshot({ meta, size: inc.total });
    reply(m.total, true);
  }

  private installSnapshot(snap: SnapshotInfo): void {
    const { index, term } = snap.meta;
    if (this.log.matchTerm(index, term)) {
      // Our log already contains the snapshot's last entry: keep the entries after it (§7).
      this.log.commitTo(index);
      return;
    }
    this.log.restore(index, term);
    this.pendingSnapshot = snap;
    this.refreshConf(); // the snapshot's conf: the log after it is empty
  }

  // --- replication: leader side ----------------------------------------------------------------------

  private checkCanPropose(): void {
    if (this.role !== 'leader') throw new RaftError('NotLeader', 'not the leader', this.lead);
    if (this.leadTransferee !== null) throw new RaftError('ProposalDropped', `leadership is moving to ${this.leadTransferee}`, this.leadTransferee);
    if (!this.tracker.isVoter(this.id)) throw new RaftError('ProposalDropped', 'this leader is not a voter of its configuration and is about to step down', null);
  }

  /**
   * A leader that cannot reach a quorum commits nothing, so every proposal it accepts only grows its log
   * and its memory (etcd MaxUncommittedEntriesSize). Refuse beyond the bound; an empty tail always accepts
   * one proposal, however large, so a big command cannot be refused forever.
   */
  private checkUncommittedRoom(entries: number, bytes: number): void {
    const tailEntries = this.log.lastIndex() - this.log.committed;
    if (tailEntries === 0 || this.uncommittedBytes === 0) return;
    if (tailEntries + entries > this.cfg.maxUncommittedEntries || this.uncommittedBytes + bytes > this.cfg.maxUncommittedBytes) {
      throw new RaftError(
        'ProposalDropped',
        `uncommitted tail is full (${tailEntries} entries, ${this.uncommittedBytes} bytes; limits ${this.cfg.maxUncommittedEntries} and ${this.cfg.maxUncommittedBytes}): the leader is not reaching a quorum`,
        this.id,
      );
    }
  }

  private appendEntry(e: { type: 'normal'; data: Uint8Array } | { type: 'conf'; change: ConfChange }): { index: number; term: number } {
    const index = this.log.lastIndex() + 1;
    const entry: Entry = e.type === 'normal' ? { term: this.term, index, type: 'normal', data: e.data } : { term: this.term, index, type: 'conf', change: e.change };
    this.log.append([entry]);
    if (entry.type === 'conf') this.leaderConfAppended(entry);
    // Our own progress advances in advance(), once the entry is persisted.
    this.broadcastAppend();
    if (entry.type === 'conf' && this.maybeCommit()) this.broadcastAppend(); // the quorum changed
    return { index, term: this.term };
  }

  private broadcastAppend(): void {
    for (const id of this.tracker.peers(this.id)) this.sendAppend(id);
  }

  private broadcastHeartbeat(readSeq: number): void {
    for (const id of this.tracker.peers(this.id)) {
      const pr = this.tracker.progress(id) as Progress;
      pr.heartbeatSent();
      this.msgs.push({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit: Math.min(pr.match, this.log.committed), readSeq, sentAt: this.ticks });
      // The one snapshot stream to this follower is resumed only if its chunk went unanswered for a whole
      // heartbeat interval (lost); an answer on its way must not start a second stream.
      if (pr.snapshotRetransmitDue(this.ticks, this.cfg.heartbeatTick)) this.sendSnapshotChunk(id, pr);
    }
  }

  /** Send what the follower needs next, if flow control allows. */
  private sendAppend(to: NodeId): void {
    const pr = this.tracker.progress(to);
    if (!pr || pr.isPaused()) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      // The entries it needs were compacted: switch to InstallSnapshot (§7).
      if (!this.snapshot) return;
      pr.becomeSnapshot(this.snapshot.meta.index);
      this.sendSnapshotChunk(to, pr);
      return;
    }
    // Stryker disable next-line ConditionalExpression: equivalent for `true`, slice(next, last) with next > last is empty
    const entries = pr.next <= this.log.lastIndex() ? this.log.slice(pr.next, this.log.lastIndex(), this.cfg.maxSizePerMsg) : [];
    this.msgs.push({ type: 'app', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed });
    pr.sentEntries(prevIndex + entries.length, entries.reduce((n, e) => n + entrySize(e), 0));
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const snap = this.snapshot;
    // Stryker disable next-line ConditionalExpression: unreachable, only called once a snapshot exists
    if (!snap) return;
    if (snap.meta.index !== pr.pendingSnapshot) {
      // A newer snapshot exists: send that one instead (the follower restarts at offset 0).
      pr.becomeSnapshot(snap.meta.index);
    }
    const offset = Math.min(pr.snapshotOffset, snap.size);
    const length = Math.min(this.cfg.snapshotChunkBytes, snap.size - offset);
    this.snapshotSends.push({ to, term: this.term, meta: snap.meta, offset, length, total: snap.size });
    pr.sentSnapshotChunk(this.ticks);
  }

  private handleAppendResponse(m: Extract<Message, { type: 'appResp' }>, pr: Progress): void {
    if (m.reject) {
      // Fast backtracking: skip to the follower's hint, adjusted by our own log (etcd findConflictByTerm).
      let next = m.hintIndex;
      if (m.hintTerm > 0) next = this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
      if (pr.maybeDecrTo(m.index, next)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    // An acknowledgement that moves match, or one that confirms a probe exactly at match (a follower
    // already up to date), switches to pipelining; anything else is an old, reordered answer.
    const updated = pr.maybeUpdate(m.index);
    if (!updated && !(pr.state === 'probe' && pr.match === m.index)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
    else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);
    // A new commit index goes to everyone; then this follower's pipe is filled, whether or not the commit
    // moved (etcd stepLeader MsgAppResp: bcastAppend, then maybeSendAppend in a loop).
    if (this.maybeCommit()) this.broadcastAppend();
    this.sendAppendsWhileAllowed(m.from, pr);
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeoutNow', to: m.from });
    }
  }

  private sendAppendsWhileAllowed(to: NodeId, pr: Progress): void {
    // Keep the pipe full: several appends can go out in one go when entries are waiting. Each round either
    // advances next or stops, so the loop ends; the guard only bounds one call's burst.
    let guard = 0;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,UpdateOperator: equivalent, the window (isPaused) bounds the loop first; the guard is defensive
    while (pr.next <= this.log.lastIndex() && !pr.isPaused() && guard++ < this.cfg.maxInflightMsgs) {
      const before = pr.next;
      this.sendAppend(to);
      // Stryker disable next-line ConditionalExpression: equivalent, a send that did not advance next leaves the progress paused or the guard ends the loop
      if (pr.next === before) break;
    }
  }

  private handleHeartbeatResponse(m: Extract<Message, { type: 'heartbeatResp' }>, pr: Progress): void {
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    pr.heartbeatAnswered(m.sentAt);
    for (const rs of this.readOnly.ack(m.from, m.readSeq, this.tracker.voters(), this.id)) this.readStates.push(rs);
  }

  private handleSnapshotResponse(m: Extract<Message, { type: 'snapResp' }>, pr: Progress): void {
    if (pr.state !== 'snapshot' || m.snapIndex !== pr.pendingSnapshot) {
      if (m.done) this.sendAppend(m.from);
      return;
    }
    if (m.done) {
      pr.maybeUpdate(m.snapIndex);
      pr.becomeProbe();
      this.sendAppend(m.from);
      return;
    }
    // Resume exactly where the follower is; only news releases the next chunk (one stream, never two).
    if (pr.snapshotAcked(m.nextOffset)) this.sendSnapshotChunk(m.from, pr);
  }

  /** §5.3/§5.4.2: commit the highest index replicated on a majority, but only if it is of our term. */
  private maybeCommit(): boolean {
    if (this.tracker.voterCount === 0) return false;
    const mci = this.tracker.committed();
    if (mci <= this.log.committed) return false;
    if (this.log.term(mci) !== this.term && !this.knobs.commitEntriesOfPriorTerms) return false;
    for (let i = this.log.committed + 1; i <= mci; i++) this.uncommittedBytes -= entrySize(this.log.entry(i) as Entry);
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes);
    this.log.commitTo(mci);
    return true;
  }

  private committedToApply(): number {
    // Nothing is applied on top of a snapshot the driver has not restored yet.
    if (this.pendingSnapshot) return this.log.applied;
    return Math.min(this.log.committed, this.log.stable);
  }

  // --- reads -----------------------------------------------------------------------------------------

  private startRead(ctx: string): void {
    // Alone only if we are the one voter: a leader removing itself counts nobody's answer but the others'.
    if ((this.tracker.voterCount === 1 && this.tracker.isVoter(this.id)) || (this.cfg.readOnly === 'lease' && this.leaseValid())) {
      this.readStates.push({ index: this.log.committed, ctx });
      return;
    }
    this.broadcastHeartbeat(this.readOnly.add(this.log.committed, ctx));
  }

  /**
   * The leader lease (§6.4.1 of the dissertation). A follower that answered a heartbeat sent at leader
   * tick t heard from us at or after t, and — with CheckQuorum — refuses to vote for anyone else until an
   * election timeout of its own ticks has passed. So once a quorum has answered heartbeats sent at or
   * after t, no other leader can exist before t + electionTick. One tick is kept as margin for tick phase
   * and rate differences. A transfer voids the lease for the rest of the term: once TimeoutNow is out, the
   * target's voters ignore their leases, whether or not we later think the transfer timed out.
   */
  private leaseValid(): boolean {
    if (this.knobs.leaseWithoutQuorumAcks) return true;
    if (this.leadTransferee !== null || this.sentTimeoutNow) return false;
    return this.ticks < this.tracker.leaseQuorumSentAt(this.id, this.ticks) + this.cfg.electionTick - 1;
  }

  // --- membership ------------------------------------------------------------------------------------

  private validateConfChange(c: ConfChange): void {
    const isVoter = this.tracker.isVoter(c.node);
    const isLearner = this.tracker.isLearner(c.node);
    if (c.op === 'addVoter' && isVoter) throw new RaftError('InvalidConfChange', `${c.node} is already a voter`);
    if (c.op === 'addLearner' && (isVoter || isLearner)) throw new RaftError('InvalidConfChange', `${c.node} is already a ${isVoter ? 'voter (demotion is not supported)' : 'learner'}`);
    if (c.op === 'remove') {
      if (!isVoter && !isLearner) throw new RaftError('InvalidConfChange', `${c.node} is not a member`);
      if (isVoter && this.tracker.voterCount === 1) throw new RaftError('InvalidConfChange', 'cannot remove the last voter');
    }
  }

  /**
   * The leader appended a conf entry: it is the configuration from now on (§4.1), before it is committed;
   * the entry itself is committed by a majority of the NEW configuration.
   */
  private leaderConfAppended(e: Extract<Entry, { type: 'conf' }>): void {
    const c = e.change;
    // A new member starts probing after our last index; a promoted learner keeps its progress.
    const added = this.tracker.applyConfChange(c, this.log.lastIndex() + 1);
    this.confIndex = e.index;
    this.confTerm = e.term;
    if (c.op === 'remove' && this.leadTransferee === c.node) this.leadTransferee = null;
    // A leader removing itself stays leader until the entry is committed, without counting itself in any
    // majority (§4.2.2); checkCanPropose refuses new proposals meanwhile.
    if (added) this.sendAppend(c.node);
  }

  /**
   * A conf entry was applied. The configuration changed when the entry was appended; what remains is
   * what waits for the commit: the leader stops replicating to a removed server, which has by now been
   * sent the entry and its commit. (A removed leader steps down in advance(), §4.2.2: once Cnew is
   * committed.)
   */
  private confChangeCommitted(c: ConfChange): void {
    if (this.role !== 'leader' || c.op !== 'remove' || c.node === this.id) return;
    this.tracker.dropProgress(c.node);
  }

  /**
   * Dissertation §4.1: "a server always uses the latest configuration in its log, regardless of whether
   * the entry is committed", and falls back to the previous one when that entry is truncated.
   *
   * Why this is safe. (1) No log ever holds two uncommitted conf entries: a leader appends one only after
   * committing an entry of its own term and applying every conf entry it holds (proposeConfChange,
   * becomeLeader), so any two configurations in use at once are some Cold and Cnew differing by one
   * server, and every majority of one meets every majority of the other (§4.1); a truncated entry was
   * uncommitted, and falling back returns to the committed one before it. (2) Election safety: two winners
   * of one term would each hold a majority of Cold or Cnew; these meet in a server, which votes once per
   * term (§5.2). Who the candidate is does not enter (a candidate outside its own Cnew, see promotable,
   * just lacks its own vote). (3) Leader completeness: a committed entry sits on a majority of the
   * configuration its leader counted; the winner's voters are a majority of Cold or Cnew, so one of them
   * holds the entry and grants only to a log at least as up to date (§5.4.1), which then contains it — the
   * §5.4.3 proof with "a majority of the cluster" read as "a majority of Cold or of Cnew". (4) State
   * machine safety follows from (3) as in §5.4.3; what is applied, and when, is unchanged. Counting the
   * APPLIED configuration instead (etcd's rule) is just as safe but can wedge: members that hold a
   * committed removal without knowing it is committed still need the removed server's vote
   * (testdata/removal-liveness.txt). Recomputed
   * from the snapshot's configuration and the conf entries after it whenever the log changed other than
   * by a leader's append (boot, a follower append carrying or truncating a conf entry, a snapshot).
   */
  private refreshConf(): void {
    const base = this.pendingSnapshot ?? this.snapshot;
    this.confIndex = base?.meta.index ?? 0;
    this.confTerm = base?.meta.term ?? 0;
    for (let i = this.log.lastIndex(); i > this.confIndex; i--) {
      const e = this.log.entry(i) as Entry;
      if (e.type === 'conf') {
        this.confIndex = i;
        this.confTerm = e.term;
        break;
      }
    }
    this.tracker.setConf(this.confAt(this.log.lastIndex()));
  }

  /**
   * The configuration in effect at `index` (≥ the snapshot's index): the snapshot's, then every conf entry
   * up to `index`. The log keeps every entry after the snapshot (compaction never passes it).
   */
  private confAt(index: number): ConfState {
    const base = this.pendingSnapshot ?? this.snapshot;
    const from = base?.meta.index ?? 0;
    const changes: ConfChange[] = [];
    for (let i = from + 1; i <= index; i++) {
      const e = this.log.entry(i) as Entry;
      if (e.type === 'conf') changes.push(e.change);
    }
    return confAfter(base?.meta.conf ?? { voters: [], learners: [] }, changes);
  }

  // --- helpers ---------------------------------------------------------------------------------------

  private send(m: { type: 'timeoutNow'; to: NodeId }): void {
    this.sentTimeoutNow = true;
    this.msgs.push({ ...m, from: this.id, term: this.term });
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private assertNoReady(): void {
    if (this.readyOutstanding) throw new RaftError('Misuse', 'call advance() before stepping the node again');
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
