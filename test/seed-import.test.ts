/**
 * Seed import: the zlayer-overlay files become ordinary IPAM commands. What an operator sees: the exact
 * commands (configure, place each node at its recorded slice, mark each allocated address), and for a
 * bad file a message that says what is wrong with which value.
 */
import { describe, expect, it } from 'vitest';
import { IpAllocator } from '../src/ipam/ip-allocator.js';
import { NodeSliceAllocator } from '../src/ipam/node-slice-allocator.js';
import { importSeedState } from '../src/ipam/seed-import.js';
import { failure } from './support/errors.js';

function seed(): { slices: unknown; a: string; b: string } {
  const s = new NodeSliceAllocator('10.200.0.0/16', 24);
  const a = s.assign('node-a');
  const b = s.assign('node-b');
  return { slices: JSON.parse(JSON.stringify(s.snapshot())), a, b };
}


describe('importSeedState', () => {
  it('produces configure, one placement per node (in slice order) and one mark per allocated address', () => {
    const { slices, a, b } = seed();
    const agentA = new IpAllocator(a);
    const first = agentA.allocate() as string;
    const second = agentA.allocate() as string;
    const agentB = new IpAllocator(b);
    const third = agentB.allocate() as string;
    const cmds = importSeedState({ network: 'pods', slices, allocators: [agentB.toState(), agentA.toState()] });
    // Placements come in slice order (10.200.X.0/24 ascending by X).
    const placements = [['node-a', a], ['node-b', b]].sort((x, y) => Number((x[1] as string).split('.')[2]) - Number((y[1] as string).split('.')[2]));
    expect(cmds[0]).toEqual({ type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    expect(cmds.slice(1, 3)).toEqual(placements.map(([nodeId, slice]) => ({ type: 'assignSpecificSlice', network: 'pods', nodeId, slice })));
    expect(cmds.slice(3)).toEqual([
      { type: 'mark', network: 'pods', nodeId: 'node-b', address: third },
      { type: 'mark', network: 'pods', nodeId: 'node-a', address: first },
      { type: 'mark', network: 'pods', nodeId: 'node-a', address: second },
    ]);
  });

  it('without allocator files only the slices are imported', () => {
    const { slices } = seed();
    expect(importSeedState({ network: 'pods', slices }).map((c) => c.type)).toEqual(['configureNetwork', 'assignSpecificSlice', 'assignSpecificSlice']);
  });

  it('refuses bad input with InvalidState and a message naming the value', () => {
    const { slices, a } = seed();
    const long = 'n'.repeat(257);
    const cases: Array<[unknown, string]> = [
      [null, 'seed import: input must be an object, got null'],
      [[1], 'seed import: input must be an object, got [1]'],
      [{ network: '', slices }, 'seed import: network name must be a non-empty string of at most 256 characters, got ""'],
      [{ network: 7, slices }, 'seed import: network name must be a non-empty string of at most 256 characters, got 7'],
      [{ network: long, slices }, `seed import: network name must be a non-empty string of at most 256 characters, got "${'n'.repeat(80)}…"`],
      [{ network: '\ud800', slices }, 'seed import: network name must be a non-empty string of at most 256 characters, got "\\ud800"'],
      [{ network: 'pods', slices, allocators: 'x' }, 'seed import: allocators must be an array, got "x"'],
      [{ network: 'pods', slices, allocators: [{ cidr: '10.9.0.0/24', allocated: [] }] }, 'allocator state for "10.9.0.0/24" does not match any assigned slice of 10.200.0.0/16'],
      [{ network: 'pods', slices, allocators: [{ cidr: a, allocated: [] }, { cidr: a, allocated: [] }] }, `allocator state for "${a}" does not match any assigned slice of 10.200.0.0/16`],
    ];
    for (const [input, message] of cases) expect(failure(() => importSeedState(input as never))).toEqual({ code: 'InvalidState', message });
    // A network name of exactly 256 characters is fine.
    expect(importSeedState({ network: 'n'.repeat(256), slices })[0]).toMatchObject({ name: 'n'.repeat(256) });
  });
});
