/**
 * OwnerArena: the owners of one block's offsets as UTF-8 bytes in one append-only byte array, with each
 * owned offset's (start, length) in it.
 *
 * A JS string per owner costs ≈ 32 B for `container-123456` plus an 8 B slot pointing at it; here the
 * same owner costs its 16 bytes and 6 B of (start, length). Where the slice has at most DENSE_SLOTS_MAX
 * offsets (offset-slots.ts) the positions are typed arrays indexed by offset, grown to the highest offset
 * used; beyond, a Map from offset to start · 1024 + length (a length is at most MAX_OWNER_BYTES < 1024).
 *
 * Removing an owner leaves its bytes behind as garbage; once the garbage exceeds half the live bytes the
 * arena is rewritten without it, so the arena never holds more than 1.5 × its live bytes plus its growth
 * headroom, and each byte freed costs at most two bytes copied.
 */
import type { Offset } from './host-range.js';
import { decodeOwner, KeyView, MAX_OWNER_BYTES, ownerKey } from './owner-bytes.js';
import { DENSE_SLOTS_MAX } from './offset-slots.js';

const LENGTH_SPAN = 1024;
const MIN_BYTES = 64;
/** Garbage below this is never worth a rewrite of its own. */
const MIN_GARBAGE = 256;

const scratchKey = new KeyView();

export class OwnerArena {
  private bytes: Uint8Array;
  /** Bytes written, live and garbage. */
  private used = 0;
  private garbage = 0;
  // Dense positions (length 0 = no owner: owners are never empty) …
  private starts: Uint32Array | undefined;
  private lengths: Uint16Array | undefined;
  // … or sparse ones.
  private readonly packed: Map<Offset, number> | undefined;
  size = 0;

  /** An arena for a slice whose highest offset is `lastOffset`, with room for `byteCapacity` bytes. */
  constructor(
    private readonly lastOffset: Offset,
    byteCapacity = MIN_BYTES,
  ) {
    this.bytes = new Uint8Array(byteCapacity);
    if (typeof lastOffset === 'number' && lastOffset < DENSE_SLOTS_MAX) {
      this.starts = new Uint32Array(0);
      this.lengths = new Uint16Array(0);
    } else {
      this.packed = new Map();
    }
  }

  /** Bytes held by the arena (for tests of compaction). */
  get reservedBytes(): number {
    return this.bytes.length;
  }

  get(offset: Offset): string | undefined {
    return this.key(offset, scratchKey) ? decodeOwner(this.bytes, scratchKey.start, scratchKey.length) : undefined;
  }

  /** Point `out` at the owner bytes of `offset`; false when it has no owner. */
  key(offset: Offset, out: KeyView): boolean {
    let start: number;
    let length: number;
    if (this.packed === undefined) {
      const o = offset as number;
      length = (this.lengths as Uint16Array)[o] ?? 0;
      if (length === 0) return false;
      start = (this.starts as Uint32Array)[o] as number;
    } else {
      const p = this.packed.get(offset);
      if (p === undefined) return false;
      length = p % LENGTH_SPAN;
      start = (p - length) / LENGTH_SPAN;
    }
    out.set(this.bytes, start, length);
    return true;
  }

  /** Give `offset` the owner `owner` (a well-formed string of 1..MAX_FIELD_LENGTH units). */
  set(offset: Offset, owner: string): void {
    if (!ownerKey(owner, scratchKey)) throw new Error(`owner arena: ${JSON.stringify(owner)} is not an owner`);
    this.setBytes(offset, scratchKey.bytes, scratchKey.start, scratchKey.length);
  }

  /** Give `offset` the owner spelled by bytes[start, start+length) (valid UTF-8, checked by the caller). */
  setBytes(offset: Offset, bytes: Uint8Array, start: number, length: number): void {
    if (length === 0 || length > MAX_OWNER_BYTES) throw new Error(`owner arena: owner of ${length} bytes`);
    this.delete(offset);
    if (this.used + length > this.bytes.length) this.rewrite(length);
    const at = this.used;
    copyBytes(bytes, start, length, this.bytes, at);
    this.used += length;
    this.size++;
    if (this.packed !== undefined) {
      this.packed.set(offset, at * LENGTH_SPAN + length);
      return;
    }
    const o = offset as number;
    if (o >= (this.lengths as Uint16Array).length) this.growPositions(o);
    (this.starts as Uint32Array)[o] = at;
    (this.lengths as Uint16Array)[o] = length;
  }

  delete(offset: Offset): void {
    if (!this.key(offset, scratchKey)) return;
    if (this.packed !== undefined) this.packed.delete(offset);
    else (this.lengths as Uint16Array)[offset as number] = 0;
    this.size--;
    this.garbage += scratchKey.length;
    if (this.garbage > MIN_GARBAGE && this.garbage * 2 > this.used - this.garbage) this.rewrite(0);
  }

  /** Every owned offset (ascending when dense, in insertion order when sparse) until `visit` returns false. */
  forEach(visit: (offset: Offset) => boolean | void): void {
    if (this.packed !== undefined) {
      for (const offset of this.packed.keys()) if (visit(offset) === false) return;
      return;
    }
    const lengths = this.lengths as Uint16Array;
    for (let o = 0; o < lengths.length; o++) if (lengths[o] !== 0 && visit(o) === false) return;
  }

  /** Copy the live owners into a new array with room for `extra` more bytes and half again as headroom. */
  private rewrite(extra: number): void {
    const live = this.used - this.garbage;
    const old = this.bytes;
    const bytes = new Uint8Array(Math.max(MIN_BYTES, Math.ceil((live + extra) * 1.5)));
    let at = 0;
    if (this.packed !== undefined) {
      for (const [offset, p] of this.packed) {
        const length = p % LENGTH_SPAN;
        const start = (p - length) / LENGTH_SPAN;
        copyBytes(old, start, length, bytes, at);
        this.packed.set(offset, at * LENGTH_SPAN + length); // a value update keeps the Map's order
        at += length;
      }
    } else {
      const starts = this.starts as Uint32Array;
      const lengths = this.lengths as Uint16Array;
      for (let o = 0; o < lengths.length; o++) {
        const length = lengths[o] as number;
        if (length === 0) continue;
        const start = starts[o] as number;
        copyBytes(old, start, length, bytes, at);
        starts[o] = at;
        at += length;
      }
    }
    this.bytes = bytes;
    this.used = at;
    this.garbage = 0;
  }

  /** Room for positions up to `offset`: doubling, capped at the slice's last offset. */
  private growPositions(offset: number): void {
    const n = Math.min((this.lastOffset as number) + 1, Math.max(16, 2 * (offset + 1)));
    const starts = new Uint32Array(n);
    const lengths = new Uint16Array(n);
    starts.set(this.starts as Uint32Array);
    lengths.set(this.lengths as Uint16Array);
    this.starts = starts;
    this.lengths = lengths;
  }
}

/**
 * Copy from[start, start+length) to to[at…]. Owners are a few dozen bytes: a loop beats making a
 * subarray view for TypedArray.set, which cost more than the copy when a restore fills arenas with
 * 1,000,000 owners.
 */
function copyBytes(from: Uint8Array, start: number, length: number, to: Uint8Array, at: number): void {
  if (length > 64) {
    to.set(from.subarray(start, start + length), at);
    return;
  }
  for (let i = 0; i < length; i++) to[at + i] = from[start + i] as number;
}
