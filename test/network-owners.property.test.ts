/**
 * Network's owner index (owner bytes in the blocks, OwnerIndex over packed or numbered entries) against a
 * Map model: random takes, frees, detaches and re-attaches, and attaches refused for an owner conflict
 * (with another block, or twice in the block itself) that must leave the index as it was. Run for an
 * IPv4 network (packed entries), a small-slice IPv6 one (packed), and a /64-slice IPv6 one (bigint
 * offsets, numbered Located entries).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AllocationBlock } from '../src/ipam/allocation-block.js';
import { OverlayError } from '../src/ipam/errors.js';
import { Network } from '../src/ipam/network.js';

const pool = ['a', 'b', 'c', 'é', '中文', '\u{1F600}', 'container-1', 'container-12', 'container-123', 'x'.repeat(256)];

type Op =
  | { kind: 'take'; node: number; owner: number }
  | { kind: 'free'; owner: number }
  | { kind: 'reattach'; node: number }
  | { kind: 'conflict'; owner: number; twice: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('take' as const), node: fc.nat(3), owner: fc.nat(pool.length - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('free' as const), owner: fc.nat(pool.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reattach' as const), node: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('conflict' as const), owner: fc.nat(pool.length - 1), twice: fc.boolean() }) },
);

describe.each([
  ['IPv4, packed entries', '10.0.0.0/16', 24],
  ['IPv6 small slices, packed entries', 'fd00::/104', 112],
  ['IPv6 /64 slices, numbered entries', 'fd00::/48', 64],
] as const)('Network owner index (%s) against a Map', (_name, cidr, prefix) => {
  it('holding() agrees with the model after every step', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const net = new Network('n', cidr, prefix);
        const model = new Map<string, { node: string; offset: string }>();
        let generation = 1;
        const block = (node: number): AllocationBlock => net.block(`node-${node}`) ?? net.addBlock(`node-${node}`, net.probe(`node-${node}`));
        for (const o of ops) {
          if (o.kind === 'take') {
            const owner = pool[o.owner] as string;
            if (model.has(owner)) continue; // the state machine checks this before take
            const b = block(o.node);
            const offset = b.lowestFree();
            if (offset === undefined) continue;
            net.take(b, offset, generation++, owner);
            model.set(owner, { node: b.nodeId, offset: String(offset) });
          } else if (o.kind === 'free') {
            const owner = pool[o.owner] as string;
            const at = net.holding(owner);
            if (at === undefined) continue;
            expect(net.free(at.block, at.offset)?.owner).toBe(owner);
            model.delete(owner);
          } else if (o.kind === 'reattach') {
            const detached = net.detach(`node-${o.node}`);
            if (detached === undefined) continue;
            for (const [owner, at] of model) if (at.node === detached.nodeId) expect(net.holding(owner)).toBeUndefined();
            net.attach(detached);
          } else {
            const owner = pool[o.owner] as string;
            const intruder = new AllocationBlock(net.geometry, 'intruder', net.probe('intruder'));
            const first = intruder.lowestFree();
            if (first === undefined) continue;
            intruder.take(first, generation++, 'only-here');
            const second = intruder.lowestFree();
            if (second === undefined) continue;
            if (o.twice) intruder.take(second, generation++, 'only-here');
            else if (model.has(owner)) intruder.take(second, generation++, owner);
            else continue;
            expect(() => net.attach(intruder)).toThrow(OverlayError);
            expect(net.block('intruder')).toBeUndefined();
            expect(net.holding('only-here')).toBeUndefined();
          }
          for (const owner of pool) {
            const at = net.holding(owner);
            const want = model.get(owner);
            expect(at === undefined ? undefined : { node: at.block.nodeId, offset: String(at.offset) }).toEqual(want);
            if (at !== undefined) expect(at.block.ownerOf(at.offset)).toBe(owner);
          }
        }
        expect(net.holding('\uD800')).toBeUndefined(); // ill-formed: never matches the U+FFFD spelling
      }),
      { numRuns: 80 },
    );
  });
});
