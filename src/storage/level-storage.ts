/**
 * RaftStorage on classic-level (LevelDB). Data directory layout:
 *
 *   <dir>/log/   LevelDB: meta, hardState, snapshot metadata, entries (src/storage/level-codec.ts)
 *   <dir>/snap/  snapshot data files (src/storage/snapshot-file.ts)
 *
 * Every group commit is one chained batch (a chained batch costs about half an array batch in JS work:
 * shared/DEPENDENCIES.md), written with { sync: true } unless it only moves the commit index or stages
 * snapshot chunks (WriteOp.sync; LevelDB keeps an unsynced write through a process crash). Snapshot files are made durable before the batch
 * that references them. LevelDB's LOCK file keeps a second handle (this process or another) out.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Entry, HardState } from '../raft/types.js';
import {
  decodeEntry,
  decodeHardState,
  decodeMeta,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeMeta,
  encodeSnapshot,
  ENTRY_RANGE,
  entryKey,
  FORMAT_VERSION,
  KEY_HARD_STATE,
  KEY_META,
  KEY_SNAPSHOT,
  type SnapshotRecord,
} from './level-codec.js';
import { checkStoredLog, type LogView, type WriteOp } from './log-view.js';
import { QueuedStorage } from './queued-storage.js';
import { argCheck, checkIdentity } from './shape.js';
import { checkSnapshotFile, readSnapshotFile, readSnapshotRange, removeUnreferenced, StagedSnapshotFile, writeSnapshotFile } from './snapshot-file.js';
import { StorageError, type BootState, type StorageIdentity } from './types.js';

type Db = ClassicLevel<Uint8Array, Uint8Array>;

export interface LevelStorageOptions extends StorageIdentity {
  /** The data directory (created if missing). */
  dir: string;
}

interface StoredState {
  hard: HardState;
  snap: SnapshotRecord | undefined;
  entries: Entry[];
}

export class LevelStorage extends QueuedStorage {
  private snap: SnapshotRecord | undefined;
  /** The received snapshot being written chunk by chunk (a temp file until it is installed). */
  private staging: StagedSnapshotFile | undefined;
  /**
   * The log open() just read and verified, for the first load() if nothing is written before it: a
   * restart reads its entries once, not twice (the boot floor). Dropped by any write or load.
   */
  private opened: Omit<BootState, 'snapshot'> | undefined;

  private constructor(
    private readonly db: Db,
    private readonly dir: string,
    view: LogView,
    snap: SnapshotRecord | undefined,
    opened: Omit<BootState, 'snapshot'>,
  ) {
    super(view);
    this.snap = snap;
    this.opened = opened;
  }

