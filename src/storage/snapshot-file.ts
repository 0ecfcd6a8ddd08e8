/**
 * Snapshot data lives in files beside the LevelDB log (etcd keeps snapshots as files in snap/): a 1–20 MB
 * value in LevelDB would be rewritten by every compaction that touches its level, and written twice (WAL
 * then table). A file is written once: temp, fsync, rename, fsync of the directory.
 *
 * Atomicity with the metadata: the file is durable before the LevelDB batch that references it is
 * written. A crash in between leaves an unreferenced file that the next open removes; a crash after
 * leaves the previous file unreferenced, removed the same way. So the store always loads the snapshot its
 * metadata names, never a half-written one.
 *
 * File layout (big-endian): magic "RIPSNAP\0" (8) | format u32 | index u64 | term u64 | length u64 |
 * CRC-32 of data u32 | data. The header repeats the metadata so a file copied under another name or
 * paired with the wrong record is caught, not only a flipped bit.
 */
import { crc32 } from 'node:zlib';
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshot, SnapshotMeta } from '../raft/types.js';
import type { SnapshotRecord } from './level-codec.js';
import { StorageError } from './types.js';

const MAGIC = Buffer.from('RIPSNAP\0', 'latin1');
const FILE_FORMAT = 1;
const HEADER = 8 + 4 + 8 + 8 + 8 + 4;

export function snapshotFileName(index: number, term: number): string {
  return `${index.toString(16).padStart(16, '0')}-${term.toString(16).padStart(16, '0')}.snap`;
}

function header(meta: SnapshotMeta, size: number, crc: number): Buffer {
  const h = Buffer.alloc(HEADER);
  MAGIC.copy(h, 0);
  h.writeUInt32BE(FILE_FORMAT, 8);
  h.writeBigUInt64BE(BigInt(meta.index), 12);
  h.writeBigUInt64BE(BigInt(meta.term), 20);
  h.writeBigUInt64BE(BigInt(size), 28);
  h.writeUInt32BE(crc, 36);
  return h;
}

