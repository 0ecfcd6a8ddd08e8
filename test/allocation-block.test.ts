/**
 * AllocationBlock: one node's slice and what is allocated in it. The lifecycle (take/free with
 * generations and owners, memory given back when empty) and the wire form the snapshot carries: a round
 * trip, and every way a forged or corrupt block is refused with InvalidSnapshot naming the node and the
 * problem.
 */
import { describe, expect, it } from 'vitest';
import { invalidSnapshot } from './support/errors.js';
import { AllocationBlock } from '../src/ipam/allocation-block.js';
import { SliceGeometry } from '../src/ipam/slice-geometry.js';

const v4 = new SliceGeometry('10.0.0.0/16', 24);
const v6 = new SliceGeometry('fd00::/48', 64);

describe('AllocationBlock lifecycle', () => {
  it('take and free keep generation and owner together; freeing the last address gives the memory back', () => {
    const b = new AllocationBlock(v4, 'n', 1);
    expect(b.cidr()).toBe('10.0.1.0/24');
    expect(b.free(5)).toBeUndefined(); // nothing allocated at all
    expect(b.lowestFree()).toBe(1);
    b.take(1, 10, 'pod-a');
    b.take(2, 11, undefined);
    b.take(3, 12, 'pod-c');
    expect(b.size).toBe(3);
    expect(b.lowestFree()).toBe(4);
    expect([...b.owned()].sort()).toEqual([['pod-a', 1], ['pod-c', 3]]);
    expect([...b.allocations()]).toEqual([
      { offset: 1, generation: 10, owner: 'pod-a' },
      { offset: 2, generation: 11, owner: undefined },
      { offset: 3, generation: 12, owner: 'pod-c' },
    ]);
    expect(b.free(9)).toBeUndefined(); // not allocated
    expect(b.size).toBe(3);
    expect(b.free(1)).toEqual({ offset: 1, generation: 10, owner: 'pod-a' });
    expect(b.ownerOf(1)).toBeUndefined();
    expect(b.generationOf(1)).toBeUndefined();
    expect(b.has(1)).toBe(false);
    expect([...b.owned()]).toEqual([['pod-c', 3]]);
    expect(b.free(2)).toEqual({ offset: 2, generation: 11, owner: undefined });
    expect([...b.owned()]).toEqual([['pod-c', 3]]);
    expect(b.ownerOf(3)).toBe('pod-c');
    expect(b.reservedBytes()).toBeGreaterThan(0);
    expect(b.free(3)).toEqual({ offset: 3, generation: 12, owner: 'pod-c' });
    expect(b.size).toBe(0);
    expect(b.reservedBytes()).toBe(0);
    expect([...b.allocations()]).toEqual([]);
    expect([...b.owned()]).toEqual([]);
    expect(() => {
      b.take(4, 13, undefined);
      b.take(4, 14, undefined);
    }).toThrow('block 10.0.1.0/24: offset 4 taken twice');
  });

  it('an unowned address never appears among the owners', () => {
    const b = new AllocationBlock(v4, 'n', 1);
    b.take(7, 1, undefined);
    expect([...b.owned()]).toEqual([]);
    expect(b.encode()).toEqual([[7, 1], [1], []]);
  });

  it('usableOffset refusals name the slice and the node', () => {
    const b = new AllocationBlock(v4, 'node-9', 2);
    expect(b.usableOffset('10.0.2.9')).toBe(9);
    expect(() => b.usableOffset('10.0.3.9')).toThrow(expect.objectContaining({ code: 'IpNotInRange', message: 'IP address 10.0.3.9 is not in slice 10.0.2.0/24 of node "node-9"' }));
  });
});

function decode(geometry: SliceGeometry, runs: unknown, gens: unknown, owners: unknown = [], index: number | bigint = 1): { block: AllocationBlock; claimed: number[] } {
  const claimed: number[] = [];
  const block = AllocationBlock.decode(geometry, 'n', index, {
    runs,
    gens,
    owners,
    checkOwner: (o) => {
      if (typeof o !== 'string') throw new Error('bad owner');
      return o;
    },
  }, (g) => claimed.push(g));
  return { block, claimed };
}