  /**
   * Open the data directory for this cluster and node. A fresh directory takes the identity. Refuses,
   * with the store released again: StorageLocked (another handle holds it), StorageForeign (another
   * cluster or node, or an unknown format version), StorageCorrupt (a record fails its checksum or
   * shape, a snapshot file is missing or the wrong size, or the log breaks a Raft invariant).
   */
  static async open(options: LevelStorageOptions): Promise<LevelStorage> {
    const o = argCheck.record(options, 'open options', ['dir', 'clusterId', 'nodeId']);
    const dir = argCheck.nodeId(o.dir, 'open options.dir');
    const id = checkIdentity({ clusterId: o.clusterId, nodeId: o.nodeId });
    const logDir = join(dir, 'log');
    const snapDir = join(dir, 'snap');
    try {
      await mkdir(snapDir, { recursive: true });
    } catch (e) {
      throw new StorageError('StorageIo', `cannot create ${snapDir}: ${(e as Error).message}`, { cause: e });
    }
    const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(logDir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (e) {
      throw openError(logDir, e);
    }
    try {
      await checkOrWriteMeta(db, logDir, id);
      const stored = await readStore(db, logDir);
      if (stored.snap) await checkSnapshotFile(snapDir, stored.snap);
      const { view, boot } = withDir(logDir, () => checkStoredLog(stored.hard, stored.snap?.meta, stored.entries));
      // Files of interrupted snapshot writes and superseded snapshots (see snapshot-file.ts).
      await removeUnreferenced(snapDir, stored.snap?.file);
      return new LevelStorage(db, dir, view, stored.snap, boot);
    } catch (e) {
      await db.close().catch(() => undefined);
      throw e instanceof StorageError ? e : new StorageError('StorageIo', `${logDir}: ${(e as Error).message}`, { cause: e });
    }
  }

  protected startWrite(ops: readonly WriteOp[], done: (err?: unknown) => void): void {
    this.opened = undefined;
    this.write(ops).then(() => done(), done);
  }

  private async write(ops: readonly WriteOp[]): Promise<void> {
    const snapDir = join(this.dir, 'snap');
    // 1. Snapshot data first: the batch below must never reference a file that is not durable.
    const records = new Map<WriteOp, SnapshotRecord>();
    for (const op of ops) {
      await this.stage(snapDir, op);
      if (!op.snapshot) continue;
      const { meta, data } = op.snapshot;
      if (data) records.set(op, await writeSnapshotFile(snapDir, { meta, data }));
      else {
        // LogView accepted the install only with this snapshot staged whole.
        const staged = this.staging as StagedSnapshotFile;
        this.staging = undefined;
        records.set(op, await staged.finish());
      }
    }
    // 2. One chained batch for everything, synced if any op must be (WriteOp.sync): one fsync for the
    // whole group, none for a group that only moves the commit index or stages chunks.
    const batch = this.db.batch();
    let latest = this.snap;
    const compactions: Array<readonly [number, number]> = [];
    try {
      for (const op of ops) {
        if (op.kind === 'compact') compactions.push(...op.deletes);
        else for (const [lo, hi] of op.deletes) for (let i = lo; i <= hi; i++) batch.del(entryKey(i));
        const rec = records.get(op);
        if (rec) {
          batch.put(KEY_SNAPSHOT, encodeSnapshot(rec));
          latest = rec;
        }
        for (const e of op.entries) batch.put(entryKey(e.index), encodeEntry(e));
        if (op.hardState) batch.put(KEY_HARD_STATE, encodeHardState(op.hardState));
      }
      await batch.write({ sync: ops.some((op) => op.sync) });
    } catch (e) {
      // close() is idempotent: it releases a batch that failed before write() was reached.
      await batch.close().catch(() => undefined);
      throw e;
    }
    // 3. Compactions as range deletes, run by LevelDB on its own thread: a policy snapshot drops thousands
    // of entries, and a delete per key in the batch above held the loop and the queue ≈ 5–9 ms for 5,000
    // (a clear: ≈ 3–5 ms, off the loop). Not atomic with the batch and not needed to be: the range is
    // below every entry the batch writes (only entries a snapshot covers are compacted, and only
    // uncommitted ones are ever overwritten), and a clear cut short deletes an ascending prefix of it,
    // which leaves the log contiguous.
    for (const [lo, hi] of compactions) await this.db.clear({ gte: entryKey(lo), lte: entryKey(hi) });
    const previous = this.snap;
    this.snap = latest;
    // 4. Superseded snapshot files. Failing to remove one loses nothing (the batch is durable and the
    // next open removes it), so it must not fail calls whose data is on disk.
    if (latest && latest !== previous) await removeUnreferenced(snapDir, latest.file, this.staging?.tmpName).catch(() => undefined);
  }

  /** Write an op's received chunks to the staged file; a chunk at offset 0 starts a new one. */
  private async stage(snapDir: string, op: WriteOp): Promise<void> {
    for (const c of op.chunks) {
      if (c.offset === 0) {
        const old = this.staging;
        this.staging = undefined;
        await old?.discard();
        this.staging = await StagedSnapshotFile.start(snapDir, c.meta, c.total);
      }
      await (this.staging as StagedSnapshotFile).append(c.data);
    }
  }

  protected readSnapshotData(index: number, offset: number, length: number): Promise<Uint8Array | undefined> {
    const rec = this.snap;
    if (!rec || rec.meta.index !== index) return Promise.resolve(undefined);
    return readSnapshotRange(join(this.dir, 'snap'), rec, offset, length);
  }

  protected async readBoot(): Promise<BootState> {
    const logDir = join(this.dir, 'log');
    // No write since open(): the store is what open() read and verified (this handle holds the LOCK).
    const opened = this.opened;
    this.opened = undefined;
    let boot: Omit<BootState, 'snapshot'>;
    let snap: SnapshotRecord | undefined;
    if (opened) {
      // Handed out as a fresh read would be: nothing the caller does to it reaches this handle's state.
      boot = { ...opened, hardState: { ...opened.hardState } };
      snap = this.snap && { ...this.snap, meta: { index: this.snap.meta.index, term: this.snap.meta.term, conf: { voters: [...this.snap.meta.conf.voters], learners: [...this.snap.meta.conf.learners] } } };
    } else {
      const stored = await readStore(this.db, logDir);
      boot = withDir(logDir, () => checkStoredLog(stored.hard, stored.snap?.meta, stored.entries)).boot;
      snap = stored.snap;
    }
    if (!snap) return boot;
    const data = await readSnapshotFile(join(this.dir, 'snap'), snap);
    return { ...boot, snapshot: { meta: snap.meta, data } };
  }

  protected async release(): Promise<void> {
    // A transfer not installed is forgotten, as by a crash (the next open removes its file too).
    await this.staging?.discard();
    this.staging = undefined;
    await this.db.close();
  }
}

function openError(logDir: string, e: unknown): StorageError {
  const err = e as { code?: string; cause?: { code?: string; message?: string } };
  if (err.cause?.code === 'LEVEL_LOCKED' || err.code === 'LEVEL_LOCKED') {
    return new StorageError('StorageLocked', `${logDir}: data directory is locked: another process, or another open handle in this process, holds its LevelDB LOCK`, { cause: e });
  }
  if (err.cause?.code === 'LEVEL_CORRUPTION' || err.code === 'LEVEL_CORRUPTION') {
    return new StorageError('StorageCorrupt', `${logDir}: LevelDB reports corruption: ${err.cause?.message ?? String(e)}`, { cause: e });
  }
  return new StorageError('StorageIo', `${logDir}: cannot open: ${err.cause?.message ?? (e as Error).message}`, { cause: e });
}

async function checkOrWriteMeta(db: Db, logDir: string, id: StorageIdentity): Promise<void> {
  const raw = await db.get(KEY_META);
  if (raw === undefined) {
    // Fresh only if truly empty: a store with records but no meta was not written by this code.
    for await (const key of db.keys({ limit: 1 })) {
      throw new StorageError('StorageCorrupt', `${logDir}: meta: missing from a store that holds other records (first key 0x${Buffer.from(key).toString('hex')})`);
    }
    await db.put(KEY_META, encodeMeta({ format: FORMAT_VERSION, ...id }), { sync: true });
    return;
  }
  const meta = withDir(logDir, () => decodeMeta(raw));
  if (meta.clusterId !== id.clusterId) throw new StorageError('StorageForeign', `${logDir}: meta: data directory belongs to cluster ${JSON.stringify(meta.clusterId)}, not ${JSON.stringify(id.clusterId)}`);
  if (meta.nodeId !== id.nodeId) throw new StorageError('StorageForeign', `${logDir}: meta: data directory belongs to node ${JSON.stringify(meta.nodeId)}, not ${JSON.stringify(id.nodeId)}`);
}

async function readStore(db: Db, logDir: string): Promise<StoredState> {
  const [hardRaw, snapRaw] = await db.getMany([KEY_HARD_STATE, KEY_SNAPSHOT]);
  const hard = hardRaw === undefined ? { term: 0, vote: null, commit: 0 } : withDir(logDir, () => decodeHardState(hardRaw));
  const snap = snapRaw === undefined ? undefined : withDir(logDir, () => decodeSnapshot(snapRaw));
  const entries: Entry[] = [];
  // Fewer, larger reads: the default 16 KiB high-water mark cuts a 1024-entry read to ~140 entries.
  const it = db.iterator({ ...ENTRY_RANGE, highWaterMarkBytes: 1 << 20 });
  try {
    for (;;) {
      const chunk = await it.nextv(8192);
      if (chunk.length === 0) break;
      for (let i = 0; i < chunk.length; i++) {
        const [key, value] = chunk[i] as [Uint8Array, Uint8Array];
        entries.push(decodeEntry(key, value));
      }
    }
  } catch (e) {
    throw inDir(logDir, e);
  } finally {
    await it.close();
  }
  return { hard, snap, entries };
}

/** Prefix a StorageError's message with the data directory so an operator knows which store. */
function withDir<T>(logDir: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw inDir(logDir, e);
  }
}

function inDir(logDir: string, e: unknown): unknown {
  return e instanceof StorageError ? new StorageError(e.code, `${logDir}: ${e.message}`, { cause: e.cause }) : e;
}
