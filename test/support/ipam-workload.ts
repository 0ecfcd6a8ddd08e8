/**
 * Random IPAM command streams for property tests (and, later, the Raft simulator's client workload).
 * Small networks and few ids so that streams hit the interesting cases: full slices, owner reuse,
 * stale generations, releases of released addresses, paired networks.
 */
import fc from 'fast-check';
import type { IpamCommand } from '../../src/index.js';

const nodeIds = ['n1', 'n2', 'n3', 'n4', 'n5', 'nœud-6'];
const owners = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];
const networks = ['v4', 'v6', 'tiny'];

const v4Address = fc.integer({ min: 0, max: 255 }).map((i) => `10.200.0.${i}`);
const v6Address = fc.integer({ min: 0, max: 40 }).map((i) => `fd00:0:0:${i % 4}::${(i % 9).toString(16)}`);
const tinyAddress = fc.integer({ min: 0, max: 15 }).map((i) => `192.0.2.${i}`);

export const setupCommands: IpamCommand[] = [
  { type: 'configureNetwork', name: 'v4', cidr: '10.200.0.0/24', slicePrefix: 28 },
  { type: 'configureNetwork', name: 'v6', cidr: 'fd00::/62', slicePrefix: 64, pair: 'v4' },
  { type: 'configureNetwork', name: 'tiny', cidr: '192.0.2.0/28', slicePrefix: 30 },
  ...['n1', 'n2', 'n3'].flatMap((nodeId): IpamCommand[] => [
    { type: 'assignSlice', network: 'v4', nodeId },
    { type: 'assignSlice', network: 'tiny', nodeId },
  ]),
];

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

export const commandArb: fc.Arbitrary<IpamCommand> = fc.oneof(
  w(2, fc.record({ type: fc.constant('assignSlice' as const), network: fc.constantFrom(...networks), nodeId: fc.constantFrom(...nodeIds) })),
  w(1, fc.record({ type: fc.constant('releaseSlice' as const), network: fc.constantFrom(...networks), nodeId: fc.constantFrom(...nodeIds) })),
  w(6, fc.record({ type: fc.constant('allocate' as const), network: fc.constantFrom(...networks), nodeId: fc.constantFrom(...nodeIds), owner: fc.option(fc.constantFrom(...owners), { nil: undefined }) })),
  w(3, fc.record({ type: fc.constant('allocate' as const), network: fc.constantFrom(...networks), nodeId: fc.constantFrom(...nodeIds) })),
  w(1, fc.record({ type: fc.constant('allocateFirst' as const), network: fc.constantFrom(...networks), nodeId: fc.constantFrom(...nodeIds), owner: fc.option(fc.constantFrom(...owners), { nil: undefined }) })),
  w(1, fc.record({ type: fc.constant('allocateSpecific' as const), network: fc.constant('v4'), nodeId: fc.constantFrom(...nodeIds), address: v4Address, owner: fc.option(fc.constantFrom(...owners), { nil: undefined }) })),
  w(1, fc.record({ type: fc.constant('allocateSpecific' as const), network: fc.constant('v6'), nodeId: fc.constantFrom(...nodeIds), address: v6Address })),
  w(1, fc.record({ type: fc.constant('mark' as const), network: fc.constant('tiny'), nodeId: fc.constantFrom(...nodeIds), address: tinyAddress })),
  w(3, fc.record({ type: fc.constant('release' as const), network: fc.constant('v4'), address: v4Address, generation: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }) })),
  w(3, fc.record({ type: fc.constant('release' as const), network: fc.constant('tiny'), address: tinyAddress })),
  w(1, fc.record({ type: fc.constant('releaseOwner' as const), owner: fc.constantFrom(...owners), network: fc.option(fc.constantFrom(...networks), { nil: undefined }) })),
).map((c) => JSON.parse(JSON.stringify(c)) as IpamCommand); // drop undefined optional fields, as a wire round trip would
