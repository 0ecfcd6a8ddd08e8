/** LevelStorage on a real disk: damaged and foreign data directories, locking, and crash durability. */
import { fork, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeHardState, encodeMeta, entryKey, KEY_HARD_STATE, KEY_META, KEY_SNAPSHOT } from '../../src/storage/level-codec.js';
import { LevelStorage, wholeSnapshot, type RaftStorage } from '../../src/storage/index.js';
import { chunk, ents, snap } from './conformance.js';
import { TempDirs } from './tmp-dirs.js';

const dirs = new TempDirs();
const handles: RaftStorage[] = [];
const children: ChildProcess[] = [];
const id = { clusterId: 'c1', nodeId: 'n1' };
const CHILD = fileURLToPath(new URL('./fixtures/storage-child.ts', import.meta.url));

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const h of handles.splice(0)) await h.close();
  await dirs.cleanup();
});

async function openAt(dir: string, who = id): Promise<LevelStorage> {
  const s = await LevelStorage.open({ dir, ...who });
  handles.push(s);
  return s;
}

/** A closed store holding entries 1..5 (term 1, commit 4) and a local snapshot at 3. */
async function populated(): Promise<string> {
  const dir = await dirs.make();
  const s = await LevelStorage.open({ dir, ...id });
  await s.persist({ hardState: { term: 1, vote: 'n1', commit: 4 }, entries: ents(1, 5, 1) });
  await s.saveSnapshot(snap(3, 1, 4096));
  await s.close();
  return dir;
}

