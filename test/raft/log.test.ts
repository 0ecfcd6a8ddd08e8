/**
 * Table tests of RaftLog in the spirit of etcd-io/raft log_test.go: each row is a log, an operation, and
 * what the log must look like afterwards.
 */
import { describe, expect, it } from 'vitest';
import { RaftLog, entrySize } from '../../src/raft/log.js';
import type { Entry } from '../../src/raft/types.js';

/** Entries offset+1 … with the given terms. */
function ents(terms: number[], offset = 0): Entry[] {
  return terms.map((term, i) => ({ term, index: offset + 1 + i, type: 'normal', data: new Uint8Array([offset + 1 + i]) }));
}

function terms(log: RaftLog): number[] {
  return log.entries.map((e) => e.term);
}

describe('RaftLog.maybeAppend (§5.3 AppendEntries receiver rules 2–4)', () => {
  // Log [1,2,3] committed at 1 (etcd TestLogMaybeAppend, committed lowered to make truncation legal).
  const cases: Array<{ name: string; prevIndex: number; prevTerm: number; add: Entry[]; last: number | undefined; after: number[]; stable?: number }> = [
    { name: 'prev term mismatch: refused, log untouched', prevIndex: 3, prevTerm: 2, add: ents([4], 3), last: undefined, after: [1, 2, 3] },
    { name: 'prev beyond the end: refused', prevIndex: 4, prevTerm: 3, add: ents([4], 4), last: undefined, after: [1, 2, 3] },
    { name: 'prev at the end, nothing new: matches to 3', prevIndex: 3, prevTerm: 3, add: [], last: 3, after: [1, 2, 3] },
    { name: 'prev at the end, one new entry appended', prevIndex: 3, prevTerm: 3, add: ents([4], 3), last: 4, after: [1, 2, 3, 4] },
    { name: 'prev in the middle, entries already present: nothing changes, last = prev + n', prevIndex: 1, prevTerm: 1, add: ents([2], 1), last: 2, after: [1, 2, 3] },
    { name: 'prev in the middle, nothing sent: the suffix is kept (it may be newer than this message)', prevIndex: 1, prevTerm: 1, add: [], last: 1, after: [1, 2, 3] },
    { name: 'conflict at 3: the suffix from 3 is replaced', prevIndex: 2, prevTerm: 2, add: ents([4, 4], 2), last: 4, after: [1, 2, 4, 4], stable: 2 },
    { name: 'conflict at 2: everything from 2 is replaced', prevIndex: 1, prevTerm: 1, add: ents([4, 4], 1), last: 3, after: [1, 4, 4], stable: 1 },
    { name: 'a matching prefix then a conflict: only the conflicting part is replaced', prevIndex: 1, prevTerm: 1, add: [...ents([2], 1), ...ents([5], 2)], last: 3, after: [1, 2, 5], stable: 2 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const log = new RaftLog(0, 0, ents([1, 2, 3]), 1);
      expect(log.maybeAppend(c.prevIndex, c.prevTerm, c.add)).toBe(c.last);
      expect(terms(log)).toEqual(c.after);
      // A truncation forgets that the replaced entries were persisted: they must be written again.
      expect(log.stable).toBe(c.stable ?? 3);
    });
  }
  it('throws rather than truncate a committed entry (a safety violation, never a branch)', () => {
    const log = new RaftLog(0, 0, ents([1, 2, 3]), 2);
    expect(() => log.maybeAppend(1, 1, ents([4], 1))).toThrow(/conflicts with a committed entry/);
    expect(terms(log)).toEqual([1, 2, 3]);
  });
  it('a conflict just above the commit index is allowed', () => {
    const log = new RaftLog(0, 0, ents([1, 2, 3]), 2);
    expect(log.maybeAppend(2, 2, ents([4], 2))).toBe(3);
    expect(terms(log)).toEqual([1, 2, 4]);
  });
  it('entries at or below the compaction point are skipped (committed, hence equal by Log Matching)', () => {
    const log = new RaftLog(5, 2, ents([2, 3], 5), 5);
    // prev at 4 is compacted (term unknown) → refused; prev at the compaction point matches.
    expect(log.maybeAppend(4, 2, ents([2, 2, 3], 4))).toBeUndefined();
    expect(log.maybeAppend(5, 2, ents([2, 3, 3], 5))).toBe(8);
    expect(log.lastIndex()).toBe(8);
    expect(log.offset).toBe(5);
  });
});

