/**
 * Table tests of flow control in the spirit of etcd-io/raft tracker/progress_test.go and
 * inflights_test.go: what a leader may send to one follower, and when.
 */
import { describe, expect, it } from 'vitest';
import { Inflights, Progress } from '../../src/raft/progress.js';

describe('Inflights', () => {
  it('is full at the count limit and frees cumulatively', () => {
    const f = new Inflights(3, 0);
    f.add(5, 10);
    f.add(7, 10);
    expect(f.full()).toBe(false);
    f.add(9, 10);
    expect([f.count, f.bytes, f.full()]).toEqual([3, 30, true]);
    f.freeLE(6); // frees the append ending at 5 only
    expect([f.count, f.bytes, f.full()]).toEqual([2, 20, false]);
    f.freeLE(6); // again: nothing more
    expect(f.count).toBe(2);
    f.freeLE(100);
    expect([f.count, f.bytes]).toEqual([0, 0]);
  });
  it('freeLE at exactly an append’s last index frees it; one below does not', () => {
    const f = new Inflights(10, 0);
    f.add(5, 1);
    f.freeLE(4);
    expect(f.count).toBe(1);
    f.freeLE(5);
    expect(f.count).toBe(0);
  });
  const byteRows: Array<[number, number[], boolean]> = [
    [0, [1000, 1000, 1000], false], // 0 = no byte limit
    [100, [99], false],
    [100, [100], true], // reaching the budget exactly is full
    [100, [60, 39], false],
    [100, [60, 40], true],
  ];
  for (const [maxBytes, sizes, full] of byteRows) {
    it(`byte budget ${maxBytes} with appends of ${sizes.join('+')} bytes: full=${full}`, () => {
      const f = new Inflights(100, maxBytes);
      sizes.forEach((b, i) => f.add(i + 1, b));
      expect(f.full()).toBe(full);
    });
  }
  it('freeing bytes reopens a byte-full window', () => {
    const f = new Inflights(100, 100);
    f.add(1, 60);
    f.add(2, 40);
    expect(f.full()).toBe(true);
    f.freeLE(1);
    expect([f.bytes, f.full()]).toEqual([40, false]);
    f.reset();
    expect([f.count, f.bytes]).toEqual([0, 0]);
  });
});

function replicating(match: number, maxInflight = 3, maxBytes = 0): Progress {
  const p = new Progress(match + 1, maxInflight, maxBytes);
  p.maybeUpdate(match);
  p.becomeReplicate();
  return p;
}

