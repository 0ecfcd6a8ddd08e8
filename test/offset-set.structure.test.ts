/**
 * OffsetSet / BitTree shapes the windowed property test never builds: a completely full tree, FULL
 * subtrees at every level freed again, many SINGLE pointers churning in a sparse IPv6 set, and searches
 * that cross level boundaries into stored nodes. Each case is checked against plain arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { BitTree, internalLevels } from '../src/ipam/bit-tree.js';
import { OffsetSet } from '../src/ipam/offset-set.js';

function fill(set: OffsetSet<number>, from: number, to: number): void {
  for (let x = from; x < to; x++) set.add(x);
}

describe('a completely full tree', () => {
  for (const bits of [10, 15, 16]) {
    it(`bits=${bits}: add reports nothing new, delete frees exactly one, search finds it`, () => {
      const size = 2 ** bits;
      const s = OffsetSet.small(bits);
      fill(s, 0, size);
      expect(s.size).toBe(size);
      expect(s.add(0)).toBe(false);
      expect(s.add(size - 1)).toBe(false);
      expect(s.size).toBe(size);
      expect(s.nextAbsent(0, size - 1)).toBeUndefined();
      expect(s.has(size - 1)).toBe(true);
      const hole = Math.floor(size / 3);
      expect(s.delete(hole)).toBe(true);
      expect(s.delete(hole)).toBe(false);
      expect(s.size).toBe(size - 1);
      expect(s.has(hole)).toBe(false);
      expect(s.has(hole - 1)).toBe(true);
      expect(s.has(hole + 1)).toBe(true);
      expect(s.nextAbsent(0, size - 1)).toBe(hole);
      expect(s.nextAbsent(hole + 1, size - 1)).toBeUndefined();
      // Two more holes, one in another top-level subtree: both are found, in order.
      const far = size - 5;
      s.delete(far);
      s.delete(7);
      expect(s.nextAbsent(0, size - 1)).toBe(7);
      expect(s.nextAbsent(8, size - 1)).toBe(hole);
      expect(s.nextAbsent(hole + 1, size - 1)).toBe(far);
      const runs: Array<[number, number]> = [];
      s.forEachRun((a, n) => runs.push([a, n]));
      expect(runs).toEqual([[0, 7], [8, hole - 8], [hole + 1, far - hole - 1], [far + 1, 4]]);
      expect(s.add(hole)).toBe(true);
      expect(s.nextAbsent(8, size - 1)).toBe(far);
    });
  }
});

describe('FULL subtrees freed again', () => {
  it('a full /16 inside a bigger range: freeing two offsets makes both findable, in order', () => {
    const s = OffsetSet.small(20);
    const base = 3 * 65536;
    fill(s, base, base + 65536);
    expect(s.nextAbsent(base, base + 65535)).toBeUndefined();
    expect(s.nextAbsent(base, base + 65536)).toBe(base + 65536);
    s.delete(base + 40000);
    s.delete(base + 5);
    expect(s.nextAbsent(base, base + 65535)).toBe(base + 5);
    expect(s.nextAbsent(base + 6, base + 65535)).toBe(base + 40000);
    expect(s.nextAbsent(base + 40001, base + 65535)).toBeUndefined();
    expect(s.size).toBe(65534);
  });

  it('search crossing a 2^20 boundary descends into a stored node of the next subtree', () => {
    const s = OffsetSet.small(25);
    const b = 2 ** 20;
    fill(s, b - 2048, b); // the end of the first 2^20 block is full
    fill(s, b, b + 3000); // and the start of the next is stored, partly full
    s.add(b + 3001);
    expect(s.nextAbsent(b - 2048, b + 10000)).toBe(b + 3000);
    expect(s.nextAbsent(b + 3000, b + 10000)).toBe(b + 3000);
    expect(s.nextAbsent(b + 3001, b + 10000)).toBe(b + 3002);
    // The same across 2^15 and 2^25 boundaries.
    const t = OffsetSet.small(30);
    for (const edge of [2 ** 15, 2 ** 25]) {
      fill(t, edge - 1024, edge + 1030);
      expect(t.nextAbsent(edge - 1024, 2 ** 30 - 1)).toBe(edge + 1030);
    }
  });
});

describe('sparse sets: one SINGLE per isolated offset', () => {
  it('48 isolated offsets in a 128-bit set, churned: membership, size and order stay right', () => {
    const s = OffsetSet.big(128);
    const xs = Array.from({ length: 48 }, (_, i) => (BigInt(i + 1) << 100n) + BigInt(i * 7919));
    for (const x of xs) expect(s.add(x)).toBe(true);
    expect(s.size).toBe(48);
    for (const x of xs) expect(s.has(x)).toBe(true);
    expect([...s.values()]).toEqual(xs);
    // Delete every other one, then add new ones into the freed SINGLE slots.
    for (let i = 0; i < 48; i += 2) expect(s.delete(xs[i] as bigint)).toBe(true);
    const ys = Array.from({ length: 24 }, (_, i) => (BigInt(i + 1) << 90n) + 3n);
    for (const y of ys) s.add(y);
    const expected = [...xs.filter((_, i) => i % 2 === 1), ...ys].sort((a, b) => (a < b ? -1 : 1));
    expect([...s.values()]).toEqual(expected);
    expect(s.size).toBe(48);
    for (let i = 0; i < 48; i += 2) expect(s.has(xs[i] as bigint)).toBe(false);
    for (const y of ys) expect(s.has(y)).toBe(true);
    expect(s.nextAbsent(ys[0] as bigint, (ys[0] as bigint) + 5n)).toBe((ys[0] as bigint) + 1n);
  });

  it('the same with number offsets (a /16 of IPv6 /112 slices is sparse too)', () => {
    const s = OffsetSet.small(40);
    const xs = Array.from({ length: 40 }, (_, i) => i * 2 ** 30 + 17 * i);
    for (const x of xs) s.add(x);
    for (let i = 0; i < 40; i += 3) s.delete(xs[i] as number);
    const left = xs.filter((_, i) => i % 3 !== 0);
    for (const x of left) s.add(x + 1);
    const expected = [...left, ...left.map((x) => x + 1)].sort((a, b) => a - b);
    expect([...s.values()]).toEqual(expected);
    expect(s.size).toBe(expected.length);
  });

  it('nextAbsent from a lone offset at any position in its leaf finds the next one', () => {
    for (const low of [0, 30, 31, 32, 500, 1022, 1023]) {
      const s = OffsetSet.small(30);
      const x = 5 * 2 ** 20 + 3 * 1024 + low;
      s.add(x);
      expect(s.nextAbsent(x, x + 10)).toBe(x + 1);
      expect(s.nextAbsent(x - 1, x + 10)).toBe(x - 1);
      const b = OffsetSet.big(64);
      b.add(BigInt(x));
      expect(b.nextAbsent(BigInt(x), BigInt(x) + 10n)).toBe(BigInt(x) + 1n);
    }
  });
});

describe('construction and memory', () => {
  it('BitTree refuses a width outside 0…128 or not an integer', () => {
    for (const bits of [-1, 129, 1.5, NaN]) expect(() => new BitTree(bits)).toThrow(new RangeError(`bits out of range: ${bits}`));
    expect(new BitTree(0).levels).toBe(0);
    expect(new BitTree(128).levels).toBe(internalLevels(128));
    for (const bits of [-1, 129, 2.5]) expect(() => OffsetSet.big(bits)).toThrow(RangeError);
    expect(() => OffsetSet.small(49)).toThrow(new RangeError('small offset set limited to 48 bits, got 49'));
  });

  it('usedBytes counts what is stored: one leaf, one node above it, a SINGLE; nothing once empty', () => {
    const s = OffsetSet.small(15); // one internal level above the leaves
    s.add(5);
    const single = s.usedBytes; // a lone offset: one SINGLE (stride 2 digits)
    expect(single).toBe(2 * 4);
    s.add(6); // two offsets in one leaf: a stored leaf under a stored root node
    const leaf = 32 * 4 + 4 + 2;
    const node = 32 * 4 + 8;
    expect(s.usedBytes).toBe(leaf + node);
    s.add(5000); // a lone offset in another leaf of the root: a SINGLE child
    expect(s.usedBytes).toBe(leaf + node + single);
    s.add(5001); // now a second stored leaf
    expect(s.usedBytes).toBe(2 * leaf + node);
    fill(s, 0, 2 ** 15);
    expect(s.usedBytes).toBe(0); // a full tree is one FULL pointer
    for (let x = 0; x < 2 ** 15; x++) s.delete(x);
    expect(s.usedBytes).toBe(0);
    expect(s.reservedBytes).toBe(0);
  });
});

describe('full ranges smaller than their top level, and empty sets', () => {
  for (const bits of [12, 16]) {
    it(`bits=${bits}: a completely full set reports one run of exactly 2^${bits} (a FULL root is clipped to the range)`, () => {
      const s = OffsetSet.small(bits);
      fill(s, 0, 2 ** bits);
      const runs: Array<[number, number]> = [];
      s.forEachRun((a, n) => runs.push([a, n]));
      expect(runs).toEqual([[0, 2 ** bits]]);
      expect([...s.values()]).toHaveLength(2 ** bits);
    });
  }

  it('a full aligned 2^15 block inside a 2^20 range is one run of 2^15', () => {
    const s = OffsetSet.small(20);
    fill(s, 3 * 2 ** 15, 4 * 2 ** 15);
    const runs: Array<[number, number]> = [];
    s.forEachRun((a, n) => runs.push([a, n]));
    expect(runs).toEqual([[3 * 2 ** 15, 2 ** 15]]);
  });

  it('an empty set: nothing absent past the limit or past the range', () => {
    const s = OffsetSet.small(4);
    expect(s.nextAbsent(5, 3)).toBeUndefined();
    expect(s.nextAbsent(16, 20)).toBeUndefined();
    expect(s.nextAbsent(15, 20)).toBe(15);
    expect(OffsetSet.small(48).bits).toBe(48);
  });
});

describe('memory follows the structure', () => {
  it('re-adding a lone offset changes nothing; emptied leaves and nodes are freed while the set lives on', () => {
    const s = OffsetSet.small(25);
    s.add(7 * 2 ** 20);
    s.add(3 * 2 ** 20); // a root node with two lone offsets below it: they keep the tree alive
    const base = s.usedBytes;
    expect(s.add(7 * 2 ** 20)).toBe(false);
    expect(s.usedBytes).toBe(base);
    s.add(5);
    s.add(6); // a leaf (and the node above it) appear
    expect(s.usedBytes).toBeGreaterThan(base);
    s.delete(5);
    s.delete(6);
    expect(s.usedBytes).toBe(base); // and go again
    expect(s.reservedBytes).toBeGreaterThanOrEqual(s.usedBytes);
  });

  it('reserved bytes cover what is used and grow with the structure', () => {
    const s = OffsetSet.small(30);
    s.add(1);
    const first = s.reservedBytes;
    expect(first).toBeGreaterThan(0);
    for (let i = 0; i < 40; i++) {
      s.add(i * 2 ** 20);
      s.add(i * 2 ** 20 + 1);
    }
    expect(s.reservedBytes).toBeGreaterThan(first);
    expect(s.reservedBytes).toBeGreaterThanOrEqual(s.usedBytes);
  });

  it('SINGLE slots freed in a block are reused without overwriting live ones', () => {
    const s = OffsetSet.big(128);
    const xs = Array.from({ length: 20 }, (_, i) => (BigInt(i + 1) << 100n) + 11n);
    for (const x of xs) s.add(x);
    for (const x of xs.slice(0, 4)) s.delete(x);
    const ys = Array.from({ length: 4 }, (_, i) => (BigInt(i + 1) << 80n) + 5n);
    for (const y of ys) s.add(y);
    expect([...s.values()]).toEqual([...ys, ...xs.slice(4)]);
    for (const x of xs.slice(4)) expect(s.has(x)).toBe(true);
  });
});
