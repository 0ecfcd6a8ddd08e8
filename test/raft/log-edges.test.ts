/**
 * RaftLog edges the table tests do not reach: a compacted log's boundaries, a truncation that must not
 * claim unpersisted entries are on disk, and compacting more than once.
 */
import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../src/raft/log.js';
import type { Entry } from '../../src/raft/types.js';

function ents(terms: number[], offset = 0): Entry[] {
  return terms.map((term, i) => ({ term, index: offset + 1 + i, type: 'normal', data: new Uint8Array([offset + 1 + i]) }));
}

describe('RaftLog edges', () => {
  it('entry(): nothing at or below the compaction point, nothing past the end', () => {
    const log = new RaftLog(5, 2, ents([2, 3, 3], 5), 5);
    expect(log.entry(5)).toBeUndefined();
    expect(log.entry(4)).toBeUndefined();
    expect(log.entry(6)?.index).toBe(6);
    expect(log.entry(8)?.index).toBe(8);
    expect(log.entry(9)).toBeUndefined();
    expect(log.term(5)).toBe(2);
    expect(log.term(4)).toBeUndefined();
    expect(log.term(9)).toBeUndefined();
  });

  it('a truncation past what is persisted leaves the persisted mark where it was', () => {
    // Entries 1…6 in memory, only 1…3 on disk; the leader replaces 5…6.
    const log = new RaftLog(0, 0, ents([1, 1, 1, 1, 1, 1]), 0);
    log.stable = 3;
    expect(log.maybeAppend(4, 1, ents([2], 4))).toBe(5);
    expect(log.entries.map((e) => e.term)).toEqual([1, 1, 1, 1, 2]);
    expect(log.stable).toBe(3);
  });

  it('a truncation below what is persisted pulls the persisted mark back to just before the conflict', () => {
    const log = new RaftLog(0, 0, ents([1, 1, 1, 1]), 0);
    expect(log.stable).toBe(4);
    log.maybeAppend(2, 1, ents([2], 2));
    expect(log.stable).toBe(2);
  });

  it('compacting twice keeps exactly the entries after the second point', () => {
    const log = new RaftLog(0, 0, ents([1, 1, 2, 2, 3, 3, 3, 4]), 8);
    log.applied = 8;
    log.compactTo(3);
    log.compactTo(6);
    expect(log.offset).toBe(6);
    expect(log.offsetTerm).toBe(3);
    expect(log.entries.map((e) => e.index)).toEqual([7, 8]);
    expect(log.lastIndex()).toBe(8);
    log.compactTo(6); // no-op at the current point
    expect(log.entries.map((e) => e.index)).toEqual([7, 8]);
  });

  it('findConflictByTerm on a compacted log never looks below the compaction point', () => {
    const log = new RaftLog(4, 3, ents([5, 5], 4), 4);
    expect(log.findConflictByTerm(6, 4)).toEqual({ index: 4, term: 3 });
    expect(log.findConflictByTerm(6, 2)).toEqual({ index: 4, term: 3 });
  });
});
