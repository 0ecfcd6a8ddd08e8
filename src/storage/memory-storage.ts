/**
 * In-memory RaftStorage for tests and the deterministic simulator (etcd-io/raft storage.go MemoryStorage,
 * hashicorp/raft InmemStore), with the faults a disk has: a write that fails, a write that completes only
 * when the simulator says so, a crash that loses everything not yet durable, and a record found corrupt
 * at load. No timers and no randomness: the simulator drives every completion.
 *
 * A MemoryDisk is the durable medium and outlives crashes; a MemoryStorage is one process's open handle
 * on it, as a LevelStorage is on a data directory.
 */
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { checkStoredLog, RecordName, type LogView, type WriteOp } from './log-view.js';
import { QueuedStorage } from './queued-storage.js';
import { argCheck, checkIdentity } from './shape.js';
import { StorageError, type BootState, type StorageIdentity } from './types.js';

export const MEMORY_FORMAT_VERSION = 1;

/**
 * The durable medium. Entries and snapshots are stored as shallow copies; their `data` bytes are shared,
 * not copied (the Raft core never mutates an entry once created, and copying every payload would double
 * the simulator's memory).
 */
export class MemoryDisk {
  /** @internal */ hardState: HardState | undefined;
  /** @internal */ snapshot: Snapshot | undefined;
  /** @internal Contiguous, ascending. */ entries: Entry[] = [];
  /** @internal */ identity: (StorageIdentity & { format: number }) | undefined;
  /** @internal The open handle holding the lock. */ holder: MemoryStorage | undefined;
  private readonly damage = new Map<string, string>();

  /** Names of the records on the disk: meta, hardState, snapshot, entry/<index>. */
  recordNames(): string[] {
    const names: string[] = [];
    if (this.identity) names.push(RecordName.meta);
    if (this.hardState) names.push(RecordName.hardState);
    if (this.snapshot) names.push(RecordName.snapshot);
    for (const e of this.entries) names.push(RecordName.entry(e.index));
    return names;
  }

  /**
   * Fault hook: the record will fail its checksum when read (at the next open or load), as a flipped
   * bit on a real disk would. Overwriting or deleting the record heals it.
   */
  corrupt(record: string, problem = 'checksum mismatch'): void {
    if (!this.recordNames().includes(record)) throw new StorageError('InvalidArgument', `corrupt: no record ${JSON.stringify(record)} on this disk`);
    this.damage.set(record, problem);
  }

  /** Fault hook: rewrite the meta record's format version, as an older or newer build would have. */
  setFormatVersion(format: number): void {
    argCheck.index(format, 'setFormatVersion format');
    if (!this.identity) throw new StorageError('InvalidArgument', 'setFormatVersion: the disk has no meta record yet');
    this.identity = { ...this.identity, format };
  }

  /** @internal The problem recorded against `record`, if corrupt. */
  damaged(record: string): string | undefined {
    return this.damage.get(record);
  }

  /**
   * @internal Execute one accepted op; it was validated by LogView, so index arithmetic is safe. `staged`:
   * the bytes of a received snapshot the op installs (the handle staged them).
   */
  applyOp(op: WriteOp, staged?: Uint8Array): void {
    for (const [lo, hi] of op.deletes) {
      const first = this.entries[0]?.index;
      if (first === undefined) continue;
      const a = Math.max(lo, first) - first;
      const b = Math.min(hi, first + this.entries.length - 1) - first;
      if (a > b) continue;
      for (let i = a; i <= b; i++) this.damage.delete(RecordName.entry(first + i));
      // Deleted ranges are always a prefix or a suffix, so what remains stays contiguous.
      this.entries.splice(a, b - a + 1);
    }
    if (op.snapshot) {
      this.snapshot = { meta: copyMeta(op.snapshot.meta), data: op.snapshot.data ?? (staged as Uint8Array) };
      this.damage.delete(RecordName.snapshot);
    }
    const head = op.entries[0];
    if (head) {
      const first = this.entries[0]?.index;
      if (first !== undefined) this.entries.length = Math.max(0, head.index - first);
      for (const e of op.entries) {
        this.entries.push({ ...e });
        this.damage.delete(RecordName.entry(e.index));
      }
    }
    if (op.hardState) {
      this.hardState = { ...op.hardState };
      this.damage.delete(RecordName.hardState);
    }
  }
}

