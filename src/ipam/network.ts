/**
 * Network: one named cluster CIDR of the replicated state. It owns its slices once — a SliceTable of
 * AllocationBlocks, the only node → slice map — and the owner index (owner → where its one address in
 * this network lives). Every change to a block's owned addresses goes through take()/free()/attach()/
 * detach() here, so the owner index can never disagree with the blocks.
 */
import { describe, formatAddress, MAX_PREFIX, parseAddress, type Family } from './address.js';
import { AllocationBlock, type Allocation } from './allocation-block.js';
import { OverlayError } from './errors.js';
import type { Offset } from './host-range.js';
import { SliceGeometry } from './slice-geometry.js';
import { SliceTable } from './slice-table.js';

export interface Located {
  readonly block: AllocationBlock;
  readonly offset: Offset;
}

/**
 * Where an owner's address lives, as the owner index stores it: a Located object costs ≈ 40 B per owner
 * (44 MB at 1,000,000 owners, a quarter of the heap), so wherever slice index and host offset fit together
 * in a double (every IPv4 network; IPv6 networks whose index and host bits add up to ≤ 53) the index keeps
 * one number, index · 2^hostBits + offset — a small integer stored inline in the map — and holding()
 * rebuilds the Located on demand. Wider IPv6 networks (bigint offsets) keep the object.
 */
type OwnerSlot = number | Located;

export class Network {
  readonly family: Family;
  readonly geometry: SliceGeometry;
  /** Name of the paired network of the other family (dual stack), if any. */
  pair: string | undefined;
  private readonly table: SliceTable<AllocationBlock>;
  private readonly ownerIndex = new Map<string, OwnerSlot>();
  /** 2^(host bits of a slice) when owner slots are packed numbers (see OwnerSlot); else undefined. */
  private readonly slotSpan: number | undefined;

  constructor(
    readonly name: string,
    cidr: string,
    slicePrefix: number,
  ) {
    this.geometry = new SliceGeometry(cidr, slicePrefix); // validates cidr and prefix
    this.family = this.geometry.cluster.family;
    this.table = new SliceTable(this.geometry);
    const hostBits = MAX_PREFIX[this.family] - this.geometry.prefix;
    // Number offsets need ≤ 48 host bits (HostRange) and number indexes ≤ 48 index bits (SliceGeometry).
    this.slotSpan = !this.geometry.big && hostBits <= 48 && this.geometry.indexBits + hostBits <= 53 ? 2 ** hostBits : undefined;
  }

  private slot(block: AllocationBlock, offset: Offset): OwnerSlot {
    return this.slotSpan === undefined ? { block, offset } : (block.index as number) * this.slotSpan + (offset as number);
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
    // Index the owners as we go and take them out again on a conflict (an owner already indexed here, or
    // twice in this block): the restore of 1,000,000 owners spent most of its time in copies and a
    // second set built only to check first.
    const index = this.ownerIndex;
    let conflict: string | undefined;
    let added = 0;
    block.forEachOwned((owner, offset) => {
      if (index.has(owner)) {
        conflict = owner;
        return false;
      }
      index.set(owner, this.slot(block, offset));
      added++;
      return true;
    });
    if (conflict !== undefined) {
      block.forEachOwned((owner) => {
        if (added-- === 0) return false;
        index.delete(owner);
        return true;
      });
      throw new OverlayError('OwnerConflict', `owner ${describe(conflict)} holds two addresses in network ${describe(this.name)}`);
    }
    this.table.insert(block);
  }

  /** Remove `nodeId`'s block, and its owners from the index; the block itself is left intact. */
  detach(nodeId: string): AllocationBlock | undefined {
    const block = this.table.remove(nodeId);
    if (block === undefined) return undefined;
    block.forEachOwned((owner) => {
      this.ownerIndex.delete(owner);
    });
    return block;
  }

  /** Allocate `offset` in `block` (the caller checked it is usable and free, and the owner holds nothing). */
  take(block: AllocationBlock, offset: Offset, generation: number, owner: string | undefined): void {
    if (owner !== undefined && this.ownerIndex.has(owner)) throw new Error(`owner ${describe(owner)} indexed twice in ${describe(this.name)}`);
    block.take(offset, generation, owner);
    if (owner !== undefined) this.ownerIndex.set(owner, this.slot(block, offset));
  }

  free(block: AllocationBlock, offset: Offset): Allocation | undefined {
    const freed = block.free(offset);
    if (freed?.owner !== undefined) this.ownerIndex.delete(freed.owner);
    return freed;
  }

  /** Where `owner`'s address in this network lives, if it has one. */
  holding(owner: string): Located | undefined {
    const slot = this.ownerIndex.get(owner);
    if (typeof slot !== 'number') return slot;
    const span = this.slotSpan as number;
    const offset = slot % span;
    return { block: this.table.at((slot - offset) / span) as AllocationBlock, offset };
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
