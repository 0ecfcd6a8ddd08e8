import { defineConfig } from 'vitest/config';

// The test set Stryker runs against each mutant (npm run mutate). A module's score comes from the tests
// that target it: the unit, table, property and scenario tests of src/ipam and src/raft.
// Left out, deliberately:
// - test/raft/simulator.test.ts: 300 seeds × 3000 steps (~30 s) per mutant, and it does not read
//   SIM_SEEDS; its kills would hide gaps in the targeted tests (a mutant the simulator only catches by
//   chance over hundreds of seeds is a missing rule test). It still runs in `npm test`.
// - test/storage/**, test/transport/**: they target src/storage and src/transport, which are not mutated.
// - test/cli.test.ts: runs the CLI in a child process, where Stryker's active mutant is never switched on.
process.env.SIM_SEEDS ??= '40';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/raft/simulator.test.ts', 'test/storage/**', 'test/transport/**', 'test/cli.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
