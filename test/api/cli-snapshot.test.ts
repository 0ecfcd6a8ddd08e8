/**
 * `raft-ipam snapshot save | inspect | restore` and `drill` argument handling, the real CLI in a child
 * process: outputs (human and --json), progress on stderr, and every refusal's exit code and
 * `error [CODE]` line, with nothing written.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseSnapshotFile } from '../../src/backup/snapshot-file.js';
import { deadUrl, listen, type Running } from '../support/api-servers.js';
import { TestNodeService } from '../support/test-node-service.js';
import { TempDirs } from '../storage/tmp-dirs.js';

const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'src', 'cli', 'main.ts');
const dirs = new TempDirs();

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root, env: { ...process.env, RAFT_IPAM_ENDPOINTS: '', RAFT_IPAM_TOKEN: '' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('raft-ipam snapshot', () => {
  const node = new TestNodeService('n1');
  let server: Running;
  let dir: string;
  beforeAll(async () => {
    node.sm.apply({ type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    node.sm.apply({ type: 'assignSlice', network: 'pods', nodeId: 'w1' });
    for (let i = 0; i < 3; i++) node.sm.apply({ type: 'allocate', network: 'pods', nodeId: 'w1', owner: `c${i}` });
    server = await listen(node, { token: 'tok' });
  });
  afterAll(async () => {
    await server.app.close();
  });
  afterEach(() => dirs.cleanup());

  it('save --json streams the file and prints index, term, bytes and state hash; inspect reads it back; restore builds a data directory', async () => {
    dir = await dirs.make('raft-ipam-cli-snap-');
    const file = join(dir, 'b.snap');
    const saved = await cli(['snapshot', 'save', file, '--endpoints', server.url, '--token', 'tok', '--json', '--progress']);
    expect(saved).toMatchObject({ code: 0 });
    const report = JSON.parse(saved.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ file, clusterId: 'test-cluster', index: 1, term: 1, stateHash: node.sm.stateHash(), addresses: 3, slices: 1 });
    expect(saved.stderr).toMatch(/saving .*b\.snap: 0\.0 \/ 0\.0 MiB \(100%\)\n$/);
    const inspected = await cli(['snapshot', 'inspect', file]);
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toContain(`cluster test-cluster index 1 term 1`);
    expect(inspected.stdout).toContain(`state hash ${node.sm.stateHash()}`);
    expect(inspected.stdout).toMatch(/1 network\(s\), 1 slice\(s\), 3 address\(es\), 0 session\(s\)/);
    expect(inspected.stdout).toMatch(/pods\s+10\.200\.0\.0\/16\s+\/24\s+-\s+1\s+3/);
    const restored = await cli(['snapshot', 'restore', file, '--data-dir', join(dir, 'n1'), '--name', 'n1', '--initial-cluster', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002', '--json']);
    expect(restored.code).toBe(0);
    const r = JSON.parse(restored.stdout) as { clusterId: string; voters: string[] };
    expect(r).toMatchObject({ name: 'n1', sourceClusterId: 'test-cluster', index: 1, term: 1, voters: ['n1', 'n2'], stateHash: node.sm.stateHash() });
    expect(r.clusterId).toMatch(/^restored-/);
    const human = await cli(['snapshot', 'restore', file, '--data-dir', join(dir, 'n2'), '--name', 'n2', '--initial-cluster', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002']);
    expect(human.stdout).toContain(`new cluster ${r.clusterId}, voters n1, n2`);
    expect(human.stdout).toContain(`raft-ipam serve --name n2 --data-dir ${join(dir, 'n2')} --cluster-id ${r.clusterId}`);
    // restore only reads the file.
    expect(parseSnapshotFile(await readFile(file)).meta.stateHash).toBe(node.sm.stateHash());
  }, 120_000);

  it('refusals exit 2 with their code and write nothing; an unreachable cluster exits 3', async () => {
    dir = await dirs.make('raft-ipam-cli-snap-');
    await writeFile(join(dir, 'junk.snap'), 'not a snapshot');
    await mkdir(join(dir, 'used'));
    await writeFile(join(dir, 'used', 'x'), 'x');
    const restoreArgs = (extra: string[]): string[] => ['snapshot', 'restore', join(dir, 'junk.snap'), '--data-dir', join(dir, 'new'), '--name', 'n1', '--initial-cluster', 'n1=127.0.0.1:7001', ...extra];
    const cases: Array<[string[], number, RegExp]> = [
      [restoreArgs([]), 2, /^error \[SnapshotFileCorrupt\]: .*junk\.snap: bad magic/],
      [['snapshot', 'restore', join(dir, 'junk.snap'), '--data-dir', join(dir, 'new'), '--initial-cluster', 'n1=127.0.0.1:7001'], 2, /^error \[Usage\]: required option '--name <id>' not specified/],
      [['snapshot', 'restore', join(dir, 'junk.snap'), '--data-dir', join(dir, 'new'), '--name', 'n1', '--initial-cluster', 'n1'], 2, /^error \[InvalidConfig\]: --initial-cluster: expected name=host:port/],
      [['snapshot', 'restore', join(dir, 'junk.snap'), '--data-dir', join(dir, 'used'), '--name', 'n1', '--initial-cluster', 'n1=127.0.0.1:7001'], 2, /^error \[RestoreTargetNotEmpty\]/],
      [restoreArgs(['--cluster-id', 'bad id']), 2, /^error \[InvalidArgument\]: --cluster-id: cluster id must match/],
      [['snapshot', 'inspect', join(dir, 'missing.snap')], 2, /^error \[SnapshotFileIo\]: cannot read/],
      [['snapshot', 'save', join(dir, 'out.snap')], 2, /^error \[InvalidArgument\]: no endpoints/],
      [['snapshot', 'save', join(dir, 'out.snap'), '--endpoints', server.url, '--stall-timeout', '0'], 2, /^error \[InvalidArgument\]: --stall-timeout must be a positive integer/],
      [['snapshot', 'save', join(dir, 'out.snap'), '--endpoints', server.url, '--token', 'wrong'], 2, /^error \[Unauthorized\]/],
      [['snapshot', 'save', join(dir, 'out.snap'), '--endpoints', await deadUrl(), '--timeout', '300'], 3, /^error \[Unavailable\]/],
      [['drill', '--nodes', '0'], 2, /^error \[InvalidArgument\]: --nodes must be an integer in 1\.\.7, got "0"/],
      [['drill', '--seconds', 'ten'], 2, /^error \[InvalidArgument\]: --seconds must be an integer/],
      [['drill', '--load-clients', '1000'], 2, /^error \[InvalidArgument\]: --load-clients must be an integer in 1\.\.256/],
      [['snapshot', 'frobnicate'], 2, /^error \[Usage\]: unknown command 'frobnicate'/],
    ];
    // Three CLI processes at a time: each is a Node start with tsx, mostly waiting on the CPU.
    for (let i = 0; i < cases.length; i += 3) {
      const batch = cases.slice(i, i + 3);
      const ran = await Promise.all(batch.map(([args]) => cli(args)));
      batch.forEach(([args, code, stderr], k) => {
        const r = ran[k] as Ran;
        expect(r.code, args.join(' ')).toBe(code);
        expect(r.stderr, args.join(' ')).toMatch(stderr);
        expect(r.stdout, args.join(' ')).toBe('');
      });
    }
    expect((await readdir(dir)).sort()).toEqual(['junk.snap', 'used']);
    expect(await readdir(join(dir, 'used'))).toEqual(['x']);
  }, 180_000);
});
