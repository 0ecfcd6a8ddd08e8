/**
 * AllocationBlock: one node's slice of one network and everything allocated in it — the taken offsets,
 * the generation of each, and the owner of the owned ones. It is the only writer of those three
 * structures (Calico ipam_block.go allocationBlock, Kubernetes cidr_set.go CidrSet): the state machine
 * changes them through take()/free(), the snapshot codec through encode()/decode(), and nobody reaches
 * into them.
 *
 * Memory: a cluster holds one block per assigned slice, most of them empty at any time. A block is its
 * fields and nothing else until its first take(): the range arithmetic, the bitmap, the generation slots (offset-slots.ts) and the owner arena (owner-arena.ts) are
 * made on first use and dropped again when the block empties. 65,536 assigned slices cost a few MB, not
 * the ≈ 400 MB of eagerly sized bitmaps.
 */
import { describe } from './address.js';
import { HostRange, type Offset } from './host-range.js';
import type { OffsetSet } from './offset-set.js';
import { OwnerArena } from './owner-arena.js';
import type { KeyView } from './owner-bytes.js';
import { offsetSlots, type OffsetSlots } from './offset-slots.js';
import type { SliceGeometry } from './slice-geometry.js';
import type { SliceHolder } from './slice-table.js';
import { decodeOffset, encodeOffset, invalidSnapshot, type WireOffset } from './snapshot-wire.js';

export interface Allocation {
  readonly offset: Offset;
  readonly generation: number;
  readonly owner: string | undefined;
}

/** The wire form of a block's contents (see snapshot-codec.ts): runs, generation deltas, owners. */
export type EncodedBlock = [runs: WireOffset[], generationDeltas: number[], owners: Array<number | string>];

/**
 * The owners of a block's wire form as the snapshot's fast reader found them (snapshot-block-reader.ts):
 * positions, and each owner as a range of the snapshot bytes already checked to be a valid owner, so
 * decode() copies the bytes into the block's arena without ever making the strings.
 */
export class WireOwnerBytes {
  readonly positions: unknown[] = [];
  readonly starts: number[] = [];
  readonly lengths: number[] = [];
  constructor(readonly bytes: Uint8Array) {}
}

/** Called once per decoded generation; throws when it is out of range or already used. */
export type ClaimGeneration = (generation: number) => void;

export class AllocationBlock implements SliceHolder {
  private rangeCache: HostRange<Offset> | undefined;
  private taken: OffsetSet<Offset> | undefined;
  private gens: OffsetSlots<number> | undefined;
  private owners: OwnerArena | undefined;
  /**
   * Set while a snapshot capture (block-capture.ts) has not finished encoding this block: it runs before
   * every change, with the offset about to change, so the capture keeps what that address held as of its
   * index (copy-on-write at the grain of one address: a change costs O(1), whatever the block's size).
   */
  private preserve: ((offset: Offset) => void) | undefined;

  constructor(
    private readonly geometry: SliceGeometry,
    readonly nodeId: string,
    readonly index: Offset,
  ) {}

  /** The slice's host arithmetic, built on first use (see the module comment on memory). */
  get range(): HostRange<Offset> {
    return (this.rangeCache ??= HostRange.create(this.geometry.sliceCidr(this.index)));
  }

  cidr(): string {
    return this.geometry.sliceAt(this.index);
  }

  /** Number of allocated addresses. */
  get size(): number {
    return this.taken?.size ?? 0;
  }

  /** Number of allocated addresses with an owner. */
  get ownerCount(): number {
    return this.owners?.size ?? 0;
  }

  has(offset: Offset): boolean {
    return this.taken?.has(offset) ?? false;
  }

  generationOf(offset: Offset): number | undefined {
    return this.gens?.get(offset);
  }

  ownerOf(offset: Offset): string | undefined {
    return this.owners?.get(offset);
  }

  /** Lowest free usable offset, or undefined when the slice is full. */
  lowestFree(): Offset | undefined {
    return this.taken === undefined ? this.range.first() : this.range.lowestFree(this.taken);
  }

  format(offset: Offset): string {
    return this.range.format(offset);
  }

  /** Offset of `address` if it is a usable host of this slice; else a typed OverlayError. */
  usableOffset(address: string): Offset {
    return this.range.usableOffset(address, () => `slice ${this.cidr()} of node ${describe(this.nodeId)}`);
  }

  /** Bytes of bitmap slabs held (0 for a block with no addresses). */
  reservedBytes(): number {
    return this.taken?.reservedBytes ?? 0;
  }

