/**
 * The simulator's client workload: real IpamStateMachine commands drawn from the run's seeded Rng. A few
 * networks and nodes keep contention high (full slices, owner reuse, stale generations).
 */
import type { IpamCommand } from '../ipam/commands.js';
import type { Rng } from '../raft/rng.js';

const NODES = ['w1', 'w2', 'w3', 'w4', 'w5'];
const OWNERS = Array.from({ length: 12 }, (_, i) => `ctr-${i}`);

export const SETUP: IpamCommand[] = [
  { type: 'configureNetwork', name: 'v4', cidr: '10.200.0.0/24', slicePrefix: 28 },
  { type: 'configureNetwork', name: 'v6', cidr: 'fd00:200::/60', slicePrefix: 64, pair: 'v4' },
];

export function nextCommand(rng: Rng, recentGenerations: readonly number[]): IpamCommand {
  const node = rng.pick(NODES);
  const net = rng.chance(0.7) ? 'v4' : 'v6';
  const r = rng.next();
  if (r < 0.12) return { type: 'assignSlice', network: 'v4', nodeId: node };
  if (r < 0.16) return { type: 'releaseSlice', network: 'v4', nodeId: node };
  if (r < 0.5) return { type: 'allocate', network: net, nodeId: node, owner: rng.pick(OWNERS) };
  if (r < 0.62) return { type: 'allocate', network: net, nodeId: node };
  if (r < 0.7) return { type: 'releaseOwner', owner: rng.pick(OWNERS) };
  if (r < 0.85) {
    const generation = recentGenerations.length > 0 && rng.chance(0.8) ? rng.pick(recentGenerations) : undefined;
    const address = `10.200.0.${rng.int(256)}`;
    return generation === undefined ? { type: 'release', network: 'v4', address } : { type: 'release', network: 'v4', address, generation };
  }
  if (r < 0.93) return { type: 'allocateSpecific', network: 'v4', nodeId: node, address: `10.200.0.${rng.int(256)}`, owner: rng.pick(OWNERS) };
  return { type: 'allocateFirst', network: net, nodeId: node };
}
