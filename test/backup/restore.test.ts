/**
 * snapshot restore: the data directory it builds is what a node boots from (read back through LevelStorage
 * and ClusterApp, and booted as a real 3-node IpamNode cluster over TCP), every member restored from one
 * file agrees byte for byte, and every refusal — a damaged, truncated, newer or foreign file, a target in
 * use, bad arguments, the old cluster id — leaves the target and its parent directory exactly as they were.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '../../cluster/addresses.js';
import { defaultRestoredClusterId, restoreSnapshot, type RestoreOptions } from '../../src/backup/restore.js';
import { encodeSnapshotFile } from '../../src/backup/snapshot-file.js';
import { IpamStateMachine } from '../../src/ipam/state-machine.js';
import { ClusterApp } from '../../src/node/cluster-app.js';
import { IpamNode } from '../../src/node/ipam-node.js';
import { LevelStorage } from '../../src/storage/level-storage.js';
import { TempDirs } from '../storage/tmp-dirs.js';

const dirs = new TempDirs();
const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
  await dirs.cleanup();
});

const SOURCE = 'prod-a';
const CLUSTER = { n1: '127.0.0.1:7101', n2: '127.0.0.1:7102', n3: '127.0.0.1:7103' };

function state(): IpamStateMachine {
  const sm = new IpamStateMachine();
  sm.apply({ type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
  for (const w of ['w1', 'w2']) {
    sm.apply({ type: 'assignSlice', network: 'pods', nodeId: w });
    for (let i = 0; i < 5; i++) sm.apply({ type: 'allocate', network: 'pods', nodeId: w, owner: `${w}-ctr-${i}` });
  }
  return sm;
}

async function snapshotFile(dir: string, bytes?: Uint8Array): Promise<{ path: string; sm: IpamStateMachine }> {
  const sm = state();
  const path = join(dir, 'backup.snap');
  await writeFile(path, bytes ?? encodeSnapshotFile({ clusterId: SOURCE, index: 500, term: 4, takenAt: 1_700_000_000_000 }, sm.snapshot()));
  return { path, sm };
}

/** Every path under `dir` (recursively) with a digest of its contents: equal trees, equal maps. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = join(rel, e.name);
      if (e.isDirectory()) {
        out[`${p}/`] = 'dir';
        await walk(p);
      } else out[p] = createHash('sha256').update(await readFile(join(dir, p))).digest('hex');
    }
  };
  await walk('');
  return out;
}

const restore = (o: Partial<RestoreOptions> & Pick<RestoreOptions, 'file' | 'dataDir'>): ReturnType<typeof restoreSnapshot> => restoreSnapshot({ name: 'n1', initialCluster: CLUSTER, ...o });

describe('snapshot restore', () => {
  it('builds a data directory a node boots from: the snapshot at the file index and term, the new voters, the IPAM state byte for byte', async () => {
    const root = await dirs.make('raft-ipam-restore-');
    const { path, sm } = await snapshotFile(root);
    const r = await restore({ file: path, dataDir: join(root, 'n1') });
    expect(r).toMatchObject({ name: 'n1', sourceClusterId: SOURCE, index: 500, term: 4, stateHash: sm.stateHash(), voters: ['n1', 'n2', 'n3'] });
    expect(r.clusterId).toBe(defaultRestoredClusterId({ clusterId: SOURCE, index: 500, term: 4, stateHash: sm.stateHash() }, CLUSTER));
    expect(r.clusterId).toMatch(/^restored-[0-9a-f]{12}$/);

    const storage = await LevelStorage.open({ dir: join(root, 'n1'), clusterId: r.clusterId, nodeId: 'n1' });
    const boot = await storage.load();
    await storage.close();
    expect(boot.hardState).toEqual({ term: 4, vote: null, commit: 500 });
    expect(boot.entries).toEqual([]);
    expect(boot.snapshot?.meta).toEqual({ index: 500, term: 4, conf: { voters: ['n1', 'n2', 'n3'], learners: [] } });
    const app = new ClusterApp();
    app.restore(boot.snapshot?.data as Uint8Array);
    expect(app.ipam.sm.stateHash()).toBe(sm.stateHash());
    // Member attributes come from --initial-cluster, never from the source cluster.
    expect(app.allMembers()).toEqual([
      { id: 'n1', peerUrl: CLUSTER.n1 },
      { id: 'n2', peerUrl: CLUSTER.n2 },
      { id: 'n3', peerUrl: CLUSTER.n3 },
    ]);
    // The old cluster id, or another node's name, is refused by the store as foreign.
    await expect(LevelStorage.open({ dir: join(root, 'n1'), clusterId: SOURCE, nodeId: 'n1' })).rejects.toMatchObject({ code: 'StorageForeign' });
  });

  it('members restored from one file with one --initial-cluster agree byte for byte; an explicit --cluster-id is used as given', async () => {
    const root = await dirs.make('raft-ipam-restore-');
    const { path } = await snapshotFile(root);
    const results = [];
    for (const name of ['n1', 'n2', 'n3']) results.push(await restore({ file: path, dataDir: join(root, name), name }));
    expect(new Set(results.map((r) => r.clusterId)).size).toBe(1);
    const snapFiles = await Promise.all(['n1', 'n2', 'n3'].map(async (n) => {
      const names = await readdir(join(root, n, 'snap'));
      expect(names).toHaveLength(1);
      return readFile(join(root, n, 'snap', names[0] as string));
    }));
    expect(snapFiles[1]?.equals(snapFiles[0] as Buffer)).toBe(true);
    expect(snapFiles[2]?.equals(snapFiles[0] as Buffer)).toBe(true);
    const other = await restore({ file: path, dataDir: join(root, 'x1'), clusterId: 'dr-2024' });
    expect(other.clusterId).toBe('dr-2024');
    // A different --initial-cluster is a different cluster: its derived id differs.
    const moved = await restore({ file: path, dataDir: join(root, 'y1'), initialCluster: { ...CLUSTER, n3: '127.0.0.1:7203' } });
    expect(moved.clusterId).not.toBe(results[0]?.clusterId);
  });

  it('restores into an existing empty directory', async () => {
    const root = await dirs.make('raft-ipam-restore-');
    const { path } = await snapshotFile(root);
    await mkdir(join(root, 'empty'));
    await restore({ file: path, dataDir: join(root, 'empty') });
    expect((await readdir(join(root, 'empty'))).sort()).toEqual(['log', 'snap']);
  });

  it('refuses a damaged, truncated, newer or foreign file and leaves the target (absent, empty or in use) and its parent untouched', async () => {
    const root = await dirs.make('raft-ipam-restore-');
    const sm = state();
    const good = encodeSnapshotFile({ clusterId: SOURCE, index: 500, term: 4, takenAt: 1 }, sm.snapshot());
    const flipped = good.slice();
    flipped[good.length - 3] = (flipped[good.length - 3] as number) ^ 0x10;
    const newer = Buffer.from(good);
    newer.writeUInt16BE(2, 8);
    const files: Array<[string, Uint8Array, string, Partial<RestoreOptions>]> = [
      ['flipped', flipped, 'SnapshotFileCorrupt', {}],
      ['truncated', good.subarray(0, good.length - 10), 'SnapshotFileTruncated', {}],
      ['header-only', good.subarray(0, 60), 'SnapshotFileTruncated', {}],
      ['newer', newer, 'SnapshotFileVersion', {}],
      ['foreign', good, 'SnapshotFileForeign', { sourceClusterId: 'prod-b' }],
      ['same-id', good, 'InvalidArgument', { clusterId: SOURCE }],
    ];
    await mkdir(join(root, 'targets', 'empty'), { recursive: true });
    await mkdir(join(root, 'targets', 'used', 'log'), { recursive: true });
    await writeFile(join(root, 'targets', 'used', 'log', 'CURRENT'), 'MANIFEST-000004\n');
    await writeFile(join(root, 'targets', 'used', 'notes.txt'), 'keep me');
    for (const [name, bytes, code, extra] of files) {
      const path = join(root, `${name}.snap`);
      await writeFile(path, bytes);
      for (const target of ['absent', 'empty']) {
        const before = await tree(join(root, 'targets'));
        await expect(restore({ file: path, dataDir: join(root, 'targets', target), ...extra }), `${name} → ${target}`).rejects.toMatchObject({ code });
        expect(await tree(join(root, 'targets')), `${name} → ${target}`).toEqual(before);
      }
    }
    // A directory in use is refused before the file is even trusted for anything, and stays as it was.
    const before = await tree(join(root, 'targets'));
    await writeFile(join(root, 'ok.snap'), good);
    await expect(restore({ file: join(root, 'ok.snap'), dataDir: join(root, 'targets', 'used') })).rejects.toMatchObject({ code: 'RestoreTargetNotEmpty', message: expect.stringMatching(/is not empty \(2 entries/) });
    await writeFile(join(root, 'targets', 'a-file'), 'x');
    await expect(restore({ file: join(root, 'ok.snap'), dataDir: join(root, 'targets', 'a-file') })).rejects.toMatchObject({ code: 'RestoreTargetNotEmpty', message: expect.stringMatching(/not a directory/) });
    expect(await tree(join(root, 'targets'))).toEqual({ ...before, 'a-file': createHash('sha256').update('x').digest('hex') });
    expect(await stat(join(root, 'targets', 'absent')).catch(() => 'absent')).toBe('absent');
  });

  it('refuses bad arguments before reading anything', async () => {
    const root = await dirs.make('raft-ipam-restore-');
    const { path } = await snapshotFile(root);
    const dataDir = join(root, 'd');
    const cases: Array<[Partial<RestoreOptions>, RegExp]> = [
      [{ name: 'n9' }, /--name n9 is not in --initial-cluster \(n1, n2, n3\)/],
      [{ name: '-bad' }, /--name: node id must match/],
      [{ initialCluster: {} }, /--initial-cluster must name at least one member/],
      [{ initialCluster: { n1: 'nowhere' } }, /--initial-cluster n1: peer address must be host:port/],
      [{ clusterId: 'has space' }, /--cluster-id: cluster id must match/],
      [{ sourceClusterId: '' }, /--source-cluster-id: cluster id must match/],
      [{ dataDir: '' }, /--data-dir is required/],
      [{ file: '' }, /snapshot file is required/],
    ];
    for (const [change, message] of cases) {
      await expect(restoreSnapshot({ file: path, dataDir, name: 'n1', initialCluster: CLUSTER, ...change })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(message) });
    }
    await expect(restoreSnapshot({ file: path, dataDir, name: 'n1', initialCluster: CLUSTER, extra: 1 } as unknown as RestoreOptions)).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/unknown restore option\(s\) extra/) });
    await expect(restore({ file: join(root, 'missing.snap'), dataDir })).rejects.toMatchObject({ code: 'SnapshotFileIo' });
    expect((await readdir(root)).sort()).toEqual(['backup.snap']);
  });

  it('three restored directories boot as a cluster over TCP: same state hash, then allocation goes on past every address the snapshot holds', async () => {
    const root = await dirs.make('raft-ipam-restore-');
    const { path, sm } = await snapshotFile(root);
    const ports = await freePorts(3);
    const initialCluster = { a: `127.0.0.1:${ports[0]}`, b: `127.0.0.1:${ports[1]}`, c: `127.0.0.1:${ports[2]}` };
    let clusterId = '';
    for (const name of Object.keys(initialCluster)) clusterId = (await restoreSnapshot({ file: path, dataDir: join(root, name), name, initialCluster, sourceClusterId: SOURCE })).clusterId;
    const nodes = await Promise.all(Object.keys(initialCluster).map((name) => IpamNode.start({ name, dataDir: join(root, name), clusterId, initialCluster, insecure: true, tickMs: 20 })));
    stops.push(() => Promise.all(nodes.map((n) => n.stop())));
    let leader: IpamNode | undefined;
    for (let i = 0; i < 1000 && !leader; i++) {
      leader = nodes.find((n) => n.status().role === 'leader');
      if (!leader) await new Promise((r) => setTimeout(r, 20));
    }
    if (!leader) throw new Error('no leader');
    for (const n of nodes) expect(n.status()).toMatchObject({ clusterId, snapshotIndex: 500, stateHash: sm.stateHash() });
    expect(leader.status().term).toBeGreaterThan(4);
    const held = new Set((sm.allocations('pods') ?? []).map((a) => a.address));
    for (let i = 0; i < 10; i++) {
      const r = await leader.submit({ type: 'allocate', network: 'pods', nodeId: i % 2 ? 'w1' : 'w2', owner: `new-${i}` });
      if (!r.ok) throw new Error(r.error.message);
      expect(held.has((r.value as { address: string }).address)).toBe(false);
      held.add((r.value as { address: string }).address);
    }
    // The restored cluster saves its own snapshots: leader only (a linearizable point), of its own id.
    const follower = nodes.find((n) => n !== leader) as IpamNode;
    await expect(follower.exportSnapshot()).rejects.toMatchObject({ code: 'NotLeader' });
    const exported = await leader.exportSnapshot();
    expect(exported).toMatchObject({ clusterId, index: leader.status().applied, term: leader.status().term });
    expect(createHash('sha256').update(exported.data).digest('hex')).toBe(leader.status().stateHash);
    // An owner from before the snapshot still holds its address: allocating for it again returns it.
    const again = await leader.submit({ type: 'allocate', network: 'pods', nodeId: 'w1', owner: 'w1-ctr-0' });
    expect(again).toMatchObject({ ok: true, value: { existing: true, address: sm.addressesOf('w1-ctr-0')[0]?.address } });
  });
});
