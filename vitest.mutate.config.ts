import { defineConfig } from 'vitest/config';

// The test set Stryker runs against each mutant: the whole suite, with the simulator on fewer seeds
// (SIM_SEEDS) so a mutant that only the 300-seed run can catch does not cost minutes per mutant. The
// simulator still runs real seeds; the unit, property and scenario tests carry most of the kills.
process.env.SIM_SEEDS ??= '40';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
