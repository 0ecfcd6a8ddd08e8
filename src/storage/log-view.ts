/**
 * The accepted state of a store: what every call accepted so far (durable or still queued) leaves on
 * disk. It is the single place where calls are validated and turned into physical operations, so both
 * backends refuse exactly the same inputs and only execute `WriteOp`s.
 */
import type { Entry, HardState, Snapshot, SnapshotChunk, SnapshotInfo, SnapshotMeta } from '../raft/types.js';
import { argCheck } from './shape.js';
import { StorageError, type BootState, type PersistBatch } from './types.js';

/** One accepted call as physical operations, executed in this order within one atomic batch. */
export interface WriteOp {
  kind: 'persist' | 'saveSnapshot' | 'compact';
  /** Inclusive index ranges of stored entries to delete. */
  deletes: Array<[number, number]>;
  /** Received snapshot bytes to stage, in order (persist only). */
  chunks: SnapshotChunk[];
  /**
   * A new snapshot record: taken locally (saveSnapshot, with its `data`) or received (persist, without:
   * its bytes are the staged chunks).
   */
  snapshot?: SnapshotInfo & { data?: Uint8Array };
  /** Entries to put (overwriting any deleted above). */
  entries: Entry[];
  hardState?: HardState;
  /**
   * Whether the write must be fsynced before it is acknowledged. Everything Figure 2 calls persistent
   * (term, vote, log entries, snapshots) must; a hard state that only moves the commit index need not
   * (etcd-io/raft's MustSync): commitIndex is volatile state in Figure 2, and a restart that finds an
   * older one learns it again from the leader. Received snapshot chunks are staged unsynced (a crash
   * forgets a transfer in progress). A compaction is not synced either: losing it leaves entries a durable
   * snapshot already covers, which a store accepts at open (as the trailing window it keeps anyway) and
   * the next compaction drops. An unsynced write survives a process crash; only power loss can
   * drop it, and then only with every later unsynced write (the store's log is sequential).
   */
  sync: boolean;
}

/** Record names used in messages and by MemoryDisk; LevelStorage maps them to binary keys. */
export const RecordName = {
  meta: 'meta',
  hardState: 'hardState',
  snapshot: 'snapshot',
  entry: (index: number): string => `entry/${index}`,
} as const;

/** Terms of a contiguous index range as runs [start, term]: terms change rarely, so this stays tiny. */
class TermRuns {
  private starts: number[] = [];
  private terms: number[] = [];

  clear(): void {
    this.starts = [];
    this.terms = [];
  }

  /** Entries directly after the covered range. */
  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (this.terms[this.terms.length - 1] !== e.term) {
        this.starts.push(e.index);
        this.terms.push(e.term);
      }
    }
  }

  /** Forget indexes ≥ i. */
  truncateFrom(i: number): void {
    let n = this.starts.length;
    while (n > 0 && (this.starts[n - 1] as number) >= i) n--;
    this.starts.length = n;
    this.terms.length = n;
  }

  /** Forget indexes < i (i within the covered range). */
  dropBefore(i: number): void {
    const k = this.find(i);
    if (k < 0) return;
    this.starts = this.starts.slice(k);
    this.terms = this.terms.slice(k);
    this.starts[0] = i;
  }

  /** Term at i, for i within the covered range. */
  at(i: number): number | undefined {
    const k = this.find(i);
    return k < 0 ? undefined : this.terms[k];
  }

  /** Position of the last run starting at or before i, −1 if none. */
  private find(i: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.starts[mid] as number) <= i) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }
}

export class LogView {
  private hard: HardState = { term: 0, vote: null, commit: 0 };
  private snap: SnapshotMeta | undefined;
  /** Stored entries are exactly [first, last]; empty when first = last + 1. */
  private first = 1;
  private last = 0;
  private readonly runs = new TermRuns();
  /** The received snapshot being staged, as accepted calls leave it (never on disk as part of the log). */
  private staged: { index: number; term: number; total: number; received: number } | undefined;

  /** The view of a freshly read store; `entries` are all stored entries ascending (already checked). */
  static fromDisk(hard: HardState, snap: SnapshotMeta | undefined, entries: readonly Entry[]): LogView {
    const v = new LogView();
    v.hard = hard;
    v.snap = snap;
    const head = entries[0];
    v.first = head ? head.index : (snap?.index ?? 0) + 1;
    v.last = v.first - 1 + entries.length;
    v.runs.append(entries);
    return v;
  }

  hardState(): HardState {
    return { ...this.hard };
  }

