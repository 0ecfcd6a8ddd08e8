/**
 * LevelStorage's on-disk records. Keys are one ASCII tag byte (+ an 8-byte big-endian index for entries,
 * so LevelDB's byte order is log order). Every value is
 *
 *   [CRC-32 (big-endian, 4 bytes)] [msgpack payload]
 *
 * where the CRC covers the key bytes and then the payload (node:zlib crc32, chained): a flipped bit, a
 * truncated value, or a valid value that ended up under another key all fail the check. The CRC is the
 * zlib/IEEE polynomial the ipam snapshot codec already uses (src/ipam/snapshot-codec.ts).
 */
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { smallBytes } from '../bytes/small-bytes.js';
import type { ConfState, Entry, HardState, SnapshotMeta } from '../raft/types.js';
import { RecordName } from './log-view.js';
import { diskCheck } from './shape.js';
import { StorageError } from './types.js';

export const FORMAT_VERSION = 1;

const packr = new Packr({ useRecords: false });

const TAG = { meta: 0x6d /* m */, hardState: 0x68 /* h */, snapshot: 0x73 /* s */, entry: 0x65 /* e */ } as const;

export const KEY_META = Uint8Array.of(TAG.meta);
export const KEY_HARD_STATE = Uint8Array.of(TAG.hardState);
export const KEY_SNAPSHOT = Uint8Array.of(TAG.snapshot);

export function entryKey(index: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = TAG.entry;
  // Big-endian u64 from two u32 halves: BigInt + DataView.setBigUint64 costs ≈ 10× more per entry written.
  const hi = Math.floor(index / 0x1_0000_0000);
  const lo = index >>> 0;
  k[1] = hi >>> 24;
  k[2] = (hi >>> 16) & 0xff;
  k[3] = (hi >>> 8) & 0xff;
  k[4] = hi & 0xff;
  k[5] = lo >>> 24;
  k[6] = (lo >>> 16) & 0xff;
  k[7] = (lo >>> 8) & 0xff;
  k[8] = lo & 0xff;
  return k;
}

/** Iterator bounds covering every entry key. */
export const ENTRY_RANGE = { gte: entryKey(0), lte: entryKey(Number.MAX_SAFE_INTEGER) };

/** The readable name of a key, for messages. */
export function keyName(key: Uint8Array): string {
  if (key.length === 9 && key[0] === TAG.entry) return RecordName.entry(Number(new DataView(key.buffer, key.byteOffset, 9).getBigUint64(1)));
  if (key.length === 1 && key[0] === TAG.meta) return RecordName.meta;
  if (key.length === 1 && key[0] === TAG.hardState) return RecordName.hardState;
  if (key.length === 1 && key[0] === TAG.snapshot) return RecordName.snapshot;
  return `unknown key 0x${Buffer.from(key).toString('hex')}`;
}

function seal(key: Uint8Array, payload: unknown): Uint8Array {
  const body = packr.pack(payload);
  const out = smallBytes(4 + body.length);
  putBe(out, 0, crc32(body, crc32(key)), 4);
  out.set(body, 4);
  return out;
}

/** Verify and decode a record; any problem is StorageCorrupt naming the key. */
function open(key: Uint8Array, value: Uint8Array): unknown {
  return unpackBody(key, checkedBody(key, value));
}

/**
 * The payload of a record whose checksum matches its key and payload; StorageCorrupt naming the key
 * otherwise. The key's name is only built for a message: it is most of the cost of a healthy read.
 */
function checkedBody(key: Uint8Array, value: Uint8Array): Uint8Array {
  if (value.length < 5) throw new StorageError('StorageCorrupt', `${keyName(key)}: truncated record (${value.length} bytes, need at least 5)`);
  const body = value.subarray(4);
  const stored = ((value[0] as number) * 0x1000000 + (((value[1] as number) << 16) | ((value[2] as number) << 8) | (value[3] as number))) >>> 0;
  const actual = crc32(body, crc32(key));
  if (stored !== actual) throw new StorageError('StorageCorrupt', `${keyName(key)}: checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}): the record is corrupt or truncated`);
  return body;
}

