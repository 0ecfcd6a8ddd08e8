/**
 * OwnerIndex: a network's owner → allocation index as an open-addressing hash table in typed arrays.
 *
 * The Map<string, number> it replaces cost ≈ 28 B per owner at V8's capacity (up to twice that right after
 * a doubling) on top of the owner strings themselves. Here the table holds only entries — numbers the
 * network chooses (a packed slice index and offset) — in a Float64Array, and one tag byte per slot; the
 * keys stay where they already are, as owner bytes in the blocks (owner-arena.ts), and are read through
 * `IndexKeys.keyOf` when a probe needs them. 9 B per slot at a load of 3/8..3/4: ≈ 12–24 B per owner.
 *
 * Linear probing with backward-shift deletion (no tombstones, so a table that churns never fills up with
 * them). A slot's tag is 1 + the top 7 bits of its key's hash, 0 for empty: most probes that pass a
 * different key are rejected on the tag without reading its bytes.
 */
import { hashOwnerKey, KeyView, sameKey, type KeyHash } from './owner-bytes.js';

export interface IndexKeys {
  /** Point `out` at the key of a stored entry (its owner's bytes). */
  keyOf(entry: number, out: KeyView): void;
}

const MIN_CAPACITY = 16;

export class OwnerIndex {
  private tags: Uint8Array;
  private entries: Float64Array;
  private mask: number;
  size = 0;
  // Two views: one for the key being looked up or added, one for the stored keys it is compared with.
  private readonly key = new KeyView();
  private readonly stored = new KeyView();

  constructor(
    private readonly keys: IndexKeys,
    private readonly hash: KeyHash = hashOwnerKey,
  ) {
    this.tags = new Uint8Array(MIN_CAPACITY);
    this.entries = new Float64Array(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
  }

  /** Slots held (for tests of growth and shrinking). */
  get capacity(): number {
    return this.tags.length;
  }

  /** The entry whose key equals `key`, or −1. */
  find(key: KeyView): number {
    return this.findHashed(key, this.hash(key.bytes, key.start, key.length));
  }

  private findHashed(key: KeyView, h: number): number {
    const tag = tagOf(h);
    const { tags, entries, mask, stored } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const t = tags[i];
      if (t === 0) return -1;
      if (t === tag) {
        const e = entries[i] as number;
        this.keys.keyOf(e, stored);
        if (sameKey(stored, key)) return e;
      }
    }
  }

  /** Add `entry` under its key; when another entry already has that key, add nothing and return it (else −1). */
  add(entry: number): number {
    const key = this.key;
    this.keys.keyOf(entry, key);
    // One hash for the lookup and the placement: a restore adds every owner of the state once.
    const h = this.hash(key.bytes, key.start, key.length);
    const existing = this.findHashed(key, h);
    if (existing !== -1) return existing;
    this.place(entry, h);
    if (++this.size * 4 > this.tags.length * 3) this.resize(this.tags.length * 2);
    return -1;
  }

  /**
   * Make room for `count` entries in all before they are added, so adding them never resizes. A restore
   * that knows how many owners it is about to add grows the table once instead of doubling its way up:
   * each doubling rehashes every entry, reading its key from its block in table order (a cache miss per
   * entry), which was most of the restore of 1,000,000 owners. The capacity is the one the doublings
   * would have reached (the smallest power of two holding `count` at a load of at most 3/4).
   */
  reserve(count: number): void {
    let capacity = this.tags.length;
    while (count * 4 > capacity * 3) capacity *= 2;
    if (capacity !== this.tags.length) this.resize(capacity);
  }

  /** Remove `entry` (which must be stored, with its key still readable). */
  delete(entry: number): void {
    const { tags, entries, mask } = this;
    let hole = this.homeOf(entry);
    while (entries[hole] !== entry || tags[hole] === 0) {
      if (tags[hole] === 0) throw new Error(`owner index: entry ${entry} is not stored`);
      hole = (hole + 1) & mask;
    }
    // Backward shift: pull each later entry of the probe chain into the hole when the hole lies between
    // its home slot and where it sits, so every entry stays reachable from its home without tombstones.
    for (let j = (hole + 1) & mask; tags[j] !== 0; j = (j + 1) & mask) {
      const e = entries[j] as number;
      const home = this.homeOf(e);
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        tags[hole] = tags[j] as number;
        entries[hole] = e;
        hole = j;
      }
    }
    tags[hole] = 0;
    this.size--;
    // Give memory back after a mass release; at 1/8 the halved table is at most 1/4 full, so a few adds
    // and deletes at the boundary cannot make it resize back and forth.
    if (this.tags.length > MIN_CAPACITY && this.size * 8 < this.tags.length) this.resize(this.tags.length / 2);
  }

  private homeOf(entry: number): number {
    const key = this.key;
    this.keys.keyOf(entry, key);
    return this.hash(key.bytes, key.start, key.length) & this.mask;
  }

  private place(entry: number, h: number): void {
    const { tags, entries, mask } = this;
    let i = h & mask;
    while (tags[i] !== 0) i = (i + 1) & mask;
    tags[i] = tagOf(h);
    entries[i] = entry;
  }

  private resize(capacity: number): void {
    const { tags, entries } = this;
    this.tags = new Uint8Array(capacity);
    this.entries = new Float64Array(capacity);
    this.mask = capacity - 1;
    const key = this.key;
    for (let i = 0; i < tags.length; i++) {
      if (tags[i] === 0) continue;
      const e = entries[i] as number;
      this.keys.keyOf(e, key);
      this.place(e, this.hash(key.bytes, key.start, key.length));
    }
  }
}

function tagOf(h: number): number {
  return 1 + (h >>> 25);
}
