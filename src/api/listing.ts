/**
 * Listings of a network: its node → slice table and its allocations, answered by the state machine's
 * listing queries inside one service.query (one consistent point of the log), at O(answer) cost. The
 * owner filter uses addressesOf(owner), which the state machine indexes.
 */
import { parseAddress } from '../ipam/address.js';
import type { Consistency, NodeService } from '../node/service.js';
import type { AllocationView, AllocationsView, NetworkSlicesView } from './wire.js';

/** Undefined when the network does not exist. Slices ascending by position in the network. */
export async function listSlices(service: NodeService, consistency: Consistency, network: string): Promise<NetworkSlicesView | undefined> {
  const slices = await service.query(consistency, (sm) => sm.slices(network));
  if (!slices) return undefined;
  // Counts beyond 2^53 (IPv6 slices) travel as decimal strings: JSON numbers would round them.
  return { network, slices: slices.map((s) => ({ nodeId: s.nodeId, slice: s.slice, allocated: s.allocated, total: String(s.total), available: String(s.available) })) };
}

export interface AllocationFilter {
  node?: string;
  owner?: string;
  limit: number;
  /** Only addresses above this one (a page cursor: the previous page's `next`). */
  after?: string;
}

/** Undefined when the network does not exist. Order: slice position, then address. */
export async function listAllocations(service: NodeService, consistency: Consistency, network: string, filter: AllocationFilter): Promise<AllocationsView | undefined> {
  let matched: AllocationView[] | undefined;
  if (filter.owner !== undefined) {
    const owner = filter.owner;
    // An owner holds at most one address per network, so this is at most one record.
    // The cursor still applies (and is still checked): the record is listed only if it lies above it.
    matched = await service.query(consistency, (sm) => {
      if (!sm.networkUsage(network)) return undefined;
      const held = sm.addressesOf(owner).filter((r) => r.network === network && (filter.node === undefined || r.nodeId === filter.node));
      if (filter.after === undefined) return held;
      sm.allocations(network, { after: filter.after, limit: 0 }); // checks the cursor, lists nothing
      // Listing order is ascending address (slices are ordered by position).
      const floor = parseAddress(filter.after).value;
      return held.filter((r) => parseAddress(r.address).value > floor);
    });
  } else {
    // One past the limit is enough to know the answer is truncated.
    matched = await service.query(consistency, (sm) => sm.allocations(network, { ...(filter.node !== undefined ? { nodeId: filter.node } : {}), limit: filter.limit + 1, ...(filter.after !== undefined ? { after: filter.after } : {}) }));
  }
  if (matched === undefined) return undefined;
  const page = matched.slice(0, filter.limit);
  const truncated = matched.length > filter.limit;
  return { network, allocations: page, truncated, ...(truncated ? { next: (page[page.length - 1] as AllocationView).address } : {}) };
}
