/**
 * The call protocol every backend shares: validate against the accepted state, queue, group-commit, fail
 * closed. Backends only say how to write a group of ops durably and how to read the store back.
 */
import type { Snapshot, SnapshotMeta, HardState } from '../raft/types.js';
import type { LogView, WriteOp } from './log-view.js';
import { argCheck } from './shape.js';
import { StorageError, type BootState, type PersistBatch, type RaftStorage, type StorageStats } from './types.js';

type Job =
  | { kind: 'write'; op: WriteOp; resolve: () => void; reject: (e: StorageError) => void }
  | { kind: 'load'; resolve: (b: BootState) => void; reject: (e: unknown) => void }
  /** Resolves once every write queued before it is durable (a snapshot read must see them). */
  | { kind: 'barrier'; resolve: () => void; reject: (e: unknown) => void };

type Status = 'open' | 'closing' | 'closed' | 'failed';

export abstract class QueuedStorage implements RaftStorage {
  private jobs: Job[] = [];
  /** Jobs handed to the backend and not settled yet. */
  private inflight: Job[] = [];
  private busy = false;
  private status: Status = 'open';
  private failure: StorageError | undefined;
  private closed: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  /** Bumped when the instance is abandoned, so a backend completion arriving later is ignored. */
  private epoch = 0;
  private readonly counters: StorageStats = { calls: 0, writes: 0, syncs: 0 };

  protected constructor(protected readonly view: LogView) {}

  /**
   * Write the ops (in order) as one atomic batch, durable (fsynced) if any op says `sync`, then call
   * `done` once (with the error if it failed). Callback style lets a backend complete synchronously (MemoryStorage's completeWrite), so
   * the next group is already in flight when its completion returns.
   */
  protected abstract startWrite(ops: readonly WriteOp[], done: (err?: unknown) => void): void;
  /** Read the whole store back, verifying it. No write runs concurrently. */
  protected abstract readBoot(): Promise<BootState>;
  /** Release the underlying store and its lock. Called once, when no write is in flight. */
  protected abstract release(): Promise<void>;
  /**
   * Bytes of the durable snapshot at `index` from `offset` (at most `length`), or undefined if the
   * durable snapshot is another. May run while later writes are in flight: a write that replaces the
   * snapshot may make it undefined, never a mix of two snapshots.
   */
  protected abstract readSnapshotData(index: number, offset: number, length: number): Promise<Uint8Array | undefined>;

  persist(batch: PersistBatch): Promise<void> {
    return this.accept(() => this.view.preparePersist(batch));
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.accept(() => this.view.prepareSaveSnapshot(snapshot));
  }

  compact(upTo: number): Promise<void> {
    return this.accept(() => this.view.prepareCompact(upTo));
  }

