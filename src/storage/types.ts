/**
 * The storage edge of a Raft node: what the driver must make durable before it sends a Ready's messages
 * (src/raft/types.ts, Ready), and what a restarted node reads back to rebuild its core (RaftBootState).
 *
 * Every implementation (MemoryStorage for tests and the simulator, LevelStorage on disk) runs the same
 * conformance suite (test/storage/conformance.ts), so the simulator exercises the contract that ships.
 */
import type { Entry, HardState, Snapshot, SnapshotChunk, SnapshotInfo, SnapshotMeta } from '../raft/types.js';

/** What a node restarts from: exactly the durable part of RaftBootState (the caller adds initialConf). */
export interface BootState {
  hardState: HardState;
  /** The latest durable snapshot with its data, if any. */
  snapshot?: Snapshot;
  /** Durable entries after the snapshot (or from index 1): contiguous, terms non-decreasing. */
  entries: Entry[];
}

/**
 * One Ready's durable part, written as ONE atomic batch. Applied in this order:
 *  0. `snapshotChunks` (bytes of a snapshot arriving from a leader) are staged: a chunk at offset 0 starts
 *     a new staged snapshot, discarding any other; every other chunk continues the staged one exactly
 *     where it ends. Staged bytes are not part of the log and a crash or reopen forgets them.
 *  1. `snapshot` (received from a leader) installs the staged snapshot, which must be complete and be
 *     this one, and replaces the whole log: every stored entry is deleted.
 *  2. `entries`: if entries[0].index is at or below the last stored index, the stored suffix from there
 *     is deleted first (a conflicting suffix, §5.3), then they are written.
 *  3. `hardState` replaces the stored one.
 * Unknown fields are refused rather than ignored: a misspelt `hardstate` silently not persisting a vote
 * would let the node vote twice in one term (§5.2).
 */
export interface PersistBatch {
  hardState?: HardState | undefined;
  entries?: readonly Entry[] | undefined;
  snapshotChunks?: readonly SnapshotChunk[] | undefined;
  snapshot?: SnapshotInfo | undefined;
}

/**
 * Asynchronous, durable Raft log storage.
 *
 * Ordering: every mutating call is validated synchronously against the state that all calls accepted so
 * far (durable or queued), refused with a StorageError (code InvalidArgument) without changing anything,
 * or queued. Queued calls are written in call order; calls queued while a write is in flight are written
 * together as one synced batch (group commit: one fsync for everything ready at that moment) and their
 * promises resolve in call order, each only once its data is durable.
 *
 * Failure: a failed write rejects that group's promises and every queued one with StorageIo, and the
 * instance refuses everything afterwards. It is never retried in place (after a failed fsync the page
 * cache may already have dropped the dirty pages; PostgreSQL's "fsyncgate"): close it and reopen, which
 * reads back what is really durable.
 */
export interface RaftStorage {
  /**
   * The durable state as a restart would see it, after every write accepted before this call. Verifies
   * checksums and log invariants; a violation is StorageCorrupt naming the record.
   */
  load(): Promise<BootState>;
  /**
   * Persist one Ready's hardState/entries/snapshot atomically; resolves once durable. One exception, as
   * etcd-io/raft's MustSync: a batch whose hard state changes only the commit index (same term and vote,
   * no entries, no snapshot) resolves once written but not fsynced. Figure 2 keeps commitIndex in
   * volatile state; the write survives a process crash, and after a power loss the node restarts with an
   * older commit index (never older than one a later synced write covers) and learns it from the leader.
   */
  persist(batch: PersistBatch): Promise<void>;
  /**
   * Bytes [offset, offset + length) of the stored snapshot at `index` (fewer at its end), read after
   * every write accepted before this call is durable; undefined if the store holds another snapshot (or
   * none) by then. How a leader streams its snapshot and a follower restores one it received, without
   * keeping the snapshot in memory. A chunk is not checked against the file's checksum (only a whole
   * read could be): the snapshot format carries its own, which the receiver verifies.
   */
  readSnapshot(index: number, offset: number, length: number): Promise<Uint8Array | undefined>;
  /**
   * Record a snapshot this node took of its own state machine (RaftCore.compact): it must be at a
   * committed, stored index with the stored entry's term. Unlike a received snapshot it keeps the log;
   * drop entries afterwards with compact().
   */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /**
   * Drop stored entries with index ≤ upTo. Only entries covered by the stored snapshot may go
   * (upTo ≤ snapshot index), so the log plus snapshot always reaches back to index 1.
   */
  compact(upTo: number): Promise<void>;
  /** Index of the first stored entry; lastIndex() + 1 when no entry is stored. Reflects accepted calls. */
  firstIndex(): number;
  /** Index of the last stored entry, or the snapshot index when the log after it is empty. */
  lastIndex(): number;
  /** Accepted hard state (term 0, no vote, commit 0 on a fresh store). */
  hardState(): HardState;
  /** Accepted snapshot metadata, if any. */
  snapshotMeta(): SnapshotMeta | undefined;
  /** Counters for tests and benchmarks: `persists` calls accepted, `writes` physical synced batches. */
  stats(): StorageStats;
  /** Waits for queued writes, then releases the store (and its lock). Idempotent. */
  close(): Promise<void>;
}

/** Whose data a store holds: opening it for another cluster or node is StorageForeign. */
export interface StorageIdentity {
  clusterId: string;
  nodeId: string;
}

export interface StorageStats {
  /** Mutating calls accepted (persist, saveSnapshot, compact). */
  calls: number;
  /** Physical writes (group commits). */
  writes: number;
  /** Of those, the ones fsynced: every write but those that only move the commit index or stage chunks. */
  syncs: number;
}

export type StorageErrorCode =
  /** A record failed its checksum or shape check, or the stored log breaks a Raft log invariant. */
  | 'StorageCorrupt'
  /** The data directory is held by another open handle (this or another process). */
  | 'StorageLocked'
  /** The data directory belongs to another cluster or node, or has a format this code does not know. */
  | 'StorageForeign'
  /** The instance was closed (or crashed, in MemoryStorage). */
  | 'StorageClosed'
  /** An I/O operation failed, or an earlier one did and the instance refuses further use. */
  | 'StorageIo'
  /** The call's arguments were refused; nothing changed. */
  | 'InvalidArgument';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