  snapshotMeta(): SnapshotMeta | undefined {
    return this.snap && cloneMeta(this.snap);
  }

  firstIndex(): number {
    return this.first;
  }

  lastIndex(): number {
    return this.last;
  }

  private snapIndex(): number {
    return this.snap?.index ?? 0;
  }

  /** Term of the entry at i as the log knows it: stored, the snapshot's last entry, or 0 before index 1. */
  termAt(i: number): number | undefined {
    if (i === 0) return 0;
    if (i >= this.first && i <= this.last) return this.runs.at(i);
    if (this.snap && i === this.snap.index) return this.snap.term;
    return undefined;
  }

  // --- validation: each returns the physical operation and changes nothing ----------------------------

  preparePersist(batch: PersistBatch): WriteOp {
    const b = argCheck.record(batch, 'persist batch', ['hardState', 'entries', 'snapshotChunks', 'snapshot']);
    const chunks = this.checkChunks(b.snapshotChunks);
    const snapshot = b.snapshot === undefined ? undefined : checkInstallArg(b.snapshot, 'persist batch.snapshot');
    if (b.entries !== undefined && !Array.isArray(b.entries)) argCheck.fail('persist batch.entries', 'must be an array of entries');
    const entries = ((b.entries ?? []) as unknown[]).map((e, i) => argCheck.entry(e, `persist batch.entries[${i}]`));
    const hardState = b.hardState === undefined ? undefined : argCheck.hardState(b.hardState, 'persist batch.hardState');

    const deletes: Array<[number, number]> = [];
    // Where the log ends once the snapshot (if any) has replaced it.
    let baseLast = this.last;
    let baseTerm = (i: number): number | undefined => this.termAt(i);
    if (snapshot) {
      const s = snapshot.meta;
      const staged = chunks.staged;
      if (!staged || staged.index !== s.index || staged.term !== s.term || staged.total !== snapshot.size || staged.received !== snapshot.size) {
        const have = staged ? `snapshot ${staged.index}/${staged.term}, ${staged.received} of ${staged.total} bytes` : 'nothing';
        argCheck.fail('persist batch.snapshot', `installs snapshot ${s.index}/${s.term} of ${snapshot.size} bytes, but the staged chunks hold ${have}`);
      }
      if (s.index <= this.snapIndex()) argCheck.fail('persist batch.snapshot', `index ${s.index} is not newer than the stored snapshot at ${this.snapIndex()}`);
      // A snapshot never moves commit back past entries a quorum may have counted; RaftCore only installs
      // a snapshot ahead of its commit index.
      if (s.index < this.hard.commit) argCheck.fail('persist batch.snapshot', `index ${s.index} is below the stored commit index ${this.hard.commit}`);
      if (this.first <= this.last) deletes.push([this.first, this.last]);
      baseLast = s.index;
      baseTerm = (i) => (i === s.index ? s.term : undefined);
    }
    const head = entries[0];
    if (head) {
      entries.forEach((e, i) => {
        if (e.index !== head.index + i) argCheck.fail(`persist batch.entries[${i}]`, `index ${e.index} does not follow ${head.index + i - 1} (entries must be contiguous)`);
        const prev = entries[i - 1];
        if (prev && e.term < prev.term) argCheck.fail(`persist batch.entries[${i}]`, `term ${e.term} is below the previous entry's term ${prev.term}`);
      });
      const floor = snapshot ? snapshot.meta.index : this.snapIndex();
      if (head.index <= floor) argCheck.fail('persist batch.entries[0]', `index ${head.index} is covered by the snapshot at ${floor} (committed entries are never rewritten)`);
      if (head.index > baseLast + 1) argCheck.fail('persist batch.entries[0]', `index ${head.index} leaves a gap after the last index ${baseLast}`);
      if (!snapshot && head.index <= this.hard.commit) argCheck.fail('persist batch.entries[0]', `index ${head.index} would overwrite committed entries (commit ${this.hard.commit}); committed entries never change (§5.4)`);
      const prevTerm = baseTerm(head.index - 1) as number;
      if (head.term < prevTerm) argCheck.fail('persist batch.entries[0]', `term ${head.term} is below the term ${prevTerm} of entry ${head.index - 1} (log terms never decrease)`);
      const newLast = (entries[entries.length - 1] as Entry).index;
      // Puts overwrite the conflicting part; only the stored tail beyond the new entries must go.
      if (!snapshot && newLast < this.last) deletes.push([newLast + 1, this.last]);
      baseLast = newLast;
    }
    if (hardState) {
      // The term is monotonic (Figure 2); a store that goes back lets the node vote twice in a term.
      if (hardState.term < this.hard.term) argCheck.fail('persist batch.hardState.term', `${hardState.term} is below the stored term ${this.hard.term}`);
      if (hardState.term === this.hard.term && this.hard.vote !== null && hardState.vote !== this.hard.vote) {
        argCheck.fail('persist batch.hardState.vote', `changes the vote of term ${hardState.term} from ${JSON.stringify(this.hard.vote)} to ${JSON.stringify(hardState.vote)} (one vote per term, §5.2)`);
      }
    }
    const commit = hardState?.commit ?? this.hard.commit;
    if (commit > baseLast) argCheck.fail(hardState ? 'persist batch.hardState.commit' : 'persist batch', `commit ${commit} is beyond the last index ${baseLast} after this batch`);
    const termOrVote = hardState !== undefined && (hardState.term !== this.hard.term || hardState.vote !== this.hard.vote);
    return {
      kind: 'persist',
      sync: entries.length > 0 || deletes.length > 0 || snapshot !== undefined || termOrVote,
      deletes,
      entries,
      chunks: chunks.list,
      ...(snapshot ? { snapshot } : {}),
      ...(hardState ? { hardState } : {}),
    };
  }

