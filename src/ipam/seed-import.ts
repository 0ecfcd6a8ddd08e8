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
import { MAX_FIELD_LENGTH, parseCommand, type IpamCommand } from './commands.js';
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

function invalid(message: string): never {
  throw new OverlayError('InvalidState', `seed import: ${message}`);
}

/**
 * Every input is untrusted (it comes from files and the command line): a bad shape is InvalidState, a bad
 * CIDR or address its own code, and nothing is returned unless every command is one apply() accepts the
 * shape of — an import never prints commands that the state machine would refuse as InvalidCommand.
 */
export function importSeedState(input: SeedImport): IpamCommand[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) invalid(`input must be an object, got ${describe(input)}`);
  const { network, allocators } = input as unknown as Record<string, unknown>;
  if (typeof network !== 'string' || network.length === 0 || network.length > MAX_FIELD_LENGTH || !network.isWellFormed()) {
    invalid(`network name must be a non-empty string of at most ${MAX_FIELD_LENGTH} characters, got ${describe(network)}`);
  }
  if (allocators !== undefined && !Array.isArray(allocators)) invalid(`allocators must be an array, got ${describe(allocators)}`);
  const slices = NodeSliceAllocator.restore(input.slices);
  const commands: IpamCommand[] = [
    { type: 'configureNetwork', name: network, cidr: slices.clusterCidr(), slicePrefix: slices.slicePrefix() },
  ];
  const nodeBySlice = new Map<string, string>();
  for (const [nodeId, index] of slices.entries()) {
    const slice = slices.sliceAt(index);
    nodeBySlice.set(slice, nodeId);
    commands.push({ type: 'assignSpecificSlice', network, nodeId, slice });
  }
  for (const state of (allocators as unknown[] | undefined) ?? []) {
    const allocator = IpAllocator.fromState(state);
    const nodeId = nodeBySlice.get(allocator.cidr());
    if (nodeId === undefined) {
      throw new OverlayError('InvalidState', `allocator state for ${describe(allocator.cidr())} does not match any assigned slice of ${slices.clusterCidr()}`);
    }
    nodeBySlice.delete(allocator.cidr()); // a second file for the same slice is an error, not a merge
    for (const address of allocator.allocatedIps()) commands.push({ type: 'mark', network, nodeId, address });
  }
  return commands.map((c) => parseCommand(c));
}
