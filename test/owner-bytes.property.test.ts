/**
 * Owners kept as bytes: OwnerArena (a block's owners) and OwnerIndex (a network's owner → entry table)
 * against naive Map models on random streams of sets, deletes and re-adds — with the arena's compaction
 * forced by churn, and the index run with a hash that collides on purpose (constant, or 2 bits) so
 * probe chains, backward-shift deletion, growth and shrinking all see crowded tables. Plus the exact
 * UTF-8 round trip and the validity check the snapshot reader relies on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FIELD_LENGTH } from '../src/ipam/commands.js';
import { OwnerArena } from '../src/ipam/owner-arena.js';
import { decodeOwner, hashOwnerKey, KeyView, ownerKey, validOwnerBytes, type KeyHash } from '../src/ipam/owner-bytes.js';
import { OwnerIndex } from '../src/ipam/owner-index.js';
import { DENSE_SLOTS_MAX } from '../src/ipam/offset-slots.js';

/** Owners as the state accepts them: well-formed, 1..MAX_FIELD_LENGTH units, any planes. */
const anyOwner = fc
  .string({ unit: fc.oneof(fc.constantFrom('a', 'b', 'é', '\u{1F600}', '\uFFFD', '中'), fc.constantFrom('x', 'y')), minLength: 1, maxLength: 6 })
  .filter((s) => s.length <= MAX_FIELD_LENGTH);
const wideOwner = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => s.length <= MAX_FIELD_LENGTH && s.isWellFormed());

describe('owner bytes', () => {
  it('round-trips every owner the state accepts exactly, and validOwnerBytes agrees with the string rules', () => {
    fc.assert(
      fc.property(fc.oneof(wideOwner, fc.string({ unit: 'binary', minLength: 0, maxLength: 300 })), (s) => {
        const k = new KeyView();
        const accepted = s.length >= 1 && s.length <= MAX_FIELD_LENGTH && s.isWellFormed();
        expect(ownerKey(s, k)).toBe(accepted);
        const bytes = Buffer.from(s, 'utf8'); // (ill-formed strings: U+FFFD for the lone surrogates)
        if (accepted) {
          expect(decodeOwner(k.bytes, k.start, k.length)).toBe(s);
          expect(Buffer.from(k.bytes.subarray(k.start, k.start + k.length)).equals(bytes)).toBe(true);
        }
        const decoded = bytes.toString('utf8');
        expect(validOwnerBytes(bytes, 0, bytes.length)).toBe(decoded.length >= 1 && decoded.length <= MAX_FIELD_LENGTH);
      }),
    );
  });

  it('validOwnerBytes refuses invalid UTF-8 (lone surrogate spelled out, overlong, truncated) and counts units past 256 bytes', () => {
    for (const bad of [[0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe4, 0xb8], [0x80], [0xff]]) expect(validOwnerBytes(Uint8Array.from(bad), 0, bad.length)).toBe(false);
    expect(validOwnerBytes(new Uint8Array(0), 0, 0)).toBe(false);
    const cjk = Buffer.from('中'.repeat(MAX_FIELD_LENGTH)); // 768 bytes, 256 units: accepted
    expect(validOwnerBytes(cjk, 0, cjk.length)).toBe(true);
    const over = Buffer.from('中'.repeat(MAX_FIELD_LENGTH) + 'a');
    expect(validOwnerBytes(over, 0, over.length)).toBe(false);
    const pairs = Buffer.from('\u{1F600}'.repeat(MAX_FIELD_LENGTH / 2 + 1)); // 2 units each: 258
    expect(validOwnerBytes(pairs, 0, pairs.length)).toBe(false);
    // A range inside a larger buffer reads only its bytes.
    const inner = Buffer.from('\xffabc\xff', 'latin1');
    expect(validOwnerBytes(inner, 1, 3)).toBe(true);
  });

  it('ownerKey refuses what no stored owner can equal: ill-formed, empty, too long', () => {
    const k = new KeyView();
    expect(ownerKey('\uD800', k)).toBe(false);
    expect(ownerKey('', k)).toBe(false);
    expect(ownerKey('a'.repeat(MAX_FIELD_LENGTH + 1), k)).toBe(false);
    expect(ownerKey('a'.repeat(MAX_FIELD_LENGTH), k)).toBe(true);
  });
});

type Op = { kind: 'set'; offset: number; owner: string } | { kind: 'delete'; offset: number };

const opsFor = (maxOffset: number) =>
  fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('set' as const), offset: fc.nat(maxOffset), owner: fc.oneof(anyOwner, wideOwner) }),
      fc.record({ kind: fc.constant('delete' as const), offset: fc.nat(maxOffset) }),
    ),
    { maxLength: 300 },
  );

