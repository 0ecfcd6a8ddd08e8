/**
 * Address and CIDR parsing at the boundary, fast formatting on the hot path.
 *
 * Parsing goes through `ip-address` (it knows every legal spelling of an IPv6 address); we only add the
 * restrictions an allocator needs (no zone index, no prefix where an address is expected). Formatting is
 * hand-written because allocate() formats one address per call: `scripts/bench-allocator.ts` measures
 * `Address6.fromBigInt(v).correctForm()` against `formatV6` and shows why.
 */
import { Address4, Address6 } from 'ip-address';
import { OverlayError } from './errors.js';

export type Family = 4 | 6;

export interface ParsedAddress {
  readonly family: Family;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
}

export const MAX_PREFIX: Record<Family, number> = { 4: 32, 6: 128 };

/** Parse any legal spelling of an IPv4 or IPv6 address. Throws OverlayError('InvalidAddress'). */
export function parseAddress(input: unknown): ParsedAddress {
  if (typeof input !== 'string' || input.length === 0 || input.length > 64) {
    throw new OverlayError('InvalidAddress', `invalid IP address: ${describe(input)}`);
  }
  if (input.includes('/') || input.includes('%') || input.trim() !== input) {
    throw new OverlayError('InvalidAddress', `invalid IP address: ${JSON.stringify(input)}`);
  }
  try {
    if (input.includes(':')) return { family: 6, value: new Address6(input).bigInt() };
    return { family: 4, value: new Address4(input).bigInt() };
  } catch {
    throw new OverlayError('InvalidAddress', `invalid IP address: ${JSON.stringify(input)}`);
  }
}

export interface ParsedCidr {
  readonly family: Family;
  readonly prefix: number;
  /** Network address (host bits cleared). */
  readonly network: bigint;
  /** Number of host bits: 32 - prefix or 128 - prefix. */
  readonly hostBits: number;
  /** True when the input had host bits set (e.g. 10.200.0.5/16). */
  readonly hadHostBits: boolean;
}

/** Parse "address/prefix". Host bits in the input are cleared; `hadHostBits` reports them. */
export function parseCidr(input: unknown): ParsedCidr {
  if (typeof input !== 'string' || input.length > 70) {
    throw new OverlayError('InvalidCidr', `invalid CIDR: ${describe(input)}`);
  }
  const slash = input.indexOf('/');
  if (slash <= 0 || slash !== input.lastIndexOf('/')) {
    throw new OverlayError('InvalidCidr', `invalid CIDR: ${JSON.stringify(input)} (expected address/prefix)`);
  }
  const prefixText = input.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    throw new OverlayError('InvalidCidr', `invalid CIDR: ${JSON.stringify(input)} (bad prefix length)`);
  }
  let addr: ParsedAddress;
  try {
    addr = parseAddress(input.slice(0, slash));
  } catch {
    throw new OverlayError('InvalidCidr', `invalid CIDR: ${JSON.stringify(input)} (bad address)`);
  }
  const prefix = Number(prefixText);
  const max = MAX_PREFIX[addr.family];
  if (prefix > max) {
    throw new OverlayError('InvalidCidr', `invalid CIDR: ${JSON.stringify(input)} (prefix /${prefix} exceeds /${max})`);
  }
  const hostBits = max - prefix;
  const hostMask = (1n << BigInt(hostBits)) - 1n;
  const network = addr.value & ~hostMask & ((1n << BigInt(max)) - 1n);
  return { family: addr.family, prefix, network, hostBits, hadHostBits: network !== addr.value };
}

export function formatV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const V4_MAPPED = 0xffffn; // ::ffff:0:0/96, RFC 4291 §2.5.5.2, as v >> 32
const V4_TRANSLATED = 0xffff0000n; // ::ffff:0:0:0/96, RFC 2765 §2.1, as v >> 32

/**
 * RFC 5952 canonical text: lower case, no leading zeros, the first longest run (>= 2) of zero groups as
 * "::" (§4). §5: an address whose well-known prefix alone says it embeds an IPv4 address prints its last
 * 32 bits in dotted decimal; the prefixes it names are those of RFC 4291 and RFC 2765, so the IPv4-mapped
 * ::ffff:0:0/96 (`::ffff:10.0.0.1`) and the IPv4-translated ::ffff:0:0:0/96 (`::ffff:0:10.0.0.1`). The
 * third prefix of RFC 4291, the deprecated IPv4-compatible ::/96, is not one: its prefix does not tell
 * `::1` (loopback) or `::` from an embedded IPv4 address, so it keeps plain hex, as inet_ntop does for
 * `::1`. Prefixes defined later (64:ff9b::/96, RFC 6052) are outside §5's list and print in hex.
 */
export function formatV6(v: bigint): string {
  const high = v >> 32n;
  if (high === V4_MAPPED) return `::ffff:${formatV4(Number(v & 0xffffffffn))}`;
  if (high === V4_TRANSLATED) return `::ffff:0:${formatV4(Number(v & 0xffffffffn))}`;
  const hex = v.toString(16).padStart(32, '0');
  const groups: number[] = new Array(8);
  for (let i = 0; i < 8; i++) groups[i] = parseInt(hex.slice(i * 4, i * 4 + 4), 16);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const part = (from: number, to: number): string => {
    let s = '';
    for (let i = from; i < to; i++) s += (i > from ? ':' : '') + (groups[i] as number).toString(16);
    return s;
  };
  if (bestStart < 0) return part(0, 8);
  return `${part(0, bestStart)}::${part(bestStart + bestLen, 8)}`;
}

export function formatAddress(family: Family, value: bigint): string {
  return family === 4 ? formatV4(Number(value)) : formatV6(value);
}

export function formatCidr(family: Family, network: bigint, prefix: number): string {
  return `${formatAddress(family, network)}/${prefix}`;
}

/** Canonical text of any legal address spelling. */
export function canonicalAddress(input: unknown): string {
  const a = parseAddress(input);
  return formatAddress(a.family, a.value);
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 80)}…` : s;
  } catch {
    return Object.prototype.toString.call(v);
  }
}
