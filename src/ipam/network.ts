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
import { KeyView, ownerKey } from './owner-bytes.js';
import { OwnerIndex, type IndexKeys } from './owner-index.js';
import { SliceGeometry } from './slice-geometry.js';
import { SliceTable } from './slice-table.js';

export interface Located {
  readonly block: AllocationBlock;
  readonly offset: Offset;
}

/**
 * Where an owner's address lives, as the owner index (owner-index.ts) stores it: one number per owner.
 * Wherever slice index and host offset fit together in a double (every IPv4 network; IPv6 networks whose
 * index and host bits add up to ≤ 53) it is index · 2^hostBits + offset, and holding() rebuilds the
 * Located on demand. Wider IPv6 networks (bigint offsets) number their Located objects instead
 * (`wide`), reusing the numbers of released owners.
 *
 * The index keeps no key of its own: it reads an entry's owner bytes from its block (keyOf), which is why
 * a block's owners are indexed while the block is in the table, or is the one being attached (`pending`).
 */
export class Network implements IndexKeys {
  readonly family: Family;
  readonly geometry: SliceGeometry;
  /** Name of the paired network of the other family (dual stack), if any. */
  pair: string | undefined;
  private readonly table: SliceTable<AllocationBlock>;
  private readonly ownerIndex = new OwnerIndex(this);
  /** 2^(host bits of a slice) when owner entries are packed numbers; else undefined and entries number `wide`. */
  private readonly slotSpan: number | undefined;
  private readonly wide: Array<Located | undefined> = [];
  private readonly wideFree: number[] = [];
  /** The block attach() is indexing before it enters the table. */
  private pending: AllocationBlock | undefined;
  private readonly key = new KeyView();

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

  /** A new entry for the owner of `offset` in `block` (released by release() if it is not kept). */
  private entry(block: AllocationBlock, offset: Offset): number {
    if (this.slotSpan !== undefined) return (block.index as number) * this.slotSpan + (offset as number);
    const id = this.wideFree.pop() ?? this.wide.length;
    this.wide[id] = { block, offset };
    return id;
  }

  private release(entry: number): void {
    if (this.slotSpan !== undefined) return;
    this.wide[entry] = undefined;
    this.wideFree.push(entry);
  }

  private located(entry: number): Located {
    const span = this.slotSpan;
    if (span === undefined) return this.wide[entry] as Located;
    const offset = entry % span;
    const index = (entry - offset) / span;
    const pending = this.pending;
    return { block: pending !== undefined && pending.index === index ? pending : (this.table.at(index) as AllocationBlock), offset };
  }

  /** IndexKeys: the owner bytes of an indexed entry, read from its block. */
  keyOf(entry: number, out: KeyView): void {
    const span = this.slotSpan;
    let block: AllocationBlock;
    let offset: Offset;
    if (span === undefined) {
      ({ block, offset } = this.wide[entry] as Located);
    } else {
      // No Located per probe: this runs for every key compared.
      offset = entry % span;
      const index = (entry - offset) / span;
      const pending = this.pending;
      block = pending !== undefined && pending.index === index ? pending : (this.table.at(index) as AllocationBlock);
    }
    if (!block.ownerKey(offset, out)) throw new Error(`owner index of ${describe(this.name)}: entry ${entry} has no owner`);
  }

  /** Take the owner of `offset` in `block` out of the index (while its bytes are still in the block). */
  private unindex(block: AllocationBlock, offset: Offset): void {
    if (!block.ownerKey(offset, this.key)) return;
    const entry = this.ownerIndex.find(this.key);
    if (entry === -1) throw new Error(`owner index of ${describe(this.name)}: owner at ${block.format(offset)} is not indexed`);
    this.ownerIndex.delete(entry);
    this.release(entry);
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
   * Room in the owner index for `count` more owners, before blocks holding them are attached: a restore
   * sizes the index once for all its blocks instead of doubling it (see OwnerIndex.reserve).
   */
  reserveOwners(count: number): void {
    this.ownerIndex.reserve(this.ownerIndex.size + count);
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
    let conflict: Offset | undefined;
    let added = 0;
    this.pending = block;
    try {
      block.forEachOwned((offset) => {
        const entry = this.entry(block, offset);
        if (index.add(entry) !== -1) {
          this.release(entry);
          conflict = offset;
          return false;
        }
        added++;
        return true;
      });
      if (conflict !== undefined) {
        block.forEachOwned((offset) => {
          if (added-- === 0) return false;
          this.unindex(block, offset);
          return true;
        });
        throw new OverlayError('OwnerConflict', `owner ${describe(block.ownerOf(conflict))} holds two addresses in network ${describe(this.name)}`);
      }
      this.table.insert(block);
    } finally {
      this.pending = undefined;
    }
  }

  /** Remove `nodeId`'s block, and its owners from the index; the block itself is left intact. */
  detach(nodeId: string): AllocationBlock | undefined {
    const block = this.table.get(nodeId);
    if (block === undefined) return undefined;
    // Out of the index first: the index reads the keys of the entries it moves through the table.
    block.forEachOwned((offset) => {
      this.unindex(block, offset);
    });
    this.table.remove(nodeId);
    return block;
  }

  /** Allocate `offset` in `block` (the caller checked it is usable and free, and the owner holds nothing). */
  take(block: AllocationBlock, offset: Offset, generation: number, owner: string | undefined): void {
    block.take(offset, generation, owner);
    // The index's add is the one lookup of the owner here (the caller has looked it up once already); a
    // duplicate would be a bug above us, and the block is put back before saying so.
    if (owner !== undefined && this.ownerIndex.add(this.entry(block, offset)) !== -1) {
      block.free(offset);
      throw new Error(`owner ${describe(owner)} indexed twice in ${describe(this.name)}`);
    }
  }

  free(block: AllocationBlock, offset: Offset): Allocation | undefined {
    this.unindex(block, offset);
    return block.free(offset);
  }

  /** Where `owner`'s address in this network lives, if it has one. */
  holding(owner: string): Located | undefined {
    if (!ownerKey(owner, this.key)) return undefined;
    const entry = this.ownerIndex.find(this.key);
    return entry === -1 ? undefined : this.located(entry);
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
