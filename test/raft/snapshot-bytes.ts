/**
 * The part of a driver's storage that keeps snapshot bytes, for tests that drive RaftCore directly (the
 * core holds only a snapshot's metadata and size): one per node, outliving restarts like a disk. It keeps
 * the node's snapshot, stages chunks received from a leader, and turns the core's snapshot sends into the
 * 'snap' messages a replica would send after reading the range from storage.
 */
import type { RaftCore } from '../../src/raft/raft.js';
import type { SnapshotPolicy } from '../../src/raft/snapshot-policy.js';
import type { Message, NodeId, Ready, Snapshot, SnapshotInfo } from '../../src/raft/types.js';

export class SnapshotBytes {
  private stored: Snapshot | undefined;
  private staged: Uint8Array[] = [];

  constructor(snapshot?: Snapshot) {
    this.stored = snapshot;
  }

  /** The stored snapshot with its bytes, if any. */
  get snapshot(): Snapshot | undefined {
    return this.stored;
  }

  /** What the core boots from: the stored snapshot's metadata and size. */
  get info(): SnapshotInfo | undefined {
    return this.stored && { meta: this.stored.meta, size: this.stored.data.length };
  }

  /** The driver snapshots the state machine at `index`: the core records it, the bytes stay here. */
  compact(core: RaftCore, index: number, data: Uint8Array, keep: SnapshotPolicy | number): { snapshot: Snapshot; compactedTo: number } {
    const { snapshot, compactedTo } = core.compact(index, data.length, keep);
    this.stored = { meta: snapshot.meta, data };
    return { snapshot: this.stored, compactedTo };
  }

  /** Stage a Ready's received chunks; returns the installed snapshot when the Ready installs one. */
  persist(rd: Ready): Snapshot | undefined {
    for (const c of rd.snapshotChunks ?? []) {
      if (c.offset === 0) this.staged = [];
      this.staged.push(c.data);
    }
    if (!rd.snapshot) return undefined;
    this.stored = { meta: rd.snapshot.meta, data: Buffer.concat(this.staged) };
    this.staged = [];
    if (this.stored.data.length !== rd.snapshot.size) throw new Error(`installed ${this.stored.data.length} staged bytes, the core says ${rd.snapshot.size}`);
    return this.stored;
  }

  /** The 'snap' messages for a Ready's snapshot sends (none for a snapshot no longer stored). */
  messages(from: NodeId, rd: Ready): Message[] {
    const out: Message[] = [];
    for (const s of rd.snapshotSends ?? []) {
      const snap = this.stored;
      if (!snap || snap.meta.index !== s.meta.index) continue;
      out.push({ type: 'snap', from, to: s.to, term: s.term, meta: s.meta, offset: s.offset, total: s.total, chunk: snap.data.subarray(s.offset, s.offset + s.length) });
    }
    return out;
  }
}
