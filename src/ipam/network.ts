/**
 * Network: one named cluster CIDR of the replicated state. It owns its slices once — a SliceTable of
 * AllocationBlocks, the only node → slice map — and the owner index (owner → where its one address in
 * this network lives). Every change to a block's owned addresses goes through take()/free()/attach()/
 * detach() here, so the owner index can never disagree with the blocks.
 */
import { describe, formatAddress, parseAddress, type Family } from './address.js';
import { AllocationBlock, type Allocation } from './allocation-block.js';
import { OverlayError } from './errors.js';
import type { Offset } from './host-range.js';
import { SliceGeometry } from './slice-geometry.js';
import { SliceTable } from './slice-table.js';

export interface Located {
  readonly block: AllocationBlock;
  readonly offset: Offset;
}

export class Network {
  readonly family: Family;
  readonly geometry: SliceGeometry;
  /** Name of the paired network of the other family (dual stack), if any. */
  pair: string | undefined;
  private readonly table: SliceTable<AllocationBlock>;
  private readonly ownerIndex = new Map<string, Located>();

  constructor(
    readonly name: string,
    cidr: string,
    slicePrefix: number,
  ) {
    this.geometry = new SliceGeometry(cidr, slicePrefix); // validates cidr and prefix
    this.family = this.geometry.cluster.family;
    this.table = new SliceTable(this.geometry);
  }

  cidr(): string {
    return this.geometry.clusterCidr();
  }

  slicePrefix(): number {
    return this.geometry.prefix;
  }

  block(nodeId: string): AllocationBlock | undefined {
    return this.table.get(nodeId);
  }

  /** Blocks ascending by slice index. */
  blocks(): AllocationBlock[] {
    return this.table.entries();
  }

  slicesAssigned(): number {
    return this.table.size;
  }

  addressesAllocated(): number {
    let n = 0;
    for (const block of this.table.entries()) n += block.size;
    return n;
  }

  /** The slice index the seed's placement gives `nodeId` (NoAvailableSlices when full). */
  probe(nodeId: string): Offset {
    return this.table.probe(nodeId);
  }

  /** Refusals of placing `nodeId` at `index`: NodeHasSlice, SliceTaken. */
  checkSliceFree(nodeId: string, index: Offset): void {
    this.table.checkFree(nodeId, index);
  }

  /** A new, empty block for `nodeId` at `index`. */
  addBlock(nodeId: string, index: Offset): AllocationBlock {
    const block = new AllocationBlock(this.geometry, nodeId, index);
    this.table.insert(block);
    return block;
  }

  /**
   * Put a block (decoded from a snapshot, or one detach() removed) in place with its owners. All or
   * nothing: SliceTaken, NodeHasSlice or OwnerConflict leave the network as it was.
   */
  attach(block: AllocationBlock): void {
    this.table.checkFree(block.nodeId, block.index);
    const owned = [...block.owned()];
    const seen = new Set<string>();
    for (const [owner] of owned) {
      if (this.ownerIndex.has(owner) || seen.has(owner)) {
        throw new OverlayError('OwnerConflict', `owner ${describe(owner)} holds two addresses in network ${describe(this.name)}`);
      }
      seen.add(owner);
    }
    this.table.insert(block);
    for (const [owner, offset] of owned) this.ownerIndex.set(owner, { block, offset });
  }

  /** Remove `nodeId`'s block, and its owners from the index; the block itself is left intact. */
  detach(nodeId: string): AllocationBlock | undefined {
    const block = this.table.remove(nodeId);
    if (block === undefined) return undefined;
    for (const [owner] of block.owned()) this.ownerIndex.delete(owner);
    return block;
  }

  /** Allocate `offset` in `block` (the caller checked it is usable and free, and the owner holds nothing). */
  take(block: AllocationBlock, offset: Offset, generation: number, owner: string | undefined): void {
    if (owner !== undefined && this.ownerIndex.has(owner)) throw new Error(`owner ${describe(owner)} indexed twice in ${describe(this.name)}`);
    block.take(offset, generation, owner);
    if (owner !== undefined) this.ownerIndex.set(owner, { block, offset });
  }

  free(block: AllocationBlock, offset: Offset): Allocation | undefined {
    const freed = block.free(offset);
    if (freed?.owner !== undefined) this.ownerIndex.delete(freed.owner);
    return freed;
  }

  /** Where `owner`'s address in this network lives, if it has one. */
  holding(owner: string): Located | undefined {
    return this.ownerIndex.get(owner);
  }

  /**
   * Where an address of this network's CIDR sits in listing order (slice index, then offset in the
   * slice), assigned or not; a typed error for an address that is not one (a cursor for allocations()).
   */
  positionOf(input: string): { index: Offset; value: bigint } {
    const a = parseAddress(input);
    if (a.family !== this.family) throw new OverlayError('AddressFamilyMismatch', `IPv${a.family} address ${formatAddress(a.family, a.value)} cannot be in IPv${this.family} network ${this.name}`);
    const index = this.geometry.indexOfAddress(a.value);
    if (index === undefined) throw new OverlayError('IpNotInRange', `IP address ${formatAddress(a.family, a.value)} is not in network ${this.name} (${this.cidr()})`);
    return { index, value: a.value };
  }

  /** Block and offset of an address value of this family, when an assigned slice holds it. */
  locate(family: Family, value: bigint): Located | undefined {
    if (family !== this.family) return undefined;
    const index = this.geometry.indexOfAddress(value);
    if (index === undefined) return undefined;
    const block = this.table.at(index);
    if (block === undefined) return undefined;
    return { block, offset: block.range.offsetOf(value) };
  }
}
