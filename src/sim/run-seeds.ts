/**
 * Runs the simulator over a range of seeds (the `sim-many` command, the soak script and the CI test): each
 * seed is one independent, replayable run; failures are collected with the command that replays them.
 */
import { simulate, type SimResult } from './simulator.js';
import type { Variant } from './variants.js';

export interface SeedRangeResult {
  seeds: number;
  failures: SimResult[];
  ms: number;
}

/** Cluster size when none is fixed: 3, 4, 5, 6, 7 voters by seed, so every size gets every kind of run. */
export function votersForSeed(seed: number): number {
  return 3 + (seed % 5);
}

export async function runSeeds(opts: { from: number; seeds: number; steps: number; nodes?: number; variant?: Variant; stopAtFirst?: boolean; onProgress?: (done: number) => void }): Promise<SeedRangeResult> {
  const started = Date.now();
  const failures: SimResult[] = [];
  for (let i = 0; i < opts.seeds; i++) {
    const seed = opts.from + i;
    const r = await simulate({ seed, steps: opts.steps, nodes: opts.nodes ?? votersForSeed(seed), ...(opts.variant ? { variant: opts.variant } : {}) });
    if (!r.ok) {
      failures.push(r);
      if (opts.stopAtFirst) break;
    }
    opts.onProgress?.(i + 1);
  }
  return { seeds: opts.seeds, failures, ms: Date.now() - started };
}
