/**
 * The seeded PRNG every random choice of the core and the simulator draws from (a seed must replay a run),
 * and the snapshot policy's thresholds.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/raft/rng.js';
import { SnapshotPolicy } from '../../src/raft/snapshot-policy.js';
import type { Entry } from '../../src/raft/types.js';

describe('createRng', () => {
  it('next() is uniform-ish in [0, 1) and the same seed gives the same stream', () => {
    const a = createRng(42);
    const b = createRng(42);
    const xs = Array.from({ length: 2000 }, () => a.next());
    expect(Array.from({ length: 2000 }, () => b.next())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(createRng(43).next()).not.toBe(createRng(42).next());
  });

  it('int(n) covers 0 … n-1 and nothing else', () => {
    const r = createRng(1);
    const seen = new Set(Array.from({ length: 500 }, () => r.int(5)));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('chance(p): never at 0, always at 1, about p otherwise', () => {
    const r = createRng(7);
    const draw = (p: number): number => Array.from({ length: 2000 }, () => r.chance(p)).filter(Boolean).length;
    expect(draw(0)).toBe(0);
    expect(draw(1)).toBe(2000);
    const quarter = draw(0.25);
    expect(quarter).toBeGreaterThan(400);
    expect(quarter).toBeLessThan(600);
  });

  it('pick() returns every item over time and refuses an empty list', () => {
    const r = createRng(3);
    const seen = new Set(Array.from({ length: 300 }, () => r.pick(['a', 'b', 'c'])));
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
    expect(() => r.pick([])).toThrow(new RangeError('pick from an empty list'));
  });

  it('fork() is a deterministic, independent stream', () => {
    const a = createRng(9).fork();
    const b = createRng(9).fork();
    const xs = Array.from({ length: 10 }, () => a.next());
    expect(Array.from({ length: 10 }, () => b.next())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const parent = createRng(9);
    parent.fork();
    expect(parent.next()).not.toBe(xs[0]);
  });
});

const entry = (bytes: number): Entry => ({ term: 1, index: 1, type: 'normal', data: new Uint8Array(bytes) });

describe('SnapshotPolicy', () => {
  it('refuses non-positive thresholds and a negative trailing count; keeping 0 trailing entries is fine', () => {
    const msg = 'snapshot policy needs positive thresholds';
    expect(() => new SnapshotPolicy({ entries: 0, bytes: 10, keepTrailing: 0 })).toThrow(new RangeError(msg));
    expect(() => new SnapshotPolicy({ entries: 10, bytes: 0, keepTrailing: 0 })).toThrow(new RangeError(msg));
    expect(() => new SnapshotPolicy({ entries: 10, bytes: 10, keepTrailing: -1 })).toThrow(new RangeError(msg));
    expect(new SnapshotPolicy({ entries: 1, bytes: 1, keepTrailing: 0 }).due()).toBe(false);
  });

  it('is due at exactly the entry count, or exactly the byte count, whichever comes first', () => {
    const byCount = new SnapshotPolicy({ entries: 3, bytes: 1_000_000, keepTrailing: 0 });
    byCount.applied([entry(0), entry(0)]);
    expect(byCount.due()).toBe(false);
    byCount.applied([entry(0)]);
    expect(byCount.due()).toBe(true);
    byCount.reset();
    expect(byCount.due()).toBe(false);

    // An entry of n payload bytes counts 16 + n bytes.
    const byBytes = new SnapshotPolicy({ entries: 1000, bytes: 100, keepTrailing: 0 });
    byBytes.applied([entry(83)]);
    expect(byBytes.due()).toBe(false);
    byBytes.applied([entry(0)]);
    expect(byBytes.due()).toBe(true); // 99 + 16 > 100
    const exact = new SnapshotPolicy({ entries: 1000, bytes: 100, keepTrailing: 0 });
    exact.applied([entry(84)]);
    expect(exact.due()).toBe(true); // exactly 100
    exact.reset();
    expect(exact.due()).toBe(false);
  });
});
