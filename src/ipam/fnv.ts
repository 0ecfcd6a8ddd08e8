/**
 * FNV-1a 64-bit over the UTF-8 bytes of a string, as the seed's hash_node_id, computed in four 16-bit limbs
 * so the per-byte multiply stays in exact double arithmetic (a BigInt multiply per byte was ~10x slower).
 *
 * FNV prime 0x100000001b3 = 2^40 + 0x1b3, so h·p = h·0x1b3 + (h << 40): limb k of the product is
 * h[k]·0x1b3 + h[k-2]·0x100 (mod 2^64), each well below 2^32 before carrying.
 */
const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

export interface Fnv64 {
  /** Limbs, least significant first, each 0..0xffff. */
  readonly limbs: readonly [number, number, number, number];
}

export function fnv1a64(text: string): Fnv64 {
  // UTF-8 into a reused buffer (3 bytes per UTF-16 unit is the worst case); lone surrogates become U+FFFD
  // exactly as Rust would never see them (node ids are validated as well-formed before placement).
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, scratch);
  const bytes = scratch;
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < written; i++) {
    h0 ^= bytes[i] as number;
    const r0 = h0 * 0x1b3;
    let r1 = h1 * 0x1b3;
    let r2 = h2 * 0x1b3 + h0 * 0x100;
    let r3 = h3 * 0x1b3 + h1 * 0x100;
    r1 += r0 >>> 16;
    r2 += r1 >>> 16;
    r3 += r2 >>> 16;
    h0 = r0 & 0xffff;
    h1 = r1 & 0xffff;
    h2 = r2 & 0xffff;
    h3 = r3 & 0xffff;
  }
  return { limbs: [h0, h1, h2, h3] };
}

export function fnvToBigInt(h: Fnv64): bigint {
  const [a, b, c, d] = h.limbs;
  return (BigInt(d) << 48n) | (BigInt(c) << 32n) | (BigInt(b) << 16n) | BigInt(a);
}

/** hash mod 2^bits as a number (bits ≤ 48). */
export function fnvLowBits(h: Fnv64, bits: number): number {
  const [a, b, c] = h.limbs;
  const low48 = a + b * 0x10000 + c * 0x100000000;
  return bits >= 48 ? low48 : low48 % 2 ** bits;
}
