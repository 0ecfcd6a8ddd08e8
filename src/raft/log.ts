/**
 * The in-memory Raft log of one node (etcd-io/raft log.go, without the stable/unstable storage split:
 * the core keeps every retained entry and tracks how much of it is persisted in `stable`).
 *
 * Indexes: `offset` is the index just before the first retained entry (the compaction point, its term in
 * `offsetTerm`); retained entries are offset+1 … lastIndex. `committed` is the highest index known
 * committed, `applied` the highest handed to the state machine and acknowledged, `stable` the highest
 * persisted. Invariant: offset ≤ applied ≤ committed ≤ lastIndex, and applied ≤ stable — except that
 * after restore(snapshot) `applied` stays behind until the driver has restored the state machine.
 */
import type { Entry } from './types.js';

export class RaftLog {
  // Stryker disable next-line ArrayDeclaration: equivalent, the constructor always assigns entries
  entries: Entry[] = [];
  offset: number;
  offsetTerm: number;
  committed: number;
  applied: number;
  stable: number;

  constructor(offset: number, offsetTerm: number, entries: Entry[], committed: number) {
    this.offset = offset;
    this.offsetTerm = offsetTerm;
    this.entries = entries;
    this.committed = committed;
    this.applied = offset;
    this.stable = offset + entries.length;
  }

  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) as number;
  }

  /** Term of entry i, or undefined if it is compacted or beyond the end. */
  term(i: number): number | undefined {
    if (i === this.offset) return this.offsetTerm;
    // Stryker disable next-line EqualityOperator: equivalent, i === offset returned on the line above
    if (i < this.offset || i > this.lastIndex()) return undefined;
    return (this.entries[i - this.offset - 1] as Entry).term;
  }

  entry(i: number): Entry | undefined {
    if (i <= this.offset || i > this.lastIndex()) return undefined;
    return this.entries[i - this.offset - 1];
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** §5.4.1: is a log ending at (lastTerm, lastIndex) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries lo … hi inclusive (lo > offset), capped at maxBytes (at least one entry). */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= hi; i++) {
      const e = this.entry(i) as Entry;
      bytes += entrySize(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Leader append of new entries at the end. */
  append(entries: Entry[]): void {
    for (const e of entries) this.entries.push(e);
  }

  /**
   * Follower append (§5.3): if our entry at prevIndex has prevTerm, delete any conflicting suffix and
   * append what is new. Returns the last index known to match the leader, or undefined on mismatch.
   * Throws if a conflict would truncate a committed entry — that is a safety violation, never a branch.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    let conflict = 0;
    // Entries follow prevIndex, and prevIndex matched, so prevIndex ≥ offset: every entry is retained here.
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) {
        conflict = e.index;
        break;
      }
    }
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`raft: entry ${conflict} conflicts with a committed entry (committed ${this.committed})`);
      }
      this.entries.length = conflict - this.offset - 1;
      if (this.stable >= conflict) this.stable = conflict - 1;
      for (const e of entries) if (e.index >= conflict) this.entries.push(e);
    }
    return prevIndex + entries.length;
  }

  commitTo(i: number): void {
    // Stryker disable next-line EqualityOperator: equivalent, commitTo(committed) changes nothing either way (committed ≤ lastIndex)
    if (i > this.committed) {
      if (i > this.lastIndex()) throw new Error(`raft: commit ${i} beyond last index ${this.lastIndex()}`);
      this.committed = i;
    }
  }

  /**
   * Conflict hint for a rejected append at (index, term) (etcd findConflictByTerm): the largest index ≤
   * index whose term is ≤ term. The leader can skip every entry above it in one round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    // Stryker disable next-line EqualityOperator: equivalent, at i = offset the answer is {offset, offsetTerm} either way
    while (i > this.offset) {
      const t = this.term(i) as number;
      if (t <= term) return { index: i, term: t };
      i--;
    }
    return { index: this.offset, term: this.offsetTerm };
  }

  /** Drop retained entries up to and including i (i ≤ applied). */
  compactTo(i: number): void {
    // Stryker disable next-line EqualityOperator: equivalent, compacting to the current point keeps the same log
    if (i <= this.offset) return;
    const term = this.term(i) as number;
    this.entries = this.entries.slice(i - this.offset);
    this.offset = i;
    this.offsetTerm = term;
  }

  /** Replace the whole log by a snapshot's point (§7: discard the log when the snapshot is ahead). */
  restore(index: number, term: number): void {
    this.entries = [];
    this.offset = index;
    this.offsetTerm = term;
    this.committed = index;
    this.stable = index;
  }
}

export function entrySize(e: Entry): number {
  return 16 + (e.type === 'normal' ? e.data.length : 32);
}
