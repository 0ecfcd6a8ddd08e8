/**
 * smallBytes hands out plain Uint8Arrays that never share a byte: written one after another in any size
 * mix, each still holds what was written to it, across slab boundaries; larger ones get their own buffer.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { SMALL_BYTES_MAX, smallBytes } from '../../src/bytes/small-bytes.js';

it('arrays never overlap, start zero-filled and are plain Uint8Arrays, whatever the sizes (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: SMALL_BYTES_MAX + 100 })), { minLength: 1, maxLength: 200 }), (sizes) => {
      const got = sizes.map((n, i) => {
        const b = smallBytes(n);
        expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype);
        expect(b.length).toBe(n);
        expect(b.every((x) => x === 0)).toBe(true);
        b.fill(i & 0xff);
        return b;
      });
      got.forEach((b, i) => expect(b.every((x) => x === (i & 0xff))).toBe(true));
    }),
    { numRuns: 100 },
  );
});

it('an array above the small limit has a buffer of its own', () => {
  const big = smallBytes(SMALL_BYTES_MAX + 1);
  expect(big.byteOffset).toBe(0);
  expect(big.buffer.byteLength).toBe(SMALL_BYTES_MAX + 1);
});
