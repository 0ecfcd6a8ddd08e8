import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NodeSliceAllocator, fnv1a64, fnvToBigInt } from '../src/index.js';
import { code } from './support/errors.js';
import { NaiveSliceAllocator, naiveFnv1a64 } from './support/naive-seed.js';

const cluster = '10.200.0.0/16';

describe('NodeSliceAllocator: seed test cases', () => {
  it('rejects equal, smaller and over-max prefixes', () => {
    expect(code(() => new NodeSliceAllocator(cluster, 16))).toBe('InvalidCidr');
    expect(code(() => new NodeSliceAllocator(cluster, 8))).toBe('InvalidCidr');
    expect(code(() => new NodeSliceAllocator(cluster, 33))).toBe('InvalidCidr');
  });
  it('capacity', () => {
    expect(new NodeSliceAllocator(cluster, 28).capacity()).toBe(4096n);
    expect(new NodeSliceAllocator(cluster, 24).capacity()).toBe(256n);
  });
  it('assign is within cluster, idempotent, distinct per node', () => {
    const a = new NodeSliceAllocator(cluster, 28);
    const s = a.assign('node-a');
    expect(s.endsWith('/28')).toBe(true);
    expect(s.startsWith('10.200.')).toBe(true);
    expect(a.assign('node-a')).toBe(s);
    expect(a.assignedCount()).toBe(1);
    const b = a.assign('node-b');
    const c = a.assign('node-c');
    expect(new Set([s, b, c]).size).toBe(3);
  });
  it('release', () => {
    const a = new NodeSliceAllocator(cluster, 28);
    const s = a.assign('node-a');
    expect(a.sliceFor('node-a')).toBe(s);
    expect(a.release('node-a')).toBe(true);
    expect(a.sliceFor('node-a')).toBeUndefined();
    expect(a.release('node-a')).toBe(false);
  });
  it('collisions probe forward: 4 slices, 4 nodes, all distinct', () => {
    const a = new NodeSliceAllocator('10.200.0.0/28', 30);
    expect(a.capacity()).toBe(4n);
    const slices = ['a', 'b', 'c', 'd'].map((id) => a.assign(id));
    expect(new Set(slices).size).toBe(4);
  });
  it('exhaustion after 4096', () => {
    const a = new NodeSliceAllocator(cluster, 28);
    for (let i = 0; i < 4096; i++) a.assign(`node-${i}`);
    expect(a.assignedCount()).toBe(4096);
    expect(code(() => a.assign('node-4096'))).toBe('NoAvailableSlices');
  });
  it('snapshot roundtrip through JSON', () => {
    const a = new NodeSliceAllocator(cluster, 28);
    const slices = ['node-a', 'node-b', 'node-c'].map((id) => a.assign(id));
    const restored = NodeSliceAllocator.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(['node-a', 'node-b', 'node-c'].map((id) => restored.sliceFor(id))).toEqual(slices);
    expect(restored.capacity()).toBe(4096n);
    expect(restored.slicePrefix()).toBe(28);
    expect(restored.clusterCidr()).toBe(cluster);
  });
  it('restore rejects mismatched prefix and out-of-cluster slices', () => {
    expect(code(() => NodeSliceAllocator.restore({ cluster_cidr: cluster, slice_prefix: 28, assigned: [['node-a', '10.200.0.0/24']] }))).toBe('InvalidCidr');
    expect(code(() => NodeSliceAllocator.restore({ cluster_cidr: cluster, slice_prefix: 28, assigned: [['node-a', '10.201.0.0/28']] }))).toBe('InvalidCidr');
  });
  it('hash is deterministic across instances', () => {
    expect(new NodeSliceAllocator(cluster, 28).assign('my-node-id')).toBe(new NodeSliceAllocator(cluster, 28).assign('my-node-id'));
  });
  it('IPv6 cluster', () => {
    const a = new NodeSliceAllocator('fd00:200::/48', 64);
    expect(a.capacity()).toBe(65536n);
    const s = a.assign('node-a');
    expect(s.endsWith('/64')).toBe(true);
    expect(s.startsWith('fd00:200:')).toBe(true);
  });
});

