import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { committedIndex, hasQuorum, voteResult } from '../../src/raft/quorum.js';

/** Naive: the largest index i such that at least a majority of voters have match ≥ i. */
function naiveCommitted(matches: number[]): number {
  const majority = Math.floor(matches.length / 2) + 1;
  let best = 0;
  for (const i of new Set([0, ...matches])) if (matches.filter((m) => m >= i).length >= majority) best = Math.max(best, i);
  return best;
}

describe('quorum arithmetic agrees with naive counting (etcd quorum/quick_test.go idea)', () => {
  it('committedIndex', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 9 }), (matches) => {
        const ids = matches.map((_, i) => `n${i}`);
        expect(committedIndex(ids, (id) => matches[Number(id.slice(1))] as number)).toBe(naiveCommitted(matches));
      }),
      { numRuns: 3000 },
    );
  });
  it('voteResult and hasQuorum', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<boolean | undefined>(true, false, undefined), { minLength: 1, maxLength: 9 }), (votes) => {
        const ids = votes.map((_, i) => `n${i}`);
        const map = new Map<string, boolean>();
        votes.forEach((v, i) => v !== undefined && map.set(`n${i}`, v));
        const majority = Math.floor(ids.length / 2) + 1;
        const yes = votes.filter((v) => v === true).length;
        const no = votes.filter((v) => v === false).length;
        const expected = yes >= majority ? 'won' : ids.length - no < majority ? 'lost' : 'pending';
        expect(voteResult(ids, map)).toBe(expected);
        expect(hasQuorum(ids, (id) => map.get(id) === true)).toBe(yes >= majority);
      }),
      { numRuns: 3000 },
    );
  });
});
