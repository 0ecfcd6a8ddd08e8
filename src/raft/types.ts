/**
 * Data types of the Raft core. Everything here is plain data so that it can be persisted and sent with
 * msgpackr as is. Node ids are strings; indexes and terms are non-negative integers (numbers: 2^53 log
 * entries is not a limit anyone reaches).
 */

export type NodeId = string;

/** Membership change carried by a 'conf' entry; takes effect when the entry is applied. */
export type ConfChange =
  | { op: 'addVoter'; node: NodeId } // also promotes a learner
  | { op: 'addLearner'; node: NodeId }
  | { op: 'remove'; node: NodeId };

export type Entry =
  | { term: number; index: number; type: 'normal'; data: Uint8Array } // empty data = leader no-op (§8)
  | { term: number; index: number; type: 'conf'; change: ConfChange };

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

/** The part of a node's state that must survive a crash (Figure 2, "Persistent state on all servers"). */
export interface HardState {
  term: number;
  vote: NodeId | null;
  commit: number;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

/** A snapshot with its bytes: what storage keeps and a restart restores from. */
export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

/**
 * A snapshot as the core knows it: its place in the log and its length in bytes. The bytes themselves
 * stay in the driver's storage (hashicorp/raft's SnapshotStore): the core sends them as ranges the driver
 * reads (Ready.snapshotSends) and receives them as chunks the driver stages (Ready.snapshotChunks), so it
 * never holds a copy of a snapshot that may be tens of megabytes.
 */
export interface SnapshotInfo {
  meta: SnapshotMeta;
  size: number;
}

/**
 * Bytes of a snapshot arriving from the leader, at `offset` of `total`. Chunks come in order: one at
 * offset 0 starts staging a new snapshot (discarding any staged one), every other continues the staged
 * one exactly where it ends.
 */
export interface SnapshotChunk {
  meta: SnapshotMeta;
  total: number;
  offset: number;
  data: Uint8Array;
}

/**
 * A range of this node's stored snapshot (`meta.index`) for the driver to read and send to `to` as a
 * 'snap' message of `term`. If the store holds another snapshot by then (a newer one replaced it), the
 * send is dropped: the leader sends the newer one after a heartbeat interval without an answer.
 */
export interface SnapshotSend {
  to: NodeId;
  term: number;
  meta: SnapshotMeta;
  offset: number;
  length: number;
  total: number;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

interface Base {
  from: NodeId;
  to: NodeId;
  term: number;
}

/**
 * What nodes send each other. Field names say what they mean for each type (hashicorp/raft commands.go):
 * an append names the entry it extends (prevIndex/prevTerm, §5.3), a vote request the candidate's last
 * entry (lastIndex/lastTerm, §5.4.1), a rejected append the follower's hint (hintIndex/hintTerm).
 * Anything read from the wire goes through parseMessage (message-parse.ts) before step().
 */
export type Message =
  | (Base & { type: 'app'; prevIndex: number; prevTerm: number; entries: Entry[]; commit: number })
  /**
   * Accepted (reject false): `index` is the last index now known to match the leader. Rejected: `index`
   * is the prevIndex of the refused append and (hintIndex, hintTerm) the follower's last entry at or
   * below it whose term is ≤ the append's prevTerm (fast backtracking); both hints are 0 when accepted.
   */
  | (Base & { type: 'appResp'; index: number; reject: boolean; hintIndex: number; hintTerm: number })
  | (Base & { type: 'vote' | 'preVote'; lastIndex: number; lastTerm: number; transfer: boolean })
  /** `reason` says why a vote was refused (absent when granted); informational, never acted upon. */
  | (Base & { type: 'voteResp' | 'preVoteResp'; reject: boolean; reason?: VoteRefusal })
  | (Base & { type: 'heartbeat'; commit: number; readSeq: number; sentAt: number })
  | (Base & { type: 'heartbeatResp'; readSeq: number; sentAt: number })
  | (Base & { type: 'snap'; meta: SnapshotMeta; offset: number; total: number; chunk: Uint8Array })
  | (Base & { type: 'snapResp'; snapIndex: number; snapTerm: number; nextOffset: number; done: boolean })
  | (Base & { type: 'timeoutNow' });

/**
 * Why a (pre-)vote was refused: the candidate's term is behind ours, we already voted (or follow a leader)
 * in that term, or the candidate's log is less up to date than ours (§5.4.1).
 */
export type VoteRefusal = 'staleTerm' | 'alreadyVoted' | 'logBehind';

export type MessageType = Message['type'];

/** A linearizable read became safe: the state machine may serve `ctx` once applied ≥ index. */
export interface ReadState {
  index: number;
  ctx: string;
}

export interface SoftState {
  lead: NodeId | null;
  role: Role;
}

/**
 * What the core asks its driver to do, in this order (etcd-io/raft node.go):
 *  1. Stage `snapshotChunks`; persist `snapshot`, `entries` and `hardState` durably (fsync). A
 *     `snapshot` (its bytes are the staged chunks) replaces the persisted log: delete every persisted
 *     entry. `entries` may start at or below the last persisted index: delete every persisted entry from
 *     entries[0].index on, then write them.
 *  0. The first `earlyMessages` of `messages` may be sent at once, before or while step 1 runs.
 *  2. Only then send `messages` (and `snapshotSends`, read from storage): a vote grant or an append
 *     acknowledgement promises that the state it reflects is on disk (§5.2, §5.3); sending first would
 *     let a crash forget a vote or an entry that a quorum counted.
 *  3. If `snapshot` is set, restore the state machine from its stored bytes; then apply
 *     `committedEntries` in order. These only ever include entries already persisted (by this or an
 *     earlier Ready). Without a `snapshot`, those an earlier Ready persisted may be applied while step 1
 *     runs (a quorum holds them on disk; etcd applies CommittedEntries alongside saving the Ready).
 *  4. Serve `readStates` once the state machine has applied their index.
 *  5. Call advance(ready). No step(), tick() or proposal may happen between ready() and advance().
 */
export interface Ready {
  /** Leader and role changed (informational; nothing to persist). */
  softState?: SoftState;
  /**
   * Term, vote and commit index changed. DURABLE BEFORE `messages` are sent: a vote response promises the
   * vote is on disk (§5.2), and a node that forgot its vote could vote twice in one term. A change of
   * the commit index alone needs no fsync (commitIndex is volatile in Figure 2; etcd-io/raft's MustSync):
   * storage writes it unsynced, and a Ready that holds nothing else to persist (no entries, no snapshot,
   * no chunks, the same term and vote) need not wait for that write at all before steps 2–5.
   */
  hardState?: HardState;
  /**
   * Entries to append. DURABLE BEFORE `messages` are sent: an append acknowledgement (and a leader's own
   * count toward commit) promises the entries survive a crash (§5.3). If entries[0].index is at or below
   * the last persisted index, delete persisted entries from there on first (a conflicting suffix).
   */
  entries: Entry[];
  /**
   * Bytes of a snapshot being received, in order: stage them in storage before `snapshot` (if any) and
   * before `messages` are sent (each acknowledgement says how many bytes are staged). Staged bytes need
   * not be synced: a node that crashes forgets the transfer and asks the leader to start over.
   */
  snapshotChunks?: SnapshotChunk[];
  /**
   * A snapshot received from the leader, its bytes staged by `snapshotChunks` of this and earlier
   * Readies. DURABLE BEFORE `messages` are sent (the acknowledgement tells the leader we hold it) and it
   * replaces the whole persisted log. Restore the state machine from the stored bytes before applying
   * `committedEntries`.
   */
  snapshot?: SnapshotInfo;
  /** Messages to send, only after everything above is durable. Order within one peer matters little. */
  messages: Message[];
  /**
   * How many of `messages`, from the first, may leave before this Ready is durable (0 when absent): a
   * leader's appends, heartbeats and TimeoutNow of a term already durable here, in a Ready that
   * changes neither term nor vote. Followers then write in parallel with the leader (dissertation
   * §10.2.1). These promise nothing about this node's disk: the leader counts its own entries toward
   * commit only once they are durable (advance), and (index, term) still names one entry, since no other
   * node appends in this term and this one, should it crash first, can never lead this term again. A
   * prefix, so that messages keep their order; a driver that ignores it stays correct.
   */
  earlyMessages?: number;
  /**
   * Ranges of this node's stored snapshot to read and send, as 'snap' messages, after step 1 like
   * `messages` (a leader streams its snapshot from storage; the core holds only its metadata).
   */
  snapshotSends?: SnapshotSend[];
  /**
   * Entries known committed and already durable: apply them in order. Conf entries also change the core's
   * membership when advance() is called. Nothing here needs to be persisted again.
   */
  committedEntries: Entry[];
  /** Linearizable reads that became safe; serve each once the state machine has applied its index. */
  readStates: ReadState[];
}

/**
 * Stable error codes. Retryable: NotLeader (ask leaderHint), ProposalDropped (a transfer is under way, or
 * the uncommitted tail is full because the leader cannot reach a quorum), ConfChangePending,
 * SnapshotOutOfDate. Not retryable: InvalidConfChange, InvalidMessage (a peer sent something malformed),
 * Misuse (the driver broke the contract).
 */
export type RaftErrorCode = 'NotLeader' | 'ProposalDropped' | 'ConfChangePending' | 'InvalidConfChange' | 'SnapshotOutOfDate' | 'InvalidMessage' | 'Misuse';

export class RaftError extends Error {
  override readonly name = 'RaftError';
  constructor(
    readonly code: RaftErrorCode,
    message: string,
    readonly leaderHint: NodeId | null = null,
  ) {
    super(message);
  }
}
