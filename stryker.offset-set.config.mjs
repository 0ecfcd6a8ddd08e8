// Mutation run of the bitmap core alone, scored by the tests written against it (see
// vitest.mutate.offset-set.config.ts):
//   npx stryker run stryker.offset-set.config.mjs --concurrency 2 --timeoutMS 5000
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: ['src/ipam/bit-tree.ts', 'src/ipam/offset-set.ts'],
  vitest: { configFile: 'vitest.mutate.offset-set.config.ts' },
  jsonReporter: { fileName: 'reports/mutation/offset-set.json' },
  htmlReporter: { fileName: 'reports/mutation/offset-set.html' },
  tempDirName: '.stryker-tmp-offset-set',
};