describe('Progress', () => {
  it('probe: one append at a time; the answer or a heartbeat round un-pauses', () => {
    const p = new Progress(5, 3, 0);
    expect([p.state, p.isPaused()]).toEqual(['probe', false]);
    p.sentEntries(6, 10);
    expect([p.isPaused(), p.next]).toEqual([true, 5]); // probing does not advance next
    p.heartbeatSent();
    expect(p.isPaused()).toBe(false);
    p.sentEntries(4, 0); // an empty probe pauses too
    expect(p.isPaused()).toBe(true);
    expect(p.maybeUpdate(6)).toBe(true);
    expect([p.match, p.next, p.isPaused()]).toEqual([6, 7, false]);
  });
  it('replicate: appends pipeline (next advances as we send) until the window is full', () => {
    const p = replicating(5);
    p.sentEntries(7, 1);
    p.sentEntries(9, 1);
    expect([p.next, p.isPaused()]).toEqual([10, false]);
    p.sentEntries(11, 1);
    expect([p.next, p.isPaused(), p.inflights.count]).toEqual([12, true, 3]);
    // An empty append (commit news) adds nothing in flight and does not move next.
    p.sentEntries(11, 0);
    expect([p.next, p.inflights.count]).toEqual([12, 3]);
    p.maybeUpdate(7);
    p.inflights.freeLE(7);
    expect([p.match, p.isPaused()]).toEqual([7, false]);
  });
  it('maybeUpdate: stale acks never move match back; next never moves back', () => {
    const p = replicating(5);
    p.sentEntries(9, 1);
    expect(p.maybeUpdate(8)).toBe(true);
    expect(p.maybeUpdate(6)).toBe(false);
    expect([p.match, p.next]).toEqual([8, 10]);
    expect(p.maybeUpdate(12)).toBe(true); // an ack past next (e.g. after a leader restart) moves next
    expect([p.match, p.next]).toEqual([12, 13]);
  });
  describe('maybeDecrTo (etcd TestProgressMaybeDecr)', () => {
    const rows: Array<{ name: string; state: 'probe' | 'replicate'; match: number; next: number; rejected: number; hint: number; ok: boolean; wantNext: number }> = [
      { name: 'replicate: rejection at match is stale', state: 'replicate', match: 5, next: 10, rejected: 5, hint: 5, ok: false, wantNext: 10 },
      { name: 'replicate: rejection below match is stale', state: 'replicate', match: 5, next: 10, rejected: 4, hint: 4, ok: false, wantNext: 10 },
      { name: 'replicate: rejection above match falls back to match + 1', state: 'replicate', match: 5, next: 10, rejected: 9, hint: 9, ok: true, wantNext: 6 },
      { name: 'probe: rejection not of the last probe is stale', state: 'probe', match: 0, next: 10, rejected: 5, hint: 5, ok: false, wantNext: 10 },
      { name: 'probe: rejection of the last probe moves next to hint + 1', state: 'probe', match: 0, next: 10, rejected: 9, hint: 4, ok: true, wantNext: 5 },
      { name: 'probe: a hint at or past the probe moves next to the probe', state: 'probe', match: 0, next: 10, rejected: 9, hint: 9, ok: true, wantNext: 9 },
      { name: 'probe: next never drops to match or below (a stale rejection)', state: 'probe', match: 5, next: 6, rejected: 5, hint: 0, ok: true, wantNext: 6 },
      { name: 'probe: hint below match is floored at match + 1', state: 'probe', match: 5, next: 10, rejected: 9, hint: 2, ok: true, wantNext: 6 },
      { name: 'probe: hint 0 on an empty follower probes from 1', state: 'probe', match: 0, next: 3, rejected: 2, hint: 0, ok: true, wantNext: 1 },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const p = new Progress(r.next, 3, 0);
        p.maybeUpdate(r.match);
        if (r.state === 'replicate') {
          p.becomeReplicate();
          p.sentEntries(r.next - 1, 1);
        } else {
          p.sentEntries(r.next - 1, 0); // the probe at r.next - 1 is outstanding
        }
        expect(p.next).toBe(r.next);
        expect(p.maybeDecrTo(r.rejected, r.hint)).toBe(r.ok);
        expect(p.next).toBe(r.wantNext);
        expect(p.next).toBeGreaterThan(p.match);
        if (r.state === 'probe' && r.ok) expect(p.isPaused()).toBe(false);
      });
    }
  });
  it('becomeProbe from replicate resumes at match + 1; from snapshot at the snapshot + 1', () => {
    const p = replicating(5);
    p.sentEntries(9, 1);
    p.becomeProbe();
    expect([p.state, p.next, p.inflights.count]).toEqual(['probe', 6, 0]);
    p.becomeSnapshot(20);
    p.becomeProbe();
    expect([p.state, p.next, p.pendingSnapshot]).toEqual(['probe', 21, 0]);
    p.maybeUpdate(30);
    p.becomeSnapshot(20);
    p.becomeProbe();
    expect(p.next).toBe(31); // a follower past the snapshot resumes after its match
  });
  it('snapshot: one chunk outstanding; only an answer that moves the offset releases the next', () => {
    const p = new Progress(1, 3, 0);
    p.becomeSnapshot(10);
    expect([p.isPaused(), p.snapshotOffset]).toEqual([true, 0]); // no appends while snapshotting
    expect(p.snapshotRetransmitDue(0, 2)).toBe(true); // nothing sent yet
    p.sentSnapshotChunk(100);
    expect(p.snapshotAcked(0)).toBe(false); // the echo of a duplicate: nothing new
    expect(p.snapshotAcked(512)).toBe(true);
    p.sentSnapshotChunk(101);
    expect(p.snapshotAcked(512)).toBe(false); // a late duplicate answer does not start a second stream
    expect(p.snapshotOffset).toBe(512);
    expect(p.snapshotAcked(0)).toBe(false); // the follower lost what it had: rewind, wait for the timer
    expect(p.snapshotOffset).toBe(0);
    // An append ack moving match does not release another chunk either.
    p.maybeUpdate(3);
    expect(p.paused).toBe(true);
  });
  it('snapshot: an outstanding chunk is resent only after more than an interval without an answer', () => {
    const p = new Progress(1, 3, 0);
    p.becomeSnapshot(10);
    p.sentSnapshotChunk(100);
    expect(p.snapshotRetransmitDue(101, 2)).toBe(false);
    expect(p.snapshotRetransmitDue(102, 2)).toBe(false);
    expect(p.snapshotRetransmitDue(103, 2)).toBe(true);
    p.becomeProbe();
    expect(p.snapshotRetransmitDue(1000, 2)).toBe(false); // not snapshotting any more
  });
  it('checkStalled: replicate with appends outstanding and no progress since the last check goes back to probe', () => {
    const p = replicating(5);
    expect(p.checkStalled()).toBe(false); // nothing in flight; the check point is now 5
    p.sentEntries(8, 1);
    p.maybeUpdate(6); // progress since the last check
    expect(p.checkStalled()).toBe(false);
    expect(p.state).toBe('replicate');
    expect(p.checkStalled()).toBe(true); // no progress since, appends outstanding: they were lost
    expect([p.state, p.next, p.inflights.count]).toEqual(['probe', 7, 0]);
    expect(p.checkStalled()).toBe(false); // probing is not stalled pipelining
  });
});
