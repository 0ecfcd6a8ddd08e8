/**
 * Incremental snapshot capture (snapshot-codec.ts SnapshotCapture): a capture begun at some point and
 * encoded in small steps while commands keep changing the state must give exactly the bytes snapshot()
 * gave at that point — including blocks freed, refilled, detached and re-attached (undo) and sessions
 * whose cached results are added, acknowledged and dropped before the cursor reaches them.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { IpamStateMachine } from '../src/index.js';
import { arrayHeader } from '../src/ipam/snapshot-codec.js';
import { setupCommands } from './support/ipam-workload.js';
import { streamArb } from './support/session-workload.js';

function setUp(): IpamStateMachine {
  const sm = new IpamStateMachine();
  for (const c of setupCommands) sm.apply(c);
  return sm;
}

describe('SnapshotCapture', () => {
  it('gives the bytes snapshot() gave at begin, whatever is applied between its steps', () => {
    fc.assert(
      fc.property(streamArb(0, 60), streamArb(1, 80), fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 8 }), (before, during, stepsBetween, budget) => {
        const sm = setUp();
        for (const e of before) sm.applyEntry(e);
        const expected = sm.snapshot();
        const capture = sm.beginSnapshot();
        let steps = 0;
        during.forEach((entry, i) => {
          for (let k = 0; k < (stepsBetween[i % stepsBetween.length] as number) && !capture.done; k++, steps++) capture.step(budget);
          sm.applyEntry(entry);
        });
        while (!capture.step(budget)) steps++;
        expect(Buffer.from(capture.result()).equals(Buffer.from(expected))).toBe(true);
        // The hooks are gone: a second capture of the changed state is the state's snapshot again.
        const now = sm.snapshot();
        const again = sm.beginSnapshot();
        while (!again.step(budget));
        expect(Buffer.from(again.result()).equals(Buffer.from(now))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('an aborted capture leaves no hooks behind: the next capture starts cleanly and is exact', () => {
    fc.assert(
      fc.property(streamArb(1, 60), streamArb(1, 40), fc.integer({ min: 0, max: 5 }), (before, during, stepsFirst) => {
        const sm = setUp();
        for (const e of before) sm.applyEntry(e);
        const first = sm.beginSnapshot();
        for (let k = 0; k < stepsFirst && !first.done; k++) first.step(2);
        first.abort();
        expect(() => first.step(2)).toThrow(/aborted/);
        for (const e of during) sm.applyEntry(e);
        const expected = sm.snapshot();
        const second = sm.beginSnapshot();
        while (!second.step(3));
        expect(Buffer.from(second.result()).equals(Buffer.from(expected))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('splits a large state into many steps of bounded work, and a block changed ahead of the cursor keeps its captured contents', () => {
    const sm = new IpamStateMachine();
    sm.apply({ type: 'configureNetwork', name: 'big', cidr: '10.0.0.0/16', slicePrefix: 24 });
    for (let n = 0; n < 40; n++) {
      sm.apply({ type: 'assignSlice', network: 'big', nodeId: `n${n}` });
      for (let i = 0; i < 100; i++) sm.apply({ type: 'allocate', network: 'big', nodeId: `n${n}`, owner: `c${n}-${i}` });
    }
    const expected = sm.snapshot();
    const capture = sm.beginSnapshot();
    capture.step(250); // three blocks of 101 units: the first three blocks
    // The last block changes before the cursor reaches it; the slice is then released and assigned anew.
    sm.apply({ type: 'releaseOwner', owner: 'c39-0' });
    sm.apply({ type: 'releaseSlice', network: 'big', nodeId: 'n39' });
    sm.apply({ type: 'assignSlice', network: 'big', nodeId: 'n39' });
    sm.apply({ type: 'allocate', network: 'big', nodeId: 'n39', owner: 'late' });
    while (!capture.step(250));
    expect(capture.steps).toBe(Math.ceil(40 / 3));
    expect(Buffer.from(capture.result()).equals(Buffer.from(expected))).toBe(true);
    expect(Buffer.from(sm.snapshot()).equals(Buffer.from(expected))).toBe(false);
  });

  it('writes array headers exactly as msgpackr does, at each size boundary', () => {
    const packr = new Packr({ useRecords: false, variableMapSize: true });
    for (const n of [0, 1, 15, 16, 255, 65_535, 65_536, 70_000]) {
      const header = arrayHeader(n);
      const whole = packr.pack(new Array<number>(n).fill(0));
      expect([...whole.subarray(0, header.length)]).toEqual([...header]);
      expect(whole.length).toBe(header.length + n); // the rest is n one-byte zeros: the header ends where we say
    }
  });
});
