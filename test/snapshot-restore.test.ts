/**
 * Stepwise restore (snapshot-codec.ts SnapshotRestore, IpamStateMachine.beginRestore): decoding a snapshot
 * a bounded amount at a time gives exactly the state one restore() gives, leaves the live state alone
 * until finish(), and a defect found half-way refuses the whole snapshot with nothing swapped in.
 */
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpamStateMachine } from '../src/index.js';
import { setupCommands } from './support/ipam-workload.js';
import { streamArb } from './support/session-workload.js';

function setUp(): IpamStateMachine {
  const sm = new IpamStateMachine();
  for (const c of setupCommands) sm.apply(c);
  return sm;
}

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
