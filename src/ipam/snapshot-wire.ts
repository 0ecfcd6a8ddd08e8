/**
 * Shared pieces of the snapshot wire format: the InvalidSnapshot refusal and the one spelling of an
 * offset or slice index (a msgpack integer up to 2^53 − 1, a decimal string above it: IPv6 host offsets
 * and slice indexes reach 2^128, and a double would silently round them).
 */
import { describe } from './address.js';
import { OverlayError } from './errors.js';
import type { Offset } from './host-range.js';

export type WireOffset = number | string;

/** @internal msgpack array header for `n` elements, in the shortest form (as msgpackr writes it). */
export function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  return Uint8Array.of(0xdd, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function invalidSnapshot(message: string): never {
  throw new OverlayError('InvalidSnapshot', `invalid snapshot: ${message}`);
}

export function encodeOffset(o: Offset): WireOffset {
  return typeof o === 'number' || o <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(o) : o.toString();
}

/** Inverse of encodeOffset; refuses every other spelling (a string for a small value, leading zeros, …). */
export function decodeOffset(v: unknown, what: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^[1-9][0-9]{15,38}$/.test(v) && BigInt(v) > BigInt(Number.MAX_SAFE_INTEGER)) return BigInt(v);
  return invalidSnapshot(`${what} must be a non-negative integer, got ${describe(v)}`);
}
