/**
 * A sparse hierarchical bitmap over the offsets [0, 2^bits), bits ≤ 128.
 *
 * Why this shape: an allocator needs "lowest free offset ≥ x" in O(log range) for both a dense IPv4 /8 and
 * a nearly empty IPv6 /64. A radix-32 tree of "full" summaries gives that with one Math.clz32 per level,
 * and storing it in typed-array slabs keeps memory near one bit per address:
 *
 * - A leaf holds 1024 offsets as 32 Int32 words plus a one-word summary (bit w set ⇔ word w is full).
 * - An internal node holds 32 child pointers plus a "full" mask and a "non-empty" mask.
 * - A pointer is EMPTY (0: every offset below it free, nothing stored), FULL (-1: every offset below it
 *   taken, nothing stored), SINGLE (≤ -2: exactly one offset below it, its digits kept in a small side
 *   slab), or the id of a stored leaf/node. A stored leaf or node is never all-full and never all-empty:
 *   add() collapses full subtrees into FULL and delete() frees empty ones. So memory follows the
 *   fragmentation of the set, not its size; a completely allocated range costs nothing, and an isolated
 *   address in a huge IPv6 range costs one SINGLE entry instead of a chain of nodes down to a leaf.
 *
 * Offsets are passed as digit paths (see OffsetCodec in offset-set.ts): digit 0 is the low 10 bits (leaf
 * position), digit k ≥ 1 the next 5 bits (child index at tree level k). The tree itself only does number math.
 */

export const EMPTY = 0;
export const FULL = -1;
export const LEAF_BITS = 10;
export const LEVEL_BITS = 5;

const LEAF_SIZE = 1 << LEAF_BITS;

/** Number of internal levels needed above the leaves for a range of 2^bits offsets. */
export function internalLevels(bits: number): number {
  return bits <= LEAF_BITS ? 0 : Math.ceil((bits - LEAF_BITS) / LEVEL_BITS);
}

/** Index of the lowest set bit (x must be non-zero). */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Mask of bit positions ≥ b (b in 0..32). JS shifts are mod 32, so 32 needs its own case. */
function fromBit(b: number): number {
  return b >= 32 ? 0 : -1 << b;
}

/** A run of present offsets reported by forEachRun: `count` offsets starting at the path `digits`. */
export type RunVisitor = (digits: Int32Array, count: number, fullLevel: number) => void;

export class BitTree {
  readonly levels: number;
  private root = EMPTY;

  private leafWords = new Int32Array(32 * 8);
  private leafSummary = new Int32Array(8);
  private leafPop = new Uint16Array(8);
  private leafFreeList: number[] = [];
  private leafNext = 1; // id 0 is never used: 0 means EMPTY

  /** SINGLE pointers: entry k holds the digits 0…L of its one offset (stride levels + 1). */
  private singleDigits: Int32Array;
  private singleFreeList: number[] = [];
  private singleNext = 0;
  private readonly stride: number;

  private nodeChildren = new Int32Array(32 * 8);
  private nodeFull = new Int32Array(8);
  private nodeNonEmpty = new Int32Array(8);
  private nodeFreeList: number[] = [];
  private nodeNext = 1;

  /** Node ids along the last descended path, indexed by level; used to collapse/free upward. */
  private readonly path: Int32Array;

  constructor(readonly bits: number) {
    if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw new RangeError(`bits out of range: ${bits}`);
    this.levels = internalLevels(bits);
    this.path = new Int32Array(this.levels + 1);
    this.stride = this.levels + 1;
    this.singleDigits = new Int32Array(this.stride * 8);
  }

  /** Bytes of every typed-array slab this tree holds, used or spare (what it costs the heap). */
  reservedBytes(): number {
    return (
      this.leafWords.byteLength + this.leafSummary.byteLength + this.leafPop.byteLength + this.singleDigits.byteLength +
      this.nodeChildren.byteLength + this.nodeFull.byteLength + this.nodeNonEmpty.byteLength + this.path.byteLength
    );
  }

  /** Stored bytes in the slabs that are in use (for memory reports). */
  usedBytes(): number {
    const leaves = this.leafNext - 1 - this.leafFreeList.length;
    const nodes = this.nodeNext - 1 - this.nodeFreeList.length;
    const singles = this.singleNext - this.singleFreeList.length;
    return leaves * (32 * 4 + 4 + 2) + nodes * (32 * 4 + 8) + singles * this.stride * 4;
  }

