/**
 * The one node → slice map of a cluster: which node holds which slice index, both ways, plus the bitmap of
 * taken indexes that makes the seed's linear probe one "next absent" query. Generic over what a slot
 * holds, so NodeSliceAllocator stores bare assignments and a state-machine network stores its
 * AllocationBlocks here directly: there is no second map to keep in step.
 */
import { describe } from './address.js';
import { OverlayError } from './errors.js';
import type { Offset } from './host-range.js';
import { OffsetSet } from './offset-set.js';
import type { SliceGeometry } from './slice-geometry.js';

export interface SliceHolder {
  readonly nodeId: string;
  readonly index: Offset;
}

export class SliceTable<E extends SliceHolder> {
  private readonly taken: OffsetSet<Offset>;
  private readonly byNode = new Map<string, E>();
  // Map keys compare bigints by value (SameValueZero), so IPv6 indexes above 2^53 key correctly.
  private readonly byIndex = new Map<Offset, E>();

  constructor(readonly geometry: SliceGeometry) {
    this.taken = (geometry.big ? OffsetSet.big(geometry.indexBits) : OffsetSet.small(geometry.indexBits)) as OffsetSet<Offset>;
  }

  get size(): number {
    return this.byNode.size;
  }

  get(nodeId: string): E | undefined {
    return this.byNode.get(nodeId);
  }

  at(index: Offset): E | undefined {
    return this.byIndex.get(index);
  }

  /**
   * The index the seed would give `nodeId`: its FNV-1a home slot, else the first free slot after it,
   * wrapping once. Changes nothing. Throws NoAvailableSlices when every slice is held.
   */
  probe(nodeId: string): Offset {
    const g = this.geometry;
    const last = g.lastIndex();
    const index = this.taken.nextAbsent(g.homeIndex(nodeId), last) ?? this.taken.nextAbsent(g.big ? 0n : 0, last);
    if (index === undefined) {
      throw new OverlayError('NoAvailableSlices', `all ${g.capacity()} /${g.prefix} slices of ${g.clusterCidr()} are assigned`);
    }
    return index;
  }

  /** Refusals of `insert`, without inserting: NodeHasSlice, SliceTaken. */
  checkFree(nodeId: string, index: Offset): void {
    const existing = this.byNode.get(nodeId);
    if (existing !== undefined) {
      throw new OverlayError('NodeHasSlice', `node ${describe(nodeId)} already holds slice ${this.geometry.sliceAt(existing.index)}`);
    }
    const holder = this.byIndex.get(index);
    if (holder !== undefined) {
      throw new OverlayError('SliceTaken', `slice ${this.geometry.sliceAt(index)} is already assigned to node ${describe(holder.nodeId)}`);
    }
  }

  insert(entry: E): void {
    this.checkFree(entry.nodeId, entry.index);
    this.taken.add(entry.index);
    this.byNode.set(entry.nodeId, entry);
    this.byIndex.set(entry.index, entry);
  }

  remove(nodeId: string): E | undefined {
    const entry = this.byNode.get(nodeId);
    if (entry === undefined) return undefined;
    this.byNode.delete(nodeId);
    this.byIndex.delete(entry.index);
    this.taken.delete(entry.index);
    return entry;
  }

  /** Every entry, ascending by slice index. */
  entries(): E[] {
    const out: E[] = [];
    for (const index of this.taken.values()) out.push(this.byIndex.get(index) as E);
    return out;
  }
}