describe('RaftLog.term / matchTerm / entry', () => {
  const log = new RaftLog(3, 2, ents([2, 3, 3], 3), 3);
  const rows: Array<[number, number | undefined]> = [
    [2, undefined], // compacted
    [3, 2], // the compaction point keeps its term
    [4, 2],
    [6, 3],
    [7, undefined], // beyond the end
  ];
  for (const [i, t] of rows) {
    it(`term(${i}) = ${t}`, () => {
      expect(log.term(i)).toBe(t);
      if (t !== undefined) expect(log.matchTerm(i, t)).toBe(true);
      expect(log.matchTerm(i, 99)).toBe(false);
    });
  }
  it('entry() is undefined at and below the compaction point and past the end', () => {
    expect(log.entry(3)).toBeUndefined();
    expect(log.entry(7)).toBeUndefined();
    expect(log.entry(4)?.index).toBe(4);
    expect(log.lastIndex()).toBe(6);
    expect(log.lastTerm()).toBe(3);
  });
});

describe('RaftLog.isUpToDate (§5.4.1)', () => {
  const log = new RaftLog(0, 0, ents([1, 2, 2]), 0); // last 3/2
  const rows: Array<[number, number, boolean, string]> = [
    [1, 3, true, 'later last term wins even when shorter'],
    [5, 1, false, 'earlier last term loses even when longer'],
    [3, 2, true, 'same term, same length'],
    [4, 2, true, 'same term, longer'],
    [2, 2, false, 'same term, shorter'],
  ];
  for (const [lastIndex, lastTerm, want, name] of rows) {
    it(`${name}: ${lastIndex}/${lastTerm} → ${want}`, () => expect(log.isUpToDate(lastIndex, lastTerm)).toBe(want));
  }
});

describe('RaftLog.slice (byte-capped, at least one entry)', () => {
  const log = new RaftLog(0, 0, ents([1, 1, 1, 1]), 0);
  const one = entrySize(log.entries[0] as Entry);
  const rows: Array<[number, number, number, number[]]> = [
    [1, 4, Infinity, [1, 2, 3, 4]],
    [2, 3, Infinity, [2, 3]],
    [1, 4, one * 2, [1, 2]],
    [1, 4, one * 2 - 1, [1]],
    [1, 4, 0, [1]], // one entry always goes, or a large entry could never be sent
  ];
  for (const [lo, hi, max, want] of rows) {
    it(`slice(${lo}, ${hi}, ${max}) → ${want.join(',')}`, () => expect(log.slice(lo, hi, max).map((e) => e.index)).toEqual(want));
  }
});

describe('RaftLog.findConflictByTerm (fast backtracking hint)', () => {
  // etcd TestFindConflictByTerm: log after compaction point 0 with terms [2,2,5,5,5] at 1..5
  const log = new RaftLog(0, 0, ents([2, 2, 5, 5, 5]), 0);
  const rows: Array<[number, number, number, number]> = [
    [5, 6, 5, 5], // our term at 5 ≤ 6
    [5, 5, 5, 5],
    [5, 4, 2, 2], // skip every entry of term 5
    [5, 2, 2, 2],
    [5, 1, 0, 0], // nothing ≤ 1: the compaction point
    [9, 5, 5, 5], // an index past our end starts from our last entry
    [1, 2, 1, 2],
  ];
  for (const [index, term, wantIndex, wantTerm] of rows) {
    it(`(${index}, ${term}) → ${wantIndex}/${wantTerm}`, () => expect(log.findConflictByTerm(index, term)).toEqual({ index: wantIndex, term: wantTerm }));
  }
  it('stops at the compaction point of a compacted log', () => {
    const c = new RaftLog(3, 2, ents([5, 5], 3), 3);
    expect(c.findConflictByTerm(5, 4)).toEqual({ index: 3, term: 2 });
  });
});

describe('RaftLog.commitTo / compactTo / restore', () => {
  it('commit never moves back and never past the last index', () => {
    const log = new RaftLog(0, 0, ents([1, 1, 1]), 1);
    log.commitTo(3);
    expect(log.committed).toBe(3);
    log.commitTo(2);
    expect(log.committed).toBe(3);
    expect(() => log.commitTo(4)).toThrow(/beyond last index/);
  });
  it('compactTo keeps the term of the new compaction point and the entries after it', () => {
    const log = new RaftLog(0, 0, ents([1, 2, 3, 4]), 4);
    log.compactTo(2);
    expect([log.offset, log.offsetTerm, log.lastIndex()]).toEqual([2, 2, 4]);
    expect(terms(log)).toEqual([3, 4]);
    log.compactTo(1); // already compacted further: no-op
    expect([log.offset, log.offsetTerm]).toEqual([2, 2]);
    log.compactTo(4); // everything
    expect([log.offset, log.offsetTerm, log.lastIndex(), log.lastTerm()]).toEqual([4, 4, 4, 4]);
  });
  it('restore replaces the log by the snapshot point, committed and persisted there', () => {
    const log = new RaftLog(0, 0, ents([1, 1]), 1);
    log.restore(10, 3);
    expect([log.offset, log.offsetTerm, log.lastIndex(), log.committed, log.stable, log.entries.length]).toEqual([10, 3, 10, 10, 10, 0]);
    expect(log.term(10)).toBe(3);
  });
});
