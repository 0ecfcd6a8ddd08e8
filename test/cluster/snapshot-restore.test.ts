/**
 * Backup and restore with real processes: `raft-ipam snapshot save` from a running cluster, `snapshot
 * restore` once per member, `raft-ipam serve` on the restored directories (a new cluster: new ports, new
 * cluster id) — and the whole drill (`raft-ipam drill`) as the test suite runs it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '../../cluster/addresses.js';
import { Cluster } from '../../cluster/cluster.js';
import { IpamClient } from '../../src/api/client.js';
import { runDrill } from '../../src/cli/drill.js';

const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', main, ...args], { env: { ...process.env, RAFT_IPAM_ENDPOINTS: '', RAFT_IPAM_TOKEN: '' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('snapshot save and restore with real processes', () => {
  it('save from a live cluster, restore three members with the CLI, serve them: same state hash, every write, allocation goes on', async () => {
    const root = await mkdtemp(join(tmpdir(), 'raft-ipam-restore-proc-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const token = 'drill-token';
    const source = await Cluster.start({ root: join(root, 'source'), relays: false, token, clusterId: 'prod-a' });
    cleanups.push(() => source.destroy());
    await source.waitForLeader();
    const client = new IpamClient({ endpoints: source.endpoints(), token, session: true, timeoutMs: 30_000 });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    const granted = new Map<string, string>();
    for (let i = 0; i < 30; i++) {
      const node = `w${i % 3}`;
      if (i < 3) await client.assignSlice({ network: 'pods', nodeId: node });
      granted.set((await client.allocate({ network: 'pods', nodeId: node, owner: `ctr-${i}` })).address, `ctr-${i}`);
    }
    const file = join(root, 'backup.snap');
    const saved = await cli(['snapshot', 'save', file, '--endpoints', source.endpoints().join(','), '--token', token, '--json']);
    expect(saved.stderr).toBe('');
    expect(saved.code).toBe(0);
    const report = JSON.parse(saved.stdout) as { index: number; term: number; bytes: number; stateHash: string; clusterId: string; addresses: number };
    expect(report).toMatchObject({ clusterId: 'prod-a', addresses: 30, stateHash: (await source.status(await source.waitForLeader()))?.stateHash });
    // The source is gone (as in a disaster); its node names are reused by the new cluster.
    await source.destroy();

    // Laid out, not started: `snapshot restore` builds each data directory first.
    const restored = await Cluster.layout({ root: join(root, 'restored'), relays: false, token });
    cleanups.push(() => restored.destroy());
    let clusterId = '';
    for (const n of restored.nodes()) {
      const r = await cli(['snapshot', 'restore', file, '--data-dir', n.dataDir, '--name', n.id, '--initial-cluster', restored.initialCluster(), '--source-cluster-id', 'prod-a', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { clusterId: string; index: number };
      expect(out.index).toBe(report.index);
      if (clusterId !== '') expect(out.clusterId).toBe(clusterId);
      clusterId = out.clusterId;
    }
    expect(clusterId).not.toBe('prod-a');

    // serve without the new cluster id refuses the directory (exit 2, StorageForeign) and changes nothing.
    const n1 = restored.node('n1');
    const [p1, p2] = await freePorts(2, n1.host);
    const wrong = spawn(process.execPath, ['--import', 'tsx', main, 'serve', '--name', 'n1', '--data-dir', n1.dataDir, '--listen-peer', `${n1.host}:${p1}`, '--listen-client', `${n1.host}:${p2}`, '--initial-cluster', restored.initialCluster(), '--insecure'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    wrong.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise<number | null>((r) => wrong.once('exit', r))).toBe(2);
    expect(err).toMatch(/StorageForeign.*belongs to cluster "restored-/);

    await restored.startAll({ clusterId });
    await restored.waitForLeader();
    const converged = await restored.waitForConvergence({ timeoutMs: 60_000 });
    expect(converged.stateHash).toBe(report.stateHash);
    const after = new IpamClient({ endpoints: restored.endpoints(), token, session: true, timeoutMs: 30_000 });
    const listed = await after.allocations('pods', { limit: 1000 });
    expect(new Map(listed.allocations.map((a) => [a.address, a.owner]))).toEqual(granted);
    const fresh = await after.allocate({ network: 'pods', nodeId: 'w1', owner: 'after-restore' });
    expect(granted.has(fresh.address)).toBe(false);
    expect((await after.status()).clusterId).toBe(clusterId);
  }, 180_000);

  it('raft-ipam drill: save under load, restore into a fresh cluster, every check passes, nothing left behind', async () => {
    const lines: string[] = [];
    const report = await runDrill({ nodes: 3, loadClients: 3, seconds: 3, newAllocations: 20, print: (l) => lines.push(l) });
    const text = lines.join('\n');
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
      ['load', true],
      ['members agree', true],
      ['state hash', true],
      ['acknowledged before the save', true],
      ['no duplicate after restore', true],
    ]);
    expect(report.ok).toBe(true);
    expect(report.save.acknowledgedBeforeSave).toBeGreaterThan(0);
    expect(report.save.addresses).toBeGreaterThanOrEqual(report.save.acknowledgedBeforeSave);
    expect(report.restored).toEqual({ stateHash: report.save.stateHash, newAllocations: 20 });
    expect(report.restore.clusterId).toMatch(/^restored-[0-9a-f]{12}$/);
    // Its temporary directory is gone (and with it every data directory and log).
    const removed = /stopped every process and removed (\S+)/.exec(text)?.[1];
    expect(removed).toBeDefined();
    expect(existsSync(removed as string)).toBe(false);
    // And no process it started is left: every serve process names its data directory under that root.
    const ps = await new Promise<string>((resolve, reject) => execFile('ps', ['-eo', 'pid,args'], (e, out) => (e ? reject(e) : resolve(out))));
    expect(ps.split('\n').filter((l) => l.includes(removed as string))).toEqual([]);
  }, 240_000);
});
