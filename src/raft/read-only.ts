/**
 * Pending ReadIndex requests of a leader (§6.4 of the dissertation; etcd-io/raft read_only.go). Each read
 * records the commit index when it arrived and a sequence number; the heartbeat round that follows carries
 * the newest sequence number. A voter's heartbeat answer acknowledges every read up to the sequence number
 * it echoes, so one number per voter is all the state needed: a read is released once a majority of
 * voters has acknowledged its sequence number, which is the commit-index order statistic over the acked
 * numbers (quorum.ts committedIndex). Reads are released in order: a later read is safe only after every
 * earlier one is.
 *
 * Pure data: it never calls back into the core.
 */
import { committedIndex } from './quorum.js';
import type { NodeId, ReadState } from './types.js';

interface PendingRead {
  seq: number;
  index: number;
  ctx: string;
}

export class ReadOnly {
  /** Sequence numbers only grow, across terms too: an answer from an old round can never match a new read. */
  private seq = 0;
  private pending: PendingRead[] = [];
  private readonly acked = new Map<NodeId, number>();

  /** A read of the state at `commitIndex`; returns the sequence number the next heartbeat must carry. */
  add(commitIndex: number, ctx: string): number {
    this.seq++;
    this.pending.push({ seq: this.seq, index: commitIndex, ctx });
    return this.seq;
  }

  /** The sequence number a heartbeat round should carry now (0 when no read waits). */
  heartbeatSeq(): number {
    return this.pending.length > 0 ? this.seq : 0;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * `from` answered a heartbeat carrying `seq`. Returns the reads a majority of `voters` has now
   * confirmed (`self`, the leader, acknowledges every read it started).
   */
  ack(from: NodeId, seq: number, voters: readonly NodeId[], self: NodeId): ReadState[] {
    if (seq <= 0 || seq > this.seq || this.pending.length === 0 || voters.length === 0) return [];
    if (seq > (this.acked.get(from) ?? 0)) this.acked.set(from, seq);
    const safeSeq = committedIndex(voters, (id) => (id === self ? this.seq : (this.acked.get(id) ?? 0)));
    let n = 0;
    while (n < this.pending.length && (this.pending[n] as PendingRead).seq <= safeSeq) n++;
    // Stryker disable next-line ConditionalExpression: equivalent, splice(0, 0) returns [] as well (a fast path only)
    if (n === 0) return [];
    return this.pending.splice(0, n).map((r) => ({ index: r.index, ctx: r.ctx }));
  }

  /** A new term or role: every pending read is void (the caller retries with the new leader). */
  reset(): void {
    this.pending = [];
    this.acked.clear();
  }
}