export interface MemoryStorageOptions {
  /**
   * 'immediate' (default): each group becomes durable in a microtask, so calls made in the same
   * synchronous stretch are group-committed. 'manual': a group stays in flight until completeWrite() or
   * failWrite(), so the simulator decides when (and whether) a write reaches the disk.
   */
  writes?: 'immediate' | 'manual';
}

interface PendingWrite {
  ops: readonly WriteOp[];
  done: (err?: unknown) => void;
}

export class MemoryStorage extends QueuedStorage {
  private pending: PendingWrite | undefined;
  /** Bytes of the received snapshot being staged: this handle's, not the disk's (a crash forgets them). */
  private staging: { parts: Uint8Array[]; received: number } | undefined;
  private armedFailure: string | undefined;
  private readFailure: string | undefined;
  private crashed = false;

  private constructor(
    private readonly disk: MemoryDisk,
    private readonly mode: 'immediate' | 'manual',
    view: LogView,
  ) {
    super(view);
  }

  /**
   * Open a handle on `disk` for `identity`. A fresh disk takes the identity; a disk of another cluster
   * or node, or of an unknown format, is StorageForeign; a disk already open is StorageLocked; a
   * damaged record or a broken log is StorageCorrupt.
   */
  static async open(disk: MemoryDisk, identity: StorageIdentity, options: MemoryStorageOptions = {}): Promise<MemoryStorage> {
    if (!(disk instanceof MemoryDisk)) throw new StorageError('InvalidArgument', 'open: disk must be a MemoryDisk');
    const id = checkIdentity(identity);
    const o = argCheck.record(options, 'open options', ['writes']);
    const mode = o.writes ?? 'immediate';
    if (mode !== 'immediate' && mode !== 'manual') throw new StorageError('InvalidArgument', `open options.writes: must be 'immediate' or 'manual', got ${String(mode)}`);
    if (disk.holder) throw new StorageError('StorageLocked', 'memory disk is already open by another handle (close or crash it first)');
    checkMeta(disk, id);
    const { view } = readDisk(disk);
    disk.identity ??= { ...id, format: MEMORY_FORMAT_VERSION };
    const s = new MemoryStorage(disk, mode, view);
    disk.holder = s;
    return s;
  }

  // --- fault hooks ---------------------------------------------------------------------------------

  /** The next group write fails (nothing of it reaches the disk), whenever it completes. */
  failNextWrite(message = 'injected write failure'): void {
    this.armedFailure = message;
  }

  /** Every snapshot read from now on fails with StorageIo (a bad sector under the snapshot file). */
  failReads(message = 'injected read failure'): void {
    this.readFailure = message;
  }

  /** Number of calls in the write now in flight (manual mode; 0 when none). */
  pendingWrite(): number {
    return this.pending?.ops.length ?? 0;
  }

  /**
   * Manual mode: make the write in flight durable and resolve its calls. Returns false if none was in
   * flight. The next queued group, if any, is in flight when this returns.
   */
  completeWrite(): boolean {
    const p = this.pending;
    if (!p) return false;
    this.pending = undefined;
    this.finish(p);
    return true;
  }

  /** Manual mode: the write in flight fails (nothing reaches the disk). Returns false if none. */
  failWrite(message = 'injected write failure'): boolean {
    const p = this.pending;
    if (!p) return false;
    this.pending = undefined;
    p.done(new StorageError('StorageIo', `write failed: ${message}`));
    return true;
  }

  /**
   * The process dies: the write in flight and every queued call are lost (their promises reject with
   * StorageClosed), the disk keeps exactly what was durable, and its lock is released.
   */
  crash(): void {
    if (this.crashed) return;
    this.crashed = true;
    this.pending = undefined;
    this.abandon('storage crashed before this write was durable');
    if (this.disk.holder === this) this.disk.holder = undefined;
  }

  // --- backend -------------------------------------------------------------------------------------

