/**
 * A file written in pieces that appears at its path complete or not at all (the rule of
 * src/ipam/allocator-file.ts writeFileAtomic, for data that arrives as a stream): the pieces go to a temp
 * file beside the target, named with 96 random bits and opened with 'wx' so no two writers share one;
 * commit() fsyncs it, renames it over the target and fsyncs the directory (a rename is durable only once
 * its directory is); discard() removes it and leaves the target as it was.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BackupError } from './errors.js';

export class AtomicFile {
  private done = false;

  private constructor(
    readonly path: string,
    readonly tempPath: string,
    private readonly fh: FileHandle,
  ) {}

  static async create(path: string): Promise<AtomicFile> {
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isDirectory()) throw new BackupError('InvalidArgument', `${path} is a directory; give the path of the snapshot file to write`);
    const tempPath = join(dirname(path), `.${basename(path)}.${randomBytes(12).toString('hex')}.tmp`);
    try {
      return new AtomicFile(path, tempPath, await open(tempPath, 'wx', 0o600));
    } catch (e) {
      throw new BackupError('SnapshotFileIo', `cannot create ${tempPath}: ${(e as Error).message}`, { cause: e });
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    try {
      await this.fh.write(chunk);
    } catch (e) {
      throw new BackupError('SnapshotFileIo', `cannot write ${this.tempPath}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** fsync, close, rename over the target, fsync the directory. */
  async commit(): Promise<void> {
    try {
      await this.fh.sync();
      await this.fh.close();
      this.done = true;
      await rename(this.tempPath, this.path);
      const dir = await open(dirname(this.path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (e) {
      await this.discard();
      throw new BackupError('SnapshotFileIo', `cannot write ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Drop the temp file (only ours: 'wx' guarantees we created it); the target is untouched. Idempotent. */
  async discard(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.fh.close().catch(() => undefined);
    }
    await rm(this.tempPath, { force: true }).catch(() => undefined);
  }
}
