/**
 * A restore lets go of the snapshot bytes it read. msgpackr keeps a DataView of the last buffer it
 * decoded from in a module variable until its next decode; after a restore that was the whole snapshot
 * (≈ 20 MB at 1,000,000 addresses), which a serving node's collection after the restore
 * (src/cli/release-memory.ts) could then not free. Checked with a WeakRef and a real collection.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { IpamStateMachine, type ApplyResult, type IpamCommand } from '../src/index.js';

function ok<T>(r: ApplyResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function sample(): IpamStateMachine {
  const sm = new IpamStateMachine();
  const commands: IpamCommand[] = [
    { type: 'configureNetwork', name: 'v4', cidr: '10.1.0.0/24', slicePrefix: 28 },
    { type: 'assignSlice', network: 'v4', nodeId: 'a' },
    { type: 'allocate', network: 'v4', nodeId: 'a', owner: 'c1' },
    { type: 'allocate', network: 'v4', nodeId: 'a' },
  ];
  for (const c of commands) ok(sm.apply(c));
  return sm;
}

function collector(): () => void {
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** Restore from a private copy of `bytes` (via `restore`) and report whether that copy outlived a collection. */
async function outlives(bytes: Uint8Array, restore: (copy: Uint8Array) => void): Promise<boolean> {
  const gc = collector();
  let copy: Uint8Array | undefined = bytes.slice();
  const ref = new WeakRef(copy.buffer);
  restore(copy);
  copy = undefined;
  // A WeakRef's target is kept until the end of the job that made it.
  await new Promise((r) => setTimeout(r, 0));
  gc();
  return ref.deref() !== undefined;
}

it('a finished restore keeps no reference to the snapshot bytes', async () => {
  const sm = sample();
  const restored = new IpamStateMachine();
  expect(await outlives(sm.snapshot(), (copy) => restored.restore(copy))).toBe(false);
  // Still the same state (the bytes were not needed after the decode).
  expect(restored.stateHash()).toBe(sm.stateHash());
  expect(restored.snapshot()).toEqual(sm.snapshot());
});

it('a refused snapshot is not kept either', async () => {
  const bytes = sample().snapshot();
  const restored = new IpamStateMachine();
  const before = restored.stateHash();
  // Only the code is kept: an error holds the frames it was thrown through (and so the decoder and its
  // bytes) until it is dropped, which is the error's doing, not the decoder's.
  let refusal: string | undefined;
  // Header and CRC intact, one payload byte after the end: the decoder reads it all, then refuses.
  const extended = new Uint8Array(bytes.length + 1);
  extended.set(bytes);
  const view = new DataView(extended.buffer);
  view.setUint32(8, view.getUint32(8) + 1);
  const { crc32 } = await import('node:zlib');
  view.setUint32(12, crc32(extended.subarray(16)));
  expect(
    await outlives(extended, (copy) => {
      try {
        restored.restore(copy);
      } catch (e) {
        refusal = (e as { code?: string }).code;
      }
    }),
  ).toBe(false);
  expect(refusal).toBe('InvalidSnapshot');
  expect(restored.stateHash()).toBe(before);
});