  prepareSaveSnapshot(snapshot: Snapshot): WriteOp {
    const s = checkSnapshotArg(snapshot, 'saveSnapshot snapshot');
    const { index, term } = s.meta;
    if (index <= this.snapIndex()) argCheck.fail('saveSnapshot snapshot.meta.index', `${index} is not newer than the stored snapshot at ${this.snapIndex()}`);
    // Only committed state may be snapshotted: an uncommitted entry can still be replaced (§5.3).
    if (index > this.hard.commit) argCheck.fail('saveSnapshot snapshot.meta.index', `${index} is beyond the stored commit index ${this.hard.commit}`);
    const stored = index >= this.first && index <= this.last ? this.runs.at(index) : undefined;
    if (stored === undefined) argCheck.fail('saveSnapshot snapshot.meta.index', `${index} is not a stored entry (stored ${this.first}..${this.last})`);
    if (stored !== term) argCheck.fail('saveSnapshot snapshot.meta.term', `${term} differs from the stored entry ${index}'s term ${stored}`);
    return { kind: 'saveSnapshot', sync: true, deletes: [], entries: [], chunks: [], snapshot: { meta: s.meta, size: s.data.length, data: s.data } };
  }

  prepareCompact(upTo: unknown): WriteOp {
    const u = argCheck.index(upTo, 'compact upTo');
    if (u > this.last) argCheck.fail('compact upTo', `${u} is beyond the last index ${this.last}`);
    // Entries no snapshot covers are the only copy of that history on this node.
    if (u > this.snapIndex()) argCheck.fail('compact upTo', `${u} is beyond the snapshot index ${this.snapIndex()}: only entries a snapshot covers may be dropped`);
    const hi = Math.min(u, this.last);
    return { kind: 'compact', sync: false, deletes: this.first <= hi ? [[this.first, hi]] : [], entries: [], chunks: [] };
  }

  /** Check received chunks against the staged snapshot and each other; what staging they leave. */
  private checkChunks(v: unknown): { list: SnapshotChunk[]; staged: LogView['staged'] } {
    if (v !== undefined && !Array.isArray(v)) argCheck.fail('persist batch.snapshotChunks', 'must be an array of chunks');
    let staged = this.staged;
    const list = ((v ?? []) as unknown[]).map((raw, i) => {
      const what = `persist batch.snapshotChunks[${i}]`;
      const o = argCheck.record(raw, what, ['meta', 'total', 'offset', 'data']);
      const c: SnapshotChunk = { meta: argCheck.snapshotMeta(o.meta, `${what}.meta`), total: argCheck.index(o.total, `${what}.total`), offset: argCheck.index(o.offset, `${what}.offset`), data: argCheck.bytes(o.data, `${what}.data`) };
      if (c.offset === 0) staged = { index: c.meta.index, term: c.meta.term, total: c.total, received: 0 };
      else if (!staged || staged.index !== c.meta.index || staged.term !== c.meta.term || staged.total !== c.total) {
        argCheck.fail(`${what}.offset`, `${c.offset} continues snapshot ${c.meta.index}/${c.meta.term}, which is not the one staged (a transfer starts at offset 0)`);
      } else if (c.offset !== staged.received) argCheck.fail(`${what}.offset`, `${c.offset} is not where the staged bytes end (${staged.received})`);
      if (staged.received + c.data.length > staged.total) argCheck.fail(`${what}.data`, `${c.data.length} bytes at ${c.offset} run past the snapshot's ${staged.total} bytes`);
      staged = { ...staged, received: staged.received + c.data.length };
      return c;
    });
    return { list, staged };
  }

