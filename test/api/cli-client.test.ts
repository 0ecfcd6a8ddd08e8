import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpAllocator, NodeSliceAllocator } from '../../src/index.js';
import { deadUrl, listen, type Running } from '../support/api-servers.js';
import { TestNodeService } from '../support/test-node-service.js';

const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'src', 'cli', 'main.ts');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process (async, so this process keeps serving the HTTP requests it makes). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root, env: { ...process.env, RAFT_IPAM_ENDPOINTS: '', RAFT_IPAM_TOKEN: '', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('raft-ipam client commands against a server on 127.0.0.1:0', () => {
  const node = new TestNodeService('n1');
  let server: Running;
  let url: string;
  beforeAll(async () => {
    server = await listen(node, { token: 'tok' });
    url = server.url;
  });
  afterAll(async () => {
    await server.app.close();
  });
  const flags = (): string[] => ['--endpoints', url, '--token', 'tok'];

  it('configure-network, assign and allocate with --json; exit 0', async () => {
    const configured = await cli([...flags(), '--json', 'configure-network', 'pods', '10.200.0.0/16', '--slice-prefix', '24']);
    expect(configured.code).toBe(0);
    expect(JSON.parse(configured.stdout)).toEqual({ network: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24, created: true });
    const assigned = await cli([...flags(), 'assign', 'pods', 'w1', '--slice', '10.200.9.0/24', '--json']);
    expect(JSON.parse(assigned.stdout)).toEqual({ slices: { pods: '10.200.9.0/24' } });
    // Endpoints from the environment, as etcdctl users set ETCDCTL_ENDPOINTS.
    const allocated = await cli(['--token', 'tok', 'allocate', 'pods', 'w1', '--owner', 'c1', '--json'], { RAFT_IPAM_ENDPOINTS: url });
    expect(allocated.code).toBe(0);
    expect(JSON.parse(allocated.stdout)).toEqual({ network: 'pods', nodeId: 'w1', address: '10.200.9.1', generation: 1, owner: 'c1', existing: false });
    expect(node.sm.allocationOf('pods', '10.200.9.1')).toEqual({ network: 'pods', nodeId: 'w1', address: '10.200.9.1', generation: 1, owner: 'c1' });
  });

  it('reads print tables by default and JSON with --json', async () => {
    const slices = await cli([...flags(), 'slices', 'pods']);
    expect(slices.code).toBe(0);
    expect(slices.stdout.trim().split('\n')).toEqual(['NODE  SLICE          ALLOCATED  AVAILABLE', 'w1    10.200.9.0/24  1          253']);
    const allocations = await cli([...flags(), '--json', 'allocations', 'pods', '--owner', 'c1']);
    expect(JSON.parse(allocations.stdout)).toEqual({ network: 'pods', allocations: node.sm.addressesOf('c1'), truncated: false });
  });

  it('a refusal exits 1 with error [CODE]; the state is unchanged', async () => {
    const hash = node.sm.stateHash();
    const r = await cli([...flags(), 'allocate', 'pods', 'w1', '--address', '10.200.9.1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error [IpAlreadyAllocated]: IP address 10.200.9.1 is already allocated\n');
    expect(node.sm.stateHash()).toBe(hash);
  });

  it('usage and validation errors exit 2 and send nothing', async () => {
    const seen = node.received.length;
    const missing = await cli([...flags(), 'configure-network', 'x', '10.0.0.0/8']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error \[Usage\]: required option '--slice-prefix <n>' not specified/);
    const badPrefix = await cli([...flags(), 'configure-network', 'x', '10.0.0.0/8', '--slice-prefix', '24x']);
    expect(badPrefix.code).toBe(2);
    expect(badPrefix.stderr).toMatch(/^error \[InvalidArgument\]: --slice-prefix must be an integer/);
    const noEndpoints = await cli(['networks']);
    expect(noEndpoints.code).toBe(2);
    expect(noEndpoints.stderr).toMatch(/^error \[InvalidArgument\]: no endpoints/);
    const wrongToken = await cli(['--endpoints', url, '--token', 'nope', 'networks']);
    expect(wrongToken.code).toBe(2);
    expect(wrongToken.stderr).toMatch(/^error \[Unauthorized\]/);
    expect(node.received.length).toBe(seen);
  });

  it('an unreachable cluster exits 3; status lists each endpoint and exits 0 while one answers', async () => {
    const dead = await deadUrl();
    const down = await cli(['--endpoints', dead, '--timeout', '300', 'networks']);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/^error \[Unavailable\]: .*ECONNREFUSED/);
    const status = await cli(['--endpoints', `${url},${dead}`, '--token', 'tok', '--timeout', '300', '--json', 'status']);
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout) as Array<{ endpoint: string; status?: { id: string; stateHash: string }; error?: { code: string } }>;
    expect(rows.map((r) => [r.endpoint, r.status?.id, r.error?.code])).toEqual([[url, 'n1', undefined], [dead, undefined, 'Unavailable']]);
  });

  it('members add/list and transfer-leader', async () => {
    const added = await cli([...flags(), 'members', 'add', 'n2', '--peer-url', '127.0.0.1:7002', '--client-url', 'http://127.0.0.1:8002']);
    expect({ code: added.code, out: added.stdout }).toEqual({ code: 0, out: 'added n2\n' });
    const listed = await cli([...flags(), '--json', 'members', 'list']);
    expect(JSON.parse(listed.stdout)).toEqual(node.members);
    const moved = await cli([...flags(), 'transfer-leader', '--to', 'n2']);
    expect({ code: moved.code, out: moved.stdout }).toEqual({ code: 0, out: 'leader n2\n' });
    const refused = await cli([...flags(), 'members', 'promote', 'ghost']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[InvalidMembership\]/);
  });

  it('import-seed-state proposes a seed’s state in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ripam-cli-api-'));
    const slices = new NodeSliceAllocator('10.77.0.0/16', 28);
    const slice = slices.assign('node-a');
    slices.assign('node-b');
    const agent = new IpAllocator(slice);
    agent.allocate();
    agent.allocate();
    await writeFile(join(dir, 'slices.json'), JSON.stringify(slices.snapshot()));
    await writeFile(join(dir, 'agent.json'), JSON.stringify(agent.toState()));
    const r = await cli([...flags(), '--json', 'import-seed-state', '--network', 'seed', join(dir, 'slices.json'), join(dir, 'agent.json')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ commands: 5, name: 'seed', cidr: '10.77.0.0/16', slicesAssigned: 2, addressesAllocated: 2 });
    expect(node.sm.sliceOf('seed', 'node-a')).toBe(slice);
    expect(agent.allocatedIps().map((a) => node.sm.allocationOf('seed', a)?.nodeId)).toEqual(['node-a', 'node-a']);
    const bad = await cli([...flags(), 'import-seed-state', '--network', 'seed2', join(dir, 'missing.json')]);
    expect(bad.code).toBe(2);
    expect(node.sm.networkUsage('seed2')).toBeUndefined();
  });
});