  /**
   * Ask for `preserve` to run before every change to this block, with the offset about to change, until
   * cancelled (undefined). One capture at a time: a second watcher would mean two captures interleaved,
   * which the replica never starts.
   */
  watch(preserve: ((offset: Offset) => void) | undefined): void {
    if (preserve !== undefined && this.preserve !== undefined) throw new Error(`block ${this.cidr()}: already watched by a snapshot capture`);
    this.preserve = preserve;
  }

  /** Maximal runs of taken offsets, ascending (the first field of the wire form). */
  forEachRun(visit: (start: Offset, length: Offset) => void): void {
    this.taken?.forEachRun(visit);
  }

  /**
   * Record `offset` as allocated under `generation`. The caller has checked that it is usable and free;
   * a second take of one offset is a bug in the caller, so it throws a plain Error (the state machine
   * turns that into a fatal ApplyFailure) rather than an OverlayError.
   */
  take(offset: Offset, generation: number, owner: string | undefined): void {
    this.preserve?.(offset);
    const taken = (this.taken ??= this.range.newSet());
    if (!taken.add(offset)) throw new Error(`block ${this.cidr()}: offset ${offset} taken twice`);
    (this.gens ??= this.newSlots()).set(offset, generation);
    if (owner !== undefined) (this.owners ??= new OwnerArena(this.range.lastOffset)).set(offset, owner);
  }

  /** Point `out` at the UTF-8 bytes of `offset`'s owner (for the owner index); false when it has none. */
  ownerKey(offset: Offset, out: KeyView): boolean {
    return this.owners?.key(offset, out) ?? false;
  }

  private newSlots<V>(): OffsetSlots<V> {
    return offsetSlots<V>(this.range.lastOffset);
  }

  /** Free `offset`; returns what it held, or undefined when it was not allocated. */
  free(offset: Offset): Allocation | undefined {
    const generation = this.gens?.get(offset);
    if (this.taken === undefined || this.gens === undefined || generation === undefined) return undefined;
    this.preserve?.(offset);
    const owner = this.owners?.get(offset);
    this.taken.delete(offset);
    this.gens.delete(offset);
    if (owner !== undefined) this.owners?.delete(offset);
    if (this.taken.size === 0) {
      // Back to the cost of an unused slice.
      this.taken = undefined;
      this.gens = undefined;
      this.owners = undefined;
    } else if (this.owners?.size === 0) {
      this.owners = undefined;
    }
    return { offset, generation, owner };
  }

  /** Every allocation, ascending by offset. */
  *allocations(): IterableIterator<Allocation> {
    if (this.taken === undefined) return;
    for (const offset of this.taken.values()) {
      yield { offset, generation: this.gens?.get(offset) as number, owner: this.owners?.get(offset) };
    }
  }

  /** Owned offsets (in no particular order) with their owners. */
  *owned(): IterableIterator<[owner: string, offset: Offset]> {
    const owned: Array<[string, Offset]> = [];
    this.owners?.forEach((offset) => {
      owned.push([this.owners?.get(offset) as string, offset]);
    });
    yield* owned;
  }

  /**
   * Visit the owned offsets (in one fixed order for an unchanged block) until `visit` returns false; no
   * string per owner, for the network's owner index (which reads the bytes through ownerKey()).
   */
  forEachOwned(visit: (offset: Offset) => boolean | void): void {
    this.owners?.forEach(visit);
  }

  /**
   * Canonical wire form: maximal ascending runs of taken offsets; the generation of each taken offset in
   * ascending offset order, delta-coded (consecutive allocations differ by small numbers); owners as
   * [position in that order, owner] pairs, ascending.
   */
  encode(): EncodedBlock {
    const runs: WireOffset[] = [];
    const gens: number[] = [];
    const owners: Array<number | string> = [];
    if (this.taken === undefined) return [runs, gens, owners];
    this.taken.forEachRun((start, length) => runs.push(encodeOffset(start), encodeOffset(length)));
    let prev = 0;
    let position = 0;
    for (const offset of this.taken.values()) {
      const g = this.gens?.get(offset) as number;
      gens.push(g - prev);
      prev = g;
      const owner = this.owners?.get(offset);
      if (owner !== undefined) owners.push(position, owner);
      position++;
    }
    return [runs, gens, owners];
  }

