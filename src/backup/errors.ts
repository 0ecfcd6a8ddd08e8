/**
 * Errors of snapshot save, restore and inspect. Every refusal carries a stable `code` (GUIDE §2 example
 * 8); the CLI prints `error [CODE]: message` and exits 2, and a test switches on the code, never on the
 * message. A refused restore has not touched its target directory; a refused save has not touched its
 * target file.
 */
export const BackupErrorCodes = [
  /** The file is not a snapshot file, or its bytes fail a check (header CRC, payload SHA-256, bytes after the payload, an invalid IPAM state). */
  'SnapshotFileCorrupt',
  /** The file (or the download) ends before the length its header gives. */
  'SnapshotFileTruncated',
  /** The file's format version, or its IPAM snapshot's version, is one this build does not read. */
  'SnapshotFileVersion',
  /** The snapshot was taken from a cluster other than the one named by --source-cluster-id. */
  'SnapshotFileForeign',
  /** Reading or writing a file failed (permissions, disk full, a download that stalled or broke off). */
  'SnapshotFileIo',
  /** The restore target exists and is not an empty directory. */
  'RestoreTargetNotEmpty',
  /** An argument is refused (a member not in --initial-cluster, a cluster id that is not one, …). */
  'InvalidArgument',
] as const;

export type BackupErrorCode = (typeof BackupErrorCodes)[number];

export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    readonly code: BackupErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
