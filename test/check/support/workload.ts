/**
 * Random operation streams for the checker's tests: the project's IPAM command workload
 * (test/support/ipam-workload.ts: small networks, few ids, full slices, owner reuse, stale generations,
 * a paired network) plus the commands it leaves out (configureNetwork in every outcome,
 * assignSpecificSlice) and the reads the API offers.
 */
import fc from 'fast-check';
import type { Operation, ReadQuery } from '../../../src/check/operations.js';
import { IpamStateMachine, type IpamCommand } from '../../../src/index.js';
import { commandArb, setupCommands } from '../../support/ipam-workload.js';

export { setupCommands };

export const NODES = ['n1', 'n2', 'n3', 'n4', 'n5', 'nœud-6'];
export const OWNERS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];
export const NETWORKS = ['v4', 'v6', 'tiny', 'ghost'];

const configureArb: fc.Arbitrary<IpamCommand> = fc
  .record({
    name: fc.constantFrom('v4', 'v6', 'tiny', 'x6', 'x4'),
    cidr: fc.constantFrom('10.200.0.0/24', '10.200.0.7/24', 'fd00::/62', 'fd01::/64', '192.0.2.0/28', '10.9.0.0/16', 'bad'),
    slicePrefix: fc.constantFrom(24, 28, 30, 64, 96, 120),
    pair: fc.option(fc.constantFrom('v4', 'v6', 'tiny', 'x6', 'x4', 'nope'), { nil: undefined }),
  })
  .map((c) => ({ type: 'configureNetwork' as const, ...c }));

const specificSliceArb: fc.Arbitrary<IpamCommand> = fc
  .record({
    network: fc.constantFrom('v4', 'tiny', 'v6'),
    nodeId: fc.constantFrom(...NODES),
    slice: fc.constantFrom('10.200.0.0/28', '10.200.0.16/28', '10.200.0.240/28', '10.200.0.8/28', '192.0.2.4/30', '192.0.2.12/30', 'fd00:0:0:3::/64', '10.1.0.0/28'),
  })
  .map((c) => ({ type: 'assignSpecificSlice' as const, ...c }));

/** Addresses near the start of the slices the setup assigns (where allocations land), so releases hit them. */
const nearAddresses: Record<string, string[]> = (() => {
  const sm = new IpamStateMachine();
  for (const c of setupCommands) sm.apply(c);
  const out: Record<string, string[]> = {};
  for (const network of ['v4', 'tiny', 'v6']) {
    out[network] = (sm.slices(network) ?? []).flatMap((s) => {
      const base = s.slice.split('/')[0] as string;
      if (network === 'v6') return [1, 2, 3].map((i) => base.replace(/::$/, `::${i}`));
      const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
      return [1, 2, 3, 4].map((i) => `${a}.${b}.${c}.${d + i}`);
    });
  }
  return out;
})();

const releaseNearArb: fc.Arbitrary<IpamCommand> = fc
  .constantFrom('v4', 'tiny', 'v6')
  .chain((network) =>
    fc.record({
      type: fc.constant('release' as const),
      network: fc.constant(network),
      address: fc.constantFrom(...(nearAddresses[network] as string[])),
      generation: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
    }),
  );

/** Allocations on the nodes that hold slices after the setup. */
const allocateHeldArb: fc.Arbitrary<IpamCommand> = fc.record({
  type: fc.constantFrom('allocate' as const, 'allocateFirst' as const),
  network: fc.constantFrom('v4', 'v6', 'tiny'),
  nodeId: fc.constantFrom('n1', 'n2', 'n3'),
  owner: fc.option(fc.constantFrom(...['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8']), { nil: undefined }),
});

export const readArb: fc.Arbitrary<ReadQuery> = fc.oneof(
  fc.constant({ type: 'listNetworks' as const }),
  fc.record({ type: fc.constant('listSlices' as const), network: fc.constantFrom(...NETWORKS) }),
  fc.record(
    {
      type: fc.constant('listAllocations' as const),
      network: fc.constantFrom(...NETWORKS),
      node: fc.constantFrom(...NODES),
      owner: fc.constantFrom(...OWNERS),
      limit: fc.integer({ min: 1, max: 4 }),
    },
    { requiredKeys: ['type', 'network'] },
  ),
);

export const mutationArb: fc.Arbitrary<IpamCommand> = fc.oneof(
  { weight: 12, arbitrary: commandArb },
  { weight: 4, arbitrary: allocateHeldArb },
  { weight: 4, arbitrary: releaseNearArb },
  { weight: 1, arbitrary: configureArb },
  { weight: 1, arbitrary: specificSliceArb },
).map((c) => JSON.parse(JSON.stringify(c)) as IpamCommand);

export const operationArb: fc.Arbitrary<Operation> = fc
  .oneof({ weight: 4, arbitrary: mutationArb as fc.Arbitrary<Operation> }, { weight: 1, arbitrary: readArb as fc.Arbitrary<Operation> })
  .map((op) => JSON.parse(JSON.stringify(op)) as Operation);

/** Every read of the small universe above: what a property test compares after each command. */
export function allReads(): ReadQuery[] {
  const reads: ReadQuery[] = [{ type: 'listNetworks' }];
  for (const network of [...NETWORKS, 'x4', 'x6']) {
    reads.push({ type: 'listSlices', network }, { type: 'listAllocations', network }, { type: 'listAllocations', network, limit: 2 });
    for (const node of NODES) reads.push({ type: 'listAllocations', network, node });
    for (const owner of OWNERS) reads.push({ type: 'listAllocations', network, owner }, { type: 'listAllocations', network, owner, node: 'n1' });
  }
  return reads;
}