  /**
   * Rebuild a block from its wire form, validating everything: runs inside the usable hosts, ascending,
   * neither overlapping nor touching (a touching pair is not the one canonical spelling); one generation
   * per address, each claimed through `claim`; owner positions strictly ascending and in range. Throws
   * InvalidSnapshot; the half-built block is garbage.
   */
  static decode(
    geometry: SliceGeometry,
    nodeId: string,
    index: Offset,
    wire: { runs: unknown; gens: unknown; owners: unknown | WireOwnerBytes; checkOwner: (owner: unknown) => string },
    claim: ClaimGeneration,
  ): AllocationBlock {
    const block = new AllocationBlock(geometry, nodeId, index);
    const { runs, gens, owners } = wire;
    const who = `node ${describe(nodeId)}`;
    if (!Array.isArray(runs) || runs.length % 2 !== 0) invalidSnapshot(`${who}: runs must be an even-length array`);
    if (!Array.isArray(gens)) invalidSnapshot(`${who}: generations must be an array`);
    const ownerBytes = owners instanceof WireOwnerBytes ? owners : undefined;
    const ownerCount = ownerBytes !== undefined ? ownerBytes.positions.length : Array.isArray(owners) && owners.length % 2 === 0 ? owners.length / 2 : -1;
    if (ownerCount < 0) invalidSnapshot(`${who}: owners must be an even-length array`);
    if (runs.length === 0) {
      if (gens.length !== 0 || ownerCount !== 0) invalidSnapshot(`${who}: generations or owners without addresses`);
      return block;
    }
    const range = block.range;
    // Count first, so a forged run length cannot make us loop: every address needs a generation entry.
    const parsed: Array<[bigint, bigint]> = [];
    let total = 0n;
    let prevEnd = -2n;
    const lo = BigInt(range.lo);
    const hi = BigInt(range.hi);
    for (let i = 0; i < runs.length; i += 2) {
      const start = decodeOffset(runs[i], 'run start');
      const length = decodeOffset(runs[i + 1], 'run length');
      if (length < 1n) invalidSnapshot(`${who}: empty run`);
      if (start <= prevEnd + 1n) invalidSnapshot(`${who}: runs overlap, touch or are out of order`);
      if (start < lo || start + length - 1n > hi) invalidSnapshot(`${who}: run ${start}+${length} leaves the usable hosts of ${block.cidr()}`);
      prevEnd = start + length - 1n;
      total += length;
      parsed.push([start, length]);
    }
    if (total !== BigInt(gens.length)) invalidSnapshot(`${who}: ${total} addresses but ${gens.length} generations`);

    const taken = (block.taken = range.newSet());
    const byGen = (block.gens = block.newSlots());
    const byPosition: Offset[] = [];
    let g = 0;
    const takeNext = (offset: Offset): void => {
      const delta = gens[byPosition.length];
      if (typeof delta !== 'number' || !Number.isSafeInteger(delta)) invalidSnapshot(`${who}: bad generation delta ${describe(delta)}`);
      g += delta;
      claim(g);
      taken.add(offset);
      byGen.set(offset, g);
      byPosition.push(offset);
    };
    for (const [start, length] of parsed) {
      if (typeof range.lo === 'number') {
        // Number offsets (IPv4, small IPv6 slices): keep BigInt out of the per-address loop.
        const s = Number(start);
        const end = s + Number(length);
        for (let o = s; o < end; o++) takeNext(o);
      } else {
        for (let k = 0n; k < length; k++) takeNext(start + k);
      }
    }

    let prevPosition = -1;
    const checkPosition = (position: unknown): Offset => {
      if (typeof position !== 'number' || !Number.isInteger(position) || position <= prevPosition || position >= byPosition.length) {
        invalidSnapshot(`${who}: bad owner position ${describe(position)}`);
      }
      prevPosition = position;
      return byPosition[position] as Offset;
    };
    if (ownerBytes !== undefined) {
      if (ownerCount === 0) return block;
      // The arena sized to the owners exactly: a restored block carries no growth headroom.
      let total = 0;
      for (const length of ownerBytes.lengths) total += length;
      const arena = (block.owners = new OwnerArena(range.lastOffset, total));
      for (let i = 0; i < ownerCount; i++) {
        arena.setBytes(checkPosition(ownerBytes.positions[i]), ownerBytes.bytes, ownerBytes.starts[i] as number, ownerBytes.lengths[i] as number);
      }
      return block;
    }
    const list = owners as unknown[];
    for (let i = 0; i < list.length; i += 2) {
      const position = list[i];
      const owner = wire.checkOwner(list[i + 1]);
      (block.owners ??= new OwnerArena(range.lastOffset)).set(checkPosition(position), owner);
    }
    return block;
  }
}
