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
import { describe, type ParsedCidr } from './address.js';
import { OverlayError } from './errors.js';
import type { Offset } from './host-range.js';
import { SliceGeometry } from './slice-geometry.js';
import { SliceTable, type SliceHolder } from './slice-table.js';

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
  readonly geometry: SliceGeometry;
  private readonly table: SliceTable<SliceHolder>;

  constructor(clusterCidr: string, slicePrefix: number) {
    this.geometry = new SliceGeometry(clusterCidr, slicePrefix);
    this.table = new SliceTable(this.geometry);
  }

  get cluster(): ParsedCidr {
    return this.geometry.cluster;
  }

  get prefix(): number {
    return this.geometry.prefix;
  }

  /** log2 of the slice count. */
  get indexBits(): number {
    return this.geometry.indexBits;
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
      if (typeof nodeId === 'string' && allocator.table.get(nodeId) !== undefined) {
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
    return this.table.entries().map((e) => [e.nodeId, e.index]);
  }

  /** Assign (or return the existing) slice of `nodeId`. Throws NoAvailableSlices when every slice is taken. */
  assign(nodeId: string): string {
    return this.sliceAt(this.assignIndex(nodeId));
  }

  /** @internal assign and return the slice index. */
  assignIndex(nodeId: string): Offset {
    validateNodeId(nodeId);
    const existing = this.table.get(nodeId);
    if (existing !== undefined) return existing.index;
    const index = this.table.probe(nodeId);
    this.table.insert({ nodeId, index });
    return index;
  }

  /** Place `nodeId` at a given slice (imports, restores). Idempotent for the same pair. */
  assignSpecific(nodeId: string, slice: string): string {
    return this.sliceAt(this.assignSpecificIndex(nodeId, slice));
  }

  /** @internal assignSpecific, returning the slice index. */
  assignSpecificIndex(nodeId: string, slice: string): Offset {
    validateNodeId(nodeId);
    const index = this.geometry.indexOfSlice(slice);
    if (this.table.get(nodeId)?.index === index) return index;
    this.table.insert({ nodeId, index }); // NodeHasSlice, SliceTaken
    return index;
  }

  release(nodeId: string): boolean {
    return this.table.remove(nodeId) !== undefined;
  }

  sliceFor(nodeId: string): string | undefined {
    const entry = this.table.get(nodeId);
    return entry === undefined ? undefined : this.sliceAt(entry.index);
  }

  /** @internal */
  indexFor(nodeId: string): Offset | undefined {
    return this.table.get(nodeId)?.index;
  }

  /** Node holding the slice index, if any. */
  nodeAt(index: Offset): string | undefined {
    return this.table.at(index)?.nodeId;
  }

  assignedCount(): number {
    return this.table.size;
  }

  /** Number of slices, exact (2^(slicePrefix − clusterPrefix)). */
  capacity(): bigint {
    return this.geometry.capacity();
  }

  clusterCidr(): string {
    return this.geometry.clusterCidr();
  }

  slicePrefix(): number {
    return this.prefix;
  }

  /** Network address (as an integer) of slice `index`. */
  sliceNetwork(index: Offset): bigint {
    return this.geometry.sliceNetwork(index);
  }

  sliceAt(index: Offset): string {
    return this.geometry.sliceAt(index);
  }

  /** The slot FNV-1a places `nodeId` at before probing. */
  homeIndex(nodeId: string): Offset {
    return this.geometry.homeIndex(nodeId);
  }

  /** Validate a slice CIDR against this cluster and return its index. */
  indexOfSlice(slice: string): Offset {
    return this.geometry.indexOfSlice(slice);
  }

  /** Slice index containing an address value of this family, or undefined when outside the cluster. */
  indexOfAddress(value: bigint): Offset | undefined {
    return this.geometry.indexOfAddress(value);
  }
}
