import { defineConfig } from 'vitest/config';

// Mutation runs of src/ipam/bit-tree.ts and src/ipam/offset-set.ts only: their score comes from the tests
// that target them (the OffsetSet property and structure tests). The allocator and state-machine tests
// also pass through OffsetSet but are not written against it, and their cost per mutant (with many
// non-terminating BitTree mutants) makes the run impractical on two shared cores.
export default defineConfig({
  test: {
    include: ['test/offset-set.*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
