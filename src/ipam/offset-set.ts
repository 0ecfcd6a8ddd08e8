/**
 * A set of offsets in [0, 2^bits) on top of BitTree, with the offset type chosen by width:
 * `number` for bits ≤ 48 (IPv4, slice indices) and `bigint` beyond (IPv6 host parts up to 2^128).
 * The codec turns an offset into the tree's digit path and back; everything else is shared.
 *
 * The tree is built on the first add() and dropped when the set empties again: a cluster holds one set per
 * node slice, most of them empty or nearly so, and a BitTree pre-sizes about 2 KB of slabs. An empty set
 * costs its own few fields and nothing else (65,536 assigned-but-unused slices used to cost ≈ 400 MB).
 */
import { BitTree, internalLevels, LEAF_BITS, LEVEL_BITS } from './bit-tree.js';

export interface OffsetCodec<T extends number | bigint> {
  toDigits(x: T, out: Int32Array): void;
  fromDigits(d: Int32Array): T;
  /** 2^exp in T. */
  pow2(exp: number): T;
  plus(a: T, b: T): T;
  minus(a: T, b: T): T;
  fromNumber(n: number): T;
  zero: T;
}

const NUMBER_CODEC: OffsetCodec<number> = {
  toDigits(x, out) {
    out[0] = x % 1024;
    let q = Math.floor(x / 1024);
    for (let i = 1; i < out.length; i++) {
      out[i] = q % 32;
      q = Math.floor(q / 32);
    }
  },
  fromDigits(d) {
    let x = 0;
    for (let i = d.length - 1; i >= 1; i--) x = x * 32 + (d[i] as number);
    return x * 1024 + (d[0] as number);
  },
  pow2: (exp) => 2 ** exp,
  plus: (a, b) => a + b,
  minus: (a, b) => a - b,
  fromNumber: (n) => n,
  zero: 0,
};

/** Digits 0..8 hold the low 50 bits (10 + 8·5), digits 9..18 the next 50, digits 19.. the rest. */
const BIG_CODEC: OffsetCodec<bigint> = {
  toDigits(x, out) {
    let chunk = Number(BigInt.asUintN(50, x));
    out[0] = chunk % 1024;
    chunk = Math.floor(chunk / 1024);
    let rest = x >> 50n;
    for (let i = 1; i < out.length; i++) {
      if (i === 9 || i === 19) {
        chunk = Number(BigInt.asUintN(50, rest));
        rest >>= 50n;
      }
      out[i] = chunk % 32;
      chunk = Math.floor(chunk / 32);
    }
  },
  fromDigits(d) {
    const chunk = (from: number, to: number): number => {
      let x = 0;
      for (let i = Math.min(to, d.length - 1); i >= from; i--) x = x * 32 + (d[i] as number);
      return x;
    };
    const low = chunk(1, 8) * 1024 + (d[0] as number);
    if (d.length <= 9) return BigInt(low);
    const mid = chunk(9, 18);
    const high = d.length > 19 ? chunk(19, d.length - 1) : 0;
    return BigInt(low) + (BigInt(mid) << 50n) + (BigInt(high) << 100n);
  },
  pow2: (exp) => 1n << BigInt(exp),
  plus: (a, b) => a + b,
  minus: (a, b) => a - b,
  fromNumber: (n) => BigInt(n),
  zero: 0n,
};

/**
 * Digit scratch buffers shared by every set of the same depth. Safe because no method keeps digits across
 * a call to another set: each call fills them and reads them back before returning (values() collects its
 * runs before yielding).
 */
const scratch = new Map<number, [Int32Array, Int32Array]>();
function scratchFor(levels: number): [Int32Array, Int32Array] {
  let pair = scratch.get(levels);
  if (pair === undefined) {
    pair = [new Int32Array(levels + 1), new Int32Array(levels + 1)];
    scratch.set(levels, pair);
  }
  return pair;
}

