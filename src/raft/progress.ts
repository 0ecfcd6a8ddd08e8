/**
 * The leader's view of one follower (etcd-io/raft tracker/progress.go): how far it matches, what to send
 * next, and the flow-control state that decides whether to send now.
 *
 * - probe: we do not know where the follower's log ends; send one append, then wait for its answer (or
 *   the next heartbeat response) before sending another.
 * - replicate: the follower accepted our last append; stream appends optimistically (next advances as we
 *   send), limited by the number and bytes of unacknowledged appends in flight.
 * - snapshot: the entries it needs are compacted away; send the snapshot in chunks, nothing else.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Inflights {
  private readonly items: Array<{ index: number; bytes: number }> = [];
  private bytes = 0;
  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  add(index: number, bytes: number): void {
    this.items.push({ index, bytes });
    this.bytes += bytes;
  }

  /** Acknowledge every append whose last index is ≤ index. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.items.length && (this.items[n] as { index: number }).index <= index) {
      this.bytes -= (this.items[n] as { bytes: number }).bytes;
      n++;
    }
    if (n > 0) this.items.splice(0, n);
  }

  full(): boolean {
    return this.items.length >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  reset(): void {
    this.items.length = 0;
    this.bytes = 0;
  }

  get count(): number {
    return this.items.length;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is outstanding; in snapshot state: a chunk is outstanding. */
  paused = false;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Leader tick at which the newest heartbeat this follower answered was sent (lease reads). */
  leaseSentAt = -Infinity;
  /** match at the previous stall check (see RaftCore.tickHeartbeat). */
  matchAtLastCheck = 0;
  /** In snapshot state: the snapshot index being sent and the next byte offset to send. */
  pendingSnapshot = 0;
  snapshotOffset = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, maxInflightBytes: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight, maxInflightBytes);
  }

  becomeProbe(): void {
    // After a snapshot the follower holds at least the snapshot; resume right after it (§7).
    this.next = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.state = 'probe';
    this.paused = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.paused = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.snapshotOffset = 0;
    this.paused = false;
    this.inflights.reset();
  }

  /** An append acknowledged up to n. Returns false if it was stale (old news). */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.paused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejected append. `rejected` is the index of the probe that failed and `hint` the follower's
   * suggestion of where to retry. Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      // Rejections of appends below match are out-of-order duplicates.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the rejection of the last probe (next - 1) is meaningful.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), 1);
    this.paused = false;
    return true;
  }

  /** May the leader send an append now? */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.paused;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
