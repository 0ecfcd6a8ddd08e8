import { MemoryDisk, MemoryStorage } from '../../src/storage/index.js';
import { runConformance } from './conformance.js';

const identity = { clusterId: 'c1', nodeId: 'n1' };

runConformance({
  create: async () => {
    const disk = new MemoryDisk();
    return { open: () => MemoryStorage.open(disk, identity) };
  },
  cleanup: async () => {},
  modelRuns: 200,
});
