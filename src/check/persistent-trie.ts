/**
 * A persistent map from integer keys to values: a 32-way radix trie with path copying. The search keeps
 * the model state of every step it takes (to backtrack) and of every state it has explored (its cache),
 * so a step must not copy a block's whole allocation table: here an update copies one node per level
 * (≤ 2 for an IPv4 /24 slice, 13 for an IPv6 /64) and shares the rest.
 *
 * The shape depends only on the set of keys, not on the order they were inserted in, so two equal maps
 * built along different search paths compare node by node and stop at shared subtrees. Each node keeps
 * its entry count and the XOR of its entries' hashes (the state hash is maintained, not recomputed).
 * Keys are numbers below 2^48 or bigints (IPv6 offsets beyond that), as HostRange's offsets are, and
 * below 32^levels (emptyTrie(keyBits) sizes the trie for keys of that many bits; a wider key would alias).
 */

export type TrieKey = number | bigint;

interface Entry<V> {
  readonly key: TrieKey;
  readonly value: V;
  readonly hash: number;
}

interface Branch<V> {
  /** Bit c set: slot for chunk c is present in `slots` (at the rank of c among the set bits). */
  readonly bitmap: number;
  readonly slots: ReadonlyArray<Branch<V> | Entry<V>>;
  readonly count: number;
  readonly hash: number;
}

export interface Trie<V> {
  /** Levels of 5 bits: keys are below 32^levels. */
  readonly levels: number;
  readonly root: Branch<V> | undefined;
}

export function emptyTrie<V>(keyBits: number): Trie<V> {
  return { levels: Math.max(1, Math.ceil(keyBits / 5)), root: undefined };
}

export const trieSize = (t: Trie<unknown>): number => t.root?.count ?? 0;
export const trieHash = (t: Trie<unknown>): number => t.root?.hash ?? 0;

function chunk(key: TrieKey, level: number): number {
  if (typeof key === 'bigint') return Number((key >> BigInt(5 * level)) & 31n);
  return Math.floor(key / 32 ** level) % 32;
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

const rank = (bitmap: number, c: number): number => popcount(bitmap & ((1 << c) - 1));

export function trieGet<V>(t: Trie<V>, key: TrieKey): V | undefined {
  let node: Branch<V> | Entry<V> | undefined = t.root;
  for (let level = t.levels - 1; level >= 0 && node !== undefined; level--) {
    const b = node as Branch<V>;
    const c = chunk(key, level);
    node = (b.bitmap >>> c) & 1 ? b.slots[rank(b.bitmap, c)] : undefined;
  }
  return node === undefined ? undefined : (node as Entry<V>).value;
}

/** The map with `key` → `value` (`hash`: this entry's part of the map's hash), or without `key` when value is undefined. */
export function trieSet<V>(t: Trie<V>, key: TrieKey, value: V | undefined, hash = 0): Trie<V> {
  const root = update(t.root, t.levels - 1, key, value === undefined ? undefined : { key, value, hash });
  return root === t.root ? t : { levels: t.levels, root };
}

function update<V>(node: Branch<V> | undefined, level: number, key: TrieKey, entry: Entry<V> | undefined): Branch<V> | undefined {
  const c = chunk(key, level);
  const bitmap = node?.bitmap ?? 0;
  const present = ((bitmap >>> c) & 1) === 1;
  const at = rank(bitmap, c);
  const old = present ? (node as Branch<V>).slots[at] : undefined;
  let next: Branch<V> | Entry<V> | undefined;
  if (level === 0) next = entry;
  else next = update(old as Branch<V> | undefined, level - 1, key, entry);
  if (next === old) return node;
  const slots = node ? [...node.slots] : [];
  let nextBitmap = bitmap;
  if (next === undefined) {
    slots.splice(at, 1);
    nextBitmap &= ~(1 << c);
  } else if (present) {
    slots[at] = next;
  } else {
    slots.splice(at, 0, next);
    nextBitmap |= 1 << c;
  }
  if (slots.length === 0) return undefined;
  const count = (node?.count ?? 0) - countOf(old) + countOf(next);
  const hash = ((node?.hash ?? 0) ^ hashOf(old) ^ hashOf(next)) >>> 0;
  return { bitmap: nextBitmap >>> 0, slots, count, hash };
}

function countOf<V>(x: Branch<V> | Entry<V> | undefined): number {
  return x === undefined ? 0 : 'count' in x ? x.count : 1;
}
function hashOf<V>(x: Branch<V> | Entry<V> | undefined): number {
  return x === undefined ? 0 : x.hash;
}

/** Entries in ascending key order. */
export function* trieEntries<V>(t: Trie<V>): IterableIterator<[TrieKey, V]> {
  if (t.root !== undefined) yield* walk(t.root, t.levels - 1);
}

function* walk<V>(node: Branch<V>, level: number): IterableIterator<[TrieKey, V]> {
  for (const slot of node.slots) {
    if (level === 0) {
      const e = slot as Entry<V>;
      yield [e.key, e.value];
    } else {
      yield* walk(slot as Branch<V>, level - 1);
    }
  }
}

/** The smallest key in [from, to] that is absent, or undefined when every key there is present. */
export function trieFirstAbsent(t: Trie<unknown>, from: TrieKey, to: TrieKey): TrieKey | undefined {
  if (from > to) return undefined;
  const big = typeof from === 'bigint';
  const found = absent(t.root, t.levels - 1, big ? 0n : 0, from);
  return found !== undefined && found <= to ? found : undefined;
}

function absent(node: Branch<unknown> | undefined, level: number, base: TrieKey, from: TrieKey): TrieKey | undefined {
  if (node === undefined) return from;
  // A node at `level` spans 32^(level+1) keys; a full one has none absent (beyond 2^53 keys no node is full).
  if (node.count === 32 ** (level + 1)) return undefined;
  const span = typeof base === 'bigint' ? 32n ** BigInt(level) : 32 ** level;
  for (let c = chunk(from, level); c < 32; c++) {
    const childBase = typeof base === 'bigint' ? base + BigInt(c) * (span as bigint) : base + c * (span as number);
    const lower = from > childBase ? from : childBase;
    if (((node.bitmap >>> c) & 1) === 0) return lower;
    if (level === 0) continue;
    const found = absent(node.slots[rank(node.bitmap, c)] as Branch<unknown>, level - 1, childBase, lower);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Equal key sets with equal values (by `same`); shared subtrees are equal without a look. */
export function trieEqual<V>(a: Trie<V>, b: Trie<V>, same: (x: V, y: V) => boolean): boolean {
  return a.levels === b.levels && nodesEqual(a.root, b.root, a.levels - 1, same);
}

function nodesEqual<V>(a: Branch<V> | undefined, b: Branch<V> | undefined, level: number, same: (x: V, y: V) => boolean): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.bitmap !== b.bitmap || a.count !== b.count || a.hash !== b.hash) return false;
  for (let i = 0; i < a.slots.length; i++) {
    const x = a.slots[i];
    const y = b.slots[i];
    if (x === y) continue;
    if (level === 0) {
      if (!same((x as Entry<V>).value, (y as Entry<V>).value)) return false;
    } else if (!nodesEqual(x as Branch<V>, y as Branch<V>, level - 1, same)) {
      return false;
    }
  }
  return true;
}
