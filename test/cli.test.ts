import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IpAllocator, NodeSliceAllocator } from '../src/index.js';

const run = promisify(execFile);
const main = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', main, ...args], { cwd: join(import.meta.dirname, '..') });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('raft-ipam CLI', () => {
  it('import-seed turns seed files into commands, and --check applies them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ripam-cli-'));
    const slices = new NodeSliceAllocator('10.200.0.0/16', 28);
    const slice = slices.assign('node-a');
    const agent = new IpAllocator(slice);
    agent.allocate();
    await writeFile(join(dir, 'slices.json'), JSON.stringify(slices.snapshot()));
    await writeFile(join(dir, 'agent.json'), JSON.stringify(agent.toState()));
    const out = await cli('import-seed', '--network', 'pods', '--slices', join(dir, 'slices.json'), '--allocator', join(dir, 'agent.json'));
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string })).toEqual([
      { type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 28 },
      { type: 'assignSpecificSlice', network: 'pods', nodeId: 'node-a', slice },
      { type: 'mark', network: 'pods', nodeId: 'node-a', address: agent.allocatedIps()[0] },
    ]);
    const checked = await cli('import-seed', '--network', 'pods', '--slices', join(dir, 'slices.json'), '--allocator', join(dir, 'agent.json'), '--check');
    expect(JSON.parse(checked.stdout)).toMatchObject({ commands: 3, slicesAssigned: 1, addressesAllocated: 1 });
  });

  it('bad input exits 2 with a stable error code on stderr', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ripam-cli-'));
    await writeFile(join(dir, 'bad.json'), '{"cluster_cidr": "10.200.0.0/16", "slice_prefix": 28, "assigned": [["a", "10.200.0.3/28"]]}');
    const misaligned = await cli('import-seed', '--network', 'pods', '--slices', join(dir, 'bad.json'));
    expect(misaligned.code).toBe(2);
    expect(misaligned.stderr).toMatch(/^error \[InvalidCidr\]: .*not aligned/);
    const missing = await cli('import-seed', '--network', 'pods', '--slices', join(dir, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error \[InvalidState\]/);
    await writeFile(join(dir, 'good.json'), '{"cluster_cidr": "10.200.0.0/16", "slice_prefix": 28, "assigned": [["a", "10.200.0.16/28"]]}');
    const unnamed = await cli('import-seed', '--network', '', '--slices', join(dir, 'good.json'));
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toMatch(/^error \[InvalidState\]: .*network name/);
    expect(unnamed.stdout).toBe('');
    const badSeed = await cli('simulate', '--seed', 'twelve');
    expect(badSeed.code).toBe(2);
    expect(badSeed.stderr).toMatch(/error \[InvalidCommand\]: --seed must be an integer/);
  });

  it('simulate prints a JSON result with the replay command', async () => {
    const out = await cli('simulate', '--seed', '3', '--steps', '500');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ ok: true, seed: 3, replay: 'npx raft-ipam simulate --seed 3 --steps 500 --nodes 3' });
  });
});