  readSnapshot(index: number, offset: number, length: number): Promise<Uint8Array | undefined> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    try {
      argCheck.index(index, 'readSnapshot index', 1);
      argCheck.index(offset, 'readSnapshot offset');
      argCheck.index(length, 'readSnapshot length');
    } catch (e) {
      return Promise.reject(e);
    }
    // Not the snapshot the accepted calls leave: nothing to wait for.
    if (this.view.snapshotMeta()?.index !== index) return Promise.resolve(undefined);
    return new Promise<void>((resolve, reject) => {
      this.jobs.push({ kind: 'barrier', resolve, reject });
      this.pump();
    }).then(() => this.readSnapshotData(index, offset, length));
  }

  load(): Promise<BootState> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    return new Promise<BootState>((resolve, reject) => {
      this.jobs.push({ kind: 'load', resolve, reject });
      this.pump();
    });
  }

  firstIndex(): number {
    return this.view.firstIndex();
  }

  lastIndex(): number {
    return this.view.lastIndex();
  }

  hardState(): HardState {
    return this.view.hardState();
  }

  snapshotMeta(): SnapshotMeta | undefined {
    return this.view.snapshotMeta();
  }

  stats(): StorageStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    if (this.closed) return this.closed;
    if (this.status === 'open') this.status = 'closing';
    this.closed = (async () => {
      // Accepted writes were promised to the caller: finish them before letting go of the store.
      await this.idle();
      await this.release();
      this.status = 'closed';
    })();
    return this.closed;
  }

  /**
   * Drop everything not yet durable, as a process crash would: queued and in-flight calls reject with
   * StorageClosed, and a backend completion arriving afterwards is ignored. Whether an in-flight write
   * reached the disk is the backend's business (MemoryStorage: it did not).
   */
  protected abandon(reason: string): void {
    this.epoch++;
    this.status = 'closed';
    this.closed ??= Promise.resolve();
    const err = new StorageError('StorageClosed', reason);
    const dropped = [...this.inflight, ...this.jobs];
    this.inflight = [];
    this.jobs = [];
    this.busy = false;
    for (const j of dropped) j.reject(err);
    this.wakeIdle();
  }

  private refusal(): StorageError | undefined {
    if (this.status === 'failed') {
      return new StorageError('StorageIo', `storage refused: an earlier write failed (${this.failure?.message ?? 'unknown'}); close and reopen it`, { cause: this.failure });
    }
    if (this.status !== 'open') return new StorageError('StorageClosed', 'storage is closed');
    return undefined;
  }

  private accept(prepare: () => WriteOp): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    let op: WriteOp;
    try {
      op = prepare();
    } catch (e) {
      return Promise.reject(e);
    }
    // Accepted: later calls are validated against the state this one leaves, before it is even written.
    this.view.apply(op);
    this.counters.calls++;
    return new Promise<void>((resolve, reject) => {
      this.jobs.push({ kind: 'write', op, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy) return;
    // A barrier at the head has nothing queued before it: every earlier write is durable.
    while (this.jobs[0]?.kind === 'barrier' && this.status !== 'failed' && this.status !== 'closed') (this.jobs.shift() as Extract<Job, { kind: 'barrier' }>).resolve();
    if (this.jobs.length === 0 || this.status === 'failed' || this.status === 'closed') {
      this.wakeIdle();
      return;
    }
    this.busy = true;
    const epoch = this.epoch;
    const head = this.jobs[0] as Job;
    if (head.kind === 'load') {
      this.jobs.shift();
      this.inflight = [head];
      this.readBoot().then(
        (boot) => this.settled(epoch, () => head.resolve(boot)),
        (e: unknown) => this.settled(epoch, () => head.reject(e)),
      );
      return;
    }
    // Group commit: every write queued behind the one in flight goes out together (up to a load or a
    // barrier, which must see exactly the writes accepted before it).
    let n = 0;
    while (n < this.jobs.length && (this.jobs[n] as Job).kind === 'write') n++;
    const group = this.jobs.splice(0, n) as Array<Extract<Job, { kind: 'write' }>>;
    this.inflight = group;
    this.counters.writes++;
    if (group.some((j) => j.op.sync)) this.counters.syncs++;
    let called = false;
    const done = (err?: unknown): void => {
      if (called || epoch !== this.epoch) return;
      called = true;
      if (err === undefined) {
        this.settled(epoch, () => {
          for (const j of group) j.resolve();
        });
        return;
      }
      this.busy = false;
      this.inflight = [];
      this.fail(toStorageError(err), group);
    };
    try {
      this.startWrite(
        group.map((j) => j.op),
        done,
      );
    } catch (e) {
      done(e ?? new Error('write threw'));
    }
  }

  private settled(epoch: number, notify: () => void): void {
    if (epoch !== this.epoch) return;
    this.busy = false;
    this.inflight = [];
    // Start the next group before resolving: its fsync overlaps the callers' continuations.
    this.pump();
    notify();
  }

  /** A failed write poisons the instance: the accepted state is now ahead of the disk. */
  private fail(err: StorageError, group: ReadonlyArray<Extract<Job, { kind: 'write' }>>): void {
    this.status = 'failed';
    this.failure = err;
    for (const j of group) j.reject(err);
    const queued = this.jobs;
    this.jobs = [];
    const notWritten = new StorageError('StorageIo', `not written: an earlier write failed (${err.message})`, { cause: err });
    for (const j of queued) j.reject(notWritten);
    this.wakeIdle();
  }

  private idle(): Promise<void> {
    if (!this.busy && (this.jobs.length === 0 || this.status === 'failed' || this.status === 'closed')) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

export function toStorageError(e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new StorageError('StorageIo', `write failed: ${msg}`, { cause: e });
}