  has(d: Int32Array): boolean {
    let ptr = this.root;
    for (let lvl = this.levels; ; lvl--) {
      if (ptr === EMPTY) return false;
      if (ptr === FULL) return true;
      if (ptr <= -2) return this.singleEquals(ptr, d, lvl);
      if (lvl === 0) {
        const d0 = d[0] as number;
        return ((this.leafWords[ptr * 32 + (d0 >>> 5)] as number) & (1 << (d0 & 31))) !== 0;
      }
      ptr = this.nodeChildren[ptr * 32 + (d[lvl] as number)] as number;
    }
  }

  /** Insert; returns false if already present. */
  add(d: Int32Array): boolean {
    if (this.root === FULL) return false;
    if (this.root === EMPTY) {
      this.root = this.newSingle(d, this.levels);
      return true;
    }
    if (this.root <= -2) {
      if (this.singleEquals(this.root, d, this.levels)) return false;
      this.root = this.expand(this.root, this.levels);
    }
    let ptr = this.root;
    for (let lvl = this.levels; lvl >= 1; lvl--) {
      this.path[lvl] = ptr;
      const c = d[lvl] as number;
      const slot = ptr * 32 + c;
      let child = this.nodeChildren[slot] as number;
      if (child === FULL) return false;
      if (child === EMPTY) {
        // Nothing below yet: remember just this offset, no chain of nodes.
        this.nodeChildren[slot] = this.newSingle(d, lvl - 1);
        this.nodeNonEmpty[ptr] = (this.nodeNonEmpty[ptr] as number) | (1 << c);
        return true;
      }
      if (child <= -2) {
        if (this.singleEquals(child, d, lvl - 1)) return false;
        child = this.expand(child, lvl - 1);
        this.nodeChildren[slot] = child;
      }
      ptr = child;
    }
    const d0 = d[0] as number;
    const w = d0 >>> 5;
    const bit = 1 << (d0 & 31);
    const idx = ptr * 32 + w;
    const word = this.leafWords[idx] as number;
    if ((word & bit) !== 0) return false;
    const next = word | bit;
    this.leafWords[idx] = next;
    this.leafPop[ptr] = (this.leafPop[ptr] as number) + 1;
    if (next === -1) {
      const summary = (this.leafSummary[ptr] as number) | (1 << w);
      this.leafSummary[ptr] = summary;
      if (summary === -1) this.collapseFull(ptr, d);
    }
    return true;
  }

  /** Remove; returns false if absent. */
  delete(d: Int32Array): boolean {
    if (!this.has(d)) return false;
    if (this.root <= -2) {
      this.freeSingle(this.root);
      this.root = EMPTY;
      return true;
    }
    if (this.root === FULL) this.root = this.levels === 0 ? this.newLeaf(true) : this.newNode(true);
    let ptr = this.root;
    for (let lvl = this.levels; lvl >= 1; lvl--) {
      this.path[lvl] = ptr;
      const c = d[lvl] as number;
      const slot = ptr * 32 + c;
      let child = this.nodeChildren[slot] as number;
      if (child === FULL) {
        // Materialise a collapsed full subtree so one offset can leave it.
        child = lvl === 1 ? this.newLeaf(true) : this.newNode(true);
        this.nodeChildren[slot] = child;
        this.nodeFull[ptr] = (this.nodeFull[ptr] as number) & ~(1 << c);
      } else if (child <= -2) {
        // has() said present, so this single is the offset itself.
        this.freeSingle(child);
        this.clearChild(lvl, d);
        return true;
      }
      ptr = child;
    }
    const d0 = d[0] as number;
    const w = d0 >>> 5;
    const idx = ptr * 32 + w;
    this.leafWords[idx] = (this.leafWords[idx] as number) & ~(1 << (d0 & 31));
    this.leafSummary[ptr] = (this.leafSummary[ptr] as number) & ~(1 << w);
    const pop = (this.leafPop[ptr] as number) - 1;
    this.leafPop[ptr] = pop;
    if (pop === 0) {
      this.leafFreeList.push(ptr);
      this.clearChild(1, d);
    }
    return true;
  }

  /**
   * Lowest present-or-absent search: writes into `out` the lowest absent offset ≥ `from` (as digits) and
   * returns true, or returns false when every offset ≥ from is present. Offsets beyond a range that is not a
   * whole tree (e.g. bits = 12) can be returned; callers bound the result.
   */
  nextAbsent(from: Int32Array, out: Int32Array): boolean {
    return this.search(this.root, this.levels, true, from, out);
  }