function unpackBody(key: Uint8Array, body: Uint8Array): unknown {
  try {
    return packr.unpack(body);
  } catch (e) {
    throw new StorageError('StorageCorrupt', `${keyName(key)}: checksum matches but the payload does not decode (${(e as Error).message})`);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function tuple(v: unknown, name: string, length: number): unknown[] {
  if (!Array.isArray(v) || v.length !== length) diskCheck.fail(name, `malformed record: expected an array of ${length} fields`);
  return v;
}

/** msgpackr decodes bin as a Buffer; hand out a plain Uint8Array view of the same bytes. */
function plainBytes(v: unknown, what: string): Uint8Array {
  const b = diskCheck.bytes(v, what);
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

// --- meta -------------------------------------------------------------------------------------------

export interface MetaRecord {
  format: number;
  clusterId: string;
  nodeId: string;
}

export function encodeMeta(m: MetaRecord): Uint8Array {
  return seal(KEY_META, [m.format, m.clusterId, m.nodeId]);
}

export function decodeMeta(value: Uint8Array): MetaRecord {
  const raw = open(KEY_META, value);
  // The format is read first and alone: a newer build may lay out the rest differently.
  if (!Array.isArray(raw) || raw.length < 1) diskCheck.fail(RecordName.meta, 'malformed record: expected an array');
  const format = diskCheck.index(raw[0], `${RecordName.meta}.format`);
  if (format !== FORMAT_VERSION) throw new StorageError('StorageForeign', `${RecordName.meta}: format version ${format} is not supported (this build reads ${FORMAT_VERSION})`);
  const [, clusterId, nodeId] = tuple(raw, RecordName.meta, 3);
  return { format, clusterId: diskCheck.nodeId(clusterId, `${RecordName.meta}.clusterId`), nodeId: diskCheck.nodeId(nodeId, `${RecordName.meta}.nodeId`) };
}

// --- hard state -------------------------------------------------------------------------------------

export function encodeHardState(h: HardState): Uint8Array {
  return seal(KEY_HARD_STATE, [h.term, h.vote, h.commit]);
}

export function decodeHardState(value: Uint8Array): HardState {
  const [term, vote, commit] = tuple(open(KEY_HARD_STATE, value), RecordName.hardState, 3);
  return diskCheck.hardState({ term, vote, commit }, RecordName.hardState);
}

// --- snapshot metadata ------------------------------------------------------------------------------

/** Snapshot metadata plus where its data lives (a file in the snap directory) and how to verify it. */
export interface SnapshotRecord {
  meta: SnapshotMeta;
  file: string;
  size: number;
  crc: number;
}

export function encodeSnapshot(r: SnapshotRecord): Uint8Array {
  return seal(KEY_SNAPSHOT, [r.meta.index, r.meta.term, r.meta.conf.voters, r.meta.conf.learners, r.file, r.size, r.crc]);
}

export function decodeSnapshot(value: Uint8Array): SnapshotRecord {
  const name = RecordName.snapshot;
  const [index, term, voters, learners, file, size, crc] = tuple(open(KEY_SNAPSHOT, value), name, 7);
  const meta = diskCheck.snapshotMeta({ index, term, conf: { voters, learners } as ConfState }, name);
  if (typeof file !== 'string' || !/^[0-9a-f]{16}-[0-9a-f]{16}\.snap$/.test(file)) diskCheck.fail(`${name}.file`, `not a snapshot file name: ${String(file)}`);
  return { meta, file, size: diskCheck.index(size, `${name}.size`), crc: diskCheck.index(crc, `${name}.crc`) };
}

/** Big-endian unsigned integers at `p`; bytes past the end make NaN, which the length checks after them refuse. */
function be16(b: Uint8Array, p: number): number {
  return ((b[p] as number) << 8) | (b[p + 1] as number);
}

function be32(b: Uint8Array, p: number): number {
  return (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
}

// --- entries ----------------------------------------------------------------------------------------

const TYPE_NORMAL = 0;
const TYPE_CONF = 1;

/** The index lives in the key only; the CRC over the key binds the value to it. */
export function encodeEntry(e: Entry): Uint8Array {
  const key = entryKey(e.index);
  if (e.type === 'normal') return normalRecord(key, e.term, e.data) ?? seal(key, [e.term, TYPE_NORMAL, e.data]);
  return seal(key, [e.term, TYPE_CONF, e.change.op, e.change.node]);
}

/**
 * The record of a normal entry written straight into its buffer: the bytes msgpackr packs for
 * [term, 0, data] (fixarray 3, term as positive fixint or uint 8/16/32, 0, data as bin 8/16/32), after
 * their CRC. Every entry a node writes goes through here; msgpackr's general packer plus the copy out of
 * its buffer cost ≈ 0.6 µs more per record (a scratch loop: 1.0 against 1.65 µs with the same output
 * allocation). Terms from 2^32 up (msgpackr writes those as floats) take seal().
 */
function normalRecord(key: Uint8Array, term: number, data: Uint8Array): Uint8Array | undefined {
  if (!Number.isInteger(term) || term < 0 || term > 0xffff_ffff) return undefined;
  const len = data.length;
  const out = smallBytes(4 + 1 + (term < 0x80 ? 1 : sizedBytes(term)) + 1 + sizedBytes(len) + len);
  let p = 4;
  out[p++] = 0x93;
  if (term < 0x80) out[p++] = term;
  else p = putSized(out, p, term, 0xcc);
  out[p++] = TYPE_NORMAL;
  p = putSized(out, p, len, 0xc4);
  out.set(data, p);
  const crc = crc32(out.subarray(4), crc32(key));
  putBe(out, 0, crc, 4);
  return out;
}

/** Bytes of `v` (below 2^32) in msgpack's shortest 8/16/32-bit form, tag included. */
function sizedBytes(v: number): number {
  return v < 0x100 ? 2 : v < 0x10000 ? 3 : 5;
}

/**
 * `v` in that form at `p`: the 8-bit form's tag is `tag8`, and msgpack numbers the 16- and 32-bit forms
 * next (uint 0xcc/cd/ce, bin 0xc4/c5/c6). Returns the position after it.
 */
function putSized(b: Uint8Array, p: number, v: number, tag8: number): number {
  if (v < 0x100) {
    b[p++] = tag8;
    b[p++] = v;
    return p;
  }
  const wide = v >= 0x10000;
  b[p++] = tag8 + (wide ? 2 : 1);
  return putBe(b, p, v, wide ? 4 : 2);
}

/** `v` (below 2^32) as `width` big-endian bytes at `p`; returns the position after them. */
function putBe(b: Uint8Array, p: number, v: number, width: 2 | 4): number {
  if (width === 4) {
    b[p++] = v >>> 24;
    b[p++] = (v >>> 16) & 0xff;
  }
  b[p++] = (v >>> 8) & 0xff;
  b[p++] = v & 0xff;
  return p;
}

export function decodeEntry(key: Uint8Array, value: Uint8Array): Entry {
  if (key.length !== 9 || key[0] !== TAG.entry) diskCheck.fail(keyName(key), 'not an entry key');
  // The big-endian u64 as two halves: exact below 2^53, and rounded like Number(bigint) above (where the
  // index check refuses it anyway).
  const index = ((key[1] as number) * 0x1000000 + (((key[2] as number) << 16) | ((key[3] as number) << 8) | (key[4] as number))) * 0x100000000 + ((key[5] as number) * 0x1000000 + (((key[6] as number) << 16) | ((key[7] as number) << 8) | (key[8] as number)));
  const body = checkedBody(key, value);
  // The common record read without msgpackr: exactly the bytes encodeEntry writes for a normal entry.
  const fast = normalEntry(body, index);
  if (fast) return fast;
  const name = keyName(key);
  const raw = unpackBody(key, body);
  if (!Array.isArray(raw) || raw.length < 2) diskCheck.fail(name, 'malformed record: expected an array');
  if (raw[1] === TYPE_NORMAL) {
    const [term, , data] = tuple(raw, name, 3);
    return diskCheck.entry({ term, index, type: 'normal', data: plainBytes(data, `${name}.data`) }, name);
  }
  if (raw[1] === TYPE_CONF) {
    const [term, , op, node] = tuple(raw, name, 4);
    return diskCheck.entry({ term, index, type: 'conf', change: { op, node } }, name);
  }
  return diskCheck.fail(name, `unknown entry type ${String(raw[1])}`);
}

/**
 * A normal entry's payload as msgpackr packs [term, 0, data]: fixarray 3, term as a positive fixint or
 * uint8/16/32 with 1 ≤ term, type 0, data as bin 8/16/32 running exactly to the end. Exactly what the
 * general path would accept and return for these bytes (msgpackr reads bin as a view, refuses trailing
 * bytes); anything else (a conf entry, a term ≥ 2^32 written as a float, any damage) returns undefined
 * and takes the general path, which refuses it with the same message as ever.
 */
function normalEntry(b: Uint8Array, index: number): Entry | undefined {
  const n = b.length;
  if (n < 4 || b[0] !== 0x93 || index < 1 || index > Number.MAX_SAFE_INTEGER) return undefined;
  let p = 1;
  const t = b[p++] as number;
  let term: number;
  if (t < 0x80) term = t;
  else if (t === 0xcc) term = b[p++] as number;
  else if (t === 0xcd) {
    term = be16(b, p);
    p += 2;
  } else if (t === 0xce) {
    term = be32(b, p);
    p += 4;
  } else return undefined;
  if (term < 1 || p + 2 > n || b[p++] !== TYPE_NORMAL) return undefined;
  const h = b[p++] as number;
  let len: number;
  if (h === 0xc4) len = b[p++] as number;
  else if (h === 0xc5) {
    len = be16(b, p);
    p += 2;
  } else if (h === 0xc6) {
    len = be32(b, p);
    p += 4;
  } else return undefined;
  if (p + len !== n) return undefined;
  return { term, index, type: 'normal', data: new Uint8Array(b.buffer, b.byteOffset + p, len) };
}
