import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internalLevels } from '../src/ipam/bit-tree.js';
import { OffsetSet } from '../src/ipam/offset-set.js';

/** Naive model: a Set, and a linear scan for "lowest absent in [from, limit]". */
function naiveNextAbsent(model: Set<bigint>, from: bigint, limit: bigint): bigint | undefined {
  for (let x = from; x <= limit; x++) if (!model.has(x)) return x;
  return undefined;
}

function naiveRuns(model: Set<bigint>): Array<[bigint, bigint]> {
  const sorted = [...model].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const runs: Array<[bigint, bigint]> = [];
  for (const x of sorted) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === x) last[1]++;
    else runs.push([x, 1n]);
  }
  return runs;
}

type Op = { kind: 'add' | 'delete' | 'has' | 'next' | 'fill'; x: bigint; n: number };

/**
 * Offsets are drawn near a few "hot" windows (start, a leaf boundary, the top of the range) so that
 * leaves fill, collapse to FULL, materialise again and free — the transitions where bugs live.
 */
function opsFor(bits: number): fc.Arbitrary<Op[]> {
  const size = 1n << BigInt(bits);
  const windows = [0n, 1000n, size / 2n - 40n, size - 70n].filter((w) => w >= 0n && w < size);
  const offset = fc.tuple(fc.constantFrom(...windows), fc.integer({ min: 0, max: 2100 })).map(([w, d]) => {
    const x = w + BigInt(d);
    return x < size ? x : size - 1n;
  });
  const op = fc.record({ kind: fc.constantFrom('add', 'delete', 'has', 'next', 'fill'), x: offset, n: fc.integer({ min: 1, max: 1100 }) }) as fc.Arbitrary<Op>;
  return fc.array(op, { maxLength: 80 });
}

function check<T extends number | bigint>(bits: number, make: () => OffsetSet<T>, to: (x: bigint) => T): void {
  const size = 1n << BigInt(bits);
  fc.assert(
    fc.property(opsFor(bits), (ops) => {
      const set = make();
      const model = new Set<bigint>();
      for (const op of ops) {
        switch (op.kind) {
          case 'add':
            expect(set.add(to(op.x))).toBe(!model.has(op.x));
            model.add(op.x);
            break;
          case 'delete':
            expect(set.delete(to(op.x))).toBe(model.has(op.x));
            model.delete(op.x);
            break;
          case 'has':
            expect(set.has(to(op.x))).toBe(model.has(op.x));
            break;
          case 'fill': // a dense block, so whole leaves become FULL
            for (let i = 0n; i < BigInt(op.n) && op.x + i < size; i++) {
              set.add(to(op.x + i));
              model.add(op.x + i);
            }
            break;
          case 'next': {
            const limit = op.x + BigInt(op.n) < size ? op.x + BigInt(op.n) : size - 1n;
            const got = set.nextAbsent(to(op.x), to(limit));
            const want = naiveNextAbsent(model, op.x, limit);
            expect(got === undefined ? undefined : BigInt(got)).toBe(want);
            break;
          }
        }
        expect(set.size).toBe(model.size);
      }
      const runs: Array<[bigint, bigint]> = [];
      set.forEachRun((s, l) => runs.push([BigInt(s), BigInt(l)]));
      expect(runs).toEqual(naiveRuns(model));
    }),
    { numRuns: 150 },
  );
}

describe('OffsetSet agrees with a naive Set on random operation streams', () => {
  for (const bits of [0, 3, 10, 11, 15, 16, 23, 32]) {
    it(`number offsets, ${bits} bits`, () => check(bits, () => OffsetSet.small(bits), (x) => Number(x)));
  }
  for (const bits of [49, 64, 80, 128]) {
    it(`bigint offsets, ${bits} bits`, () => check(bits, () => OffsetSet.big(bits), (x) => x));
  }
});

describe('OffsetSet memory follows fragmentation, not size', () => {
  it('a full /16 collapses to nothing; a half-fragmented one costs about a bit per address', () => {
    const s = OffsetSet.small(16);
    for (let i = 0; i < 65536; i++) s.add(i);
    expect(s.size).toBe(65536);
    // 16 bits = a leaf level plus two internal levels whose root spans 2^20: only that root node stays.
    expect(s.usedBytes).toBeLessThanOrEqual(136);
    for (let i = 0; i < 65536; i += 2) s.delete(i);
    expect(s.usedBytes / 65536).toBeLessThan(0.2); // bytes per address, i.e. < 1.6 bits
    for (let i = 1; i < 65536; i += 2) s.delete(i);
    expect(s.size).toBe(0);
    expect(s.usedBytes).toBe(0);
  });
  it('an isolated offset costs one SINGLE entry, not a chain of nodes; a second one nearby expands it', () => {
    const s = OffsetSet.big(128);
    s.add(123456789n << 70n);
    const single = (internalLevels(128) + 1) * 4; // one digit per internal level + the leaf digit
    expect(internalLevels(128)).toBe(24);
    expect(s.usedBytes).toBe(single);
    s.add((123456789n << 70n) + 5n); // same leaf: the chain is built only now
    expect(s.usedBytes).toBeGreaterThan(single);
    expect(s.delete(123456789n << 70n)).toBe(true);
    expect(s.delete((123456789n << 70n) + 5n)).toBe(true);
    expect(s.usedBytes).toBe(0);
  });
  it('a full 2^128 range is one pointer', () => {
    const s = OffsetSet.big(128);
    expect(s.nextAbsent(0n, (1n << 128n) - 1n)).toBe(0n);
    s.add((1n << 128n) - 1n);
    expect(s.nextAbsent((1n << 128n) - 1n, (1n << 128n) - 1n)).toBeUndefined();
    expect(s.nextAbsent((1n << 127n), (1n << 128n) - 1n)).toBe(1n << 127n);
  });
});
