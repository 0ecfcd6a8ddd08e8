/**
 * Fast path for the bulk of a snapshot: one node element, [nodeId, sliceIndex, runs, generationDeltas,
 * owners], read straight from the payload bytes.
 *
 * The general path (snapshot-codec.ts PayloadReader) decodes an element with msgpackr and then re-encodes
 * what it built to prove the bytes were canonical. At 1,000,000 owned addresses that cost ≈ 1 s in
 * msgpackr's string reading alone (its native string extractor scans ahead to the end of the buffer it is
 * given, and each element is given the rest of the payload) plus the re-encoding. This reader accepts only
 * the exact bytes msgpackr writes for such an element — the shortest header of every array, string and
 * integer (pack.js: uint as fixint/0xcc/0xcd/0xce, negative as fixint/0xd0/0xd1/0xd2, any other number
 * as float64 0xcb; a string's header by its UTF-8 length), strings in valid UTF-8 — so the element is
 * canonical by construction and needs no re-encoding. Owners come back as byte ranges of the payload
 * (WireOwnerBytes), checked to be owners the decoder accepts, and are copied into the block's owner arena
 * without a string ever being made for them. The values it returns go through the same
 * validation (AllocationBlock.decode, validateNodeId, decodeOffset) as the general path's.
 *
 * Anything else — another type, a longer encoding, a float that is not an integer, invalid UTF-8, an
 * owner the decoder refuses (empty, more than MAX_FIELD_LENGTH units), an odd owner list, a truncated
 * element — returns undefined and the caller reads the element the general way, which refuses
 * it with the same message as before. So this path never decides a refusal: it either reads exactly what
 * the general path would accept as canonical, or steps aside.
 */
import { WireOwnerBytes } from './allocation-block.js';
import { validOwnerBytes } from './owner-bytes.js';
import type { WireOffset } from './snapshot-wire.js';

export interface WireNode {
  nodeId: string;
  index: WireOffset;
  runs: WireOffset[];
  gens: number[];
  /** Owners as byte ranges of the payload, already known to be valid owners (no strings made). */
  owners: WireOwnerBytes;
}

/** Thrown inside the reader to step aside; never escapes readWireNode. */
const OFF_PATH = Symbol('off the fast path');

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Cursor {
  private readonly view: DataView;
  constructor(
    private readonly buf: Buffer,
    public at: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
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

  private arrayHeader(): number {
    const b = this.byte();
    if (b >= 0x90 && b <= 0x9f) return b & 0x0f;
    if (b === 0xdc) {
      this.need(2);
      const n = this.view.getUint16(this.at);
      this.at += 2;
      if (n < 16) throw OFF_PATH;
      return n;
    }
    if (b === 0xdd) {
      this.need(4);
      const n = this.view.getUint32(this.at);
      this.at += 4;
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
    const v = this.view;
    let n: number;
    switch (b) {
      case 0xcc:
        n = this.byte();
        if (n < 0x80) throw OFF_PATH;
        return n;
      case 0xcd:
        this.need(2);
        n = v.getUint16(this.at);
        this.at += 2;
        if (n < 0x100) throw OFF_PATH;
        return n;
      case 0xce:
        this.need(4);
        n = v.getUint32(this.at);
        this.at += 4;
        if (n < 0x10000) throw OFF_PATH;
        return n;
      case 0xd0:
        this.need(1);
        n = v.getInt8(this.at);
        this.at += 1;
        if (n >= -0x20) throw OFF_PATH;
        return n;
      case 0xd1:
        this.need(2);
        n = v.getInt16(this.at);
        this.at += 2;
        if (n >= -0x80) throw OFF_PATH;
        return n;
      case 0xd2:
        this.need(4);
        n = v.getInt32(this.at);
        this.at += 4;
        if (n >= -0x8000) throw OFF_PATH;
        return n;
      case 0xcb:
        this.need(8);
        n = v.getFloat64(this.at);
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

  /**
   * An owner string's bytes, added to `out` without making the string. An owner the decoder would refuse
   * (empty, invalid UTF-8, more than MAX_FIELD_LENGTH units) steps aside, so the general path refuses it
   * with its own message.
   */
  owner(out: WireOwnerBytes): void {
    const start = this.stringBytes();
    if (!validOwnerBytes(this.buf, start, this.at - start)) throw OFF_PATH;
    out.starts.push(start);
    out.lengths.push(this.at - start);
  }

  /** Skip a string header in its shortest form and the bytes it announces; returns where they start. */
  private stringBytes(): number {
    const b = this.byte();
    let length: number;
    if (b >= 0xa0 && b <= 0xbf) length = b & 0x1f;
    else if (b === 0xd9) {
      length = this.byte();
      if (length < 0x20) throw OFF_PATH;
    } else if (b === 0xda) {
      this.need(2);
      length = this.view.getUint16(this.at);
      this.at += 2;
      if (length < 0x100) throw OFF_PATH;
    } else if (b === 0xdb) {
      this.need(4);
      length = this.view.getUint32(this.at);
      this.at += 4;
      if (length < 0x10000) throw OFF_PATH;
    } else throw OFF_PATH;
    this.need(length);
    const start = this.at;
    this.at += length;
    return start;
  }

  /** An offset as snapshot-wire.ts spells it: an integer, or a decimal string above 2^53 − 1. */
  offset(): WireOffset {
    return this.atString() ? this.string() : this.integer();
  }
}

/** The node element at `at` of `body`, and where it ends; undefined to read it the general way. */
export function readWireNode(body: Uint8Array, at: number): { node: WireNode; end: number } | undefined {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const c = new Cursor(buf, at);
  try {
    if (c.array() !== 5) return undefined;
    const nodeId = c.string();
    const index = c.offset();
    const runs: WireOffset[] = [];
    for (let i = c.array(); i > 0; i--) runs.push(c.offset());
    const gens: number[] = [];
    for (let i = c.array(); i > 0; i--) gens.push(c.integer());
    const owners = new WireOwnerBytes(buf);
    // Positions and owners alternate; a wrong type or an odd count is for the general path to name.
    const n = c.array();
    if (n % 2 !== 0) return undefined;
    for (let i = 0; i < n; i += 2) {
      owners.positions.push(c.integer());
      c.owner(owners);
    }
    return { node: { nodeId, index, runs, gens, owners }, end: c.at };
  } catch (e) {
    if (e === OFF_PATH) return undefined;
    throw e;
  }
}