describe.each([
  ['dense', 1022],
  ['sparse (large slice)', DENSE_SLOTS_MAX],
] as const)('OwnerArena (%s) against a Map', (_kind, last) => {
  it('agrees on get, key, size and iteration through sets, overwrites, deletes and compactions', () => {
    fc.assert(
      fc.property(opsFor(Math.min(last, 200)), (ops) => {
        const arena = new OwnerArena(last, 1);
        const model = new Map<number, string>();
        const k = new KeyView();
        for (const op of ops) {
          if (op.kind === 'set') {
            arena.set(op.offset, op.owner);
            model.set(op.offset, op.owner);
          } else {
            arena.delete(op.offset);
            model.delete(op.offset);
          }
          expect(arena.size).toBe(model.size);
        }
        for (let o = 0; o <= Math.min(last, 200); o++) {
          expect(arena.get(o)).toBe(model.get(o));
          expect(arena.key(o, k)).toBe(model.has(o));
        }
        const seen: number[] = [];
        arena.forEach((o) => {
          seen.push(o as number);
        });
        expect([...seen].sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
        let live = 0;
        for (const owner of model.values()) live += Buffer.byteLength(owner);
        // Sized at its last rewrite to 1.5 × (live then + one owner); garbage since is at most half the live
        // bytes now or the 256-byte floor, so the live bytes then were at most 1.5 × now + 256.
        expect(arena.reservedBytes).toBeLessThanOrEqual(Math.max(64, Math.ceil((1.5 * live + 256 + 768) * 1.5)));
      }),
    );
  });
});

describe('OwnerArena compaction', () => {
  it('a block that churns through many owners keeps its bytes near the live ones', () => {
    const arena = new OwnerArena(1022);
    for (let round = 0; round < 200; round++) {
      for (let o = 1; o <= 10; o++) arena.set(o, `container-${round}-${o}`);
      for (let o = 1; o <= 9; o++) arena.delete(o);
    }
    expect(arena.size).toBe(1);
    expect(arena.get(10)).toBe('container-199-10');
    expect(arena.reservedBytes).toBeLessThan(2048);
  });

  it('dense positions grow to the highest offset used, never past the slice', () => {
    const arena = new OwnerArena(20);
    arena.set(20, 'last');
    arena.set(0, 'first');
    expect([arena.get(0), arena.get(20), arena.get(21)]).toEqual(['first', 'last', undefined]);
  });
});

/** Keys by entry number for the index: the "blocks" of the test. */
class Keys {
  readonly owners = new Map<number, Uint8Array>();
  keyOf(entry: number, out: KeyView): void {
    const bytes = this.owners.get(entry);
    if (bytes === undefined) throw new Error(`no key for ${entry}`);
    out.set(bytes, 0, bytes.length);
  }
}

const hashes: Array<[string, KeyHash]> = [
  ['seeded', hashOwnerKey],
  ['constant (every key collides)', () => 0],
  ['2 bits', (b, s, n) => hashOwnerKey(b, s, n) & 3],
  ['top bits only (tags all differ, homes all equal)', (b, s, n) => hashOwnerKey(b, s, n) & 0xfe000000],
];

describe.each(hashes)('OwnerIndex with hash %s against a Map', (_name, hash) => {
  it('find/add/delete agree with the model through adds, conflicts, deletes, re-adds, growth and shrinking', () => {
    const keyPool = fc.array(fc.oneof(anyOwner, fc.constantFrom('a', 'b', 'c')), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(keyPool, fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 400 }), (pool, steps) => {
        const keys = new Keys();
        const index = new OwnerIndex(keys, hash);
        const model = new Map<string, number>(); // owner → entry
        let next = 0;
        const k = new KeyView();
        for (const [add, pick] of steps) {
          const owner = pool[pick % pool.length] as string;
          const held = model.get(owner);
          if (add) {
            const entry = next++;
            keys.owners.set(entry, Buffer.from(owner));
            const existing = index.add(entry);
            expect(existing).toBe(held ?? -1);
            if (held === undefined) model.set(owner, entry);
            else keys.owners.delete(entry);
          } else if (held !== undefined) {
            index.delete(held);
            keys.owners.delete(held);
            model.delete(owner);
          }
          expect(index.size).toBe(model.size);
        }
        for (const owner of new Set([...pool, 'never-added'])) {
          ownerKey(owner, k);
          expect(index.find(k)).toBe(model.get(owner) ?? -1);
        }
        expect(index.capacity).toBeGreaterThanOrEqual(16);
        expect(index.capacity * 3).toBeGreaterThanOrEqual(index.size * 4);
      }),
      { numRuns: 60 },
    );
  });
});

describe('OwnerIndex size', () => {
  it('grows past 3/4 full and gives memory back below 1/8', () => {
    const keys = new Keys();
    const index = new OwnerIndex(keys);
    for (let e = 0; e < 1000; e++) {
      keys.owners.set(e, Buffer.from(`container-${e}`));
      expect(index.add(e)).toBe(-1);
    }
    expect(index.capacity).toBe(2048);
    for (let e = 0; e < 990; e++) index.delete(e);
    expect(index.capacity).toBeLessThanOrEqual(64);
    const k = new KeyView();
    for (let e = 990; e < 1000; e++) {
      ownerKey(`container-${e}`, k);
      expect(index.find(k)).toBe(e);
    }
    expect(() => index.delete(5)).toThrow('not stored');
  });

  it('reserve(n) gives the capacity that adding n entries one by one reaches, and adding them then never resizes', () => {
    for (const n of [0, 1, 12, 13, 767, 768, 769, 1000, 3000]) {
      const growKeys = new Keys();
      const grown = new OwnerIndex(growKeys);
      const keys = new Keys();
      const reserved = new OwnerIndex(keys);
      reserved.reserve(n);
      const capacity = reserved.capacity;
      for (let e = 0; e < n; e++) {
        keys.owners.set(e, Buffer.from(`container-${e}`));
        expect(reserved.add(e)).toBe(-1);
        expect(reserved.capacity).toBe(capacity);
      }
      for (let e = 0; e < n; e++) {
        growKeys.owners.set(e, Buffer.from(`container-${e}`));
        grown.add(e);
      }
      expect(capacity).toBe(grown.capacity);
      // A reserve on a filled table keeps every entry findable and never shrinks it.
      reserved.reserve(n * 2 + 100);
      expect(reserved.capacity).toBeGreaterThanOrEqual(capacity);
      reserved.reserve(0);
      const k = new KeyView();
      for (let e = 0; e < n; e++) {
        ownerKey(`container-${e}`, k);
        expect(reserved.find(k)).toBe(e);
      }
    }
  });
});
