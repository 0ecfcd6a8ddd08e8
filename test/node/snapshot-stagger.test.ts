/** Replicas snapshot at different indexes (src/node/snapshot-stagger.ts). */
import { describe, expect, it } from 'vitest';
import { staggeredLogRatio, staggeredSnapshotEntries } from '../../src/node/snapshot-stagger.js';

describe('staggeredSnapshotEntries', () => {
  it('adds at most a fifth of the threshold, the same for the same name every time', () => {
    for (const base of [1, 7, 20, 10_000, 100_000_000]) {
      for (let i = 0; i < 200; i++) {
        const v = staggeredSnapshotEntries(`node-${i}`, base);
        expect(Number.isInteger(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(base);
        expect(v).toBeLessThanOrEqual(base + Math.floor(base / 5));
        expect(staggeredSnapshotEntries(`node-${i}`, base)).toBe(v);
      }
    }
  });

  it('spreads names that differ only in their last character over the range', () => {
    const values = ['n1', 'n2', 'n3', 'n4', 'n5'].map((n) => staggeredSnapshotEntries(n, 10_000));
    expect(new Set(values).size).toBe(values.length);
    const all = Array.from({ length: 200 }, (_, i) => staggeredSnapshotEntries(`node-${i}`, 10_000));
    // Uniform over [10,000, 12,000]: 200 names leave no gap near a tenth of the range unused at either end.
    expect(Math.min(...all)).toBeLessThan(10_200);
    expect(Math.max(...all)).toBeGreaterThan(11_800);
  });
});

describe('staggeredLogRatio', () => {
  it('adds up to a fifth of the ratio, by name, as the entry threshold does; 0 stays 0', () => {
    for (const n of ['n1', 'n2', 'n3', 'node-17']) {
      const r = staggeredLogRatio(n, 0.5);
      expect(r).toBeGreaterThanOrEqual(0.5);
      expect(r).toBeLessThan(0.6);
      // The same fraction of its base as the entry threshold adds to 1,000,000 (to its rounding).
      expect(Math.abs((r - 0.5) / 0.5 - (staggeredSnapshotEntries(n, 1_000_000) - 1_000_000) / 1_000_000)).toBeLessThan(1e-6);
      expect(staggeredLogRatio(n, 0)).toBe(0);
    }
    const three = ['n1', 'n2', 'n3'].map((n) => staggeredLogRatio(n, 0.5));
    expect(new Set(three).size).toBe(3);
  });
});
