/**
 * Wire framing between peers.
 *
 *   frame = u32 big-endian body length | body
 *   body  = msgpack map { v, cluster, from, to, payload }   (exactly these five keys)
 *
 * A frame whose payload is nil is a hello: a node that has just started sends one to each peer, so a
 * peer that was backing off its dials to it learns at once that it is up (tcp.ts). It carries no message.
 *
 * The length prefix is checked against the maximum before a byte of the body is buffered, so a peer (or
 * line noise) cannot make us allocate a 4 GiB buffer. The envelope is validated completely here; the
 * payload stays `unknown` until the injected payload validator looks at it (inbound.ts).
 */
import { Packr, Unpackr } from 'msgpackr';
import { smallBytes } from '../bytes/small-bytes.js';
import { TransportError } from './errors.js';

export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 4;
/** Default ceiling for one frame body. Snapshot chunks are a few MB at most; 16 MiB leaves room. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** The largest value a u32 length prefix can carry; no configuration may exceed it. */
export const MAX_FRAME_BYTES_LIMIT = 0xffff_ffff;
/** Envelope strings are ids; anything longer is not one of ours and is refused before any map lookup. */
const MAX_ID_LENGTH = 256;

export interface Envelope {
  v: number;
  cluster: string;
  from: string;
  to: string;
  payload: unknown;
}

const ENVELOPE_KEYS = ['v', 'cluster', 'from', 'to', 'payload'] as const;

// Same encoder settings as the rest of the project (plain maps, no records), so a payload's bytes do not
// depend on which module packed it.
const packr = new Packr({ useRecords: false, variableMapSize: true });
// Binary fields decode as views into the frame's body, which the decoder copies out of the socket's chunks
// first (take): one copy per frame, not one allocation per entry, and no payload pins a socket chunk.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: false });

export function validateMaxFrameBytes(n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 16 || n > MAX_FRAME_BYTES_LIMIT) {
    throw new TransportError('InvalidArgument', `maxFrameBytes must be an integer in 16..${MAX_FRAME_BYTES_LIMIT}, got ${String(n)}`);
  }
  return n;
}

/**
 * Encode one frame (header + body) into a fresh buffer. Throws `FrameTooLarge` when the body exceeds
 * `maxFrameBytes` (the receiver would close the connection on it) and `BadFrame` when the payload cannot
 * be packed.
 */
export function encodeFrame(env: Envelope, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  let body: Uint8Array;
  try {
    body = packr.pack({ v: env.v, cluster: env.cluster, from: env.from, to: env.to, payload: env.payload });
  } catch (e) {
    throw new TransportError('BadFrame', `payload cannot be encoded: ${(e as Error).message}`);
  }
  if (body.length > maxFrameBytes) {
    throw new TransportError('FrameTooLarge', `frame body of ${body.length} bytes exceeds the maximum of ${maxFrameBytes}`);
  }
  // Copy out of msgpackr's shared target buffer so the frame owns its bytes while it waits in a queue.
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, HEADER_BYTES);
  return out;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

function idField(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID_LENGTH) {
    throw new TransportError('BadFrame', `frame field ${key} must be a string of 1..${MAX_ID_LENGTH} characters`);
  }
  return v;
}

/** Validate a decoded frame body. Only the envelope is checked; `payload` is left to the payload validator. */
export function parseEnvelope(raw: unknown): Envelope {
  if (!isPlainObject(raw)) throw new TransportError('BadFrame', 'frame body is not a map');
  const keys = Object.keys(raw);
  if (keys.length !== ENVELOPE_KEYS.length || !ENVELOPE_KEYS.every((k) => Object.hasOwn(raw, k))) {
    throw new TransportError('BadFrame', `frame body must have exactly the keys ${ENVELOPE_KEYS.join(', ')}`);
  }
  const v = raw['v'];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TransportError('BadFrame', 'frame field v must be a non-negative integer');
  // Checked before the other fields: a future version may lay them out differently.
  if (v !== PROTOCOL_VERSION) throw new TransportError('UnsupportedVersion', `protocol version ${v} is not supported (this node speaks ${PROTOCOL_VERSION})`);
  return { v, cluster: idField(raw, 'cluster'), from: idField(raw, 'from'), to: idField(raw, 'to'), payload: raw['payload'] };
}

