/**
 * Build snapshot bytes around any payload, with a correct header and CRC, so tests can feed the decoder
 * well-framed but inconsistent payloads (the CRC no longer hides the structural checks behind it).
 * The header layout is the one documented in src/ipam/snapshot-codec.ts.
 */
import { crc32 } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

/** Frame raw payload bytes: magic "RIPM", version (2, the current one), zero flags, length, CRC-32. */
export function frameBytes(body: Uint8Array, version = 2): Uint8Array {
  const out = new Uint8Array(16 + body.length);
  out.set([0x52, 0x49, 0x50, 0x4d], 0);
  out[4] = version;
  const view = new DataView(out.buffer);
  view.setUint32(8, body.length);
  view.setUint32(12, crc32(body));
  out.set(body, 16);
  return out;
}

/** Frame a payload value, msgpack-encoded the way the codec encodes. */
export function frame(payload: unknown): Uint8Array {
  return frameBytes(packr.pack(payload));
}

/** The payload of real snapshot bytes, as plain arrays to edit. */
export function payloadOf(snapshot: Uint8Array): unknown[] {
  return unpackr.unpack(snapshot.subarray(16)) as unknown[];
}
