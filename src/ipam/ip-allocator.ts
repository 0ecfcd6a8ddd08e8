/**
 * IpAllocator: lowest-free address allocation inside one CIDR (IPv4 or IPv6), with the seed's behaviour
 * (zlayer-overlay allocator.rs) minus its defects, and O(log range) per operation.
 */
import { formatAddress, formatCidr, MAX_PREFIX, parseAddress, parseCidr, describe, type Family } from './address.js';
import { OverlayError } from './errors.js';
import { readAllocatorState, saveAllocatorState } from './allocator-file.js';
import { HostRange, type Offset } from './host-range.js';
import type { OffsetSet } from './offset-set.js';

/** The seed's persisted JSON shape: {"cidr": "...", "allocated": ["...", ...]}. */
export interface IpAllocatorState {
  cidr: string;
  allocated: string[];
}

export class IpAllocator {
  /** @internal the range arithmetic (bounds, offsets, formatting). */
  readonly range: HostRange<Offset>;
  /** @internal the taken offsets (benchmarks read its memory figures). */
  readonly set: OffsetSet<Offset>;

  constructor(cidr: string) {
    this.range = HostRange.create(parseCidr(cidr));
    this.set = this.range.newSet();
  }

  static fromState(state: unknown): IpAllocator {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new OverlayError('InvalidState', `allocator state must be an object, got ${describe(state)}`);
    }
    const { cidr, allocated } = state as Record<string, unknown>;
    if (typeof cidr !== 'string') throw new OverlayError('InvalidState', `allocator state: "cidr" must be a string, got ${describe(cidr)}`);
    if (!Array.isArray(allocated)) {
      throw new OverlayError('InvalidState', `allocator state: "allocated" must be an array, got ${describe(allocated)}`);
    }
    const allocator = new IpAllocator(cidr);
    for (const ip of allocated) allocator.markAllocated(ip);
    return allocator;
  }

  toState(): IpAllocatorState {
    return { cidr: this.cidr(), allocated: this.allocatedIps() };
  }

  /** Atomic save (allocator-file.ts): a reader sees the old file or the new one, never a mix. */
  async save(path: string): Promise<void> {
    await saveAllocatorState(path, this.toState());
  }

  static async load(path: string): Promise<IpAllocator> {
    return IpAllocator.fromState(await readAllocatorState(path));
  }

  /** Lowest free usable address, or undefined when the range is full. */
  allocate(): string | undefined {
    const offset = this.range.lowestFree(this.set);
    if (offset === undefined) return undefined;
    this.set.add(offset);
    return this.range.format(offset);
  }

  /** Take a specific address. Throws IpNotInRange, ReservedAddress, IpAlreadyAllocated, … */
  allocateSpecific(ip: string): string {
    const offset = this.usableOffset(ip);
    if (!this.set.add(offset)) {
      throw new OverlayError('IpAlreadyAllocated', `IP address ${this.range.format(offset)} is already allocated`);
    }
    return this.range.format(offset);
  }

  /** Take the first usable address (the seed uses it for the leader). */
  allocateFirst(): string {
    const { lo, hi } = this.range;
    if (lo > hi) throw new OverlayError('NoAvailableIps', `no usable addresses in ${this.cidr()}`);
    if (!this.set.add(lo)) {
      throw new OverlayError('IpAlreadyAllocated', `IP address ${this.range.format(lo)} is already allocated`);
    }
    return this.range.format(lo);
  }

  /** Mark an address taken (restoring state). Idempotent; still refuses out-of-range and reserved addresses. */
  markAllocated(ip: string): string {
    const offset = this.usableOffset(ip);
    this.set.add(offset);
    return this.range.format(offset);
  }

  /** Returns true if the address was allocated and is now free; false if it was not allocated or not in range. */
  release(ip: string): boolean {
    const offset = this.offsetInRange(ip);
    return offset !== undefined && this.set.delete(offset);
  }

  isAllocated(ip: string): boolean {
    const offset = this.offsetInRange(ip);
    return offset !== undefined && this.set.has(offset);
  }

  contains(ip: string): boolean {
    const a = parseAddress(ip);
    return this.range.contains(a.family, a.value);
  }

  allocatedCount(): number {
    return this.set.size;
  }

  totalHosts(): bigint {
    return this.range.total();
  }

  availableCount(): bigint {
    return this.range.total() - BigInt(this.set.size);
  }

  cidr(): string {
    const c = this.range.cidr;
    return formatCidr(c.family, c.network, c.prefix);
  }

  family(): Family {
    return this.range.family;
  }

  networkAddr(): string {
    return formatAddress(this.range.family, this.range.cidr.network);
  }

  /** Last address of the range (for IPv6, all host bits set, as in the seed). */
  broadcastAddr(): string {
    return this.range.format(this.range.lastOffset);
  }

  prefixLen(): number {
    return this.range.cidr.prefix;
  }

  hostPrefixLen(): number {
    return MAX_PREFIX[this.range.family];
  }

  /** Allocated addresses in ascending numeric order. */
  allocatedIps(): string[] {
    const out: string[] = [];
    for (const offset of this.set.values()) out.push(this.range.format(offset));
    return out;
  }

  /** Offset of `ip` if it parses and lies in this CIDR, else undefined (bad spelling throws InvalidAddress). */
  private offsetInRange(ip: string): Offset | undefined {
    const a = parseAddress(ip);
    if (!this.range.contains(a.family, a.value)) return undefined;
    return this.range.offsetOf(a.value);
  }

  private usableOffset(ip: string): Offset {
    return this.range.usableOffset(ip, () => `range ${this.cidr()}`);
  }
}

/** The seed's helper: first usable address of a CIDR. */
export function firstIpFromCidr(cidr: string): string {
  const range = HostRange.create(parseCidr(cidr));
  if (range.lo > range.hi) throw new OverlayError('NoAvailableIps', `no usable addresses in ${cidr}`);
  return range.format(range.lo);
}