  // --- application of an accepted op ---------------------------------------------------------------

  apply(op: WriteOp): void {
    for (const c of op.chunks) {
      const base = c.offset === 0 ? { index: c.meta.index, term: c.meta.term, total: c.total, received: 0 } : this.staged;
      if (base) this.staged = { ...base, received: base.received + c.data.length };
    }
    if (op.kind === 'compact') {
      for (const [, hi] of op.deletes) this.first = hi + 1;
      if (this.first > this.last) this.runs.clear();
      else this.runs.dropBefore(this.first);
    }
    if (op.snapshot) {
      this.snap = cloneMeta(op.snapshot.meta);
      if (op.kind === 'persist') {
        this.staged = undefined;
        // A received snapshot replaces the whole log.
        this.runs.clear();
        this.first = this.snap.index + 1;
        this.last = this.snap.index;
      }
    }
    const head = op.entries[0];
    if (head) {
      // head.index ∈ [first, last + 1]: preparePersist refused anything else.
      if (this.first > this.last) {
        this.runs.clear();
        this.first = head.index;
      } else this.runs.truncateFrom(head.index);
      this.runs.append(op.entries);
      this.last = (op.entries[op.entries.length - 1] as Entry).index;
    }
    if (op.hardState) this.hard = { ...op.hardState };
  }
}

function checkInstallArg(v: unknown, what: string): SnapshotInfo {
  const o = argCheck.record(v, what, ['meta', 'size']);
  return { meta: argCheck.snapshotMeta(o.meta, `${what}.meta`), size: argCheck.index(o.size, `${what}.size`) };
}

function checkSnapshotArg(v: unknown, what: string): Snapshot {
  const o = argCheck.record(v, what, ['meta', 'data']);
  return { meta: argCheck.snapshotMeta(o.meta, `${what}.meta`), data: argCheck.bytes(o.data, `${what}.data`) };
}

function cloneMeta(m: SnapshotMeta): SnapshotMeta {
  return { index: m.index, term: m.term, conf: { voters: [...m.conf.voters], learners: [...m.conf.learners] } };
}

/**
 * Check a store read back from disk against the Raft log invariants and build its boot state. Records
 * must already have passed their checksum and shape checks; `name` says where each came from.
 */
export function checkStoredLog(hard: HardState, snap: Snapshot | SnapshotMeta | undefined, stored: readonly Entry[]): { view: LogView; boot: Omit<BootState, 'snapshot'> } {
  const meta = snap && ('meta' in snap ? snap.meta : snap);
  const s = meta?.index ?? 0;
  stored.forEach((e, i) => {
    const prev = stored[i - 1];
    if (prev && e.index !== prev.index + 1) corrupt(RecordName.entry(e.index), `follows entry ${prev.index}: the log has a gap`);
    if (prev && e.term < prev.term) corrupt(RecordName.entry(e.index), `term ${e.term} is below entry ${prev.index}'s term ${prev.term}`);
  });
  const head = stored[0];
  const tail = stored[stored.length - 1];
  if (head && head.index > s + 1) corrupt(RecordName.entry(head.index), `is the first stored entry but the snapshot ends at ${s}: entries ${s + 1}..${head.index - 1} are missing`);
  if (meta && head && tail && meta.index >= head.index && meta.index <= tail.index) {
    const at = stored[meta.index - head.index] as Entry;
    if (at.term !== meta.term) corrupt(RecordName.entry(meta.index), `term ${at.term} differs from the snapshot's term ${meta.term} at that index`);
  }
  if (meta && tail && tail.index > meta.index) {
    const after = stored[meta.index + 1 - (head as Entry).index] as Entry;
    if (after.term < meta.term) corrupt(RecordName.entry(after.index), `term ${after.term} is below the snapshot's term ${meta.term}`);
  }
  const last = Math.max(s, tail?.index ?? 0);
  if (hard.commit > last) corrupt(RecordName.hardState, `commit ${hard.commit} is beyond the last index ${last}`);
  const entries = stored.filter((e) => e.index > s);
  return { view: LogView.fromDisk(hard, meta, stored), boot: { hardState: hard, entries } };
}

function corrupt(name: string, problem: string): never {
  throw new StorageError('StorageCorrupt', `${name}: ${problem}`);
}