/** Edit the LevelDB under `dir` through a raw handle, as a bad disk or a careless operator would. */
async function raw(dir: string, edit: (db: ClassicLevel<Uint8Array, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'log'), { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  try {
    await edit(db);
  } finally {
    await db.close();
  }
}

async function refusal(dir: string, who = id): Promise<{ code: string; message: string }> {
  try {
    const s = await LevelStorage.open({ dir, ...who });
    handles.push(s);
    await s.load();
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  return { code: 'opened', message: '' };
}

describe('LevelStorage refuses damaged data directories, naming the record', () => {
  it('a flipped byte in an entry value', async () => {
    const dir = await populated();
    await raw(dir, async (db) => {
      const v = (await db.get(entryKey(4))) as Uint8Array;
      const copy = Uint8Array.from(v);
      copy[copy.length - 1] = (copy[copy.length - 1] as number) ^ 0x01;
      await db.put(entryKey(4), copy);
    });
    const r = await refusal(dir);
    expect(r.code).toBe('StorageCorrupt');
    expect(r.message).toMatch(/entry\/4: checksum mismatch/);
    expect(r.message).toContain(join(dir, 'log'));
  });

  it('a flipped byte in the stored checksum of the hard state', async () => {
    const dir = await populated();
    await raw(dir, async (db) => {
      const copy = Uint8Array.from((await db.get(KEY_HARD_STATE)) as Uint8Array);
      copy[0] = (copy[0] as number) ^ 0x80;
      await db.put(KEY_HARD_STATE, copy);
    });
    expect(await refusal(dir)).toMatchObject({ code: 'StorageCorrupt', message: expect.stringMatching(/hardState: checksum mismatch/) });
  });

  it('a truncated value: shorter than a checksum, and missing its last byte', async () => {
    const dir = await populated();
    await raw(dir, async (db) => {
      await db.put(entryKey(2), ((await db.get(entryKey(2))) as Uint8Array).subarray(0, 3));
    });
    expect(await refusal(dir)).toMatchObject({ code: 'StorageCorrupt', message: expect.stringMatching(/entry\/2: truncated record \(3 bytes/) });
    await raw(dir, async (db) => {
      await db.del(entryKey(2));
      const v = (await db.get(KEY_SNAPSHOT)) as Uint8Array;
      await db.put(KEY_SNAPSHOT, v.subarray(0, v.length - 1));
    });
    expect(await refusal(dir)).toMatchObject({ code: 'StorageCorrupt', message: expect.stringMatching(/snapshot: checksum mismatch/) });
  });

  it('a valid record moved under another key fails the checksum (the key is covered)', async () => {
    const dir = await populated();
    await raw(dir, async (db) => {
      await db.put(entryKey(5), (await db.get(entryKey(4))) as Uint8Array);
    });
    expect(await refusal(dir)).toMatchObject({ code: 'StorageCorrupt', message: expect.stringMatching(/entry\/5: checksum mismatch/) });
  });

  it('a missing entry in the middle of the log is a gap', async () => {
    const dir = await populated();
    await raw(dir, (db) => db.del(entryKey(3)));
    expect(await refusal(dir)).toMatchObject({ code: 'StorageCorrupt', message: expect.stringMatching(/entry\/4: follows entry 2: the log has a gap/) });
  });

  it('a hard state whose commit is beyond the last index', async () => {
    const dir = await populated();
    await raw(dir, (db) => db.put(KEY_HARD_STATE, encodeHardState({ term: 1, vote: 'n1', commit: 9 })));
    expect(await refusal(dir)).toMatchObject({ code: 'StorageCorrupt', message: expect.stringMatching(/hardState: commit 9 is beyond the last index 5/) });
  });

  it('records without a meta record', async () => {
    const dir = await populated();
    await raw(dir, (db) => db.del(KEY_META));
    expect(await refusal(dir)).toMatchObject({ code: 'StorageCorrupt', message: expect.stringMatching(/meta: missing from a store that holds other records/) });
  });

  it('a corrupt snapshot data file is found at load; a truncated or missing one already at open', async () => {
    const dir = await populated();
    const [file] = (await readdir(join(dir, 'snap'))) as [string];
    const path = join(dir, 'snap', file);
    const bytes = await readFile(path);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0xff;
    await writeFile(path, bytes);
    const s = await openAt(dir);
    await expect(s.load()).rejects.toMatchObject({ code: 'StorageCorrupt', message: expect.stringMatching(/snapshot file .*: checksum mismatch/) });
    await s.close();
    await writeFile(path, bytes.subarray(0, bytes.length - 100));
    expect(await refusal(dir)).toMatchObject({ code: 'StorageCorrupt', message: expect.stringMatching(/truncated or extended/) });
    await rm(path);
    expect(await refusal(dir)).toMatchObject({ code: 'StorageCorrupt', message: expect.stringMatching(/snapshot: its data file .* is missing/) });
  });

  it('open removes files no record references (interrupted writes, superseded snapshots)', async () => {
    const dir = await populated();
    const snapDir = join(dir, 'snap');
    const [kept] = await readdir(snapDir);
    await writeFile(join(snapDir, '0000000000000009-0000000000000002.snap.tmp'), 'half-written');
    await writeFile(join(snapDir, '0000000000000001-0000000000000001.snap'), 'superseded');
    const s = await openAt(dir);
    expect(await readdir(snapDir)).toEqual([kept]);
    expect((await s.load()).snapshot).toEqual(snap(3, 1, 4096));
  });

  it('a received snapshot is written to a temp file chunk by chunk; installing renames it, a reopen removes an unfinished one', async () => {
    const dir = await populated();
    const snapDir = join(dir, 'snap');
    const [kept] = await readdir(snapDir);
    const s = await openAt(dir);
    const sn = snap(9, 2, 3000);
    await s.persist({ snapshotChunks: [chunk(sn, 0, 1000)] });
    expect((await readdir(snapDir)).sort()).toEqual([kept, '0000000000000009-0000000000000002.snap.part'].sort());
    await s.persist({ snapshotChunks: [chunk(sn, 1000, 2000)], snapshot: { meta: sn.meta, size: 3000 }, hardState: { term: 2, vote: null, commit: 9 } });
    expect(await readdir(snapDir)).toEqual(['0000000000000009-0000000000000002.snap']);
    const sn2 = snap(12, 3, 500);
    await s.persist({ snapshotChunks: [chunk(sn2, 0, 100)] });
    await s.close();
    const again = await openAt(dir);
    expect(await readdir(snapDir)).toEqual(['0000000000000009-0000000000000002.snap']);
    expect((await again.load()).snapshot).toEqual(sn);
  });

  it('a newer snapshot replaces the old file once its batch is durable', async () => {
    const dir = await populated();
    const s = await openAt(dir);
    await s.persist({ ...wholeSnapshot(snap(7, 2, 1000)), hardState: { term: 2, vote: null, commit: 7 } });
    expect(await readdir(join(dir, 'snap'))).toEqual(['0000000000000007-0000000000000002.snap']);
  });
});

describe('LevelStorage refuses data directories that are not its own', () => {
  it('another cluster or another node is StorageForeign, naming the meta record and both ids', async () => {
    const dir = await populated();
    expect(await refusal(dir, { clusterId: 'c2', nodeId: 'n1' })).toMatchObject({ code: 'StorageForeign', message: expect.stringMatching(/meta: data directory belongs to cluster "c1", not "c2"/) });
    expect(await refusal(dir, { clusterId: 'c1', nodeId: 'n7' })).toMatchObject({ code: 'StorageForeign', message: expect.stringMatching(/meta: data directory belongs to node "n1", not "n7"/) });
    // Refusing released the LOCK: the rightful owner still opens it.
    const s = await openAt(dir);
    expect((await s.load()).entries).toEqual(ents(4, 5, 1));
  });

  it('an unknown format version is StorageForeign', async () => {
    const dir = await populated();
    await raw(dir, (db) => db.put(KEY_META, encodeMeta({ format: 2, ...id })));
    expect(await refusal(dir)).toMatchObject({ code: 'StorageForeign', message: expect.stringMatching(/meta: format version 2 is not supported \(this build reads 1\)/) });
  });

  it('bad open options are InvalidArgument', async () => {
    await expect(LevelStorage.open({ dir: '', ...id })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(LevelStorage.open({ dir: await dirs.make(), clusterId: 'c1', nodeId: '' })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

function forkChild(dir: string, mode: 'lock' | 'write'): ChildProcess {
  const c = fork(CHILD, [dir, mode], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(c);
  return c;
}

function firstMessage<T>(c: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    c.once('message', (m) => resolve(m as T));
    c.once('exit', (code) => reject(new Error(`child exited (${String(code)}) without reporting`)));
  });
}

describe('LevelStorage locking', () => {
  it('a second open in the same process is StorageLocked until the first closes', async () => {
    const dir = await dirs.make();
    const s = await LevelStorage.open({ dir, ...id });
    const r = await refusal(dir);
    expect(r.code).toBe('StorageLocked');
    expect(r.message).toMatch(/data directory is locked/);
    expect(r.message).toContain(join(dir, 'log'));
    await s.close();
    await openAt(dir);
  });

  it('a second open from another process is StorageLocked', async () => {
    const dir = await dirs.make();
    const s = await openAt(dir);
    const report = await firstMessage<{ code?: string; message?: string; opened?: boolean }>(forkChild(dir, 'lock'));
    expect(report).toMatchObject({ code: 'StorageLocked', message: expect.stringMatching(/data directory is locked/) });
    await s.close();
    const again = await firstMessage<{ opened?: boolean }>(forkChild(dir, 'lock'));
    expect(again).toEqual({ opened: true });
  });
});

describe('LevelStorage crash durability', () => {
  it('after SIGKILL at arbitrary moments, every acknowledged entry is on disk and the store loads', async () => {
    const dir = await dirs.make();
    let snapshotsSeen = 0;
    // Kill points: after this many acknowledged persists. Snapshots (256 KiB files) are taken every
    // 64 committed entries, so later kills land in snapshot writes and compactions too.
    for (const acksBeforeKill of [5, 41, 120, 233]) {
      const child = forkChild(dir, 'write');
      let acked = 0;
      let commit = 0;
      let acks = 0;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        child.on('message', (m: { acked: number; commit: number }) => {
          acked = Math.max(acked, m.acked);
          commit = Math.max(commit, m.commit);
          if (++acks === acksBeforeKill) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.once('exit', (code, signal) => {
          if (acks < acksBeforeKill) reject(new Error(`writer exited early: ${String(code)} ${String(signal)}`));
        });
      });
      await exited;
      expect(child.signalCode).toBe('SIGKILL');
      const s = await LevelStorage.open({ dir, ...id });
      const boot = await s.load();
      await s.close();
      const snapIndex = boot.snapshot?.meta.index ?? 0;
      expect(s.lastIndex()).toBeGreaterThanOrEqual(acked);
      expect(boot.hardState.commit).toBeGreaterThanOrEqual(commit);
      // Every acknowledged index is in the snapshot or in the log, with the bytes that were written.
      for (let i = snapIndex + 1; i <= acked; i++) {
        const e = boot.entries[i - snapIndex - 1];
        expect(e?.index).toBe(i);
        const expected = new Uint8Array(64).map((_, k) => (i * 7 + k) & 0xff);
        expect(e?.type === 'normal' && e.data).toEqual(expected);
      }
      if (boot.snapshot) {
        snapshotsSeen++;
        expect(boot.snapshot.data.length).toBe(256 * 1024);
        expect(boot.snapshot.meta.index).toBeLessThanOrEqual(boot.hardState.commit);
      }
    }
    // The later runs (cumulative on the same directory) must have gone through snapshot + compaction.
    expect(snapshotsSeen).toBeGreaterThanOrEqual(2);
  });
});

describe('LevelStorage reads its log once per restart', () => {
  it('the first load after open is what open read; changing it changes nothing; a load after a write reads again', async () => {
    const dir = await populated();
    const s = await openAt(dir);
    const first = await s.load();
    expect(first.hardState).toEqual({ term: 1, vote: 'n1', commit: 4 });
    expect(first.entries.map((e) => e.index)).toEqual([4, 5]);
    expect(first.snapshot?.meta).toEqual({ index: 3, term: 1, conf: snap(3, 1, 1).meta.conf });
    // The caller owns what load() returned: the handle's accepted state is not behind it.
    first.hardState.commit = 99;
    first.hardState.term = 99;
    (first.snapshot as { meta: { index: number } }).meta.index = 99;
    first.entries.length = 0;
    expect(s.hardState()).toEqual({ term: 1, vote: 'n1', commit: 4 });
    expect(s.snapshotMeta()?.index).toBe(3);
    expect(await s.readSnapshot(3, 0, 4)).toHaveLength(4);
    const again = await s.load();
    expect(again.hardState).toEqual({ term: 1, vote: 'n1', commit: 4 });
    expect(again.entries.map((e) => e.index)).toEqual([4, 5]);
    await s.persist({ hardState: { term: 2, vote: null, commit: 5 }, entries: ents(6, 7, 2) });
    const afterWrite = await s.load();
    expect(afterWrite.hardState).toEqual({ term: 2, vote: null, commit: 5 });
    expect(afterWrite.entries.map((e) => [e.index, e.term])).toEqual([[4, 1], [5, 1], [6, 2], [7, 2]]);
  });
});
