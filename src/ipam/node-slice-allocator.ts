/**
 * NodeSliceAllocator: carves per-node /slicePrefix slices out of a cluster CIDR, placing each node at
 * FNV-1a-64(nodeId) mod sliceCount and probing forward (wrapping) to the first free slice — the seed's exact
 * placement, so a cluster that moves from zlayer-overlay keeps every node's slice. The probe is one
 * "next absent" query on a hierarchical bitmap, not a scan, and capacity is exact beyond 2^64.
 *
 * One deliberate difference: when sliceCount ≥ 2^64 the seed saturates the count at 2^64 − 1 and takes
 * hash mod (2^64 − 1); we use the exact count, so index = hash. The two agree for every hash except
 * 2^64 − 1 (seed: slice 0).
 */
import { formatCidr, formatV4, MAX_PREFIX, parseCidr, describe, type ParsedCidr } from './address.js';
import { OverlayError } from './errors.js';
import { fnv1a64, fnvLowBits, fnvToBigInt } from './fnv.js';
import { OffsetSet } from './offset-set.js';
import type { Offset } from './host-range.js';

/** The seed's snapshot JSON shape. */
export interface NodeSliceAllocatorSnapshot {
  cluster_cidr: string;
  slice_prefix: number;
  assigned: Array<[string, string]>;
}

export const MAX_NODE_ID_BYTES = 253;

export function validateNodeId(nodeId: unknown): string {
  if (typeof nodeId !== 'string' || nodeId.length === 0 || Buffer.byteLength(nodeId, 'utf8') > MAX_NODE_ID_BYTES || !nodeId.isWellFormed()) {
    throw new OverlayError('InvalidNodeId', `node id must be a non-empty well-formed string of at most ${MAX_NODE_ID_BYTES} UTF-8 bytes, got ${describe(nodeId)}`);
  }
  return nodeId;
}

export class NodeSliceAllocator {
  readonly cluster: ParsedCidr;
  readonly prefix: number;
  /** log2 of the slice count. */
  readonly indexBits: number;
  private readonly taken: OffsetSet<Offset>;
  private readonly byNode = new Map<string, Offset>();
  private readonly byIndex = new Map<Offset, string>();
  private readonly big: boolean;

  constructor(clusterCidr: string, slicePrefix: number) {
    this.cluster = parseCidr(clusterCidr);
    const max = MAX_PREFIX[this.cluster.family];
    if (!Number.isInteger(slicePrefix)) {
      throw new OverlayError('InvalidCidr', `slice prefix must be an integer, got ${describe(slicePrefix)}`);
    }
    if (slicePrefix <= this.cluster.prefix) {
      throw new OverlayError('InvalidCidr', `slice prefix /${slicePrefix} must be more specific than cluster prefix /${this.cluster.prefix}`);
    }
    if (slicePrefix > max) {
      throw new OverlayError('InvalidCidr', `slice prefix /${slicePrefix} exceeds address family max /${max}`);
    }
    this.prefix = slicePrefix;
    this.indexBits = slicePrefix - this.cluster.prefix;
    this.big = this.indexBits > 48;
    this.taken = (this.big ? OffsetSet.big(this.indexBits) : OffsetSet.small(this.indexBits)) as OffsetSet<Offset>;
  }