  protected startWrite(ops: readonly WriteOp[], done: (err?: unknown) => void): void {
    const p: PendingWrite = { ops, done };
    if (this.mode === 'manual') {
      this.pending = p;
      return;
    }
    // A microtask, not a timer: calls made before it runs are grouped into the next write.
    queueMicrotask(() => {
      if (!this.crashed) this.finish(p);
    });
  }

  private finish(p: PendingWrite): void {
    const failure = this.armedFailure;
    if (failure !== undefined) {
      this.armedFailure = undefined;
      p.done(new StorageError('StorageIo', `write failed: ${failure}`));
      return;
    }
    for (const op of p.ops) {
      for (const c of op.chunks) {
        if (c.offset === 0) this.staging = { parts: [], received: 0 };
        const st = this.staging as NonNullable<MemoryStorage['staging']>;
        st.parts.push(c.data);
        st.received += c.data.length;
      }
      let staged: Uint8Array | undefined;
      if (op.snapshot && !op.snapshot.data) {
        const st = this.staging as NonNullable<MemoryStorage['staging']>;
        staged = new Uint8Array(st.received);
        let at = 0;
        for (const part of st.parts) {
          staged.set(part, at);
          at += part.length;
        }
        this.staging = undefined;
      }
      this.disk.applyOp(op, staged);
    }
    p.done();
  }

  protected readSnapshotData(index: number, offset: number, length: number): Promise<Uint8Array | undefined> {
    if (this.readFailure !== undefined) return Promise.reject(new StorageError('StorageIo', `snapshot read failed: ${this.readFailure}`));
    const snap = this.disk.snapshot;
    if (this.crashed || !snap || snap.meta.index !== index) return Promise.resolve(undefined);
    return Promise.resolve(snap.data.subarray(Math.min(offset, snap.data.length), Math.min(offset + length, snap.data.length)));
  }

  protected readBoot(): Promise<BootState> {
    try {
      return Promise.resolve(readDisk(this.disk).boot);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  protected release(): Promise<void> {
    if (this.disk.holder === this) this.disk.holder = undefined;
    return Promise.resolve();
  }
}

function checkMeta(disk: MemoryDisk, id: StorageIdentity): void {
  const meta = disk.identity;
  if (!meta) {
    if (disk.recordNames().length > 0) throw new StorageError('StorageCorrupt', 'meta: missing from a disk that holds other records');
    return;
  }
  const problem = disk.damaged(RecordName.meta);
  if (problem) throw new StorageError('StorageCorrupt', `meta: ${problem}`);
  if (meta.format !== MEMORY_FORMAT_VERSION) throw new StorageError('StorageForeign', `meta: format version ${meta.format} is not supported (this build reads ${MEMORY_FORMAT_VERSION})`);
  if (meta.clusterId !== id.clusterId) throw new StorageError('StorageForeign', `meta: disk belongs to cluster ${JSON.stringify(meta.clusterId)}, not ${JSON.stringify(id.clusterId)}`);
  if (meta.nodeId !== id.nodeId) throw new StorageError('StorageForeign', `meta: disk belongs to node ${JSON.stringify(meta.nodeId)}, not ${JSON.stringify(id.nodeId)}`);
}

function readDisk(disk: MemoryDisk): ReturnType<typeof checkStoredLog> & { boot: BootState } {
  for (const name of disk.recordNames()) {
    const problem = disk.damaged(name);
    if (problem) throw new StorageError('StorageCorrupt', `${name}: ${problem}`);
  }
  const hard = disk.hardState ? { ...disk.hardState } : { term: 0, vote: null, commit: 0 };
  const snap = disk.snapshot;
  const stored = disk.entries.map((e) => ({ ...e }));
  const checked = checkStoredLog(hard, snap?.meta, stored);
  const boot: BootState = { ...checked.boot, ...(snap ? { snapshot: { meta: copyMeta(snap.meta), data: snap.data } } : {}) };
  return { view: checked.view, boot };
}

function copyMeta(m: Snapshot['meta']): Snapshot['meta'] {
  return { index: m.index, term: m.term, conf: { voters: [...m.conf.voters], learners: [...m.conf.learners] } };
}