export interface DecodedFrame {
  envelope: Envelope;
  /** Bytes this frame took on the wire, header included. */
  bytes: number;
}

export interface DecodeResult {
  frames: DecodedFrame[];
  /** Set once the stream is broken; the decoder then refuses everything and the connection must close. */
  error: TransportError | null;
}

/**
 * Streaming frame decoder: accepts chunks of any size, including one byte at a time, and never throws.
 * Frames completed before a bad one in the same chunk are still returned. After an error the decoder is
 * poisoned: framing is lost, so nothing after the error can be trusted.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private chunks: Uint8Array[] = [];
  private head = 0;
  private buffered = 0;
  /** Body length announced by the current header, or -1 while the header is incomplete. */
  private bodyLength = -1;
  private failure: TransportError | null = null;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.maxFrameBytes = validateMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  }

  get error(): TransportError | null {
    return this.failure;
  }

  /** Bytes received but not yet part of a complete frame (a truncated frame at close shows up here). */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): DecodeResult {
    const frames: DecodedFrame[] = [];
    if (this.failure) return { frames, error: this.failure };
    if (chunk.length > 0) {
      // Buffers throughout (a view, no copy), so decoded byte strings are Buffers however the bytes arrived.
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.buffered += chunk.length;
    }
    try {
      for (;;) {
        if (this.bodyLength < 0) {
          if (this.buffered < HEADER_BYTES) break;
          const header = this.take(HEADER_BYTES);
          const length = ((header[0]! << 24) >>> 0) + (header[1]! << 16) + (header[2]! << 8) + header[3]!;
          // Refused on the prefix alone, before buffering or allocating anything for the body.
          if (length > this.maxFrameBytes) {
            throw new TransportError('FrameTooLarge', `frame length ${length} exceeds the maximum of ${this.maxFrameBytes}`);
          }
          if (length === 0) throw new TransportError('BadFrame', 'frame length 0');
          this.bodyLength = length;
        }
        if (this.buffered < this.bodyLength) break;
        const body = this.take(this.bodyLength);
        const bytes = HEADER_BYTES + this.bodyLength;
        this.bodyLength = -1;
        let raw: unknown;
        try {
          raw = unpackr.unpack(body);
        } catch (e) {
          throw new TransportError('BadFrame', `frame body is not valid msgpack: ${(e as Error).message}`);
        }
        frames.push({ envelope: parseEnvelope(raw), bytes });
      }
    } catch (e) {
      this.failure = e instanceof TransportError ? e : new TransportError('BadFrame', `frame decoding failed: ${String(e)}`);
      this.chunks = [];
      this.head = 0;
      this.buffered = 0;
    }
    return { frames, error: this.failure };
  }

  /**
   * Remove the first n buffered bytes (n ≤ buffered) and return a copy of them that shares memory with
   * nothing the socket hands us: the decoded message's byte fields are views into it.
   */
  private take(n: number): Uint8Array {
    const out = smallBytes(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.head]!;
      const part = Math.min(c.length, n - filled);
      out.set(part === c.length ? c : c.subarray(0, part), filled);
      filled += part;
      this.consume(part);
    }
    this.buffered -= n;
    return out;
  }

  /**
   * Advance past `n` bytes of the head chunk. A head index instead of Array.shift keeps a frame that arrived
   * in many tiny chunks linear to reassemble rather than quadratic.
   */
  private consume(n: number): void {
    const c = this.chunks[this.head]!;
    if (n < c.length) {
      this.chunks[this.head] = c.subarray(n);
      return;
    }
    this.head++;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
