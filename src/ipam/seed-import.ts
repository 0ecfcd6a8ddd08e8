/**
 * Import of zlayer-overlay state files into IPAM commands, so a cluster can move from the seed to
 * raft-ipam by proposing ordinary log entries (no side door into the replicated state).
 *
 * Input: the leader's NodeSliceAllocator snapshot JSON and any number of agents' IpAllocator state JSON
 * files. Each agent allocator's CIDR must equal the slice of exactly one node. Everything is validated with
 * the same rules as live operation (aligned slices, no slice held twice, no reserved addresses) before a
 * single command is returned.
 */
import { describe } from './address.js';
import type { IpamCommand } from './commands.js';
import { OverlayError } from './errors.js';
import { IpAllocator } from './ip-allocator.js';
import { NodeSliceAllocator } from './node-slice-allocator.js';

export interface SeedImport {
  /** Name of the network to create. */
  network: string;
  /** NodeSliceAllocatorSnapshot JSON (parsed). */
  slices: unknown;
  /** IpAllocatorState JSON objects (parsed), one per agent. */
  allocators?: unknown[];
}

export function importSeedState(input: SeedImport): IpamCommand[] {
  const slices = NodeSliceAllocator.restore(input.slices);
  const commands: IpamCommand[] = [
    { type: 'configureNetwork', name: input.network, cidr: slices.clusterCidr(), slicePrefix: slices.slicePrefix() },
  ];
  const nodeBySlice = new Map<string, string>();
  for (const [nodeId, index] of slices.entries()) {
    const slice = slices.sliceAt(index);
    nodeBySlice.set(slice, nodeId);
    commands.push({ type: 'assignSpecificSlice', network: input.network, nodeId, slice });
  }
  for (const state of input.allocators ?? []) {
    const allocator = IpAllocator.fromState(state);
    const nodeId = nodeBySlice.get(allocator.cidr());
    if (nodeId === undefined) {
      throw new OverlayError('InvalidState', `allocator state for ${describe(allocator.cidr())} does not match any assigned slice of ${slices.clusterCidr()}`);
    }
    nodeBySlice.delete(allocator.cidr()); // a second file for the same slice is an error, not a merge
    for (const address of allocator.allocatedIps()) commands.push({ type: 'mark', network: input.network, nodeId, address });
  }
  return commands;
}
