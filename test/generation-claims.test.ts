/**
 * GenerationClaims: the snapshot decoder's "each generation once, below nextGeneration" check, on both of
 * its paths — the bitmap (nextGeneration small next to the payload) and the Set (a state whose counter ran
 * far ahead of its size, or a forged nextGeneration that must not size a bitmap).
 */
import { describe, expect, it } from 'vitest';
import { invalidSnapshot } from './support/errors.js';
import { GenerationClaims } from '../src/ipam/generation-claims.js';


describe.each([
  ['bitmap', 100, 1_000],
  ['set', 2 ** 53 - 1, 1_000],
])('GenerationClaims (%s)', (path, nextGeneration, payloadBytes) => {
  it(`uses the ${path}`, () => {
    expect(new GenerationClaims(nextGeneration, payloadBytes).dense).toBe(path === 'bitmap');
  });

  it('accepts each generation once, in any order, up to nextGeneration − 1', () => {
    const c = new GenerationClaims(nextGeneration, payloadBytes);
    for (const g of [7, 1, 8, 9, 15, 16, 64, nextGeneration - 1]) c.claim(g);
    expect(invalidSnapshot(() => c.claim(8))).toBe('invalid snapshot: generation 8 appears twice');
    expect(invalidSnapshot(() => c.claim(nextGeneration - 1))).toBe(`invalid snapshot: generation ${nextGeneration - 1} appears twice`);
    c.claim(10); // neighbours in one byte of the bitmap stay apart
  });

  it('refuses 0 and nextGeneration', () => {
    const c = new GenerationClaims(nextGeneration, payloadBytes);
    expect(invalidSnapshot(() => c.claim(0))).toBe(`invalid snapshot: generation 0 outside 1..${nextGeneration - 1}`);
    expect(invalidSnapshot(() => c.claim(nextGeneration))).toBe(`invalid snapshot: generation ${nextGeneration} outside 1..${nextGeneration - 1}`);
  });
});

it('the bitmap is never larger than the payload', () => {
  expect(new GenerationClaims(8_000, 1_000).dense).toBe(true);
  expect(new GenerationClaims(8_001, 1_000).dense).toBe(false);
});