  private search(ptr: number, lvl: number, tight: boolean, from: Int32Array, out: Int32Array): boolean {
    if (ptr === EMPTY) {
      for (let i = lvl; i >= 0; i--) out[i] = tight ? (from[i] as number) : 0;
      return true;
    }
    if (ptr === FULL) return false;
    if (ptr <= -2) return this.searchSingle(ptr, lvl, tight, from, out);
    if (lvl === 0) {
      const start = tight ? (from[0] as number) : 0;
      const w = start >>> 5;
      const base = ptr * 32;
      const free = ~(this.leafWords[base + w] as number) & fromBit(start & 31);
      if (free !== 0) {
        out[0] = (w << 5) | ctz(free);
        return true;
      }
      const words = ~(this.leafSummary[ptr] as number) & fromBit(w + 1);
      if (words === 0) return false;
      const w2 = ctz(words);
      out[0] = (w2 << 5) | ctz(~(this.leafWords[base + w2] as number));
      return true;
    }
    let c = 0;
    if (tight) {
      c = from[lvl] as number;
      if (this.search(this.nodeChildren[ptr * 32 + c] as number, lvl - 1, true, from, out)) {
        out[lvl] = c;
        return true;
      }
      c++;
    }
    const candidates = ~(this.nodeFull[ptr] as number) & fromBit(c);
    if (candidates === 0) return false;
    const c2 = ctz(candidates);
    out[lvl] = c2;
    // A stored node is never all-full, so an untight search below a non-full child always succeeds.
    return this.search(this.nodeChildren[ptr * 32 + c2] as number, lvl - 1, false, from, out);
  }

  /**
   * Visit maximal-per-leaf runs of present offsets in ascending order. Each call reports the start digits
   * and either a run inside a leaf (`fullLevel` = -1, count ≤ 1024) or a whole FULL subtree rooted at
   * `fullLevel` (count = 0: the caller knows the subtree size 2^(10 + 5·(fullLevel-1)), or the root).
   */
  forEachRun(visit: RunVisitor): void {
    const digits = new Int32Array(this.levels + 1);
    this.walk(this.root, this.levels, digits, visit);
  }

  private walk(ptr: number, lvl: number, digits: Int32Array, visit: RunVisitor): void {
    if (ptr === EMPTY) return;
    if (ptr === FULL) {
      for (let i = lvl; i >= 0; i--) digits[i] = 0;
      visit(digits, 0, lvl);
      return;
    }
    if (ptr <= -2) {
      const base = (-2 - ptr) * this.stride;
      for (let i = lvl; i >= 0; i--) digits[i] = this.singleDigits[base + i] as number;
      visit(digits, 1, -1);
      return;
    }
    if (lvl === 0) {
      const base = ptr * 32;
      let runStart = -1;
      for (let i = 0; i <= LEAF_SIZE; i++) {
        const set = i < LEAF_SIZE && ((this.leafWords[base + (i >>> 5)] as number) & (1 << (i & 31))) !== 0;
        if (set && runStart < 0) runStart = i;
        else if (!set && runStart >= 0) {
          digits[0] = runStart;
          visit(digits, i - runStart, -1);
          runStart = -1;
        }
        // Skip empty words quickly.
        if (runStart < 0 && (i & 31) === 0 && i < LEAF_SIZE && this.leafWords[base + (i >>> 5)] === 0) i += 31;
      }
      return;
    }
    let mask = this.nodeNonEmpty[ptr] as number;
    while (mask !== 0) {
      const c = ctz(mask);
      mask &= mask - 1;
      digits[lvl] = c;
      this.walk(this.nodeChildren[ptr * 32 + c] as number, lvl - 1, digits, visit);
    }
  }

  // --- storage management -------------------------------------------------------------------------

  private newLeaf(full: boolean): number {
    const id = this.leafFreeList.pop() ?? this.leafNext++;
    if (id * 32 + 32 > this.leafWords.length) {
      this.leafWords = doubled(this.leafWords);
      this.leafSummary = doubled(this.leafSummary);
      this.leafPop = doubled(this.leafPop);
    }
    this.leafWords.fill(full ? -1 : 0, id * 32, id * 32 + 32);
    this.leafSummary[id] = full ? -1 : 0;
    this.leafPop[id] = full ? LEAF_SIZE : 0;
    return id;
  }

