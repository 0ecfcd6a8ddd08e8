/**
 * OffsetSlots: a value per offset of one block, as an array for slices of at most 2^16 offsets and as a
 * Map beyond (and for bigint offsets). Both must behave the same; the array must not be chosen for a slice
 * whose offsets could size it without bound.
 */
import { describe, expect, it } from 'vitest';
import { DENSE_SLOTS_MAX, offsetSlots } from '../src/ipam/offset-slots.js';

describe.each([
  ['array', 1022, [1, 5, 3]],
  ['map (large slice)', DENSE_SLOTS_MAX, [1, 70_000, 3]],
  ['map (bigint offsets)', 2n ** 64n - 1n, [1n, 2n ** 60n, 3n]],
] as const)('OffsetSlots (%s)', (_kind, last, [a, b, c]) => {
  it('counts, reads, overwrites and deletes one value per offset', () => {
    const s = offsetSlots<string>(last);
    expect(s.size).toBe(0);
    expect(s.get(a)).toBeUndefined();
    s.set(a, 'x');
    s.set(b, 'y');
    s.set(c, 'z');
    s.set(a, 'x2'); // an overwrite is not a new entry
    expect(s.size).toBe(3);
    expect([a, b, c].map((o) => s.get(o))).toEqual(['x2', 'y', 'z']);
    s.delete(b);
    s.delete(b); // deleting an absent offset changes nothing
    expect(s.size).toBe(2);
    expect(s.get(b)).toBeUndefined();
    const seen: Array<[string, number | bigint]> = [];
    s.forEach((v, o) => {
      seen.push([v, o]);
    });
    expect(seen.sort()).toEqual([['x2', a], ['z', c]]);
    const first: string[] = [];
    s.forEach((v) => {
      first.push(v);
      return false; // stops after the first entry
    });
    expect(first).toHaveLength(1);
  });
});

it('an array only for slices whose offsets are below 2^16', () => {
  const dense = offsetSlots<number>(DENSE_SLOTS_MAX - 1);
  const sparse = offsetSlots<number>(DENSE_SLOTS_MAX);
  expect(dense.constructor.name).toBe('ArraySlots');
  expect(sparse.constructor.name).toBe('MapSlots');
});
