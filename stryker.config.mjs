// Mutation testing (npm run mutate): StrykerJS 9.6 with its vitest runner (10.x needs Node 22).
// Not part of `npm test`: a full run takes tens of minutes on two cores. Scores per module are recorded
// in README.md ("Test strength"). Narrow a run with: npm run mutate -- --mutate src/raft/progress.ts
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  coverageAnalysis: 'perTest',
  mutate: ['src/ipam/**/*.ts', 'src/raft/**/*.ts', '!src/raft/index.ts', '!src/raft/internal.ts', '!src/raft/types.ts'],
  checkers: [],
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  concurrency: 2,
  timeoutMS: 30000,
  tempDirName: '.stryker-tmp',
  // The image build's staging directory (scripts/build-image.sh): a node binary and node_modules, ~200 MB
  // that no mutant needs copied into every sandbox.
  ignorePatterns: ['/.image'],
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 85, break: null },
};
