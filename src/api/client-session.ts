/**
 * The client half of an exactly-once session (Raft dissertation §6.3): one seq per logical command, fixed
 * before the first attempt and repeated on every retry, and an `ack` telling the node which cached results
 * it may drop (every seq below the lowest one still waiting for its answer).
 */
import type { SessionRef } from '../node/service.js';

export class SessionTracker {
  private nextSeq = 1;
  private readonly waiting = new Set<number>();

  /** `cluster`: the cluster id the node that opened it reported (undefined from a server that does not). */
  constructor(
    readonly id: number,
    readonly cluster?: string,
  ) {}

  /** Claim the seq of a new command; the same SessionRef is sent on each of its retries. */
  begin(): number {
    const seq = this.nextSeq++;
    this.waiting.add(seq);
    return seq;
  }

  /** The envelope for an attempt of `seq`, with the ack as of now (it only grows between retries). */
  ref(seq: number): SessionRef {
    let lowest = seq;
    for (const s of this.waiting) if (s < lowest) lowest = s;
    return { id: this.id, seq, ack: lowest };
  }

  /** The command's answer arrived, or the client gave up on it: either way it no longer holds the ack back. */
  end(seq: number): void {
    this.waiting.delete(seq);
  }
}
