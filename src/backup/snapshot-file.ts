/**
 * The saved snapshot file (`raft-ipam snapshot save`, GET /v1/snapshot): one cluster's IPAM state at one
 * applied index, self-describing and checked end to end. Big-endian layout, format version 1:
 *
 *    0   8  magic "RIPMSNAP"
 *    8   2  u16 format version (1)
 *   10   2  u16 header length H = 81 + L (where the payload starts)
 *   12   8  u64 index            the applied index the state is of
 *   20   8  u64 term             that entry's term
 *   28   8  u64 taken at         ms since the epoch, the source leader's clock when the save was asked for
 *   36   8  u64 payload length
 *   44  32  SHA-256 of the payload (= the state hash: stateHash() is SHA-256 of the same canonical bytes)
 *   76   1  u8 L, length of the source cluster id (1..128)
 *   77   L  source cluster id (the transport's cluster id spelling, ASCII)
 * 77+L   4  CRC-32 of bytes 0 .. 77+L (every header field: a flipped index or cluster id is caught too)
 *    H      payload: the IPAM snapshot bytes (src/ipam/snapshot-codec.ts; their own header and CRC-32)
 *
 * Nothing follows the payload. The file holds the IPAM state only, not the replicated member attributes
 * (peer and client addresses): those describe the cluster it came from, and a restored cluster takes its
 * membership from its own --initial-cluster (restore.ts).
 *
 * Reading checks, in order, so the error names the first thing wrong: magic (Corrupt; a data directory's
 * snap/*.snap file is named as such), version (Version: read before the rest, since another version may
 * lay the header out differently), lengths (Truncated when the file ends early, Corrupt when the lengths
 * disagree or bytes follow the payload), header CRC, field ranges, payload SHA-256 (Corrupt), the IPAM
 * snapshot's own version (Version), the source cluster when the caller names one (Foreign), and last the
 * whole IPAM state, decoded with every rule of the live state machine (Corrupt).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { IPAM_SNAPSHOT_VERSION } from '../ipam/snapshot-codec.js';
import { IpamStateMachine } from '../ipam/state-machine.js';
import { OverlayError } from '../ipam/errors.js';
import { isTransportError, validateClusterId } from '../transport/errors.js';
import { BackupError } from './errors.js';

export const SNAPSHOT_FILE_MAGIC = 'RIPMSNAP';
export const SNAPSHOT_FILE_VERSION = 1;
const MAGIC = Buffer.from(SNAPSHOT_FILE_MAGIC, 'latin1');
/** The data directory's snapshot files (src/storage/snapshot-file.ts): named when someone passes one. */
const STORAGE_MAGIC = Buffer.from('RIPSNAP\0', 'latin1');
const IPAM_MAGIC = Buffer.from('RIPM', 'latin1');
/** Bytes up to and including the cluster id length. */
const FIXED = 77;
/** The fixed part, the CRC, no cluster id: the shortest possible header is HEADER_MIN + 1. */
const HEADER_MIN = FIXED + 4;
const MAX_CLUSTER_ID = 128;

export interface SnapshotFileMeta {
  /** The cluster the snapshot was taken from. */
  clusterId: string;
  index: number;
  term: number;
  /** ms since the epoch (source leader's clock): every write acknowledged before then is in the file. */
  takenAt: number;
  payloadLength: number;
  /** SHA-256 of the payload, hex: equal to the state hash of the state the file holds. */
  stateHash: string;
}

/** A file that passed every check, with the state it holds. */
export interface SnapshotFileContents {
  meta: SnapshotFileMeta;
  /** Header length: the payload starts here. */
  headerLength: number;
  payload: Uint8Array;
}

export interface SnapshotFileChecks {
  /** Refuse (SnapshotFileForeign) a snapshot taken from any other cluster. */
  sourceClusterId?: string;
}

