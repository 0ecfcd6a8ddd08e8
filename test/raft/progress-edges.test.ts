/**
 * Progress edges: an idle follower in replicate is not stalled, a duplicate ack is old news, and
 * snapshot answers only count while a snapshot is being streamed.
 */
import { describe, expect, it } from 'vitest';
import { Progress } from '../../src/raft/progress.js';

function replicating(match: number): Progress {
  const p = new Progress(match + 1, 4, 0);
  p.maybeUpdate(match);
  p.becomeReplicate();
  return p;
}

describe('Progress edges', () => {
  it('a follower in replicate with nothing in flight is idle, not stalled', () => {
    const p = replicating(5);
    expect(p.checkStalled()).toBe(false);
    expect(p.checkStalled()).toBe(false);
    expect(p.state).toBe('replicate');
    expect(p.next).toBe(6);
  });

  it('a probing follower with no answer is never "stalled" (the heartbeat round un-pauses it instead)', () => {
    const p = new Progress(3, 4, 0);
    p.sentEntries(2, 0);
    expect(p.checkStalled()).toBe(false);
    expect(p.state).toBe('probe');
  });

  it('an ack of exactly what is already matched is old news and does not un-pause a probe', () => {
    const p = new Progress(6, 4, 0);
    expect(p.maybeUpdate(5)).toBe(true);
    p.sentEntries(5, 0);
    expect(p.paused).toBe(true);
    expect(p.maybeUpdate(5)).toBe(false);
    expect(p.paused).toBe(true);
  });

  it('a snapshot answer that arrives after the stream ended is not news', () => {
    const p = new Progress(1, 4, 0);
    p.becomeSnapshot(10);
    p.sentSnapshotChunk(0);
    p.maybeUpdate(10);
    p.becomeProbe();
    expect(p.snapshotAcked(500)).toBe(false);
    expect(p.snapshotOffset).toBe(0);
    expect(p.isPaused()).toBe(false);
  });

  it('news from the follower releases the next chunk at once, without waiting for a retransmission', () => {
    const p = new Progress(1, 4, 0);
    p.becomeSnapshot(10);
    p.sentSnapshotChunk(7);
    expect(p.snapshotRetransmitDue(7, 3)).toBe(false);
    expect(p.snapshotAcked(100)).toBe(true);
    expect(p.paused).toBe(false);
    expect(p.snapshotRetransmitDue(7, 3)).toBe(true);
  });
});
