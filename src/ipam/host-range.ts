/**
 * The usable host offsets of one CIDR: bounds, address ↔ offset conversion, formatting. Pure arithmetic;
 * whoever allocates owns its own taken set (`newSet()` makes one of the matching offset type). Generic over
 * the offset type so IPv4 (number) and IPv6 (bigint) share one implementation; IpAllocator and
 * AllocationBlock sit on top.
 *
 * Usable hosts (offsets from the network address):
 * - IPv4 /0–/30: 1 … 2^h − 2 (network and broadcast excluded).
 * - IPv4 /31: 0 … 1 and /32: 0 (RFC 3021 point-to-point; the seed's allocate() already handed these out
 *   while its counts said 0 — here counts and allocate() agree).
 * - IPv6 /0–/127: 1 … 2^h − 1 (the subnet-router anycast address, offset 0, is excluded, as in the seed).
 * - IPv6 /128: none (its only address is the network address).
 */
import { formatAddress, formatV4, formatV6, parseAddress, type Family, type ParsedCidr } from './address.js';
import { OverlayError } from './errors.js';
import { OffsetSet } from './offset-set.js';

export type Offset = number | bigint;

export class HostRange<T extends Offset> {
  /** Inclusive bounds of usable offsets; lo > hi when there are none. */
  readonly lo: T;
  readonly hi: T;
  readonly lastOffset: T;

  private constructor(
    readonly cidr: ParsedCidr,
    private readonly makeSet: () => OffsetSet<T>,
    lo: T,
    hi: T,
    lastOffset: T,
    private readonly toAddressText: (offset: T) => string,
    private readonly fromValue: (value: bigint) => T,
  ) {
    this.lo = lo;
    this.hi = hi;
    this.lastOffset = lastOffset;
  }

  static create(cidr: ParsedCidr): HostRange<Offset> {
    const h = cidr.hostBits;
    if (cidr.family === 4) {
      const net = Number(cidr.network);
      const last = 2 ** h - 1;
      const [lo, hi] = h >= 2 ? [1, last - 1] : [0, last];
      return new HostRange<number>(cidr, () => OffsetSet.small(h), lo, hi, last, (o) => formatV4(net + o), (v) => Number(v) - net) as HostRange<Offset>;
    }
    const net = cidr.network;
    const last = (1n << BigInt(h)) - 1n;
    if (h <= 48) {
      // Small IPv6 ranges (e.g. /112 slices) keep number offsets: cheaper than bigint on every call.
      const lastN = Number(last);
      return new HostRange<number>(cidr, () => OffsetSet.small(h), 1, lastN, lastN, (o) => formatV6(net + BigInt(o)), (v) => Number(v - net)) as HostRange<Offset>;
    }
    return new HostRange<bigint>(cidr, () => OffsetSet.big(h), 1n, last, last, (o) => formatV6(net + o), (v) => v - net) as HostRange<Offset>;
  }

  get family(): Family {
    return this.cidr.family;
  }

  /** Number of usable hosts, exact. */
  total(): bigint {
    return this.lo > this.hi ? 0n : BigInt(this.hi) - BigInt(this.lo) + 1n;
  }

  /** Offset of an address value known to be inside the CIDR. */
  offsetOf(value: bigint): T {
    return this.fromValue(value);
  }

  contains(family: Family, value: bigint): boolean {
    if (family !== this.cidr.family) return false;
    return value >> BigInt(this.cidr.hostBits) === this.cidr.network >> BigInt(this.cidr.hostBits);
  }

  isUsable(offset: T): boolean {
    return offset >= this.lo && offset <= this.hi;
  }

  /**
   * Offset of `input` if it is a usable host of this range, else a typed error (AddressFamilyMismatch,
   * IpNotInRange, ReservedAddress, InvalidAddress) whose message names the address and `where()`.
   * `where` is only called to build an error message, so the success path formats nothing.
   */
  usableOffset(input: string, where: () => string): T {
    const a = parseAddress(input);
    const text = (): string => formatAddress(a.family, a.value);
    if (a.family !== this.family) throw new OverlayError('AddressFamilyMismatch', `IPv${a.family} address ${text()} cannot belong to IPv${this.family} ${where()}`);
    if (!this.contains(a.family, a.value)) throw new OverlayError('IpNotInRange', `IP address ${text()} is not in ${where()}`);
    const offset = this.offsetOf(a.value);
    if (!this.isUsable(offset)) {
      throw new OverlayError('ReservedAddress', `IP address ${text()} is the ${offset === this.lastOffset ? 'broadcast' : 'network'} address of ${where()} and cannot be allocated`);
    }
    return offset;
  }

  format(offset: T): string {
    return this.toAddressText(offset);
  }

  /** An empty taken set for offsets of this range. */
  newSet(): OffsetSet<T> {
    return this.makeSet();
  }

  /** Lowest usable offset absent from `taken`, or undefined when full. O(log range). */
  lowestFree(taken: OffsetSet<T>): T | undefined {
    return taken.nextAbsent(this.lo, this.hi);
  }

  /** First usable offset, or undefined when the range has none (IPv6 /128). */
  first(): T | undefined {
    return this.lo <= this.hi ? this.lo : undefined;
  }
}
