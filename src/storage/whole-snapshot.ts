/**
 * A received snapshot reaches storage as staged chunks plus an install (PersistBatch). A caller that
 * holds a whole snapshot already — a restore from a backup file, a benchmark writing a big data
 * directory, a test — stages it as one chunk, through the same path a follower's transfer takes.
 */
import type { Snapshot } from '../raft/types.js';
import type { PersistBatch } from './types.js';

export function wholeSnapshot(snapshot: Snapshot): Required<Pick<PersistBatch, 'snapshotChunks' | 'snapshot'>> {
  const { meta, data } = snapshot;
  return { snapshotChunks: [{ meta, total: data.length, offset: 0, data }], snapshot: { meta, size: data.length } };
}
