/**
 * A set of offsets in [0, 2^bits) on top of BitTree, with the offset type chosen by width:
 * `number` for bits ≤ 48 (IPv4, slice indices) and `bigint` beyond (IPv6 host parts up to 2^128).
 * The codec turns an offset into the tree's digit path and back; everything else is shared.
 */
import { BitTree, LEAF_BITS, LEVEL_BITS } from './bit-tree.js';

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

export class OffsetSet<T extends number | bigint> {
  private readonly tree: BitTree;
  private readonly scratchA: Int32Array;
  private readonly scratchB: Int32Array;
  private count = 0;

  private constructor(
    readonly bits: number,
    private readonly codec: OffsetCodec<T>,
  ) {
    this.tree = new BitTree(bits);
    this.scratchA = new Int32Array(this.tree.levels + 1);
    this.scratchB = new Int32Array(this.tree.levels + 1);
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
    return this.tree.usedBytes();
  }

  has(x: T): boolean {
    this.codec.toDigits(x, this.scratchA);
    return this.tree.has(this.scratchA);
  }

  add(x: T): boolean {
    this.codec.toDigits(x, this.scratchA);
    const added = this.tree.add(this.scratchA);
    if (added) this.count++;
    return added;
  }

  delete(x: T): boolean {
    this.codec.toDigits(x, this.scratchA);
    const deleted = this.tree.delete(this.scratchA);
    if (deleted) this.count--;
    return deleted;
  }

  /** Lowest absent offset in [from, limit], or undefined. */
  nextAbsent(from: T, limit: T): T | undefined {
    if (from > limit) return undefined;
    this.codec.toDigits(from, this.scratchA);
    if (!this.tree.nextAbsent(this.scratchA, this.scratchB)) return undefined;
    const found = this.codec.fromDigits(this.scratchB);
    return found <= limit ? found : undefined;
  }

  /** Present offsets as maximal ascending runs [start, length], clipped to the range. */
  forEachRun(visit: (start: T, length: T) => void): void {
    const { codec } = this;
    const rangeEnd = codec.pow2(this.bits);
    let runStart: T | undefined;
    let runEnd: T = codec.zero;
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
