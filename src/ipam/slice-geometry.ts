/**
 * Where the slices of a cluster CIDR lie: slice index ↔ slice CIDR ↔ addresses, and the FNV-1a home slot
 * of a node id. Pure arithmetic, no state: NodeSliceAllocator and the state machine's networks share it.
 *
 * Indexes are numbers while the split is ≤ 48 bits (exact in a double, cheap in the hot path) and bigints
 * beyond (an fd00::/8 cluster of /64 slices has 2^56 of them).
 */
import { describe, formatCidr, formatV4, MAX_PREFIX, parseCidr, type ParsedCidr } from './address.js';
import { OverlayError } from './errors.js';
import { fnv1a64, fnvLowBits, fnvToBigInt } from './fnv.js';
import type { Offset } from './host-range.js';

export class SliceGeometry {
  readonly cluster: ParsedCidr;
  readonly prefix: number;
  /** log2 of the slice count. */
  readonly indexBits: number;
  /** True when indexes are bigints (more than 48 index bits). */
  readonly big: boolean;

  constructor(clusterCidr: string, slicePrefix: number) {
    this.cluster = parseCidr(clusterCidr);
    const max = MAX_PREFIX[this.cluster.family];
    if (!Number.isInteger(slicePrefix)) {
      throw new OverlayError('InvalidCidr', `slice prefix must be an integer, got ${describe(slicePrefix)}`);
    }
    if (slicePrefix <= this.cluster.prefix) {
      throw new OverlayError('InvalidCidr', `slice prefix /${slicePrefix} must be more specific than cluster prefix /${this.cluster.prefix}`);
    }
    if (slicePrefix > max) {
      throw new OverlayError('InvalidCidr', `slice prefix /${slicePrefix} exceeds address family max /${max}`);
    }
    this.prefix = slicePrefix;
    this.indexBits = slicePrefix - this.cluster.prefix;
    this.big = this.indexBits > 48;
  }

  /** Number of slices, exact (2^(slicePrefix − clusterPrefix)). */
  capacity(): bigint {
    return 1n << BigInt(this.indexBits);
  }

  /** Highest slice index, in the index type. */
  lastIndex(): Offset {
    return this.big ? (1n << BigInt(this.indexBits)) - 1n : 2 ** this.indexBits - 1;
  }

  /** A bigint index in the index type (the caller checked it is below capacity()). */
  toIndex(index: bigint): Offset {
    return this.big ? index : Number(index);
  }

  clusterCidr(): string {
    return formatCidr(this.cluster.family, this.cluster.network, this.cluster.prefix);
  }

  /** Network address (as an integer) of slice `index`. */
  sliceNetwork(index: Offset): bigint {
    const shift = BigInt(MAX_PREFIX[this.cluster.family] - this.prefix);
    return this.cluster.network + (BigInt(index) << shift);
  }

  /** The slice as a parsed CIDR, without a round trip through text. */
  sliceCidr(index: Offset): ParsedCidr {
    const hostBits = MAX_PREFIX[this.cluster.family] - this.prefix;
    return { family: this.cluster.family, prefix: this.prefix, network: this.sliceNetwork(index), hostBits, hadHostBits: false };
  }

  sliceAt(index: Offset): string {
    if (this.cluster.family === 4) {
      // Number arithmetic on the hot path: index · 2^(32 − prefix) < 2^32.
      return `${formatV4(Number(this.cluster.network) + (index as number) * 2 ** (32 - this.prefix))}/${this.prefix}`;
    }
    return formatCidr(this.cluster.family, this.sliceNetwork(index), this.prefix);
  }

  /** The slot FNV-1a places `nodeId` at before probing. */
  homeIndex(nodeId: string): Offset {
    const h = fnv1a64(nodeId);
    if (!this.big) return fnvLowBits(h, this.indexBits);
    const full = fnvToBigInt(h);
    return this.indexBits >= 64 ? full : BigInt.asUintN(this.indexBits, full);
  }

  /** Validate a slice CIDR against this cluster and return its index. */
  indexOfSlice(slice: string): Offset {
    const parsed = parseCidr(slice);
    if (parsed.family !== this.cluster.family) {
      throw new OverlayError('InvalidCidr', `slice ${slice} is IPv${parsed.family}, cluster ${this.clusterCidr()} is IPv${this.cluster.family}`);
    }
    if (parsed.prefix !== this.prefix) {
      throw new OverlayError('InvalidCidr', `assigned slice ${slice} does not match configured prefix /${this.prefix}`);
    }
    if (parsed.hadHostBits) {
      throw new OverlayError('InvalidCidr', `assigned slice ${slice} is not aligned to a /${this.prefix} boundary`);
    }
    const clusterShift = BigInt(MAX_PREFIX[this.cluster.family] - this.cluster.prefix);
    if (parsed.network >> clusterShift !== this.cluster.network >> clusterShift) {
      throw new OverlayError('InvalidCidr', `assigned slice ${slice} is not contained in cluster CIDR ${this.clusterCidr()}`);
    }
    return this.toIndex((parsed.network - this.cluster.network) >> BigInt(MAX_PREFIX[this.cluster.family] - this.prefix));
  }

  /** Slice index containing an address value of this family, or undefined when outside the cluster. */
  indexOfAddress(value: bigint): Offset | undefined {
    const max = MAX_PREFIX[this.cluster.family];
    const clusterShift = BigInt(max - this.cluster.prefix);
    if (value >> clusterShift !== this.cluster.network >> clusterShift) return undefined;
    return this.toIndex((value - this.cluster.network) >> BigInt(max - this.prefix));
  }
}
