/**
 * Incremental snapshot capture (snapshot-codec.ts SnapshotCapture): a capture begun at some point and
 * encoded in small steps while commands keep changing the state must give exactly the bytes snapshot()
 * gave at that point — including blocks freed, refilled, detached and re-attached (undo) and sessions
 * whose cached results are added, acknowledged and dropped before the cursor reaches them.
 *
 * And its mirror, stepwise restore (SnapshotRestore, IpamStateMachine.beginRestore): decoding a snapshot a
 * bounded amount at a time gives exactly the state one restore() gives, leaves the live state alone until
 * finish(), and a defect found half-way refuses the whole snapshot with nothing swapped in.
 */
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { IpamStateMachine } from '../src/index.js';
import { arrayHeader } from '../src/ipam/snapshot-wire.js';
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
    capture.step(250); // two blocks of 101 units and part of the third
    // The last block changes before the cursor reaches it; the slice is then released and assigned anew.
    sm.apply({ type: 'releaseOwner', owner: 'c39-0' });
    sm.apply({ type: 'releaseSlice', network: 'big', nodeId: 'n39' });
    sm.apply({ type: 'assignSlice', network: 'big', nodeId: 'n39' });
    sm.apply({ type: 'allocate', network: 'big', nodeId: 'n39', owner: 'late' });
    while (!capture.step(250));
    // 4,000 addresses at most 250 a step, plus at most two units of overhead per block (its own, and one
    // more when a step ends inside it).
    expect(capture.steps).toBeGreaterThanOrEqual(Math.ceil(4_000 / 250));
    expect(capture.steps).toBeLessThanOrEqual(Math.ceil((4_000 + 2 * 40) / 250));
    expect(Buffer.from(capture.result()).equals(Buffer.from(expected))).toBe(true);
    expect(Buffer.from(sm.snapshot()).equals(Buffer.from(expected))).toBe(false);
  });

  it('encodes one large block over many steps while allocations and releases hit it ahead of and behind the cursor', () => {
    // One /16 slice holding 3,000 owned addresses: the shape of a cluster whose agents share a big slice.
    const sm = new IpamStateMachine();
    sm.apply({ type: 'configureNetwork', name: 'wide', cidr: '10.0.0.0/8', slicePrefix: 16 });
    sm.apply({ type: 'assignSlice', network: 'wide', nodeId: 'shared' });
    for (let i = 0; i < 3_000; i++) sm.apply({ type: 'allocate', network: 'wide', nodeId: 'shared', owner: `c${i}` });
    for (let i = 0; i < 3_000; i += 7) sm.apply({ type: 'releaseOwner', owner: `c${i}` }); // holes: many runs
    const expected = sm.snapshot();
    // The owners in address order as of the capture: after k steps of 100 the cursor is at the k·100th.
    const inOrder = Array.from({ length: 3_000 }, (_, i) => i).filter((i) => i % 7 !== 0);
    const capture = sm.beginSnapshot();
    let late = 0;
    let steps = 0;
    while (!capture.step(100)) {
      steps++;
      // The very address the cursor encodes next (the boundary of "already encoded").
      sm.apply({ type: 'releaseOwner', owner: `c${inOrder[steps * 100] as number}` });
      // Behind the cursor and ahead of it: releases (owned and not), refills of the holes, new addresses.
      sm.apply({ type: 'releaseOwner', owner: `c${(steps * 97) % 3_000}` });
      sm.apply({ type: 'releaseOwner', owner: `c${3_000 - 1 - ((steps * 31) % 3_000)}` });
      sm.apply({ type: 'allocate', network: 'wide', nodeId: 'shared', owner: `late-${late++}` });
      sm.apply({ type: 'allocate', network: 'wide', nodeId: 'shared' });
    }
    expect(steps).toBeGreaterThanOrEqual(Math.floor((3_000 - Math.ceil(3_000 / 7)) / 100));
    expect(Buffer.from(capture.result()).equals(Buffer.from(expected))).toBe(true);
    // The block's hook is gone: the next capture is the state's snapshot again.
    const now = sm.snapshot();
    const again = sm.beginSnapshot();
    while (!again.step(100));
    expect(Buffer.from(again.result()).equals(Buffer.from(now))).toBe(true);
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

describe('stepwise restore', () => {
  it('gives the state restore() gives, whatever the step budget, and leaves the live state alone until finish()', () => {
    fc.assert(
      fc.property(streamArb(0, 60), streamArb(0, 20), fc.integer({ min: 1, max: 8 }), (source, other, budget) => {
        const sm = setUp();
        for (const e of source) sm.applyEntry(e);
        const bytes = sm.snapshot();
        const target = setUp();
        for (const e of other) target.applyEntry(e);
        const before = target.stateHash();
        const task = target.beginRestore(bytes);
        let steps = 1;
        while (!task.step(budget)) {
          steps++;
          expect(target.stateHash()).toBe(before);
        }
        expect(target.stateHash()).toBe(before);
        task.finish();
        expect(Buffer.from(target.snapshot()).equals(Buffer.from(bytes))).toBe(true);
        // Every network's blocks are decoded in separate steps once the budget is one address.
        if (budget === 1) expect(steps).toBeGreaterThan(sm.networks().reduce((n, net) => n + (sm.slices(net.name)?.length ?? 0), 0));
      }),
      { numRuns: 200 },
    );
  });

  it('a defect late in the payload refuses the snapshot at a late step; nothing is swapped in and every later step refuses again', () => {
    const sm = setUp();
    for (let i = 0; i < 3; i++) sm.apply({ type: 'allocate', network: 'tiny', nodeId: 'n3' });
    const good = sm.snapshot();
    // Flip one bit at a time in the bytes after the 'tiny' network's name (its blocks, then 'v4', 'v6' and
    // the sessions) and fix the CRC, so the frame is valid and only the element decoder can object.
    const bytes = Uint8Array.from(good);
    const tinyAt = Buffer.from(bytes).indexOf(Buffer.from('tiny'));
    expect(tinyAt).toBeGreaterThan(0);
    const target = setUp();
    target.apply({ type: 'allocate', network: 'v4', nodeId: 'n1', owner: 'keep' });
    const before = target.stateHash();
    // At least one refused flip must be found only after three steps succeeded.
    let refusedLate = false;
    for (let i = bytes.length - 1; i > tinyAt && !refusedLate; i--) {
      const bad = Uint8Array.from(good);
      bad[i] = (bad[i] as number) ^ 0x01;
      new DataView(bad.buffer).setUint32(12, crc32(bad.subarray(16)));
      const task = target.beginRestore(bad);
      let okSteps = 0;
      let error: unknown;
      try {
        while (!task.step(1)) okSteps++;
      } catch (e) {
        error = e;
      }
      if (error === undefined) continue; // this flip happens to spell another valid state
      expect(error).toMatchObject({ code: 'InvalidSnapshot' });
      expect(() => task.step(1)).toThrow(error as Error);
      expect(target.stateHash()).toBe(before);
      if (okSteps >= 3) refusedLate = true;
    }
    expect(refusedLate).toBe(true);
  });
});
