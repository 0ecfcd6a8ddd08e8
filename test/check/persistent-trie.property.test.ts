/**
 * The persistent trie against a Map (the naive model): random set/delete streams over number and bigint
 * keys, every old version left intact, equal key sets giving equal tries whatever the insertion order,
 * and the first-absent query against a scan.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyTrie, trieEntries, trieEqual, trieFirstAbsent, trieGet, trieHash, trieSet, trieSize, type Trie, type TrieKey } from '../../src/check/persistent-trie.js';
import { runs } from '../support/runs.js';

type Step = { key: number; value: number | undefined };

const stepArb = (maxKey: number): fc.Arbitrary<Step> => fc.record({ key: fc.integer({ min: 0, max: maxKey }), value: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined, freq: 3 }) });

function run(bits: number, steps: readonly Step[], big: boolean): { versions: Array<Trie<number>>; models: Array<Map<TrieKey, number>> } {
  let t = emptyTrie<number>(bits);
  let m = new Map<TrieKey, number>();
  const versions = [t];
  const models = [m];
  for (const { key, value } of steps) {
    const k: TrieKey = big ? BigInt(key) * 1_000_003n : key;
    t = trieSet(t, k, value, value === undefined ? 0 : (Number(BigInt(k) % 65_521n) * 31 + value) >>> 0);
    m = new Map(m);
    if (value === undefined) m.delete(k);
    else m.set(k, value);
    versions.push(t);
    models.push(m);
  }
  return { versions, models };
}

const sorted = (m: Map<TrieKey, number>): Array<[TrieKey, number]> => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

describe('persistent trie', () => {
  for (const [name, bits, maxKey, big] of [
    ['number keys, one level', 5, 31, false],
    ['number keys, a /16 slice', 16, 70_000, false],
    ['bigint keys, an IPv6 /64 slice', 64, 3_000, true],
  ] as const) {
    it(`${name}: every version agrees with the Map it should be`, () => {
      fc.assert(
        fc.property(fc.array(stepArb(maxKey), { maxLength: 100, size: 'max' }), (steps) => {
          const { versions, models } = run(bits, steps, big);
          versions.forEach((t, i) => {
            // Every version is checked at the end, after all later updates: none of them changed it.
            if (i % 7 !== 0 && i !== versions.length - 1) return;
            const m = models[i] as Map<TrieKey, number>;
            expect(trieSize(t)).toBe(m.size);
            expect([...trieEntries(t)]).toEqual(sorted(m));
            for (const { key } of steps.slice(0, 10)) {
              const k: TrieKey = big ? BigInt(key) * 1_000_003n : key;
              expect(trieGet(t, k)).toBe(m.get(k));
            }
          });
        }),
        { numRuns: runs(120) },
      );
    });
  }

  it('the same key set built in another order is the same shape: equal, same hash', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 5_000 }), { maxLength: 60 }), fc.integer(), (keys, seed) => {
        const shuffled = [...keys].sort((a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101) || a - b);
        const build = (ks: number[]): Trie<number> => ks.reduce((t, k) => trieSet(t, k, k % 3, k), emptyTrie<number>(13));
        const a = build(keys);
        const b = build(shuffled);
        expect(trieEqual(a, b, (x, y) => x === y)).toBe(true);
        expect(trieHash(a)).toBe(trieHash(b));
        if (keys.length > 0) {
          const changed = trieSet(b, keys[0] as number, 7, 1);
          expect(trieEqual(a, changed, (x, y) => x === y)).toBe(false);
        }
      }),
      { numRuns: runs(200) },
    );
  });

  it('first absent key in a range, against a scan', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 200 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), (keys, from, to) => {
        const t = keys.reduce((acc, k) => trieSet(acc, k, 1), emptyTrie<number>(9));
        const present = new Set(keys);
        let expected: number | undefined;
        for (let k = from; k <= to; k++) {
          if (!present.has(k)) {
            expected = k;
            break;
          }
        }
        expect(trieFirstAbsent(t, from, to)).toBe(expected);
      }),
      { numRuns: runs(300) },
    );
    // A full 32-key leaf is skipped whole; bigint ranges work the same.
    const full = Array.from({ length: 64 }, (_, k) => k).reduce((acc, k) => trieSet(acc, k, 1), emptyTrie<number>(10));
    expect(trieFirstAbsent(full, 0, 100)).toBe(64);
    expect(trieFirstAbsent(full, 0, 63)).toBeUndefined();
    const big = [1n, 2n, 3n].reduce((acc, k) => trieSet(acc, k, 1), emptyTrie<number>(64));
    expect(trieFirstAbsent(big, 1n, 2n ** 64n - 1n)).toBe(4n);
  });

  it('an update leaves the old version untouched and shares what it did not change', () => {
    const a = [1, 2, 40, 900].reduce((t, k) => trieSet(t, k, k), emptyTrie<number>(16));
    const b = trieSet(a, 41, 41);
    expect(trieGet(a, 41)).toBeUndefined();
    expect(trieGet(b, 41)).toBe(41);
    expect(trieSet(a, 5, undefined)).toBe(a);
    expect(trieSet(a, 1, undefined)).not.toBe(a);
  });
});
