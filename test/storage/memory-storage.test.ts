/** MemoryStorage's fault hooks: what the deterministic simulator will drive. */
import { describe, expect, it } from 'vitest';
import { MemoryDisk, MemoryStorage, StorageError } from '../../src/storage/index.js';
import { ents, snap } from './conformance.js';

const id = { clusterId: 'c1', nodeId: 'n1' };

async function settledCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof StorageError ? e.code : `other: ${String(e)}`;
  }
}

/** Let promise continuations run (microtasks only: no timers). */
async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('MemoryStorage, manual writes', () => {
  it('a write completes only when the simulator says so, and the next group is in flight when it returns', async () => {
    const disk = new MemoryDisk();
    const s = await MemoryStorage.open(disk, id, { writes: 'manual' });
    const done: number[] = [];
    const p1 = s.persist({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: ents(1, 1, 1) }).then(() => done.push(1));
    const p2 = s.persist({ entries: ents(2, 2, 1) }).then(() => done.push(2));
    const p3 = s.persist({ entries: ents(3, 4, 1) }).then(() => done.push(3));
    expect(s.pendingWrite()).toBe(1);
    await drainMicrotasks();
    expect(done).toEqual([]);
    expect(disk.entries).toEqual([]);

    expect(s.completeWrite()).toBe(true);
    expect(disk.entries.map((e) => e.index)).toEqual([1]); // durable at the instant completeWrite ran
    expect(s.pendingWrite()).toBe(2); // p2 and p3 form the next group
    await p1;
    expect(done).toEqual([1]);

    expect(s.completeWrite()).toBe(true);
    await Promise.all([p2, p3]);
    expect(done).toEqual([1, 2, 3]);
    expect(s.completeWrite()).toBe(false);
    expect(s.stats()).toEqual({ calls: 3, writes: 2, syncs: 2 });
    await s.close();
    expect(await settledCode(s.persist({ entries: ents(5, 5, 1) }))).toBe('StorageClosed');
  });

  it('a crash loses the write in flight and everything queued; acknowledged writes survive', async () => {
    const disk = new MemoryDisk();
    const s = await MemoryStorage.open(disk, id, { writes: 'manual' });
    const acked = s.persist({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: ents(1, 2, 1) });
    s.completeWrite();
    await acked;
    const inFlight = s.persist({ entries: ents(3, 3, 1) });
    const queued = s.persist({ hardState: { term: 2, vote: 'n2', commit: 1 } });
    expect(s.pendingWrite()).toBe(1);
    s.crash();
    expect(await settledCode(inFlight)).toBe('StorageClosed');
    expect(await settledCode(queued)).toBe('StorageClosed');
    expect(s.completeWrite()).toBe(false);
    expect(await settledCode(s.load())).toBe('StorageClosed');

    const again = await MemoryStorage.open(disk, id);
    expect(await again.load()).toEqual({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: ents(1, 2, 1) });
    // The lost vote is not on disk, so the restarted node may vote again in term 2.
    await again.persist({ hardState: { term: 2, vote: 'n3', commit: 1 } });
    await again.close();
  });

  it('a crash in immediate mode loses a write whose microtask has not run yet', async () => {
    const disk = new MemoryDisk();
    const s = await MemoryStorage.open(disk, id);
    const p = s.persist({ entries: ents(1, 1, 1) });
    s.crash();
    expect(await settledCode(p)).toBe('StorageClosed');
    expect(disk.entries).toEqual([]);
  });

  it('a failed write rejects its group and the queued calls with StorageIo, writes nothing, and refuses further use', async () => {
    const disk = new MemoryDisk();
    const s = await MemoryStorage.open(disk, id, { writes: 'manual' });
    const ok = s.persist({ entries: ents(1, 1, 1) });
    s.completeWrite();
    await ok;
    const a = s.persist({ entries: ents(2, 2, 1) });
    const b = s.persist({ entries: ents(3, 3, 1) });
    expect(s.failWrite('disk full')).toBe(true);
    const [ea, eb] = await Promise.all([a.catch((e: unknown) => e), b.catch((e: unknown) => e)]);
    expect(ea).toMatchObject({ code: 'StorageIo', message: 'write failed: disk full' });
    expect(eb).toMatchObject({ code: 'StorageIo' });
    expect((eb as Error).message).toMatch(/not written: an earlier write failed/);
    expect(await settledCode(s.persist({ entries: ents(4, 4, 1) }))).toBe('StorageIo');
    expect(await settledCode(s.load())).toBe('StorageIo');
    expect(disk.entries.map((e) => e.index)).toEqual([1]);
    await s.close();
    const again = await MemoryStorage.open(disk, id);
    expect((await again.load()).entries).toEqual(ents(1, 1, 1));
  });

  it('failNextWrite fails exactly the next group in immediate mode', async () => {
    const disk = new MemoryDisk();
    const s = await MemoryStorage.open(disk, id);
    await s.persist({ entries: ents(1, 1, 1) });
    s.failNextWrite('EIO');
    expect(await settledCode(s.persist({ entries: ents(2, 2, 1) }))).toBe('StorageIo');
    await s.close();
    const again = await MemoryStorage.open(disk, id);
    await again.persist({ entries: ents(2, 2, 1) });
    expect((await again.load()).entries).toEqual(ents(1, 2, 1));
  });
});