describe('AllocationBlock wire form', () => {
  it('round trip: runs, delta-coded generations, owners by position', () => {
    const b = new AllocationBlock(v4, 'n', 1);
    b.take(3, 20, 'a');
    b.take(4, 7, undefined);
    b.take(5, 9, 'c');
    b.take(9, 30, undefined);
    const wire = b.encode();
    expect(wire).toEqual([[3, 3, 9, 1], [20, -13, 2, 21], [0, 'a', 2, 'c']]);
    const { block, claimed } = decode(v4, ...wire);
    expect(claimed).toEqual([20, 7, 9, 30]);
    expect([...block.allocations()]).toEqual([...b.allocations()]);
    expect(block.encode()).toEqual(wire);
  });

  it('round trip of an IPv6 /64 block with offsets above 2^53', () => {
    const b = new AllocationBlock(v6, 'n', 5n);
    const high = (1n << 60n) + 3n;
    b.take(high, 1, 'x');
    b.take(high + 1n, 2, undefined);
    b.take(1n, 3, undefined);
    const wire = b.encode();
    expect(wire[0]).toEqual([1, 1, high.toString(), 2]);
    const { block } = decode(v6, ...wire, 5n);
    expect([...block.allocations()]).toEqual([...b.allocations()]);
    expect(block.ownerOf(high)).toBe('x');
  });

  it('an empty block decodes to an empty block', () => {
    expect(decode(v4, [], []).block.size).toBe(0);
  });

  const who = 'invalid snapshot: node "n"';
  const cases: Array<[string, unknown, unknown, unknown, string]> = [
    ['runs not an array', 'x', [], [], `${who}: runs must be an even-length array`],
    ['runs of odd length', [1], [1], [], `${who}: runs must be an even-length array`],
    ['generations not an array', [1, 1], 'x', [], `${who}: generations must be an array`],
    ['owners not an array', [1, 1], [1], 'x', `${who}: owners must be an even-length array`],
    ['owners of odd length', [1, 1], [1], [0], `${who}: owners must be an even-length array`],
    ['generations without addresses', [], [1], [], `${who}: generations or owners without addresses`],
    ['owners without addresses', [], [], [0, 'a'], `${who}: generations or owners without addresses`],
    ['a negative run start', [-1, 1], [1], [], 'invalid snapshot: run start must be a non-negative integer, got -1'],
    ['a run length as a small decimal string', [1, '1'], [1], [], 'invalid snapshot: run length must be a non-negative integer, got "1"'],
    ['an empty run', [1, 0], [], [], `${who}: empty run`],
    ['touching runs (not the canonical spelling)', [1, 2, 3, 1], [1, 1, 1], [], `${who}: runs overlap, touch or are out of order`],
    ['overlapping runs', [1, 3, 3, 1], [1, 1, 1, 1], [], `${who}: runs overlap, touch or are out of order`],
    ['runs out of order', [5, 1, 1, 1], [1, 1], [], `${who}: runs overlap, touch or are out of order`],
    ['a run at the network address', [0, 1], [1], [], `${who}: run 0+1 leaves the usable hosts of 10.0.1.0/24`],
    ['a run into the broadcast address', [251, 5], [1, 1, 1, 1, 1], [], `${who}: run 251+5 leaves the usable hosts of 10.0.1.0/24`],
    ['fewer generations than addresses', [1, 2], [1], [], `${who}: 2 addresses but 1 generations`],
    ['more generations than addresses', [1, 1], [1, 1], [], `${who}: 1 addresses but 2 generations`],
    ['a generation delta that is not a number', [1, 2], [1, 'x'], [], `${who}: bad generation delta "x"`],
    ['a fractional generation delta', [1, 1], [1.5], [], `${who}: bad generation delta 1.5`],
    ['an owner position that is not an integer', [1, 2], [1, 1], [0.5, 'a'], `${who}: bad owner position 0.5`],
    ['an owner position as a string', [1, 2], [1, 1], ['0', 'a'], `${who}: bad owner position "0"`],
    ['an owner position repeated', [1, 2], [1, 1], [0, 'a', 0, 'b'], `${who}: bad owner position 0`],
    ['owner positions descending', [1, 2], [1, 1], [1, 'a', 0, 'b'], `${who}: bad owner position 0`],
    ['an owner position past the last address', [1, 2], [1, 1], [2, 'a'], `${who}: bad owner position 2`],
  ];
  for (const [name, runs, gens, owners, message] of cases) {
    it(`refuses ${name}`, () => {
      expect(invalidSnapshot(() => decode(v4, runs, gens, owners))).toBe(message);
    });
  }

  it('the last usable address and the last owner position are fine', () => {
    const { block } = decode(v4, [253, 2], [1, 1], [1, 'z']);
    expect([...block.allocations()]).toEqual([{ offset: 253, generation: 1, owner: undefined }, { offset: 254, generation: 2, owner: 'z' }]);
  });
});
