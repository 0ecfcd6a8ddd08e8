/**
 * One conformance suite for every RaftStorage backend (Level/abstract-level test/index.js): each backend's
 * test file calls runConformance with a way to create empty locations, and every case here runs against it.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry, HardState, Snapshot, SnapshotChunk } from '../../src/raft/types.js';
import { wholeSnapshot, type BootState, type RaftStorage } from '../../src/storage/index.js';

export interface StorageLocation {
  /** Open (or reopen, after close) the store at this location with the suite's identity. */
  open(): Promise<RaftStorage>;
}

export interface ConformanceTarget {
  /** A fresh, empty location. */
  create(): Promise<StorageLocation>;
  /** Remove every location created so far. */
  cleanup(): Promise<void>;
  /** fast-check runs for the model test (a disk backend opens a database per run). */
  modelRuns: number;
}

export function entry(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array([index & 0xff, term & 0xff, 0xab]) };
}

export function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

export const conf = { voters: ['n1', 'n2', 'n3'], learners: ['n4'] };

export function snap(index: number, term: number, size = 64): Snapshot {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + i) & 0xff;
  return { meta: { index, term, conf }, data };
}

/** Bytes [offset, offset + length) of `sn` as a received chunk. */
export function chunk(sn: Snapshot, offset: number, length: number): SnapshotChunk {
  return { meta: sn.meta, total: sn.data.length, offset, data: sn.data.slice(offset, offset + length) };
}