  private newNode(full: boolean): number {
    const id = this.nodeFreeList.pop() ?? this.nodeNext++;
    if (id * 32 + 32 > this.nodeChildren.length) {
      this.nodeChildren = doubled(this.nodeChildren);
      this.nodeFull = doubled(this.nodeFull);
      this.nodeNonEmpty = doubled(this.nodeNonEmpty);
    }
    this.nodeChildren.fill(full ? FULL : EMPTY, id * 32, id * 32 + 32);
    this.nodeFull[id] = full ? -1 : 0;
    this.nodeNonEmpty[id] = full ? -1 : 0;
    return id;
  }

  /** The leaf on the current path just became full: replace it (and any ancestor that fills) by FULL. */
  private collapseFull(leaf: number, d: Int32Array): void {
    this.leafFreeList.push(leaf);
    for (let lvl = 1; lvl <= this.levels; lvl++) {
      const parent = this.path[lvl] as number;
      const c = d[lvl] as number;
      this.nodeChildren[parent * 32 + c] = FULL;
      const full = (this.nodeFull[parent] as number) | (1 << c);
      this.nodeFull[parent] = full;
      if (full !== -1) return;
      this.nodeFreeList.push(parent);
    }
    this.root = FULL;
  }

  /**
   * The child at slot d[lvl] of the node path[lvl] has become empty: clear the slot, and free every
   * ancestor that is left with no children.
   */
  private clearChild(lvl: number, d: Int32Array): void {
    for (let l = lvl; l <= this.levels; l++) {
      const parent = this.path[l] as number;
      const c = d[l] as number;
      this.nodeChildren[parent * 32 + c] = EMPTY;
      const nonEmpty = (this.nodeNonEmpty[parent] as number) & ~(1 << c);
      this.nodeNonEmpty[parent] = nonEmpty;
      if (nonEmpty !== 0) return;
      this.nodeFreeList.push(parent);
    }
    this.root = EMPTY;
  }

  // --- SINGLE pointers ------------------------------------------------------------------------------

  private newSingle(d: Int32Array, lvl: number): number {
    const id = this.singleFreeList.pop() ?? this.singleNext++;
    if ((id + 1) * this.stride > this.singleDigits.length) this.singleDigits = doubled(this.singleDigits);
    const base = id * this.stride;
    for (let i = 0; i <= lvl; i++) this.singleDigits[base + i] = d[i] as number;
    return -2 - id;
  }

  private freeSingle(ptr: number): void {
    this.singleFreeList.push(-2 - ptr);
  }

  private singleEquals(ptr: number, d: Int32Array, lvl: number): boolean {
    const base = (-2 - ptr) * this.stride;
    for (let i = 0; i <= lvl; i++) if (this.singleDigits[base + i] !== d[i]) return false;
    return true;
  }

  /** Replace a SINGLE at level lvl by a real leaf/node holding the same one offset. */
  private expand(ptr: number, lvl: number): number {
    const base = (-2 - ptr) * this.stride;
    if (lvl === 0) {
      const d0 = this.singleDigits[base] as number;
      const leaf = this.newLeaf(false);
      this.leafWords[leaf * 32 + (d0 >>> 5)] = 1 << (d0 & 31);
      this.leafPop[leaf] = 1;
      this.freeSingle(ptr);
      return leaf;
    }
    // The same SINGLE entry moves one level down: its digits 0…lvl−1 are already stored.
    const node = this.newNode(false);
    const c = this.singleDigits[base + lvl] as number;
    this.nodeChildren[node * 32 + c] = ptr;
    this.nodeNonEmpty[node] = 1 << c;
    return node;
  }

  /**
   * Lowest absent offset ≥ from (or ≥ 0) in a subtree holding exactly one offset s: the start itself
   * unless it is s, else the next offset after s (false if s is the subtree's last offset).
   */
  private searchSingle(ptr: number, lvl: number, tight: boolean, from: Int32Array, out: Int32Array): boolean {
    const base = (-2 - ptr) * this.stride;
    let equal = true;
    for (let i = lvl; i >= 0; i--) {
      const start = tight ? (from[i] as number) : 0;
      out[i] = start;
      if (start !== this.singleDigits[base + i]) equal = false;
    }
    if (!equal) return true;
    for (let i = 0; i <= lvl; i++) {
      const next = (out[i] as number) + 1;
      if (next < (i === 0 ? LEAF_SIZE : 32)) {
        out[i] = next;
        return true;
      }
      out[i] = 0; // carry
    }
    return false;
  }
}

/** A slab twice the size with the same contents (amortised O(1) growth). */
function doubled<T extends Int32Array | Uint16Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}
