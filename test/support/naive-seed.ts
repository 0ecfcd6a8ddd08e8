/**
 * A deliberately naive, line-for-line-in-spirit port of the seed's algorithms (zlayer-overlay
 * allocator.rs): a hash set of taken values, allocate() scanning from the start of the range, assign()
 * rebuilding the set of taken slices on every call, FNV-1a computed with BigInt. It is the baseline for
 * `npm run bench:allocator` and the model the property tests compare the fast structures against.
 * It reproduces the seed's placement exactly, including the saturated slice count for splits ≥ 64 bits.
 * It lives with the tests (the model is test code); the benchmark imports it from here.
 */
const U64 = (1n << 64n) - 1n;

export function naiveFnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(text)) {
    hash ^= BigInt(b);
    hash = (hash * 0x100000001b3n) & U64;
  }
  return hash;
}

/** Seed IpAllocator semantics over integer addresses [network, network + 2^hostBits). */
export class NaiveIpAllocator {
  readonly allocated = new Set<bigint>();
  constructor(
    readonly family: 4 | 6,
    readonly network: bigint,
    readonly hostBits: number,
  ) {}

  /** The seed's usable range with raft-ipam's /31 and /32 fix (RFC 3021), as first..last offsets. */
  hostBounds(): [bigint, bigint] {
    const last = (1n << BigInt(this.hostBits)) - 1n;
    if (this.family === 4) return this.hostBits >= 2 ? [1n, last - 1n] : [0n, last];
    return [1n, last];
  }

  allocate(): bigint | undefined {
    const [first, last] = this.hostBounds();
    for (let o = first; o <= last; o++) {
      const v = this.network + o;
      if (!this.allocated.has(v)) {
        this.allocated.add(v);
        return v;
      }
    }
    return undefined;
  }
}

/** Seed NodeSliceAllocator: HashMap of assignments, taken set rebuilt per assign, linear probing. */
export class NaiveSliceAllocator {
  readonly assigned = new Map<string, bigint>();
  constructor(
    readonly clusterPrefix: number,
    readonly slicePrefix: number,
  ) {}

  numSlices(): bigint {
    const bits = this.slicePrefix - this.clusterPrefix;
    return bits >= 64 ? U64 : 1n << BigInt(bits);
  }

  /** Returns the slice index, or undefined when full. */
  assign(nodeId: string): bigint | undefined {
    const existing = this.assigned.get(nodeId);
    if (existing !== undefined) return existing;
    const n = this.numSlices();
    const taken = new Set(this.assigned.values());
    const start = naiveFnv1a64(nodeId) % n;
    for (let i = 0n; i < n; i++) {
      const idx = (start + i) % n;
      if (!taken.has(idx)) {
        this.assigned.set(nodeId, idx);
        return idx;
      }
    }
    return undefined;
  }

  release(nodeId: string): boolean {
    return this.assigned.delete(nodeId);
  }
}