  static restore(snapshot: unknown): NodeSliceAllocator {
    if (typeof snapshot !== 'object' || snapshot === null || Array.isArray(snapshot)) {
      throw new OverlayError('InvalidState', `slice snapshot must be an object, got ${describe(snapshot)}`);
    }
    const s = snapshot as Record<string, unknown>;
    if (typeof s.cluster_cidr !== 'string') throw new OverlayError('InvalidState', `slice snapshot: "cluster_cidr" must be a string`);
    if (typeof s.slice_prefix !== 'number') throw new OverlayError('InvalidState', `slice snapshot: "slice_prefix" must be a number`);
    if (!Array.isArray(s.assigned)) throw new OverlayError('InvalidState', `slice snapshot: "assigned" must be an array`);
    const allocator = new NodeSliceAllocator(s.cluster_cidr, s.slice_prefix);
    for (const entry of s.assigned) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[1] !== 'string') {
        throw new OverlayError('InvalidState', `slice snapshot: each assignment must be [nodeId, cidr], got ${describe(entry)}`);
      }
      const [nodeId, slice] = entry as [unknown, string];
      if (typeof nodeId === 'string' && allocator.byNode.has(nodeId)) {
        throw new OverlayError('InvalidState', `slice snapshot: node ${describe(nodeId)} appears twice`);
      }
      allocator.assignSpecific(validateNodeId(nodeId), slice);
    }
    return allocator;
  }

  snapshot(): NodeSliceAllocatorSnapshot {
    return {
      cluster_cidr: this.clusterCidr(),
      slice_prefix: this.prefix,
      assigned: this.entries().map(([node, index]) => [node, this.sliceAt(index)]),
    };
  }

  /** Assignments as [nodeId, sliceIndex], ascending by slice index. */
  entries(): Array<[string, Offset]> {
    const out: Array<[string, Offset]> = [];
    for (const index of this.taken.values()) out.push([this.byIndex.get(index) as string, index]);
    return out;
  }

  /** Assign (or return the existing) slice of `nodeId`. Throws NoAvailableSlices when every slice is taken. */
  assign(nodeId: string): string {
    return this.sliceAt(this.assignIndex(nodeId));
  }

  /** @internal assign and return the slice index. */
  assignIndex(nodeId: string): Offset {
    validateNodeId(nodeId);
    const existing = this.byNode.get(nodeId);
    if (existing !== undefined) return existing;
    const start = this.homeIndex(nodeId);
    const last = this.big ? (1n << BigInt(this.indexBits)) - 1n : 2 ** this.indexBits - 1;
    const zero = this.big ? 0n : 0;
    // Linear probing forward from the home slot, wrapping once: the first free index in [start, last],
    // else in [0, start).
    const index = this.taken.nextAbsent(start, last) ?? this.taken.nextAbsent(zero, last);
    if (index === undefined) {
      throw new OverlayError('NoAvailableSlices', `all ${this.capacity()} /${this.prefix} slices of ${this.clusterCidr()} are assigned`);
    }
    this.take(nodeId, index);
    return index;
  }

  /** Place `nodeId` at a given slice (imports, restores). Idempotent for the same pair. */
  assignSpecific(nodeId: string, slice: string): string {
    return this.sliceAt(this.assignSpecificIndex(nodeId, slice));
  }

  /** @internal assignSpecific, returning the slice index. */
  assignSpecificIndex(nodeId: string, slice: string): Offset {
    validateNodeId(nodeId);
    const index = this.indexOfSlice(slice);
    const existing = this.byNode.get(nodeId);
    if (existing !== undefined) {
      if (existing === index) return index;
      throw new OverlayError('NodeHasSlice', `node ${describe(nodeId)} already holds slice ${this.sliceAt(existing)}`);
    }
    const holder = this.byIndex.get(index);
    if (holder !== undefined) {
      throw new OverlayError('SliceTaken', `slice ${this.sliceAt(index)} is already assigned to node ${describe(holder)}`);
    }
    this.take(nodeId, index);
    return index;
  }

  release(nodeId: string): boolean {
    const index = this.byNode.get(nodeId);
    if (index === undefined) return false;
    this.byNode.delete(nodeId);
    this.byIndex.delete(index);
    this.taken.delete(index);
    return true;
  }

  sliceFor(nodeId: string): string | undefined {
    const index = this.byNode.get(nodeId);
    return index === undefined ? undefined : this.sliceAt(index);
  }

  /** @internal */
  indexFor(nodeId: string): Offset | undefined {
    return this.byNode.get(nodeId);
  }

  /** Node holding the slice index, if any. */
  nodeAt(index: Offset): string | undefined {
    return this.byIndex.get(index);
  }

  assignedCount(): number {
    return this.byNode.size;
  }

  /** Number of slices, exact (2^(slicePrefix − clusterPrefix)). */
  capacity(): bigint {
    return 1n << BigInt(this.indexBits);
  }

  clusterCidr(): string {
    return formatCidr(this.cluster.family, this.cluster.network, this.cluster.prefix);
  }

  slicePrefix(): number {
    return this.prefix;
  }

  /** Network address (as an integer) of slice `index`. */
  sliceNetwork(index: Offset): bigint {
    const shift = BigInt(MAX_PREFIX[this.cluster.family] - this.prefix);
    return this.cluster.network + (BigInt(index) << shift);
  }

  sliceAt(index: Offset): string {
    if (this.cluster.family === 4) {
      // Number arithmetic on the hot path: index · 2^(32 − prefix) < 2^32.
      return `${formatV4(Number(this.cluster.network) + (index as number) * 2 ** (32 - this.prefix))}/${this.prefix}`;
    }
    return formatCidr(this.cluster.family, this.sliceNetwork(index), this.prefix);
  }

  /** The slot FNV-1a places `nodeId` at before probing. */
  homeIndex(nodeId: string): Offset {
    const h = fnv1a64(nodeId);
    if (!this.big) return fnvLowBits(h, this.indexBits);
    const full = fnvToBigInt(h);
    return this.indexBits >= 64 ? full : BigInt.asUintN(this.indexBits, full);
  }

  /** Validate a slice CIDR against this cluster and return its index. */
  indexOfSlice(slice: string): Offset {
    const parsed = parseCidr(slice);
    if (parsed.family !== this.cluster.family) {
      throw new OverlayError('InvalidCidr', `slice ${slice} is IPv${parsed.family}, cluster ${this.clusterCidr()} is IPv${this.cluster.family}`);
    }
    if (parsed.prefix !== this.prefix) {
      throw new OverlayError('InvalidCidr', `assigned slice ${slice} does not match configured prefix /${this.prefix}`);
    }
    if (parsed.hadHostBits) {
      throw new OverlayError('InvalidCidr', `assigned slice ${slice} is not aligned to a /${this.prefix} boundary`);
    }
    const clusterShift = BigInt(MAX_PREFIX[this.cluster.family] - this.cluster.prefix);
    if (parsed.network >> clusterShift !== this.cluster.network >> clusterShift) {
      throw new OverlayError('InvalidCidr', `assigned slice ${slice} is not contained in cluster CIDR ${this.clusterCidr()}`);
    }
    const index = (parsed.network - this.cluster.network) >> BigInt(MAX_PREFIX[this.cluster.family] - this.prefix);
    return this.big ? index : Number(index);
  }

  /** Slice index containing an address value of this family, or undefined when outside the cluster. */
  indexOfAddress(value: bigint): Offset | undefined {
    const max = MAX_PREFIX[this.cluster.family];
    const clusterShift = BigInt(max - this.cluster.prefix);
    if (value >> clusterShift !== this.cluster.network >> clusterShift) return undefined;
    const index = (value - this.cluster.network) >> BigInt(max - this.prefix);
    return this.big ? index : Number(index);
  }

  private take(nodeId: string, index: Offset): void {
    this.taken.add(index);
    this.byNode.set(nodeId, index);
    this.byIndex.set(index, nodeId);
  }
}