/** Everything a restart sees, plus the accepted range, in a comparable form. */
async function state(s: RaftStorage): Promise<{ boot: BootState; first: number; last: number }> {
  return { boot: await s.load(), first: s.firstIndex(), last: s.lastIndex() };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded: ${String(e)}`;
  }
  return 'resolved';
}

export function runConformance(target: ConformanceTarget): void {
  const open: RaftStorage[] = [];
  async function fresh(): Promise<{ loc: StorageLocation; s: RaftStorage }> {
    const loc = await target.create();
    const s = await loc.open();
    open.push(s);
    return { loc, s };
  }
  async function reopen(loc: StorageLocation, s: RaftStorage): Promise<RaftStorage> {
    await s.close();
    const again = await loc.open();
    open.push(again);
    return again;
  }
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    await target.cleanup();
  });

  describe('conformance', () => {
    it('an empty store loads as a fresh node: term 0, no vote, commit 0, no snapshot, no entries', async () => {
      const { loc, s } = await fresh();
      const empty = { hardState: { term: 0, vote: null, commit: 0 }, entries: [] };
      expect(await s.load()).toEqual(empty);
      expect([s.firstIndex(), s.lastIndex()]).toEqual([1, 0]);
      expect(s.snapshotMeta()).toBeUndefined();
      const again = await reopen(loc, s);
      expect(await again.load()).toEqual(empty);
    });

    it('persist then reopen returns the same hard state and entries, bytes and conf changes included', async () => {
      const { loc, s } = await fresh();
      const confEntry: Entry = { index: 4, term: 2, type: 'conf', change: { op: 'addLearner', node: 'n9' } };
      const hs: HardState = { term: 2, vote: 'n2', commit: 3 };
      await s.persist({ entries: ents(1, 3, 1) });
      await s.persist({ hardState: hs, entries: [confEntry, { index: 5, term: 2, type: 'normal', data: new Uint8Array(0) }] });
      const expected: BootState = { hardState: hs, entries: [...ents(1, 3, 1), confEntry, { index: 5, term: 2, type: 'normal', data: new Uint8Array(0) }] };
      expect(await s.load()).toEqual(expected);
      const again = await reopen(loc, s);
      const boot = await again.load();
      expect(boot).toEqual(expected);
      for (const e of boot.entries) if (e.type === 'normal') expect(Object.getPrototypeOf(e.data)).toBe(Uint8Array.prototype);
      expect([again.firstIndex(), again.lastIndex()]).toEqual([1, 5]);
      expect(again.hardState()).toEqual(hs);
    });

    it('entries starting at or below the last index replace the conflicting suffix (§5.3)', async () => {
      const { loc, s } = await fresh();
      await s.persist({ hardState: { term: 1, vote: 'n1', commit: 2 }, entries: ents(1, 6, 1) });
      // Longer replacement: 4..7 of term 2 replace 4..6 of term 1.
      await s.persist({ hardState: { term: 2, vote: null, commit: 2 }, entries: ents(4, 7, 2) });
      expect((await s.load()).entries).toEqual([...ents(1, 3, 1), ...ents(4, 7, 2)]);
      // Shorter replacement: a single entry at 3 cuts 4..7 away.
      await s.persist({ hardState: { term: 3, vote: null, commit: 2 }, entries: [entry(3, 3)] });
      expect(s.lastIndex()).toBe(3);
      const again = await reopen(loc, s);
      expect((await again.load()).entries).toEqual([...ents(1, 2, 1), entry(3, 3)]);
      expect(again.lastIndex()).toBe(3);
      await again.persist({ entries: ents(4, 5, 3) });
      expect((await again.load()).entries).toEqual([...ents(1, 2, 1), ...ents(3, 5, 3)]);
    });

    it('a received snapshot replaces the whole log, and entries in the same batch follow it', async () => {
      const { loc, s } = await fresh();
      await s.persist({ hardState: { term: 1, vote: null, commit: 2 }, entries: ents(1, 5, 1) });
      const sn = snap(8, 3, 5000);
      await s.persist({ ...wholeSnapshot(sn), entries: ents(9, 10, 3), hardState: { term: 3, vote: null, commit: 8 } });
      expect([s.firstIndex(), s.lastIndex()]).toEqual([9, 10]);
      const again = await reopen(loc, s);
      expect(await again.load()).toEqual({ hardState: { term: 3, vote: null, commit: 8 }, snapshot: sn, entries: ents(9, 10, 3) });
      expect(again.snapshotMeta()).toEqual(sn.meta);
      // A snapshot inside the stored log still replaces all of it: the suffix after it may conflict.
      await again.persist({ entries: ents(11, 14, 3) });
      const sn2 = snap(12, 4);
      await again.persist({ ...wholeSnapshot(sn2), hardState: { term: 4, vote: null, commit: 12 } });
      expect([again.firstIndex(), again.lastIndex()]).toEqual([13, 12]);
      const third = await reopen(loc, again);
      expect(await third.load()).toEqual({ hardState: { term: 4, vote: null, commit: 12 }, snapshot: sn2, entries: [] });
      await third.persist({ entries: ents(13, 13, 4) });
      expect((await third.load()).entries).toEqual(ents(13, 13, 4));
    });

    it('a received snapshot is staged chunk by chunk over several batches and installed whole; its bytes read back in ranges', async () => {
      const { loc, s } = await fresh();
      await s.persist({ hardState: { term: 1, vote: null, commit: 2 }, entries: ents(1, 3, 1) });
      const sn = snap(9, 2, 1000);
      await s.persist({ hardState: { term: 2, vote: null, commit: 2 }, snapshotChunks: [chunk(sn, 0, 300)] });
      // Staged bytes are not the node's snapshot: nothing of them is visible yet.
      expect(s.snapshotMeta()).toBeUndefined();
      expect(await s.readSnapshot(9, 0, 10)).toBeUndefined();
      await s.persist({ snapshotChunks: [chunk(sn, 300, 300), chunk(sn, 600, 300)] });
      await s.persist({ snapshotChunks: [chunk(sn, 900, 100)], snapshot: { meta: sn.meta, size: 1000 }, hardState: { term: 2, vote: null, commit: 9 } });
      expect(s.snapshotMeta()).toEqual(sn.meta);
      expect(Buffer.from((await s.readSnapshot(9, 0, 1000)) as Uint8Array)).toEqual(Buffer.from(sn.data));
      expect(Buffer.from((await s.readSnapshot(9, 250, 100)) as Uint8Array)).toEqual(Buffer.from(sn.data.subarray(250, 350)));
      // A range past the end is cut at the end; a range of another snapshot is undefined.
      expect(Buffer.from((await s.readSnapshot(9, 990, 64)) as Uint8Array)).toEqual(Buffer.from(sn.data.subarray(990)));
      expect(await s.readSnapshot(8, 0, 10)).toBeUndefined();
      const again = await reopen(loc, s);
      expect(await again.load()).toEqual({ hardState: { term: 2, vote: null, commit: 9 }, snapshot: sn, entries: [] });
      expect(Buffer.from((await again.readSnapshot(9, 0, 1000)) as Uint8Array)).toEqual(Buffer.from(sn.data));
    });

    it('a transfer starting again at offset 0 replaces the staged bytes; a reopened store has forgotten a partial transfer', async () => {
      const { loc, s } = await fresh();
      await s.persist({ hardState: { term: 1, vote: null, commit: 2 }, entries: ents(1, 3, 1) });
      const older = snap(6, 1, 200);
      const newer = snap(7, 2, 120);
      await s.persist({ snapshotChunks: [chunk(older, 0, 100)] });
      await s.persist({ snapshotChunks: [chunk(newer, 0, 60), chunk(newer, 60, 60)], snapshot: { meta: newer.meta, size: 120 }, hardState: { term: 2, vote: null, commit: 7 } });
      expect(Buffer.from((await s.readSnapshot(7, 0, 120)) as Uint8Array)).toEqual(Buffer.from(newer.data));
      const sn = snap(12, 3, 90);
      await s.persist({ snapshotChunks: [chunk(sn, 0, 40)] });
      const again = await reopen(loc, s);
      const refused = await code(again.persist({ snapshotChunks: [chunk(sn, 40, 50)], snapshot: { meta: sn.meta, size: 90 } }));
      expect(refused).toBe('InvalidArgument');
      expect(await again.load()).toEqual({ hardState: { term: 2, vote: null, commit: 7 }, snapshot: newer, entries: [] });
    });

    it('a snapshot read waits for the writes accepted before it: a snapshot saved and read at once reads its own bytes', async () => {
      const { s } = await fresh();
      await s.persist({ hardState: { term: 1, vote: null, commit: 4 }, entries: ents(1, 4, 1) });
      const sn = snap(4, 1, 500);
      const saved = s.saveSnapshot(sn);
      const read = s.readSnapshot(4, 100, 50);
      await saved;
      expect(Buffer.from((await read) as Uint8Array)).toEqual(Buffer.from(sn.data.subarray(100, 150)));
    });

    it('a local snapshot keeps the log; compaction drops only entries the snapshot covers', async () => {
      const { loc, s } = await fresh();
      await s.persist({ hardState: { term: 2, vote: 'n1', commit: 8 }, entries: [...ents(1, 4, 1), ...ents(5, 10, 2)] });
      const sn = snap(6, 2, 3000);
      await s.saveSnapshot(sn);
      expect([s.firstIndex(), s.lastIndex()]).toEqual([1, 10]);
      expect(await s.load()).toEqual({ hardState: { term: 2, vote: 'n1', commit: 8 }, snapshot: sn, entries: ents(7, 10, 2) });
      await s.compact(4); // keep a trailing window 5..6 for slow followers
      expect([s.firstIndex(), s.lastIndex()]).toEqual([5, 10]);
      const again = await reopen(loc, s);
      expect([again.firstIndex(), again.lastIndex()]).toEqual([5, 10]);
      expect((await again.load()).entries).toEqual(ents(7, 10, 2));
      await again.compact(2); // already gone: nothing to do
      expect(again.firstIndex()).toBe(5);
      await again.compact(6);
      expect([again.firstIndex(), again.lastIndex()]).toEqual([7, 10]);
      const third = await reopen(loc, again);
      expect([third.firstIndex(), third.lastIndex()]).toEqual([7, 10]);
      expect(await third.load()).toEqual({ hardState: { term: 2, vote: 'n1', commit: 8 }, snapshot: sn, entries: ents(7, 10, 2) });
    });

    it('a compaction grouped with new entries: both land, and the log reopens contiguous', async () => {
      const { loc, s } = await fresh();
      await s.persist({ hardState: { term: 1, vote: null, commit: 300 }, entries: ents(1, 300, 1) });
      await s.saveSnapshot(snap(250, 1));
      // Issued together, so a store that groups writes writes them as one group.
      await Promise.all([s.compact(200), s.persist({ entries: ents(301, 310, 1) }), s.persist({ hardState: { term: 1, vote: null, commit: 310 } })]);
      expect([s.firstIndex(), s.lastIndex()]).toEqual([201, 310]);
      const again = await reopen(loc, s);
      expect([again.firstIndex(), again.lastIndex()]).toEqual([201, 310]);
      expect((await again.load()).entries).toEqual(ents(251, 310, 1));
    });

    it('compacting up to a snapshot at the last index leaves an empty log that continues after it', async () => {
      const { loc, s } = await fresh();
      await s.persist({ hardState: { term: 1, vote: null, commit: 5 }, entries: ents(1, 5, 1) });
      await s.saveSnapshot(snap(5, 1));
      await s.compact(5);
      expect([s.firstIndex(), s.lastIndex()]).toEqual([6, 5]);
      const again = await reopen(loc, s);
      expect([again.firstIndex(), again.lastIndex()]).toEqual([6, 5]);
      await again.persist({ entries: ents(6, 7, 2) });
      expect((await again.load()).entries).toEqual(ents(6, 7, 2));
    });

    it('group commit: persists issued while one is in flight are written together, resolve in call order, and are all durable', async () => {
      const { loc, s } = await fresh();
      const before = s.stats();
      const order: number[] = [];
      const calls = [
        s.persist({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: ents(1, 2, 1) }).then(() => order.push(1)),
        s.persist({ entries: ents(3, 4, 1) }).then(() => order.push(2)),
        s.persist({ hardState: { term: 1, vote: 'n1', commit: 3 }, entries: ents(5, 5, 1) }).then(() => order.push(3)),
        s.persist({ entries: [entry(5, 2)] }).then(() => order.push(4)),
      ];
      // Accepted state moves at call time, before anything is durable.
      expect(s.lastIndex()).toBe(5);
      await Promise.all(calls);
      expect(order).toEqual([1, 2, 3, 4]);
      const after = s.stats();
      expect(after.calls - before.calls).toBe(4);
      // The first call goes out alone (nothing was in flight); the three queued behind it share one write.
      expect(after.writes - before.writes).toBe(2);
      const again = await reopen(loc, s);
      expect(await again.load()).toEqual({ hardState: { term: 1, vote: 'n1', commit: 3 }, entries: [...ents(1, 4, 1), entry(5, 2)] });
    });

    it('term, vote, entries and snapshots are synced (MustSync); a write that only moves the commit index, staged chunks and a compaction are not', async () => {
      const { loc, s } = await fresh();
      const synced = async (write: () => Promise<void>): Promise<boolean> => {
        const before = s.stats();
        await write();
        const after = s.stats();
        expect(after.writes - before.writes).toBe(1);
        return after.syncs - before.syncs === 1;
      };
      expect(await synced(() => s.persist({ hardState: { term: 1, vote: null, commit: 0 } }))).toBe(true);
      expect(await synced(() => s.persist({ hardState: { term: 1, vote: 'n1', commit: 0 } }))).toBe(true);
      expect(await synced(() => s.persist({ entries: ents(1, 4, 1) }))).toBe(true);
      expect(await synced(() => s.persist({ hardState: { term: 1, vote: 'n1', commit: 2 } }))).toBe(false);
      expect(await synced(() => s.persist({ hardState: { term: 1, vote: 'n1', commit: 3 } }))).toBe(false);
      expect(await synced(() => s.persist({ hardState: { term: 2, vote: null, commit: 3 } }))).toBe(true);
      expect(await synced(() => s.saveSnapshot(snap(3, 1)))).toBe(true);
      // Losing a compaction only leaves entries the snapshot covers, as an uncompacted store holds them.
      expect(await synced(() => s.compact(2))).toBe(false);
      const sn = snap(9, 2, 100);
      expect(await synced(() => s.persist({ snapshotChunks: [chunk(sn, 0, 100)] }))).toBe(false);
      expect(await synced(() => s.persist({ snapshot: { meta: sn.meta, size: 100 } }))).toBe(true);
      // Unsynced is still written: a reopen (a process restart) reads the last commit index back.
      await s.persist({ hardState: { term: 2, vote: null, commit: 9 } });
      const again = await reopen(loc, s);
      expect((await again.load()).hardState).toEqual({ term: 2, vote: null, commit: 9 });
    });

    it('a load queued between writes sees exactly the writes accepted before it', async () => {
      const { s } = await fresh();
      const p1 = s.persist({ entries: ents(1, 2, 1) });
      const p2 = s.persist({ entries: ents(3, 3, 1) });
      const seen = s.load();
      const p3 = s.persist({ entries: ents(4, 5, 1) });
      await Promise.all([p1, p2, p3]);
      expect((await seen).entries).toEqual(ents(1, 3, 1));
      expect((await s.load()).entries).toEqual(ents(1, 5, 1));
    });

    describe('invalid arguments are refused with InvalidArgument and change nothing', () => {
      // State: entries 1..4 of term 1, 5..8 of term 2; term 2, vote n1, commit 6; local snapshot at 3.
      async function setup(): Promise<{ loc: StorageLocation; s: RaftStorage }> {
        const f = await fresh();
        await f.s.persist({ hardState: { term: 2, vote: 'n1', commit: 6 }, entries: [...ents(1, 4, 1), ...ents(5, 8, 2)] });
        await f.s.saveSnapshot(snap(3, 1));
        return f;
      }
      const bad = (v: unknown): never => v as never;
      const cases: Array<[string, (s: RaftStorage) => Promise<unknown>, RegExp]> = [
        ['non-contiguous entries', (s) => s.persist({ entries: [entry(9, 2), entry(11, 2)] }), /entries\[1\].*contiguous/],
        ['entries starting beyond last + 1', (s) => s.persist({ entries: [entry(10, 2)] }), /gap after the last index 8/],
        ['entries whose terms decrease', (s) => s.persist({ entries: [entry(9, 3), entry(10, 2)] }), /term 2 is below/],
        ['an entry with a term below its predecessor in the log', (s) => s.persist({ entries: [entry(9, 1)] }), /below the term 2 of entry 8/],
        ['entries rewriting committed entries', (s) => s.persist({ entries: [entry(6, 3)] }), /committed/],
        ['entries covered by the snapshot', (s) => s.persist({ entries: [entry(2, 3)] }), /covered by the snapshot at 3/],
        ['an entry with index 0', (s) => s.persist({ entries: [entry(0, 2)] }), /entries\[0\]\.index/],
        ['an entry whose data is not bytes', (s) => s.persist({ entries: [bad({ index: 9, term: 2, type: 'normal', data: 'x' })] }), /data/],
        ['an entry of unknown type', (s) => s.persist({ entries: [bad({ index: 9, term: 2, type: 'weird' })] }), /type/],
        ['a conf change with an unknown op', (s) => s.persist({ entries: [bad({ index: 9, term: 2, type: 'conf', change: { op: 'promote', node: 'n5' } })] }), /change\.op/],
        ['entries that are not an array', (s) => s.persist({ entries: bad('nope') }), /entries/],
        ['a misspelt batch field', (s) => s.persist(bad({ hardstate: { term: 3, vote: null, commit: 6 } })), /unknown field.*hardstate/],
        ['a term going back', (s) => s.persist({ hardState: { term: 1, vote: null, commit: 6 } }), /below the stored term 2/],
        ['a second vote in the same term', (s) => s.persist({ hardState: { term: 2, vote: 'n3', commit: 6 } }), /one vote per term/],
        ['a commit beyond the last index', (s) => s.persist({ hardState: { term: 2, vote: 'n1', commit: 9 } }), /commit 9 is beyond the last index 8/],
        ['a truncation below the stored commit', (s) => s.persist({ hardState: { term: 3, vote: null, commit: 6 }, entries: [entry(7, 3)] }).then(() => s.persist({ entries: [entry(5, 4)] })), /committed/],
        ['a negative commit', (s) => s.persist({ hardState: { term: 2, vote: 'n1', commit: -1 } }), /commit/],
        ['an empty vote string', (s) => s.persist({ hardState: { term: 3, vote: '', commit: 6 } }), /vote/],
        ['a received snapshot older than the stored one', (s) => s.persist(wholeSnapshot(snap(2, 1))), /not newer than the stored snapshot at 3/],
        ['a received snapshot equal to the stored one', (s) => s.persist(wholeSnapshot(snap(3, 1))), /not newer/],
        ['a received snapshot below the commit index', (s) => s.persist(wholeSnapshot(snap(5, 2))), /below the stored commit index 6/],
        ['a received snapshot followed by entries that leave a gap', (s) => s.persist({ ...wholeSnapshot(snap(10, 3)), entries: [entry(12, 3)], hardState: { term: 3, vote: null, commit: 10 } }), /gap after the last index 10/],
        ['a snapshot whose conf lists a node as voter and learner', (s) => s.persist({ snapshot: { meta: { index: 10, term: 3, conf: { voters: ['a'], learners: ['a'] } }, size: 1 } }), /both voter and learner/],
        ['a snapshot install carrying its bytes instead of staging them', (s) => s.persist({ snapshot: bad(snap(10, 3)) }), /unknown field.*data/],
        ['a snapshot install with nothing staged', (s) => s.persist({ snapshot: { meta: snap(10, 3).meta, size: 64 } }), /installs snapshot 10\/3 of 64 bytes, but the staged chunks hold nothing/],
        ['a snapshot install of a partly staged snapshot', (s) => s.persist({ snapshotChunks: [chunk(snap(10, 3), 0, 32)], snapshot: { meta: snap(10, 3).meta, size: 64 } }), /staged chunks hold snapshot 10\/3, 32 of 64 bytes/],
        ['a snapshot install of another staged snapshot', (s) => s.persist({ snapshotChunks: [chunk(snap(11, 3), 0, 64)], snapshot: { meta: snap(10, 3).meta, size: 64 } }), /staged chunks hold snapshot 11\/3/],
        ['a chunk without data bytes', (s) => s.persist({ snapshotChunks: [bad({ meta: snap(10, 3).meta, total: 2, offset: 0, data: [1, 2] })] }), /snapshotChunks\[0\]\.data/],
        ['a chunk continuing a transfer that is not staged', (s) => s.persist({ snapshotChunks: [chunk(snap(10, 3), 8, 8)] }), /not the one staged/],
        ['a chunk that skips bytes', (s) => s.persist({ snapshotChunks: [chunk(snap(10, 3), 0, 8), chunk(snap(10, 3), 16, 8)] }), /snapshotChunks\[1\]\.offset: 16 is not where the staged bytes end \(8\)/],
        ['a chunk running past the snapshot', (s) => s.persist({ snapshotChunks: [{ meta: snap(10, 3).meta, total: 4, offset: 0, data: new Uint8Array(5) }] }), /run past the snapshot's 4 bytes/],
        ['chunks that are not an array', (s) => s.persist({ snapshotChunks: bad('nope') }), /snapshotChunks/],
        ['a snapshot read at a negative offset', (s) => s.readSnapshot(3, -1, 8), /readSnapshot offset/],
        ['a snapshot read of a fractional length', (s) => s.readSnapshot(3, 0, 1.5), /readSnapshot length/],
        ['a local snapshot older than the stored one', (s) => s.saveSnapshot(snap(2, 1)), /not newer/],
        ['a local snapshot of uncommitted state', (s) => s.saveSnapshot(snap(7, 2)), /beyond the stored commit index 6/],
        ['a local snapshot with the wrong term', (s) => s.saveSnapshot(snap(5, 1)), /differs from the stored entry 5's term 2/],
        ['compaction beyond the last index', (s) => s.compact(9), /beyond the last index 8/],
        ['compaction beyond the snapshot', (s) => s.compact(4), /beyond the snapshot index 3/],
        ['compaction to a negative index', (s) => s.compact(-1), /compact upTo/],
        ['compaction to a fraction', (s) => s.compact(1.5), /compact upTo/],
      ];
      for (const [name, call, message] of cases) {
        it(name, async () => {
          const { loc, s } = await setup();
          const before = await state(s);
          const calls = s.stats().calls;
          const hs = s.hardState();
          let err: unknown;
          try {
            await call(s);
          } catch (e) {
            err = e;
          }
          expect(err).toMatchObject({ name: 'StorageError', code: 'InvalidArgument' });
          expect((err as Error).message).toMatch(message);
          // The truncation case accepts one valid call first; compare against what that call left.
          if (name !== 'a truncation below the stored commit') {
            expect(await state(s)).toEqual(before);
            expect(s.hardState()).toEqual(hs);
            expect(s.stats().calls).toBe(calls);
            const again = await reopen(loc, s);
            expect(await state(again)).toEqual(before);
          } else {
            expect(s.lastIndex()).toBe(7);
            expect(s.stats().calls).toBe(calls + 1);
          }
        });
      }
    });

    it('after close every call is refused with StorageClosed; writes accepted before close are durable', async () => {
      const { loc, s } = await fresh();
      const pending = s.persist({ hardState: { term: 1, vote: null, commit: 0 }, entries: ents(1, 3, 1) });
      const closing = s.close();
      expect(await code(s.persist({ entries: ents(4, 4, 1) }))).toBe('StorageClosed');
      await pending;
      await closing;
      await s.close(); // idempotent
      expect(await code(s.persist({ entries: ents(4, 4, 1) }))).toBe('StorageClosed');
      expect(await code(s.saveSnapshot(snap(1, 1)))).toBe('StorageClosed');
      expect(await code(s.compact(0))).toBe('StorageClosed');
      expect(await code(s.load())).toBe('StorageClosed');
      const again = await loc.open();
      open.push(again);
      expect((await again.load()).entries).toEqual(ents(1, 3, 1));
    });

    it('agrees with a naive model on random operation streams, across reopens', async () => {
      type Op =
        | { kind: 'append'; back: number; count: number; bump: boolean; commitAdvance: number }
        | { kind: 'vote'; node: string }
        | { kind: 'snapshotLocal'; back: number }
        | { kind: 'compact'; back: number }
        | { kind: 'receive'; ahead: number; count: number }
        | { kind: 'reopen' };
      const opArb: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ kind: fc.constant('append' as const), back: fc.nat(4), count: fc.integer({ min: 0, max: 4 }), bump: fc.boolean(), commitAdvance: fc.nat(3) }),
        fc.record({ kind: fc.constant('vote' as const), node: fc.constantFrom('n1', 'n2', 'n3') }),
        fc.record({ kind: fc.constant('snapshotLocal' as const), back: fc.nat(3) }),
        fc.record({ kind: fc.constant('compact' as const), back: fc.nat(3) }),
        fc.record({ kind: fc.constant('receive' as const), ahead: fc.integer({ min: 1, max: 5 }), count: fc.nat(2) }),
        fc.constant({ kind: 'reopen' as const }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
          const loc = await target.create();
          let s = await loc.open();
          // Naive model: the whole log as an index → term map, plus hard state and snapshot.
          let log = new Map<number, number>();
          let hs: HardState = { term: 1, vote: null, commit: 0 };
          let sn: Snapshot | undefined;
          let first = 1;
          const last = (): number => Math.max(sn?.meta.index ?? 0, ...log.keys());
          const termAt = (i: number): number => (i === 0 ? 0 : (log.get(i) ?? (sn && sn.meta.index === i ? sn.meta.term : -1)));
          try {
            await s.persist({ hardState: hs });
            for (const op of ops) {
              const calls: Array<Promise<void>> = [];
              if (op.kind === 'append') {
                // Start at or below last + 1 but never at or below the commit index (those are fixed).
                const start = Math.max(hs.commit + 1, last() + 1 - op.back);
                if (op.bump) hs = { term: hs.term + 1, vote: null, commit: hs.commit };
                const term = Math.max(hs.term, termAt(start - 1));
                hs = { ...hs, term };
                const added = ents(start, start + op.count - 1, term);
                for (const k of [...log.keys()]) if (k >= start && op.count > 0) log.delete(k);
                for (const e of added) log.set(e.index, e.term);
                const newLast = last();
                hs = { ...hs, commit: Math.min(newLast, hs.commit + op.commitAdvance) };
                calls.push(s.persist({ hardState: hs, entries: added }));
              } else if (op.kind === 'vote') {
                hs = { term: hs.term + 1, vote: op.node, commit: hs.commit };
                calls.push(s.persist({ hardState: hs }));
              } else if (op.kind === 'snapshotLocal') {
                const at = hs.commit - op.back;
                if (at > (sn?.meta.index ?? 0) && log.has(at)) {
                  sn = snap(at, log.get(at) as number, 16);
                  calls.push(s.saveSnapshot(sn));
                }
              } else if (op.kind === 'compact') {
                const upTo = (sn?.meta.index ?? 0) - op.back;
                if (upTo >= 0) {
                  for (const k of [...log.keys()]) if (k <= upTo) log.delete(k);
                  calls.push(s.compact(upTo));
                }
              } else if (op.kind === 'receive') {
                const at = Math.max(hs.commit, last()) + op.ahead;
                const term = Math.max(hs.term, termAt(last()));
                hs = { term, vote: hs.vote, commit: at };
                sn = snap(at, term, 16);
                const added = ents(at + 1, at + op.count, term);
                log = new Map(added.map((e) => [e.index, e.term]));
                calls.push(s.persist({ ...wholeSnapshot(sn), entries: added, hardState: hs }));
              } else {
                await s.close();
                s = await loc.open();
              }
              await Promise.all(calls);
              first = log.size === 0 ? last() + 1 : Math.min(...log.keys());
              expect([s.firstIndex(), s.lastIndex()]).toEqual([first, last()]);
            }
            await s.close();
            s = await loc.open();
            const snapIndex = sn?.meta.index ?? 0;
            const expected: BootState = {
              hardState: hs,
              ...(sn ? { snapshot: sn } : {}),
              entries: [...log.entries()].filter(([i]) => i > snapIndex).sort((a, b) => a[0] - b[0]).map(([i, t]) => entry(i, t)),
            };
            expect(await s.load()).toEqual(expected);
            expect([s.firstIndex(), s.lastIndex()]).toEqual([first, last()]);
          } finally {
            await s.close();
          }
        }),
        { numRuns: target.modelRuns },
      );
    });
  });
}
