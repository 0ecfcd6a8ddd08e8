/**
 * The leader's view of one follower (etcd-io/raft tracker/progress.go): how far it matches, what to send
 * next, and the flow-control state that decides whether to send now. Every field changes through a method
 * of this class; the core only reads them.
 *
 * - probe: we do not know where the follower's log ends; send one append, then wait for its answer (or
 *   the next heartbeat response) before sending another.
 * - replicate: the follower accepted our last append; stream appends optimistically (next advances as we
 *   send), limited by the number and bytes of unacknowledged appends in flight.
 * - snapshot: the entries it needs are compacted away; stream the snapshot one chunk at a time, nothing
 *   else. Exactly one chunk is outstanding; only an answer that moves the follower's offset forward
 *   releases the next one, so duplicated or late answers never start a second stream.
 *
 * Invariant (etcd): match < next.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/**
 * The appends sent to one follower and not yet acknowledged, oldest first (etcd tracker/inflights.go):
 * the last index and the byte size of each. Full when either the count or the byte budget is reached.
 */
export class Inflights {
  private readonly items: Array<{ index: number; bytes: number }> = [];
  private totalBytes = 0;
  constructor(
    private readonly maxCount: number,
    /** 0 = no byte limit. */
    private readonly maxBytes: number,
  ) {}

  /** An append ending at `index` (higher than any in flight) of `bytes` bytes was sent. */
  add(index: number, bytes: number): void {
    this.items.push({ index, bytes });
    this.totalBytes += bytes;
  }

