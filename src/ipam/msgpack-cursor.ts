/**
 * A reader of msgpack that accepts only the exact bytes msgpackr (new Packr({ useRecords: false }))
 * writes: the shortest header of every array, string and integer (pack.js: uint as fixint/0xcc/0xcd/0xce,
 * negative as fixint/0xd0/0xd1/0xd2, any other number as float64 0xcb; a string's header by its UTF-8
 * length; a plain object always as map16 0xde), strings in valid UTF-8. Whatever it reads is therefore the
 * canonical encoding of what it returns, with no re-encoding to prove it. Anything else throws OFF_PATH:
 * the fast readers built on it (snapshot-block-reader.ts, log-entry-reader.ts) then step aside and let
 * the general path (msgpackr plus a re-encode) read the bytes and, where they are refused, name why.
 */

/** Thrown by the cursor to step aside; a fast reader catches it and returns undefined. */
export const OFF_PATH = Symbol('off the fast path');

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Where a float64 is reassembled: a cursor per log entry, so no DataView per cursor. */
const scratch = new DataView(new ArrayBuffer(8));

export class Cursor {
  constructor(
    readonly buf: Buffer,
    public at: number,
  ) {}

  /** The big-endian unsigned integer of `n` (≤ 4) bytes at the cursor, which moves past them. */
  private uint(n: number): number {
    this.need(n);
    const b = this.buf;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + (b[this.at + i] as number);
    this.at += n;
    return v;
  }

  private byte(): number {
    const b = this.buf[this.at++];
    if (b === undefined) throw OFF_PATH;
    return b;
  }

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw OFF_PATH;
  }

  /**
   * An array header in its shortest form. The count is bounded by the bytes left (every element takes at
   * least one), so a forged count cannot make the caller allocate beyond the input.
   */
  array(): number {
    const n = this.arrayHeader();
    if (n > this.buf.length - this.at) throw OFF_PATH;
    return n;
  }

  /**
   * A map header as msgpackr writes every plain object without `variableMapSize`: map16 (0xde) whatever
   * the count. Bounded by the bytes left like array() (every key and value takes at least one each).
   */
  map16(): number {
    const b = this.byte();
    if (b !== 0xde) throw OFF_PATH;
    const n = this.uint(2);
    if (2 * n > this.buf.length - this.at) throw OFF_PATH;
    return n;
  }

  /** True, and past them, when the next bytes are exactly `bytes` (a key's whole encoding); else unmoved. */
  literal(bytes: Uint8Array): boolean {
    const n = bytes.length;
    const at = this.at;
    const buf = this.buf;
    if (at + n > buf.length) return false;
    for (let i = 0; i < n; i++) if (buf[at + i] !== bytes[i]) return false;
    this.at = at + n;
    return true;
  }

  /** True when every byte has been read. */
  get done(): boolean {
    return this.at === this.buf.length;
  }

  private arrayHeader(): number {
    const b = this.byte();
    if (b >= 0x90 && b <= 0x9f) return b & 0x0f;
    if (b === 0xdc) {
      const n = this.uint(2);
      if (n < 16) throw OFF_PATH;
      return n;
    }
    if (b === 0xdd) {
      const n = this.uint(4);
      if (n < 0x10000) throw OFF_PATH;
      return n;
    }
    throw OFF_PATH;
  }

  /** Peek: the next element is a string. */
  atString(): boolean {
    const b = this.buf[this.at];
    return b !== undefined && ((b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb);
  }

  /** An integer in msgpackr's spelling of it (float64 only for integers outside the 32-bit ranges). */
  integer(): number {
    const b = this.byte();
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    let n: number;
    switch (b) {
      case 0xcc:
        n = this.uint(1);
        if (n < 0x80) throw OFF_PATH;
        return n;
      case 0xcd:
        n = this.uint(2);
        if (n < 0x100) throw OFF_PATH;
        return n;
      case 0xce:
        n = this.uint(4);
        if (n < 0x10000) throw OFF_PATH;
        return n;
      case 0xd0:
        n = (this.uint(1) << 24) >> 24;
        if (n >= -0x20) throw OFF_PATH;
        return n;
      case 0xd1:
        n = (this.uint(2) << 16) >> 16;
        if (n >= -0x80) throw OFF_PATH;
        return n;
      case 0xd2:
        n = this.uint(4) | 0;
        if (n >= -0x8000) throw OFF_PATH;
        return n;
      case 0xcb:
        this.need(8);
        for (let i = 0; i < 8; i++) scratch.setUint8(i, this.buf[this.at + i] as number);
        n = scratch.getFloat64(0);
        this.at += 8;
        // msgpackr writes a double only for a number that is no uint32 and no int32 (so never for -0).
        if (!Number.isInteger(n) || (n >= -0x80000000 && n <= 0xffffffff)) throw OFF_PATH;
        return n;
      default:
        throw OFF_PATH;
    }
  }

  /** A string with the shortest header for its UTF-8 length, in valid UTF-8. */
  string(): string {
    const start = this.stringBytes();
    // Node's UTF-8 decoder replaces a malformed sequence with U+FFFD; only then is the strict decoder
    // asked (the bytes may also spell U+FFFD itself, which is valid).
    const s = this.buf.toString('utf8', start, this.at);
    if (s.includes('\uFFFD')) {
      try {
        fatalUtf8.decode(this.buf.subarray(start, this.at));
      } catch {
        throw OFF_PATH;
      }
    }
    return s;
  }

  /** Skip a string header in its shortest form and the bytes it announces; returns where they start. */
  stringBytes(): number {
    const b = this.byte();
    let length: number;
    if (b >= 0xa0 && b <= 0xbf) length = b & 0x1f;
    else if (b === 0xd9) {
      length = this.byte();
      if (length < 0x20) throw OFF_PATH;
    } else if (b === 0xda) {
      length = this.uint(2);
      if (length < 0x100) throw OFF_PATH;
    } else if (b === 0xdb) {
      length = this.uint(4);
      if (length < 0x10000) throw OFF_PATH;
    } else throw OFF_PATH;
    this.need(length);
    const start = this.at;
    this.at += length;
    return start;
  }
}
