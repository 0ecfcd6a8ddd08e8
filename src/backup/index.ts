/** Public API of raft-ipam/backup: saved snapshot files, saving from a live cluster, restoring new clusters. */
export { BackupError, BackupErrorCodes, type BackupErrorCode } from './errors.js';
export {
  SNAPSHOT_FILE_MAGIC,
  SNAPSHOT_FILE_VERSION,
  encodeSnapshotFile,
  encodeSnapshotHeader,
  parseSnapshotFile,
  decodeSnapshotState,
  readSnapshotFile,
  type SnapshotFileMeta,
  type SnapshotFileContents,
  type SnapshotFileChecks,
} from './snapshot-file.js';
export { inspectSnapshotFile, summarize, type SnapshotSummary, type NetworkSummary } from './inspect.js';
export { saveSnapshot, type SaveOptions, type SaveProgress, type SaveResult } from './save.js';
export { restoreSnapshot, defaultRestoredClusterId, type RestoreOptions, type RestoreResult } from './restore.js';
