/** Command-line entry points of the simulator: one seed (replay) or many seeds (soak). */
import { replayCommand, simulate, type SimResult, type Variant } from './simulator.js';

export interface ManyResult {
  seeds: number;
  failures: SimResult[];
  ms: number;
}

export function runMany(opts: { from: number; seeds: number; steps: number; nodes?: number; variant?: Variant; stopAtFirst?: boolean; onProgress?: (done: number) => void }): ManyResult {
  const started = Date.now();
  const failures: SimResult[] = [];
  for (let i = 0; i < opts.seeds; i++) {
    const seed = opts.from + i;
    // Vary the cluster size with the seed unless fixed: 3, 4, 5, 6, 7 voters.
    const nodes = opts.nodes ?? 3 + (seed % 5);
    const r = simulate({ seed, steps: opts.steps, nodes, ...(opts.variant ? { variant: opts.variant } : {}) });
    if (!r.ok) {
      failures.push(r);
      if (opts.stopAtFirst) break;
    }
    opts.onProgress?.(i + 1);
  }
  return { seeds: opts.seeds, failures, ms: Date.now() - started };
}

export { replayCommand, simulate };