/** Write `snap` durably into `dir` and return the record that will reference it. */
export async function writeSnapshotFile(dir: string, snap: Snapshot): Promise<SnapshotRecord> {
  const file = snapshotFileName(snap.meta.index, snap.meta.term);
  const crc = crc32(snap.data);
  const tmp = join(dir, `${file}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writev([header(snap.meta, snap.data.length, crc), snap.data]);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, file));
  await syncDir(dir);
  return { meta: snap.meta, file, size: snap.data.length, crc };
}

/**
 * A snapshot received from a leader, written to a temp file chunk by chunk as it arrives (hashicorp/raft's
 * SnapshotSink), so no copy of it is kept in memory. Chunks are not synced one by one: until finish() the
 * file is nobody's, and a crash leaves a temp file the next open removes. finish() writes the header
 * with the checksum accumulated over the chunks, syncs, and renames it to its snapshot file name.
 */
export class StagedSnapshotFile {
  private crc = 0;
  private received = 0;

  private constructor(
    private readonly dir: string,
    readonly meta: SnapshotMeta,
    readonly total: number,
    private readonly fh: FileHandle,
    readonly tmpName: string,
  ) {}

  static async start(dir: string, meta: SnapshotMeta, total: number): Promise<StagedSnapshotFile> {
    const tmpName = `${snapshotFileName(meta.index, meta.term)}.part`;
    const fh = await open(join(dir, tmpName), 'w');
    return new StagedSnapshotFile(dir, meta, total, fh, tmpName);
  }

  async append(data: Uint8Array): Promise<void> {
    // Data goes after the header, which is written last (its checksum covers every chunk).
    await this.fh.write(data, 0, data.length, HEADER + this.received);
    this.crc = crc32(data, this.crc);
    this.received += data.length;
  }

  async finish(): Promise<SnapshotRecord> {
    if (this.received !== this.total) throw new StorageError('InvalidArgument', `staged snapshot ${this.meta.index}/${this.meta.term} holds ${this.received} of ${this.total} bytes`);
    const file = snapshotFileName(this.meta.index, this.meta.term);
    try {
      await this.fh.write(header(this.meta, this.total, this.crc), 0, HEADER, 0);
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
    await rename(join(this.dir, this.tmpName), join(this.dir, file));
    await syncDir(this.dir);
    return { meta: this.meta, file, size: this.total, crc: this.crc };
  }

  /** Give the transfer up (a newer one started): close and remove the temp file. */
  async discard(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(join(this.dir, this.tmpName), { force: true });
  }
}

/**
 * Bytes [offset, offset + length) of a snapshot file's data (fewer at its end); undefined if the file is
 * gone (a newer snapshot replaced it meanwhile).
 */
export async function readSnapshotRange(dir: string, rec: SnapshotRecord, offset: number, length: number): Promise<Uint8Array | undefined> {
  const path = join(dir, rec.file);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StorageError('StorageIo', `snapshot: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const n = Math.max(0, Math.min(length, rec.size - offset));
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await fh.read(buf, got, n - got, HEADER + offset + got);
      if (bytesRead === 0) throw new StorageError('StorageCorrupt', `snapshot file ${path}: ends at ${HEADER + offset + got} bytes, its record says ${HEADER + rec.size}`);
      got += bytesRead;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, n);
  } catch (e) {
    if (e instanceof StorageError) throw e;
    throw new StorageError('StorageIo', `snapshot: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    await fh.close();
  }
}

/** Read and verify the file a snapshot record names. */
export async function readSnapshotFile(dir: string, rec: SnapshotRecord): Promise<Uint8Array> {
  const path = join(dir, rec.file);
  let buf: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      buf = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageError('StorageCorrupt', `snapshot: its data file ${path} is missing`);
    throw new StorageError('StorageIo', `snapshot: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const bad = (problem: string): never => {
    throw new StorageError('StorageCorrupt', `snapshot file ${path}: ${problem}`);
  };
  if (buf.length < HEADER) bad(`truncated (${buf.length} bytes, header needs ${HEADER})`);
  if (!buf.subarray(0, 8).equals(MAGIC)) bad('bad magic: not a raft-ipam snapshot file');
  if (buf.readUInt32BE(8) !== FILE_FORMAT) bad(`file format ${buf.readUInt32BE(8)} is not supported (this build reads ${FILE_FORMAT})`);
  const index = Number(buf.readBigUInt64BE(12));
  const term = Number(buf.readBigUInt64BE(20));
  if (index !== rec.meta.index || term !== rec.meta.term) bad(`holds index ${index} term ${term}, the metadata says index ${rec.meta.index} term ${rec.meta.term}`);
  const length = Number(buf.readBigUInt64BE(28));
  if (length !== rec.size || buf.length !== HEADER + length) bad(`truncated or extended: ${buf.length - HEADER} data bytes, header says ${length}, metadata says ${rec.size}`);
  const data = buf.subarray(HEADER);
  const crc = crc32(data);
  if (crc !== buf.readUInt32BE(36) || crc !== rec.crc) bad('checksum mismatch: the data is corrupt');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Cheap presence check at open: the referenced file exists with the right size. */
export async function checkSnapshotFile(dir: string, rec: SnapshotRecord): Promise<void> {
  const path = join(dir, rec.file);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageError('StorageCorrupt', `snapshot: its data file ${path} is missing`);
    throw new StorageError('StorageIo', `snapshot: cannot stat ${path}: ${(e as Error).message}`, { cause: e });
  }
  if (size !== HEADER + rec.size) throw new StorageError('StorageCorrupt', `snapshot file ${path}: ${size} bytes, expected ${HEADER + rec.size} (truncated or extended)`);
}

/**
 * Remove every file in `dir` except those in `keep`: temp files of interrupted writes and snapshots no record
 * references any more. Returns the names removed.
 */
export async function removeUnreferenced(dir: string, ...keep: Array<string | undefined>): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (keep.includes(name)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  if (removed.length > 0) await syncDir(dir);
  return removed;
}

/** A rename or unlink is durable only once the directory itself is synced. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
