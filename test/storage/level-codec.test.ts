/**
 * decodeEntry reads a normal entry's common bytes without msgpackr (the boot floor): it must return
 * exactly what the general msgpack path returns for every record encodeEntry writes, and leave every
 * other record to that path.
 */
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/raft/types.js';
import { decodeEntry, encodeEntry, entryKey } from '../../src/storage/level-codec.js';
import { StorageError } from '../../src/storage/types.js';

const packr = new Packr({ useRecords: false });

/** What the general path reads: the payload unpacked by msgpackr, the data as a plain Uint8Array. */
function reference(index: number, value: Uint8Array): Entry {
  const [term, type, a, b] = packr.unpack(value.subarray(4)) as [number, number, unknown, unknown];
  if (type === 1) return { term, index, type: 'conf', change: { op: a, node: b } } as Entry;
  return { term, index, type: 'normal', data: Uint8Array.from(a as Uint8Array) };
}

function plain(e: Entry): unknown {
  return e.type === 'normal' ? { ...e, data: [...e.data], proto: Object.getPrototypeOf(e.data) === Uint8Array.prototype } : e;
}

// Terms and lengths at every msgpack width boundary (fixint/uint8/uint16/uint32/float64; bin8/16/32).
const terms = fc.oneof(fc.constantFrom(1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40), fc.integer({ min: 1, max: 2 ** 33 }));
const lengths = fc.constantFrom(0, 1, 255, 256, 65535, 65536);

describe('level-codec encodeEntry', () => {
  it('writes a normal entry as the CRC then exactly the bytes msgpackr packs for [term, 0, data], at every width', () => {
    fc.assert(
      fc.property(fc.oneof(terms, fc.constantFrom(0, 2 ** 53 - 1)), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.oneof(lengths, fc.constantFrom(254, 65534, 65537), fc.integer({ min: 0, max: 300 })), (term, index, length) => {
        const data = Uint8Array.from({ length }, (_, i) => (i * 7) & 0xff);
        const key = entryKey(index);
        const body = packr.pack([term, 0, data]);
        const expected = Buffer.alloc(4 + body.length);
        expected.writeUInt32BE(crc32(body, crc32(key)), 0);
        body.copy(expected, 4);
        expect(Buffer.from(encodeEntry({ term, index, type: 'normal', data })).equals(expected)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

describe('level-codec decodeEntry', () => {
  it('returns what the general msgpack path returns, for normal and conf entries of every width', () => {
    fc.assert(
      fc.property(terms, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.oneof(lengths, fc.integer({ min: 0, max: 300 })), fc.boolean(), (term, index, length, conf) => {
        const e: Entry = conf ? { term, index, type: 'conf', change: { op: 'addVoter', node: 'n4' } } : { term, index, type: 'normal', data: Uint8Array.from({ length }, (_, i) => i & 0xff) };
        const value = encodeEntry(e);
        const got = decodeEntry(entryKey(index), value);
        expect(plain(got)).toEqual(plain(reference(index, value)));
        expect(plain(got)).toEqual(plain(e));
      }),
      { numRuns: 300 },
    );
  });

  it('a normal entry whose term is 0 is still refused by the shape check, naming the key', () => {
    // Written by hand: encodeEntry's callers never hold term 0, but a disk can.
    const value = encodeEntry({ term: 1, index: 7, type: 'normal', data: Uint8Array.of(1) });
    const body = Uint8Array.from(value.subarray(4));
    body[1] = 0; // positive fixint 1 → 0
    const resealed = new Uint8Array(value.length);
    new DataView(resealed.buffer).setUint32(0, crc32(body, crc32(entryKey(7))));
    resealed.set(body, 4);
    expect(() => decodeEntry(entryKey(7), resealed)).toThrow(StorageError);
    expect(() => decodeEntry(entryKey(7), resealed)).toThrow(/entry\/7\.term: must be an integer ≥ 1, got 0/);
  });

  it('an entry key of index 0 is refused by the shape check', () => {
    const value = encodeEntry({ term: 1, index: 0, type: 'normal', data: Uint8Array.of(1) });
    expect(() => decodeEntry(entryKey(0), value)).toThrow(/entry\/0\.index: must be an integer ≥ 1, got 0/);
  });
});

describe('entryKey', () => {
  it('is the tag byte then the index as a big-endian u64, so LevelDB orders entries by index', () => {
    const bigEndian = (index: number): Uint8Array => {
      const k = new Uint8Array(9);
      k[0] = entryKey(1)[0] as number;
      new DataView(k.buffer).setBigUint64(1, BigInt(index));
      return k;
    };
    const indexes = fc.oneof(fc.constantFrom(0, 1, 255, 256, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 48, Number.MAX_SAFE_INTEGER), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
    fc.assert(
      fc.property(indexes, indexes, (a, b) => {
        expect([...entryKey(a)]).toEqual([...bigEndian(a)]);
        expect(Math.sign(Buffer.compare(entryKey(a), entryKey(b)))).toBe(Math.sign(a - b));
      }),
    );
  });
});
