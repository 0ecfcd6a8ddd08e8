/**
 * Owners as UTF-8 bytes: the form the blocks (owner-arena.ts) and the owner index (owner-index.ts) keep
 * them in, instead of one JS string per owned address (≈ 32 B for `container-123456`, plus the pointer
 * to it).
 *
 * Every owner the state accepts is a well-formed string of 1..MAX_FIELD_LENGTH UTF-16 units (commands.ts
 * checkField, snapshot-codec.ts name()), so its UTF-8 is at most 3 bytes per unit and decodes back to the
 * same string exactly: the round trip string → bytes → string is the identity for every stored owner.
 */
import { isUtf8 } from 'node:buffer';
import { MAX_FIELD_LENGTH } from './commands.js';

/** UTF-8 bytes of the longest owner: 3 per UTF-16 unit (a surrogate pair is 2 units and 4 bytes). */
export const MAX_OWNER_BYTES = 3 * MAX_FIELD_LENGTH;

/** A key as a range of some byte array; reused, never held across calls. */
export class KeyView {
  bytes: Uint8Array = new Uint8Array(0);
  start = 0;
  length = 0;

  set(bytes: Uint8Array, start: number, length: number): void {
    this.bytes = bytes;
    this.start = start;
    this.length = length;
  }
}

const encoder = new TextEncoder();
const scratch = new Uint8Array(MAX_OWNER_BYTES);

/**
 * `owner` as a key over a shared scratch buffer (valid until the next call), or false when no stored
 * owner can equal it: a lookup by an ill-formed string must not match the owner its U+FFFD replacement
 * spells, and one longer than an owner may be must not overflow the scratch buffer.
 */
export function ownerKey(owner: string, out: KeyView): boolean {
  if (owner.length === 0 || owner.length > MAX_FIELD_LENGTH || !owner.isWellFormed()) return false;
  const { written } = encoder.encodeInto(owner, scratch);
  out.set(scratch, 0, written);
  return true;
}

export function decodeOwner(bytes: Uint8Array, start: number, length: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', start, start + length);
}

export function sameKey(a: KeyView, b: KeyView): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  const x = a.bytes;
  const y = b.bytes;
  for (let i = 0, j = a.start, k = b.start; i < n; i++, j++, k++) if (x[j] !== y[k]) return false;
  return true;
}

/**
 * True when bytes[start, start+length) is what the snapshot decoder would accept as an owner: valid
 * UTF-8 (which cannot spell a lone surrogate, so the string is well-formed) of 1..MAX_FIELD_LENGTH
 * UTF-16 units. Lets the snapshot reader copy owner bytes without making the string.
 */
export function validOwnerBytes(bytes: Uint8Array, start: number, length: number): boolean {
  if (length === 0) return false;
  const end = start + length;
  let ascii = true;
  for (let i = start; i < end; i++) {
    if ((bytes[i] as number) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (!ascii && !isUtf8(bytes.subarray(start, end))) return false;
  if (length <= MAX_FIELD_LENGTH) return true; // never more units than bytes
  // UTF-16 units: one per sequence start (a byte that is no continuation byte), two for a 4-byte one.
  let units = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1;
  }
  return units <= MAX_FIELD_LENGTH;
}

export type KeyHash = (bytes: Uint8Array, start: number, length: number) => number;

/**
 * Seed of hashOwnerKey, random per process. The index's layout never leaves the process (listings and
 * snapshots read the blocks in offset order), so a random seed costs no determinism, and it keeps a client
 * from choosing owners that all land in one probe chain of every replica — V8 seeds its string hashes,
 * which the Map this index replaced relied on, for the same reason.
 */
const SEED = crypto.getRandomValues(new Uint32Array(1))[0] as number;

/** FNV-1a over the bytes from a seeded basis, finished with murmur3's fmix32 so the low bits mix well. */
export const hashOwnerKey: KeyHash = (bytes, start, length) => {
  let h = (0x811c9dc5 ^ SEED) | 0;
  for (let i = start, end = start + length; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
};
