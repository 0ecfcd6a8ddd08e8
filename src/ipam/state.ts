/**
 * The replicated IPAM state as data. IpamStateMachine mutates it through commands; the snapshot codec
 * encodes and rebuilds it. Kept apart so neither of those depends on the other.
 */
import type { Family } from './address.js';
import type { Offset } from './host-range.js';
import { IpAllocator } from './ip-allocator.js';
import { NodeSliceAllocator } from './node-slice-allocator.js';

/** @internal one node's slice in one network and the addresses taken in it. */
export interface NodeSlice {
  readonly nodeId: string;
  readonly index: Offset;
  readonly alloc: IpAllocator;
  /** Allocation generation of every taken offset. */
  readonly gens: Map<Offset, number>;
  /** Owner of the owned offsets. */
  readonly owners: Map<Offset, string>;
}

/** @internal */
export interface Network {
  readonly name: string;
  readonly family: Family;
  readonly slices: NodeSliceAllocator;
  pair: string | undefined;
  readonly nodes: Map<string, NodeSlice>;
  /** owner → where its address in this network lives. */
  readonly ownerIndex: Map<string, { nodeId: string; offset: Offset }>;
}

/** @internal the whole replicated state; replaced as a unit by restore(). */
export interface IpamState {
  /** Next allocation generation to hand out (starts at 1; 0 never names an allocation). */
  nextGeneration: number;
  networks: Map<string, Network>;
}

export function emptyState(): IpamState {
  return { nextGeneration: 1, networks: new Map() };
}

export function newNetwork(name: string, cidr: string, slicePrefix: number): Network {
  const slices = new NodeSliceAllocator(cidr, slicePrefix);
  return { name, family: slices.cluster.family, slices, pair: undefined, nodes: new Map(), ownerIndex: new Map() };
}

export function newNodeSlice(network: Network, nodeId: string, index: Offset): NodeSlice {
  return { nodeId, index, alloc: new IpAllocator(network.slices.sliceAt(index)), gens: new Map(), owners: new Map() };
}

/** Code-unit order: deterministic and locale-independent. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
