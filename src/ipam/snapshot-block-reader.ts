/**
 * Fast path for the bulk of a snapshot: one node element, [nodeId, sliceIndex, runs, generationDeltas,
 * owners], read straight from the payload bytes.
 *
 * The general path (snapshot-codec.ts PayloadReader) decodes an element with msgpackr and then re-encodes
 * what it built to prove the bytes were canonical. At 1,000,000 owned addresses that cost ≈ 1 s in
 * msgpackr's string reading alone (its native string extractor scans ahead to the end of the buffer it is
 * given, and each element is given the rest of the payload) plus the re-encoding. This reader accepts only
 * the exact bytes msgpackr writes for such an element (msgpack-cursor.ts), so the element is canonical
 * by construction and needs no re-encoding. Owners come back as byte ranges of the payload
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
import { Cursor, OFF_PATH } from './msgpack-cursor.js';
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

/**
 * An owner string's bytes, added to `out` without making the string. An owner the decoder would refuse
 * (empty, invalid UTF-8, more than MAX_FIELD_LENGTH units) steps aside, so the general path refuses it
 * with its own message.
 */
function owner(c: Cursor, out: WireOwnerBytes): void {
  const start = c.stringBytes();
  if (!validOwnerBytes(c.buf, start, c.at - start)) throw OFF_PATH;
  out.starts.push(start);
  out.lengths.push(c.at - start);
}

/** An offset as snapshot-wire.ts spells it: an integer, or a decimal string above 2^53 − 1. */
function offset(c: Cursor): WireOffset {
  return c.atString() ? c.string() : c.integer();
}

/** The node element at `at` of `body`, and where it ends; undefined to read it the general way. */
export function readWireNode(body: Uint8Array, at: number): { node: WireNode; end: number } | undefined {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const c = new Cursor(buf, at);
  try {
    if (c.array() !== 5) return undefined;
    const nodeId = c.string();
    const index = offset(c);
    const runs: WireOffset[] = [];
    for (let i = c.array(); i > 0; i--) runs.push(offset(c));
    const gens: number[] = [];
    for (let i = c.array(); i > 0; i--) gens.push(c.integer());
    const owners = new WireOwnerBytes(buf);
    // Positions and owners alternate; a wrong type or an odd count is for the general path to name.
    const n = c.array();
    if (n % 2 !== 0) return undefined;
    for (let i = 0; i < n; i += 2) {
      owners.positions.push(c.integer());
      owner(c, owners);
    }
    return { node: { nodeId, index, runs, gens, owners }, end: c.at };
  } catch (e) {
    if (e === OFF_PATH) return undefined;
    throw e;
  }
}
