/**
 * Listings the state machine has no query for yet: a network's node → slice table and its allocations.
 * IpamStateMachine answers point questions (sliceOf, allocationOf, addressesOf, …) but cannot enumerate,
 * so these read its canonical snapshot: the bytes are taken inside service.query (one consistent point of
 * the log, and encoding is the cheap half) and decoded here, off the node's apply path. The cost is
 * O(whole state) per request; a state-machine query `slices(network)` / `allocations(network, filter)`
 * would make it O(answer) and is asked for in the API report. The owner filter does not need this: it
 * uses addressesOf(owner), which the state machine indexes.
 */
import { decodeSnapshot } from '../ipam/snapshot-codec.js';
import type { IpamState } from '../ipam/state.js';
import type { Consistency, NodeService } from '../node/service.js';
import type { AllocationView, AllocationsView, NetworkSlicesView } from './wire.js';

async function stateAt(service: NodeService, consistency: Consistency): Promise<IpamState> {
  const bytes = await service.query(consistency, (sm) => sm.snapshot());
  return decodeSnapshot(bytes);
}

/** Undefined when the network does not exist. Slices ascending by position in the network. */
export async function listSlices(service: NodeService, consistency: Consistency, network: string): Promise<NetworkSlicesView | undefined> {
  const net = (await stateAt(service, consistency)).networks.get(network);
  if (!net) return undefined;
  return {
    network,
    slices: net.blocks().map((b) => {
      const total = b.range.total();
      return { nodeId: b.nodeId, slice: b.cidr(), allocated: b.size, total: String(total), available: String(total - BigInt(b.size)) };
    }),
  };
}

export interface AllocationFilter {
  node?: string;
  owner?: string;
  limit: number;
}

/** Undefined when the network does not exist. Order: slice position, then address (blocks and their allocations both iterate ascending). */
export async function listAllocations(service: NodeService, consistency: Consistency, network: string, filter: AllocationFilter): Promise<AllocationsView | undefined> {
  let matched: AllocationView[];
  if (filter.owner !== undefined) {
    const owner = filter.owner;
    // An owner holds at most one address per network, so this is at most one record: no snapshot needed.
    const found = await service.query(consistency, (sm) => (sm.networkUsage(network) ? sm.addressesOf(owner).filter((r) => r.network === network) : undefined));
    if (found === undefined) return undefined;
    matched = found.filter((r) => filter.node === undefined || r.nodeId === filter.node);
  } else {
    const net = (await stateAt(service, consistency)).networks.get(network);
    if (!net) return undefined;
    const blocks = filter.node !== undefined ? [net.block(filter.node)].filter((b) => b !== undefined) : net.blocks();
    matched = [];
    for (const block of blocks) {
      for (const a of block.allocations()) {
        // One past the limit is enough to know the answer is truncated.
        if (matched.length > filter.limit) break;
        matched.push({ network, nodeId: block.nodeId, address: block.format(a.offset), generation: a.generation, ...(a.owner !== undefined ? { owner: a.owner } : {}) });
      }
    }
  }
  return { network, allocations: matched.slice(0, filter.limit), truncated: matched.length > filter.limit };
}
