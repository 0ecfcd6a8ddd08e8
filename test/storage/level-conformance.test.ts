import { LevelStorage } from '../../src/storage/index.js';
import { runConformance } from './conformance.js';
import { TempDirs } from './tmp-dirs.js';

const dirs = new TempDirs();

runConformance({
  create: async () => {
    const dir = await dirs.make();
    return { open: () => LevelStorage.open({ dir, clusterId: 'c1', nodeId: 'n1' }) };
  },
  cleanup: () => dirs.cleanup(),
  modelRuns: 40,
});