  /** Acknowledge every append whose last index is ≤ index (acks are cumulative, §5.3 Log Matching). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.items.length && (this.items[n] as { index: number }).index <= index) {
      this.totalBytes -= (this.items[n] as { bytes: number }).bytes;
      n++;
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, splice(0, 0) removes nothing
    if (n > 0) this.items.splice(0, n);
  }

  full(): boolean {
    return this.items.length >= this.maxCount || (this.maxBytes > 0 && this.totalBytes >= this.maxBytes);
  }

  reset(): void {
    this.items.length = 0;
    this.totalBytes = 0;
  }

  get count(): number {
    return this.items.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }
}

export class Progress {
  private matchIndex = 0;
  private nextIndex: number;
  private st: ProgressState = 'probe';
  /** In probe state: an append is outstanding; in snapshot state: a chunk is outstanding. */
  private sendPaused = false;
  private active = false;
  private leaseAt = -Infinity;
  private matchAtCheck = 0;
  private snapIndex = 0;
  private snapOffset = 0;
  private chunkSentAt = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, maxInflightBytes: number) {
    this.nextIndex = Math.max(1, next);
    this.inflights = new Inflights(maxInflight, maxInflightBytes);
  }

  /** Highest index known replicated on the follower. */
  get match(): number {
    return this.matchIndex;
  }
  /** Next index to send. */
  get next(): number {
    return this.nextIndex;
  }
  get state(): ProgressState {
    return this.st;
  }
  /** Probe: waiting for the answer to the last append; snapshot: a chunk is outstanding. */
  get paused(): boolean {
    return this.sendPaused;
  }
  /** Heard from since the last CheckQuorum round (§6.2). */
  get recentActive(): boolean {
    return this.active;
  }
  /** Leader tick at which the newest heartbeat this follower answered was sent (lease reads, §6.4.1). */
  get leaseSentAt(): number {
    return this.leaseAt;
  }
  /** In snapshot state: the index of the snapshot being streamed. */
  get pendingSnapshot(): number {
    return this.snapIndex;
  }
  /** In snapshot state: the byte offset the follower asked for last (where the next chunk starts). */
  get snapshotOffset(): number {
    return this.snapOffset;
  }

  /** The leader itself: its own entries are matched once they are on its disk. */
  becomeSelf(stable: number): void {
    this.matchIndex = stable;
    this.nextIndex = stable + 1;
    this.st = 'replicate';
  }

  markActive(): void {
    this.active = true;
  }

  /** A CheckQuorum round ended: the follower must be heard from again in the next one. */
  clearActive(): void {
    this.active = false;
  }

  /** The follower answered a heartbeat sent at leader tick `sentAt`. Never moves back (reordering). */
  heartbeatAnswered(sentAt: number): void {
    this.leaseAt = Math.max(this.leaseAt, sentAt);
  }

  becomeProbe(): void {
    // After a snapshot the follower holds at least the snapshot; resume right after it (§7).
    // Stryker disable next-line ConditionalExpression: equivalent for `true`, snapIndex is 0 outside snapshot state so the max is match + 1
    this.nextIndex = this.st === 'snapshot' ? Math.max(this.matchIndex + 1, this.snapIndex + 1) : this.matchIndex + 1;
    this.st = 'probe';
    this.sendPaused = false;
    this.snapIndex = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.st = 'replicate';
    this.nextIndex = this.matchIndex + 1;
    // Stryker disable next-line BooleanLiteral: equivalent, sendPaused is not read in replicate state and every way out of it resets it
    this.sendPaused = false;
    this.snapIndex = 0;
    this.inflights.reset();
  }

  becomeSnapshot(index: number): void {
    this.st = 'snapshot';
    this.snapIndex = index;
    this.snapOffset = 0;
    this.sendPaused = false;
    this.inflights.reset();
  }

  /**
   * An append carrying entries up to `lastIndex` (lastIndex = next − 1 for an empty one) of `bytes` bytes
   * was sent. Replicate: pipeline (advance next, count it in flight). Probe: wait for the answer.
   */
  sentEntries(lastIndex: number, bytes: number): void {
    if (this.st === 'replicate') {
      if (lastIndex >= this.nextIndex) {
        this.nextIndex = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.st === 'probe') {
      this.sendPaused = true;
    }
  }

  /** The chunk starting at snapshotOffset was sent at leader tick `now`; wait for its answer. */
  sentSnapshotChunk(now: number): void {
    this.sendPaused = true;
    this.chunkSentAt = now;
  }

  /**
   * The follower says it holds `nextOffset` bytes of our snapshot. Returns true if that is news (the
   * outstanding chunk was taken), so exactly one next chunk may go out. An answer that does not move the
   * offset is the echo of a duplicate or late chunk and changes nothing; one that moves it back means the
   * follower lost what it had (a restart): rewind, and let the retransmission timer resend from there.
   */
  snapshotAcked(nextOffset: number): boolean {
    if (this.st !== 'snapshot') return false;
    if (nextOffset > this.snapOffset) {
      this.snapOffset = nextOffset;
      this.sendPaused = false;
      return true;
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, here nextOffset ≤ snapOffset and at equality the assignment changes nothing
    if (nextOffset < this.snapOffset) this.snapOffset = nextOffset;
    return false;
  }

  /**
   * Should the outstanding chunk be sent again at leader tick `now`? Only when it has gone unanswered for
   * longer than `interval` ticks (it or its answer was lost): a chunk whose answer is merely on its way is
   * never duplicated.
   */
  snapshotRetransmitDue(now: number, interval: number): boolean {
    return this.st === 'snapshot' && (!this.sendPaused || now - this.chunkSentAt > interval);
  }

  /** An append acknowledged up to n. Returns false if it was stale (old news). */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.matchIndex < n) {
      this.matchIndex = n;
      updated = true;
      // A chunk outstanding in snapshot state stays outstanding: only its own answer releases the next.
      if (this.st !== 'snapshot') this.sendPaused = false;
    }
    this.nextIndex = Math.max(this.nextIndex, n + 1);
    return updated;
  }

  /**
   * A rejected append. `rejected` is the prevIndex of the append that failed and `hint` the index to
   * retry after. Returns false if the rejection is stale. next never drops to match or below: the
   * follower acknowledged match, so a rejection claiming otherwise is old news (etcd MaybeDecrTo).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.st === 'replicate') {
      // Rejections of appends at or below match are out-of-order duplicates.
      if (rejected <= this.matchIndex) return false;
      this.nextIndex = this.matchIndex + 1;
      return true;
    }
    // In probe state only the rejection of the last probe (next - 1) is meaningful.
    if (this.nextIndex - 1 !== rejected) return false;
    this.nextIndex = Math.max(Math.min(rejected, hint + 1), this.matchIndex + 1);
    this.sendPaused = false;
    return true;
  }

  /**
   * No progress for a whole stall-check period while appends are outstanding: they (or their answers)
   * were lost without anyone saying so. Returns true if the follower went back to probing. The check
   * point moves either way.
   */
  checkStalled(): boolean {
    const stalled = this.st === 'replicate' && this.inflights.count > 0 && this.matchIndex === this.matchAtCheck;
    this.matchAtCheck = this.matchIndex;
    if (stalled) this.becomeProbe();
    return stalled;
  }

  /** A heartbeat round went out: a lost probe must not stall a follower forever. */
  heartbeatSent(): void {
    if (this.st === 'probe') this.sendPaused = false;
  }

  /** May the leader send an append now? */
  isPaused(): boolean {
    switch (this.st) {
      case 'probe':
        return this.sendPaused;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