export class OffsetSet<T extends number | bigint> {
  private tree: BitTree | undefined;
  private count = 0;

  private constructor(
    readonly bits: number,
    private readonly codec: OffsetCodec<T>,
  ) {
    if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw new RangeError(`bits out of range: ${bits}`);
  }

  private get levels(): number {
    return internalLevels(this.bits);
  }

  static small(bits: number): OffsetSet<number> {
    if (bits > 48) throw new RangeError(`small offset set limited to 48 bits, got ${bits}`);
    return new OffsetSet(bits, NUMBER_CODEC);
  }

  static big(bits: number): OffsetSet<bigint> {
    return new OffsetSet(bits, BIG_CODEC);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the tree's slabs (excludes the fixed object overhead). */
  get usedBytes(): number {
    return this.tree === undefined ? 0 : this.tree.usedBytes();
  }

  /** Bytes of typed-array slabs held, spare capacity included: 0 while the set is empty. */
  get reservedBytes(): number {
    return this.tree === undefined ? 0 : this.tree.reservedBytes();
  }

  has(x: T): boolean {
    if (this.tree === undefined) return false;
    const [a] = scratchFor(this.tree.levels);
    this.codec.toDigits(x, a);
    return this.tree.has(a);
  }

  add(x: T): boolean {
    this.tree ??= new BitTree(this.bits);
    const [a] = scratchFor(this.tree.levels);
    this.codec.toDigits(x, a);
    const added = this.tree.add(a);
    if (added) this.count++;
    return added;
  }

  delete(x: T): boolean {
    if (this.tree === undefined) return false;
    const [a] = scratchFor(this.tree.levels);
    this.codec.toDigits(x, a);
    const deleted = this.tree.delete(a);
    if (deleted) this.count--;
    if (this.count === 0) this.tree = undefined; // give the slabs back
    return deleted;
  }

  /** Lowest absent offset in [from, limit], or undefined. */
  nextAbsent(from: T, limit: T): T | undefined {
    if (from > limit) return undefined;
    // An empty set has every offset absent (from < 2^bits is the caller's range contract).
    if (this.tree === undefined) return from < this.codec.pow2(this.bits) ? from : undefined;
    const [a, b] = scratchFor(this.levels);
    this.codec.toDigits(from, a);
    if (!this.tree.nextAbsent(a, b)) return undefined;
    const found = this.codec.fromDigits(b);
    return found <= limit ? found : undefined;
  }

  /** Present offsets as maximal ascending runs [start, length], clipped to the range. */
  forEachRun(visit: (start: T, length: T) => void): void {
    const { codec } = this;
    const rangeEnd = codec.pow2(this.bits);
    let runStart: T | undefined;
    let runEnd: T = codec.zero;
    if (this.tree === undefined) return;
    this.tree.forEachRun((digits, count, fullLevel) => {
      const start = codec.fromDigits(digits);
      if (start >= rangeEnd) return;
      const length = fullLevel < 0 ? codec.fromNumber(count) : codec.pow2(LEAF_BITS + LEVEL_BITS * fullLevel);
      let end = codec.plus(start, length);
      if (end > rangeEnd) end = rangeEnd; // a FULL root of a partial top level
      if (runStart !== undefined && start === runEnd) {
        runEnd = end;
        return;
      }
      if (runStart !== undefined) visit(runStart, codec.minus(runEnd, runStart));
      runStart = start;
      runEnd = end;
    });
    if (runStart !== undefined) visit(runStart, codec.minus(runEnd, runStart));
  }

  /** Every present offset, ascending. */
  *values(): IterableIterator<T> {
    const runs: Array<[T, T]> = [];
    this.forEachRun((s, l) => runs.push([s, l]));
    for (const [start, length] of runs) {
      if (typeof start === 'number') {
        for (let i = 0; i < (length as number); i++) yield (start + i) as T;
      } else {
        for (let i = 0n; i < (length as bigint); i++) yield ((start as bigint) + i) as T;
      }
    }
  }
}
