import { defineConfig } from 'vitest/config';

// The test set Stryker runs against each mutant. This branch (mutation2) measures the IPAM state-machine
// modules (state-machine, snapshot-codec, snapshot-wire, log-entry, commands, sessions, results, state), so
// it runs the tests that target them directly. The simulator, storage, transport, api, cluster and node
// tests also drive the state machine, but through Raft and processes: seconds per mutant for kills the
// unit, property and scenario tests below must make on their own.
//
// RAFT_IPAM_MUTATION=1 skips the one test that builds a state holding MAX_CACHED_RESULTS (1,048,576)
// session results (≈ 17 s, and it covers most of these modules, so it would re-run for most mutants);
// `npm test` still runs it; test/sessions-bound.test.ts checks the same rule at a bound of 6 in milliseconds.
process.env.RAFT_IPAM_MUTATION = '1'; // also: property tests take a quarter of their runs (test/support/runs.ts)

export default defineConfig({
  test: {
    include: ['test/state-machine.test.ts', 'test/snapshot-codec.test.ts', 'test/sessions.test.ts', 'test/log-entry.test.ts', 'test/sessions-bound.test.ts', 'test/commands.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