describe('NodeSliceAllocator: defects of the seed, fixed', () => {
  it('restore rejects a slice held twice, a misaligned slice and a repeated node', () => {
    expect(code(() => NodeSliceAllocator.restore({ cluster_cidr: cluster, slice_prefix: 28, assigned: [['a', '10.200.0.16/28'], ['b', '10.200.0.16/28']] }))).toBe('SliceTaken');
    expect(code(() => NodeSliceAllocator.restore({ cluster_cidr: cluster, slice_prefix: 28, assigned: [['a', '10.200.0.20/28']] }))).toBe('InvalidCidr');
    expect(code(() => NodeSliceAllocator.restore({ cluster_cidr: cluster, slice_prefix: 28, assigned: [['a', '10.200.0.16/28'], ['a', '10.200.0.32/28']] }))).toBe('InvalidState');
    expect(code(() => NodeSliceAllocator.restore({ cluster_cidr: cluster, slice_prefix: 28, assigned: [['a', 'fd00::/28']] }))).toBe('InvalidCidr');
    expect(code(() => NodeSliceAllocator.restore({ cluster_cidr: cluster, slice_prefix: 28, assigned: 'nope' }))).toBe('InvalidState');
  });
  it('capacity is exact beyond 2^64', () => {
    expect(new NodeSliceAllocator('fd00::/16', 96).capacity()).toBe(1n << 80n);
    expect(new NodeSliceAllocator('::/0', 128).capacity()).toBe(1n << 128n);
    const a = new NodeSliceAllocator('fd00::/16', 96);
    const s = a.assign('node-a');
    // index = FNV-1a(node-a) (exact count ≥ 2^64), slice = cluster + index · 2^32
    const expected = (0xfd00n << 112n) + (naiveFnv1a64('node-a') << 32n);
    expect(a.sliceNetwork(a.indexFor('node-a') as bigint)).toBe(expected);
    expect(s.endsWith('/96')).toBe(true);
  });
  it('node ids are validated', () => {
    const a = new NodeSliceAllocator(cluster, 28);
    expect(code(() => a.assign(''))).toBe('InvalidNodeId');
    expect(code(() => a.assign('\ud800'))).toBe('InvalidNodeId');
    expect(code(() => a.assign('x'.repeat(254)))).toBe('InvalidNodeId');
    expect(a.assignedCount()).toBe(0);
  });
});

describe('FNV-1a 64', () => {
  it('matches the published test vectors and the BigInt reference', () => {
    expect(fnvToBigInt(fnv1a64('')).toString(16)).toBe('cbf29ce484222325');
    expect(fnvToBigInt(fnv1a64('a')).toString(16)).toBe('af63dc4c8601ec8c');
    expect(fnvToBigInt(fnv1a64('foobar')).toString(16)).toBe('85944171f73967e8');
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => fnvToBigInt(fnv1a64(s)) === naiveFnv1a64(s)), { numRuns: 2000 });
  });
});

/** Random assign/release streams: the fast allocator must place every node exactly where the seed would. */
describe('placement is bit-identical to the seed (property)', () => {
  const configs: Array<[string, number, number]> = [
    ['10.200.0.0/28', 28, 30],
    ['10.200.0.0/24', 24, 28],
    ['10.200.0.0/16', 16, 24],
    ['fd00:200::/48', 48, 52],
    ['fd00::/16', 16, 64], // 48-bit index split: bigint indices
    ['fd00::/16', 16, 72], // > 2^48 slices
  ];
  for (const [cidr, clusterPrefix, slicePrefix] of configs) {
    it(`${cidr} → /${slicePrefix}`, () => {
      const nodeId = fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 40 }).map((i) => `node-${i}`));
      const op = fc.oneof(fc.record({ kind: fc.constant('assign' as const), nodeId }), fc.record({ kind: fc.constant('release' as const), nodeId }));
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
          const fast = new NodeSliceAllocator(cidr, slicePrefix);
          const naive = new NaiveSliceAllocator(clusterPrefix, slicePrefix);
          for (const o of ops) {
            if (Buffer.byteLength(o.nodeId) > 253) continue;
            if (o.kind === 'release') {
              expect(fast.release(o.nodeId)).toBe(naive.release(o.nodeId));
              continue;
            }
            const expected = naive.assign(o.nodeId);
            if (expected === undefined) {
              expect(code(() => fast.assign(o.nodeId))).toBe('NoAvailableSlices');
            } else {
              fast.assign(o.nodeId);
              expect(BigInt(fast.indexFor(o.nodeId) as number | bigint)).toBe(expected);
            }
          }
          expect(fast.assignedCount()).toBe(naive.assigned.size);
        }),
        { numRuns: 300 },
      );
    });
  }
  it('non-ASCII node ids land where the seed puts them', () => {
    const fast = new NodeSliceAllocator('10.200.0.0/16', 28);
    const naive = new NaiveSliceAllocator(16, 28);
    for (const id of ['nœud-1', 'узел-2', '節点-3', '🚀-4', 'e\u0301', 'node-a']) {
      expect(BigInt(fast.indexFor(id) ?? (fast.assign(id), fast.indexFor(id)) as number)).toBe(naive.assign(id));
    }
  });
});