describe('MemoryStorage, open and load', () => {
  it('a corrupt entry is discovered at load and at the next open, naming the record', async () => {
    const disk = new MemoryDisk();
    const s = await MemoryStorage.open(disk, id);
    await s.persist({ hardState: { term: 1, vote: null, commit: 1 }, entries: ents(1, 3, 1) });
    disk.corrupt('entry/2');
    await expect(s.load()).rejects.toMatchObject({ code: 'StorageCorrupt', message: 'entry/2: checksum mismatch' });
    s.crash();
    await expect(MemoryStorage.open(disk, id)).rejects.toMatchObject({ code: 'StorageCorrupt', message: 'entry/2: checksum mismatch' });
  });

  it('overwriting a corrupt record heals it (a conflicting suffix rewrites the entry)', async () => {
    const disk = new MemoryDisk();
    const s = await MemoryStorage.open(disk, id);
    await s.persist({ entries: ents(1, 3, 1) });
    disk.corrupt('entry/3', 'torn write');
    await s.persist({ entries: ents(3, 3, 2) });
    expect((await s.load()).entries).toEqual([...ents(1, 2, 1), ...ents(3, 3, 2)]);
  });

  it('a corrupt hard state or snapshot record is named', async () => {
    const disk = new MemoryDisk();
    const s = await MemoryStorage.open(disk, id);
    await s.persist({ hardState: { term: 1, vote: null, commit: 2 }, entries: ents(1, 2, 1) });
    await s.saveSnapshot(snap(2, 1));
    disk.corrupt('snapshot', 'bad length');
    await expect(s.load()).rejects.toMatchObject({ code: 'StorageCorrupt', message: 'snapshot: bad length' });
    disk.corrupt('hardState');
    await s.close();
    await expect(MemoryStorage.open(disk, id)).rejects.toMatchObject({ code: 'StorageCorrupt', message: 'hardState: checksum mismatch' });
  });

  it('corrupt() refuses a record that does not exist', () => {
    const disk = new MemoryDisk();
    expect(() => disk.corrupt('entry/1')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('a second open of a disk already open is StorageLocked until the first closes or crashes', async () => {
    const disk = new MemoryDisk();
    const s = await MemoryStorage.open(disk, id);
    await expect(MemoryStorage.open(disk, id)).rejects.toMatchObject({ code: 'StorageLocked' });
    await s.close();
    const t = await MemoryStorage.open(disk, id);
    t.crash();
    const u = await MemoryStorage.open(disk, id);
    await u.close();
  });

  it('a disk of another cluster, another node or another format is StorageForeign', async () => {
    const disk = new MemoryDisk();
    await (await MemoryStorage.open(disk, id)).close();
    await expect(MemoryStorage.open(disk, { clusterId: 'c2', nodeId: 'n1' })).rejects.toMatchObject({ code: 'StorageForeign', message: expect.stringMatching(/cluster "c1", not "c2"/) });
    await expect(MemoryStorage.open(disk, { clusterId: 'c1', nodeId: 'n2' })).rejects.toMatchObject({ code: 'StorageForeign', message: expect.stringMatching(/node "n1", not "n2"/) });
    disk.setFormatVersion(7);
    await expect(MemoryStorage.open(disk, id)).rejects.toMatchObject({ code: 'StorageForeign', message: expect.stringMatching(/format version 7/) });
  });

  it('open refuses bad options with InvalidArgument', async () => {
    const disk = new MemoryDisk();
    await expect(MemoryStorage.open(disk, { clusterId: '', nodeId: 'n1' })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(MemoryStorage.open(disk, id, { writes: 'lazy' as never })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(MemoryStorage.open({} as MemoryDisk, id)).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('load hands out copies: mutating them does not change the store', async () => {
    const disk = new MemoryDisk();
    const s = await MemoryStorage.open(disk, id);
    await s.persist({ hardState: { term: 1, vote: null, commit: 1 }, entries: ents(1, 2, 1) });
    await s.saveSnapshot(snap(1, 1));
    const boot = await s.load();
    boot.entries.pop();
    boot.hardState.term = 99;
    boot.snapshot?.meta.conf.voters.push('intruder');
    expect(await s.load()).toEqual({ hardState: { term: 1, vote: null, commit: 1 }, snapshot: snap(1, 1), entries: ents(2, 2, 1) });
  });
});
