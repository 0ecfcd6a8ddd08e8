/**
 * The serve process's young collections during snapshot traffic (src/cli/release-memory.ts): one per
 * threshold of bytes, never two queued at once, and the real one frees the Buffers that snapshot chunks
 * leave behind.
 */
import { expect, it } from 'vitest';
import { SnapshotTrafficCollector, YOUNG_COLLECTION_BYTES } from '../src/cli/release-memory.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

it('collects once per threshold of snapshot bytes, after the current turn', async () => {
  let runs = 0;
  const c = new SnapshotTrafficCollector(100, () => runs++);
  c.add(60);
  c.add(39);
  await nextTurn();
  expect(runs).toBe(0);
  c.add(1); // 100 bytes: due
  expect(runs).toBe(0); // not inside the caller's turn
  await nextTurn();
  expect(runs).toBe(1);
  // The count starts again from zero.
  c.add(99);
  await nextTurn();
  expect(runs).toBe(1);
  c.add(1);
  await nextTurn();
  expect(runs).toBe(2);
});

it('bytes that arrive while a collection is queued do not queue a second one', async () => {
  let runs = 0;
  const c = new SnapshotTrafficCollector(100, () => runs++);
  c.add(100);
  c.add(250); // queued already: counted towards the next one
  await nextTurn();
  expect(runs).toBe(1);
  c.add(100);
  await nextTurn();
  expect(runs).toBe(2);
});

it('the young collection frees dropped 64 KiB chunk Buffers', async () => {
  let chunks: Buffer[] | undefined = [];
  for (let i = 0; i < 160; i++) chunks.push(Buffer.allocUnsafe(64 * 1024).fill(i));
  const held = process.memoryUsage().arrayBuffers;
  chunks = undefined;
  // A job's own allocations stay reachable until it ends.
  await new Promise((r) => setTimeout(r, 0));
  new SnapshotTrafficCollector().add(YOUNG_COLLECTION_BYTES);
  await nextTurn();
  // V8 frees the backing stores on a background thread once the collection has found them dead.
  let now = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 200 && held - now < 9 * 1024 * 1024; i++) {
    await new Promise((r) => setTimeout(r, 5));
    now = process.memoryUsage().arrayBuffers;
  }
  expect(held - now).toBeGreaterThanOrEqual(9 * 1024 * 1024); // of the 10 MiB dropped
});