/** The header that precedes `payload` in the file. */
export function encodeSnapshotHeader(meta: SnapshotFileMeta): Uint8Array {
  const clusterId = checkedClusterId(meta.clusterId, (m) => new BackupError('InvalidArgument', m));
  for (const [k, min] of [['index', 1], ['term', 1], ['takenAt', 0], ['payloadLength', 0]] as const) {
    const v = meta[k];
    if (!Number.isSafeInteger(v) || v < min) throw new BackupError('InvalidArgument', `snapshot ${k} must be an integer ≥ ${min}, got ${String(v)}`);
  }
  if (!/^[0-9a-f]{64}$/.test(meta.stateHash)) throw new BackupError('InvalidArgument', `snapshot state hash must be 64 lowercase hex digits, got ${JSON.stringify(meta.stateHash)}`);
  const id = Buffer.from(clusterId, 'latin1');
  const h = Buffer.alloc(HEADER_MIN + id.length);
  MAGIC.copy(h, 0);
  h.writeUInt16BE(SNAPSHOT_FILE_VERSION, 8);
  h.writeUInt16BE(h.length, 10);
  h.writeBigUInt64BE(BigInt(meta.index), 12);
  h.writeBigUInt64BE(BigInt(meta.term), 20);
  h.writeBigUInt64BE(BigInt(meta.takenAt), 28);
  h.writeBigUInt64BE(BigInt(meta.payloadLength), 36);
  Buffer.from(meta.stateHash, 'hex').copy(h, 44);
  h.writeUInt8(id.length, 76);
  id.copy(h, FIXED);
  h.writeUInt32BE(crc32(h.subarray(0, FIXED + id.length)), FIXED + id.length);
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

/** The whole file for an exported state (tests and small states; the API streams header then payload). */
export function encodeSnapshotFile(meta: Omit<SnapshotFileMeta, 'payloadLength' | 'stateHash'>, payload: Uint8Array): Uint8Array {
  const header = encodeSnapshotHeader({ ...meta, payloadLength: payload.length, stateHash: createHash('sha256').update(payload).digest('hex') });
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

/**
 * SHA-256 of `data`, hashed a slice at a time with a turn of the event loop between slices, so a node
 * serving a large snapshot keeps answering heartbeats (≈ 2 ms per MiB here).
 */
export async function sha256Stepwise(data: Uint8Array, sliceBytes = 1 << 20): Promise<string> {
  const hash = createHash('sha256');
  for (let at = 0; at < data.length; at += sliceBytes) {
    hash.update(data.subarray(at, Math.min(data.length, at + sliceBytes)));
    if (at + sliceBytes < data.length) await nextTurn();
  }
  return hash.digest('hex');
}

/**
 * Check the framing and the checksums of a whole file held in memory, and the source cluster if asked:
 * everything except decoding the IPAM state (decodeSnapshotState).
 */
export function parseSnapshotFile(bytes: Uint8Array, checks: SnapshotFileChecks = {}): SnapshotFileContents {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = (problem: string): never => {
    throw new BackupError('SnapshotFileCorrupt', problem);
  };
  const truncated = (have: number, need: number, what: string): never => {
    throw new BackupError('SnapshotFileTruncated', `truncated: ${have} bytes, ${what} needs ${need}`);
  };
  // A prefix of the magic is a file cut short; anything else is not a snapshot file at all.
  const magicBytes = Math.min(b.length, MAGIC.length);
  if (!b.subarray(0, magicBytes).equals(MAGIC.subarray(0, magicBytes))) {
    if (b.length >= STORAGE_MAGIC.length && b.subarray(0, STORAGE_MAGIC.length).equals(STORAGE_MAGIC)) {
      corrupt('bad magic: this is a data directory snapshot (snap/*.snap), not a saved snapshot file; take one with raft-ipam snapshot save');
    }
    corrupt(`bad magic: not a raft-ipam snapshot file (starts with ${JSON.stringify(b.subarray(0, magicBytes).toString('latin1'))})`);
  }
  if (b.length < 10) truncated(b.length, 10, 'the magic and format version');
  const version = b.readUInt16BE(8);
  if (version !== SNAPSHOT_FILE_VERSION) {
    throw new BackupError('SnapshotFileVersion', `snapshot file format version ${version} is not supported (this build reads version ${SNAPSHOT_FILE_VERSION})`);
  }
  if (b.length < FIXED) truncated(b.length, FIXED, 'the fixed header');
  const headerLength = b.readUInt16BE(10);
  const idLength = b.readUInt8(76);
  if (idLength < 1 || idLength > MAX_CLUSTER_ID) corrupt(`header: cluster id length ${idLength} is outside 1..${MAX_CLUSTER_ID}`);
  if (headerLength !== HEADER_MIN + idLength) corrupt(`header: length field ${headerLength} disagrees with the cluster id length ${idLength} (expected ${HEADER_MIN + idLength})`);
  if (b.length < headerLength) truncated(b.length, headerLength, 'the header');
  const storedCrc = b.readUInt32BE(FIXED + idLength);
  const crc = crc32(b.subarray(0, FIXED + idLength));
  if (storedCrc !== crc) corrupt(`header checksum mismatch (stored 0x${hex8(storedCrc)}, computed 0x${hex8(crc)}): the header is corrupt`);
  const u64 = (at: number, what: string, min: number): number => {
    const v = b.readBigUInt64BE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(min)) corrupt(`header: ${what} ${v} is outside ${min}..2^53-1`);
    return Number(v);
  };
  const index = u64(12, 'index', 1);
  const term = u64(20, 'term', 1);
  const takenAt = u64(28, 'taken-at time', 0);
  const payloadLength = u64(36, 'payload length', 0);
  const stateHash = b.subarray(44, 76).toString('hex');
  const clusterId = checkedClusterId(b.subarray(FIXED, FIXED + idLength).toString('latin1'), (m) => new BackupError('SnapshotFileCorrupt', `header: ${m}`));
  const total = headerLength + payloadLength;
  if (b.length < total) truncated(b.length, total, `the header (${headerLength}) and the payload (${payloadLength})`);
  if (b.length > total) corrupt(`${b.length - total} unexpected bytes after the payload (header says ${total} bytes in all)`);
  const payload = bytes.subarray(headerLength);
  const actual = createHash('sha256').update(payload).digest('hex');
  if (actual !== stateHash) corrupt(`payload SHA-256 mismatch (header ${stateHash.slice(0, 16)}…, computed ${actual.slice(0, 16)}…): the payload is corrupt`);
  // The payload's own version, before its content: a newer release's state is "too new", not "corrupt".
  if (payload.length >= 5 && Buffer.from(payload.buffer, payload.byteOffset, 4).equals(IPAM_MAGIC) && payload[4] !== IPAM_SNAPSHOT_VERSION) {
    throw new BackupError('SnapshotFileVersion', `the IPAM state inside is snapshot format version ${payload[4]}; this build reads version ${IPAM_SNAPSHOT_VERSION}`);
  }
  const meta: SnapshotFileMeta = { clusterId, index, term, takenAt, payloadLength, stateHash };
  if (checks.sourceClusterId !== undefined && checks.sourceClusterId !== clusterId) {
    throw new BackupError('SnapshotFileForeign', `the snapshot was taken from cluster ${JSON.stringify(clusterId)}, not ${JSON.stringify(checks.sourceClusterId)} (--source-cluster-id)`);
  }
  return { meta, headerLength, payload };
}

/**
 * The IPAM state a payload holds, decoded with every rule of the live state machine (canonical form,
 * ranges, no address or slice held twice). A payload whose checksum matches but fails this was written
 * by a defective writer: Corrupt.
 */
export function decodeSnapshotState(payload: Uint8Array): IpamStateMachine {
  const sm = new IpamStateMachine();
  try {
    sm.restore(payload);
  } catch (e) {
    if (e instanceof OverlayError) throw new BackupError('SnapshotFileCorrupt', `the checksums match but the IPAM state is invalid: ${e.message}`);
    throw e;
  }
  return sm;
}

/** Read `path` and check everything: framing, checksums, source cluster, and the whole IPAM state. */
export async function readSnapshotFile(path: string, checks: SnapshotFileChecks = {}): Promise<SnapshotFileContents & { state: IpamStateMachine }> {
  let bytes: Uint8Array;
  try {
    const fh = await open(path, 'r');
    try {
      bytes = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new BackupError('SnapshotFileIo', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const contents = parseSnapshotFile(bytes, checks);
    return { ...contents, state: decodeSnapshotState(contents.payload) };
  } catch (e) {
    if (e instanceof BackupError) throw new BackupError(e.code, `${path}: ${e.message}`, { cause: e });
    throw e;
  }
}

function checkedClusterId(id: string, fail: (message: string) => Error): string {
  try {
    return validateClusterId(id);
  } catch (e) {
    if (isTransportError(e)) throw fail(e.message);
    throw e;
  }
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
