/**
 * IpAllocator: lowest-free address allocation inside one CIDR (IPv4 or IPv6), with the seed's behaviour
 * (zlayer-overlay allocator.rs) minus its defects, and O(log range) per operation.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { formatAddress, formatCidr, MAX_PREFIX, parseAddress, parseCidr, describe, type Family } from './address.js';
import { OverlayError } from './errors.js';
import { HostRange, type Offset } from './host-range.js';

/** The seed's persisted JSON shape: {"cidr": "...", "allocated": ["...", ...]}. */
export interface IpAllocatorState {
  cidr: string;
  allocated: string[];
}

export class IpAllocator {
  /** @internal exposed for the state machine, which stores offsets rather than strings. */
  readonly range: HostRange<Offset>;

  constructor(cidr: string) {
    this.range = HostRange.create(parseCidr(cidr));
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

  /** Atomic save: write a temp file beside the target, fsync it, rename over the target, fsync the folder. */
  async save(path: string): Promise<void> {
    const text = `${JSON.stringify(this.toState(), null, 2)}\n`;
    await writeFileAtomic(path, text);
  }

  static async load(path: string): Promise<IpAllocator> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new OverlayError('IoError', `cannot read allocator state ${path}: ${(e as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new OverlayError('InvalidState', `allocator state ${path} is not valid JSON: ${(e as Error).message}`);
    }
    return IpAllocator.fromState(parsed);
  }

  /** Lowest free usable address, or undefined when the range is full. */
  allocate(): string | undefined {
    const offset = this.range.lowestFree();
    if (offset === undefined) return undefined;
    this.range.set.add(offset);
    return this.range.format(offset);
  }

  /** Take a specific address. Throws IpNotInRange, ReservedAddress, IpAlreadyAllocated, … */
  allocateSpecific(ip: string): string {
    const offset = this.usableOffset(ip);
    if (!this.range.set.add(offset)) {
      throw new OverlayError('IpAlreadyAllocated', `IP address ${this.range.format(offset)} is already allocated`);
    }
    return this.range.format(offset);
  }

  /** Take the first usable address (the seed uses it for the leader). */
  allocateFirst(): string {
    const { lo, hi } = this.range;
    if (lo > hi) throw new OverlayError('NoAvailableIps', `no usable addresses in ${this.cidr()}`);
    if (!this.range.set.add(lo)) {
      throw new OverlayError('IpAlreadyAllocated', `IP address ${this.range.format(lo)} is already allocated`);
    }
    return this.range.format(lo);
  }

  /** Mark an address taken (restoring state). Idempotent; still refuses out-of-range and reserved addresses. */
  markAllocated(ip: string): string {
    const offset = this.usableOffset(ip);
    this.range.set.add(offset);
    return this.range.format(offset);
  }

  /** Returns true if the address was allocated and is now free; false if it was not allocated or not in range. */
  release(ip: string): boolean {
    const offset = this.offsetInRange(ip);
    return offset !== undefined && this.range.set.delete(offset);
  }

  isAllocated(ip: string): boolean {
    const offset = this.offsetInRange(ip);
    return offset !== undefined && this.range.set.has(offset);
  }

  contains(ip: string): boolean {
    const a = parseAddress(ip);
    return this.range.contains(a.family, a.value);
  }

  allocatedCount(): number {
    return this.range.set.size;
  }

  totalHosts(): bigint {
    return this.range.total();
  }

  availableCount(): bigint {
    return this.range.total() - BigInt(this.range.set.size);
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
    for (const offset of this.range.set.values()) out.push(this.range.format(offset));
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

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined); // the target is untouched; drop the partial temp file
    throw new OverlayError('IoError', `cannot write ${path}: ${(e as Error).message}`);
  }
}
