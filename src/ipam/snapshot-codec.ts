/**
 * Canonical snapshot bytes of the IPAM state, and their validating decoder.
 *
 * Layout: a 16-byte header, then a msgpack payload.
 *   0  "RIPM"            magic
 *   4  u8  version (2)
 *   5  u8  flags (0)     u16 reserved (0)
 *   8  u32 payload length (big-endian)
 *  12  u32 CRC-32 of the payload
 *  16  payload = [nextGeneration, networks, sessions]
 *      network = [name, cidr, slicePrefix, pair | null, nodes]          sorted by name
 *      node    = [nodeId, sliceIndex, runs, generationDeltas, owners]   sorted by slice index
 *      runs    = [start, length, start, length, …]   maximal runs of taken host offsets, ascending
 *      generationDeltas: the generation of each taken address in ascending order, delta-coded
 *      owners  = [position, owner, …]                 position into that ascending order
 *      sessions = [logTime, ttlMs, nextSessionId, [session, …]]            (sessions.ts)
 *      session  = [id, lastActive, ackFloor, [[seq, commandType, ok, result], …]]
 *                 sorted by (lastActive, id); results sorted by seq, each seq ≥ ackFloor; result in the
 *                 canonical wire form of results.ts
 * Integers above 2^53 − 1 (IPv6 offsets and slice indexes) are written as decimal strings.
 *
 * Canonical: every collection has one order and every number one spelling (msgpack's shortest), so equal
 * states give equal bytes. The decoder validates every field, then re-encodes the state it built and
 * requires the input bytes back: any other order, a longer integer encoding, a float for an integer or a
 * map where an array belongs is refused, so restore(x) then snapshot() gives x. Decoding builds a fresh
 * state and never touches the live one, so a truncated, corrupt or inconsistent snapshot changes nothing.
 *
 * Version 2 added the sessions section (client sessions, log time, TTL). Version 1 snapshots are refused
 * with a message saying so: raft-ipam had no deployed users when the format changed, and reading a v1
 * snapshot as "no sessions" would be exact only if no v1 writer ever had sessions — true, but one more
 * path to keep canonical for nobody.
 *
 * This module only frames and orders: each AllocationBlock encodes and decodes its own contents, and each
 * Network indexes its own owners.
 */
import { crc32 } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import { describe } from './address.js';
import { AllocationBlock } from './allocation-block.js';
import { BlockCapture } from './block-capture.js';
import { MAX_FIELD_LENGTH } from './commands.js';
import { OverlayError } from './errors.js';
import { Network } from './network.js';
import { validateNodeId } from './node-slice-allocator.js';
import { GenerationClaims } from './generation-claims.js';
import { encodeSession, type Session, SessionTable } from './sessions.js';
import { readWireNode, type WireNode } from './snapshot-block-reader.js';
import { arrayHeader, decodeOffset, encodeOffset, invalidSnapshot as bad } from './snapshot-wire.js';
import { compare, MAX_GENERATION, type IpamState } from './state.js';

const MAGIC = [0x52, 0x49, 0x50, 0x4d]; // "RIPM"
/** Version byte of the IPAM snapshot header; a saved snapshot file checks it to tell "too new" from "corrupt". */
export const IPAM_SNAPSHOT_VERSION = 2;
const VERSION = IPAM_SNAPSHOT_VERSION;
const HEADER_BYTES = 16;

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });
const pack = (value: unknown): Uint8Array => packr.pack(value);

export function encodeSnapshot(state: IpamState): Uint8Array {
  const networks = [...state.networks.values()].sort((a, b) => compare(a.name, b.name));
  const payload = [
    state.nextGeneration,
    networks.map((net) => [net.name, net.cidr(), net.slicePrefix(), net.pair ?? null, net.blocks().map(wireBlock)]),
    state.sessions.encode(),
  ];
  const body = packr.pack(payload);
  return framed([body], body.length, crc32(body));
}

function wireBlock(b: AllocationBlock): unknown[] {
  return [b.nodeId, encodeOffset(b.index), ...b.encode()];
}

/** Header + payload chunks, concatenated. */
function framed(chunks: readonly Uint8Array[], length: number, crc: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + length);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  const view = new DataView(out.buffer);
  view.setUint32(8, length);
  view.setUint32(12, crc);
  let at = HEADER_BYTES;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// --- incremental encoding ----------------------------------------------------------------------------

/**
 * A snapshot of the state as it is now, encoded a bounded amount at a time, so that a large state does
 * not hold the event loop (1,000,000 owned addresses take ≈ 0.6 s in one encodeSnapshot call, more than an
 * election timeout; scripts/bench-snapshot-stall.ts). The bytes are exactly encodeSnapshot() of the state
 * at begin: msgpack's encoding of an array is its header followed by its elements' encodings, so the
 * payload is written as array headers and separately packed elements in order, and the CRC runs over the
 * chunks as they are produced.
 *
 * Begin is O(networks + blocks + sessions): the scalars, the network headers, the lists of blocks and of
 * sessions (in canonical order) and each session's lastActive and ackFloor are taken then. The bulk — the
 * contents of blocks and the cached results of sessions — is encoded later, between event-loop turns,
 * while the state keeps changing. Their owners (AllocationBlock, SessionTable) are the only writers and
 * call the capture's preserve hook before changing a part not yet encoded: a session's hook encodes that
 * session as it still is (copy-on-write at the grain of one session, ≤ MAX_RESULTS_PER_SESSION results);
 * a block's (block-capture.ts) keeps what the changed address held, so a block of any size is encoded a
 * bounded number of addresses at a time. Network-level changes (a block attached or detached, a network
 * added or paired) only change the live maps and lists, which the capture does not read after begin; a
 * detached block keeps its contents and its hook.
 *
 * A step stops once it has covered `budget` addresses or results; the largest unit of work that cannot be
 * split is one session's results.
 */
export class SnapshotCapture {
  private readonly parts: Part[] = [];
  private next = 0;
  private readonly chunks: Uint8Array[] = [];
  private length = 0;
  private crc = 0;
  private finished: Uint8Array | undefined;
  private aborted = false;
  /** Steps taken so far (for the replica's observer and tests). */
  steps = 0;

  constructor(state: IpamState) {
    const networks = [...state.networks.values()].sort((a, b) => compare(a.name, b.name));
    this.parts.push(arrayHeader(3), packr.pack(state.nextGeneration), arrayHeader(networks.length));
    for (const net of networks) {
      const blocks = net.blocks();
      this.parts.push(arrayHeader(5), packr.pack(net.name), packr.pack(net.cidr()), packr.pack(net.slicePrefix()), packr.pack(net.pair ?? null), arrayHeader(blocks.length));
      for (const block of blocks) this.parts.push(new BlockCapture(block, pack));
    }
    const { head, sessions } = state.sessions.capture();
    this.parts.push(arrayHeader(4), ...head.map((v) => packr.pack(v)), arrayHeader(sessions.length));
    for (const { session, lastActive, ackFloor } of sessions) {
      const part: SessionPart = { kind: 'session', session, lastActive, ackFloor, bytes: undefined };
      session.preserve = () => (part.bytes = packSession(part));
      this.parts.push(part);
    }
  }

  get done(): boolean {
    return this.next === this.parts.length;
  }

  /** Encode parts covering at least `budget` addresses or cached results (or to the end); true when done. */
  step(budget: number): boolean {
    if (this.aborted) throw new Error('snapshot capture was aborted');
    this.steps++;
    let work = 0;
    while (this.next < this.parts.length && work < budget) {
      const part = this.parts[this.next] as Part;
      if (part instanceof BlockCapture) {
        // A large block spreads over several steps; its hook keeps it exact meanwhile.
        work += part.step(budget - work, this.emit) + 1;
        if (!part.done) continue;
      } else if (part instanceof Uint8Array) {
        this.emit(part);
      } else {
        work += part.session.results.size + 1;
        this.emit(part.bytes ?? packSession(part));
        part.session.preserve = undefined;
      }
      // The parts are released as they are encoded: the capture holds bytes, not references into the state.
      this.parts[this.next++] = EMPTY;
    }
    return this.done;
  }

  private readonly emit = (bytes: Uint8Array): void => {
    this.chunks.push(bytes);
    this.length += bytes.length;
    this.crc = crc32(bytes, this.crc);
  };

  /** The snapshot bytes, once done (the chunks are joined once and released). */
  result(): Uint8Array {
    if (!this.done) throw new Error('snapshot capture is not finished');
    if (this.finished === undefined) {
      this.finished = framed(this.chunks, this.length, this.crc);
      this.chunks.length = 0;
    }
    return this.finished;
  }

  /** Stop early: drop the hooks so the state goes back to changing at no cost. */
  abort(): void {
    this.aborted = true;
    for (let i = this.next; i < this.parts.length; i++) {
      const part = this.parts[i] as Part;
      if (part instanceof Uint8Array) continue;
      if (part instanceof BlockCapture) part.release();
      else part.session.preserve = undefined;
    }
    this.parts.length = this.next;
    this.chunks.length = 0;
  }
}

interface SessionPart {
  kind: 'session';
  session: Session;
  lastActive: number;
  ackFloor: number;
  bytes: Uint8Array | undefined;
}

type Part = Uint8Array | BlockCapture | SessionPart;

const EMPTY = new Uint8Array(0);

function packSession(p: SessionPart): Uint8Array {
  return packr.pack(encodeSession(p.session.id, p.lastActive, p.ackFloor, p.session.results));
}

// --- decoding ----------------------------------------------------------------------------------------

/** Whole-state decode in one call: the restore below, run to the end. */
export function decodeSnapshot(bytes: unknown): IpamState {
  const restore = new SnapshotRestore(bytes);
  restore.step(Number.POSITIVE_INFINITY);
  return restore.result();
}

/**
 * Snapshot bytes decoded into a fresh state a bounded amount at a time, so a received snapshot of a
 * large state does not hold the event loop (1,000,000 owned addresses took ≈ 1.9 s in one call; the
 * replica installs it between other work). The mirror of SnapshotCapture: the payload is read one msgpack
 * element at a time — array headers, scalars, one block, one session — and each element is validated,
 * built, and re-encoded on the spot and compared with the bytes it came from. Blocks, the bulk, go through
 * a fast reader that accepts only canonical bytes and so skips the re-encoding (snapshot-block-reader.ts);
 * anything it does not accept is read the general way. A document is canonical
 * exactly when every header is the shortest for its length and every element is its own canonical
 * encoding, so this is the same check as re-encoding the whole state, done in pieces.
 *
 * Nothing is shared with a live state: an error at any step (InvalidSnapshot) leaves the caller's state
 * as it was, and abandoning a restore half-way costs nothing but the garbage.
 */
export class SnapshotRestore {
  private readonly steps: Generator<number, IpamState, void>;
  private state: IpamState | undefined;
  private failure: unknown;

  constructor(bytes: unknown) {
    this.steps = readSnapshot(bytes);
  }

  /** Decode elements covering at least `budget` addresses or cached results (or to the end); true when done. */
  step(budget: number): boolean {
    if (this.failure !== undefined) throw this.failure;
    if (this.state !== undefined) return true;
    let work = 0;
    try {
      while (work < budget) {
        const next = this.steps.next();
        if (next.done) {
          this.state = next.value;
          releaseDecoderSource();
          return true;
        }
        work += next.value;
      }
    } catch (e) {
      releaseDecoderSource();
      // Live-rule refusals (a bad CIDR, a slice held twice, an owner twice) are snapshot defects here.
      this.failure = e instanceof OverlayError && e.code !== 'InvalidSnapshot' ? new OverlayError('InvalidSnapshot', `invalid snapshot: ${e.message}`) : e;
      throw this.failure;
    }
    return false;
  }

  /** The decoded state, once step() returned true. */
  result(): IpamState {
    if (this.state === undefined) throw new Error('snapshot restore is not finished');
    return this.state;
  }
}

const NIL = Uint8Array.of(0xc0);

/**
 * msgpackr keeps a DataView of the whole buffer it last decoded from in a module variable (unpack.js
 * `dataView`, which the end of a decode does not clear) until its next decode, in any Unpackr. After a
 * restore that is the snapshot's buffer (≈ 20 MB at 1,000,000 owned addresses), kept alive for as long as
 * nothing else is decoded; decoding one byte points it at that byte instead.
 */
function releaseDecoderSource(): void {
  unpackr.unpack(NIL);
}

/** Validate the 16-byte header and the CRC; the payload. */
function checkFrame(bytes: unknown): Uint8Array {
  if (!(bytes instanceof Uint8Array)) bad(`expected bytes, got ${describe(bytes)}`);
  if (bytes.length < HEADER_BYTES) bad(`truncated header (${bytes.length} bytes)`);
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) bad('bad magic (not a raft-ipam snapshot)');
  if (bytes[4] === 1) bad('format version 1 (written before client sessions) is not supported by this release; take the snapshot again with this release');
  if (bytes[4] !== VERSION) bad(`unsupported version ${bytes[4]}`);
  if (bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) bad('reserved header bytes are not zero');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(8);
  if (bytes.length !== HEADER_BYTES + length) bad(`payload length ${length} does not match ${bytes.length - HEADER_BYTES} bytes present (truncated or padded)`);
  const body = bytes.subarray(HEADER_BYTES);
  if (crc32(body) !== view.getUint32(12)) bad('checksum mismatch (corrupt payload)');
  return body;
}

const NOT_CANONICAL = 'not in canonical form (an integer not in its shortest encoding, or a value of the wrong msgpack type)';

/** Reads the payload one msgpack element at a time, holding the reader to the canonical encoding. */
class PayloadReader {
  private at = 0;

  constructor(private readonly body: Uint8Array) {}

  /** An array header in its shortest form; its element count. */
  arrayHeader(what: string): number {
    const b = this.body;
    const first = b[this.at];
    let n: number;
    if (first === undefined) bad(`truncated before ${what}`);
    if (first >= 0x90 && first <= 0x9f) n = first & 0x0f;
    else if (first === 0xdc && this.at + 3 <= b.length) n = ((b[this.at + 1] as number) << 8) | (b[this.at + 2] as number);
    else if (first === 0xdd && this.at + 5 <= b.length) n = new DataView(b.buffer, b.byteOffset + this.at + 1, 4).getUint32(0);
    else bad(`${what} must be an array`);
    const header = arrayHeader(n);
    if (!sameBytes(header, b.subarray(this.at, this.at + header.length))) bad(NOT_CANONICAL);
    this.at += header.length;
    return n;
  }

  /** A header that must announce exactly `n` elements (a tuple). */
  tuple(n: number, what: string): void {
    const got = this.arrayHeader(what);
    if (got !== n) bad(`${what} must be an array of ${n}, got ${got} elements`);
  }

  /** One whole element, decoded; its bytes are kept for canonical(). */
  value(what: string): unknown {
    const start = this.at;
    let value: unknown;
    let end = -1;
    try {
      unpackr.unpackMultiple(this.body.subarray(start), (v: unknown, _from?: number, to?: number) => {
        value = v;
        end = to ?? -1;
        return false; // one element; the rest is read by later calls
      });
    } catch (e) {
      bad(`${what} does not decode: ${(e as Error).message}`);
    }
    if (end < 0) bad(`truncated before ${what}`);
    this.last = this.body.subarray(start, start + end);
    this.at = start + end;
    return value;
  }

  /** The element just read must be exactly the canonical encoding of `rebuilt`. */
  canonical(rebuilt: unknown): void {
    if (!sameBytes(packr.pack(rebuilt), this.last)) bad(NOT_CANONICAL);
  }

  /**
   * The node element at the cursor through the fast path (snapshot-block-reader.ts), already known to be
   * canonical; undefined (cursor unmoved) when the general path must read it.
   */
  wireNode(): WireNode | undefined {
    const fast = readWireNode(this.body, this.at);
    if (fast === undefined) return undefined;
    this.at = fast.end;
    return fast.node;
  }

  get payloadBytes(): number {
    return this.body.length;
  }

  end(): void {
    if (this.at !== this.body.length) bad(`${this.body.length - this.at} bytes after the payload`);
  }

  private last: Uint8Array = new Uint8Array(0);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function tuple(v: unknown, n: number, what: string): unknown[] {
  if (!Array.isArray(v) || v.length !== n) bad(`${what} must be an array of ${n}, got ${describe(v)}`);
  return v;
}

function name(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_FIELD_LENGTH || !v.isWellFormed()) bad(`${what} must be a non-empty string, got ${describe(v)}`);
  return v;
}

/**
 * The decoder as a sequence of steps: each `yield` hands back the work just done (addresses or cached
 * results, at least 1), and the return value is the finished state. The layout is the one in this file's
 * header comment, read in order.
 */
function* readSnapshot(bytes: unknown): Generator<number, IpamState, void> {
  const r = new PayloadReader(checkFrame(bytes));
  yield 1;
  r.tuple(3, 'payload');
  const nextGeneration = r.value('nextGeneration');
  r.canonical(nextGeneration);
  if (typeof nextGeneration !== 'number' || !Number.isSafeInteger(nextGeneration) || nextGeneration < 1 || nextGeneration > MAX_GENERATION) {
    bad(`nextGeneration must be an integer in 1..${MAX_GENERATION}, got ${describe(nextGeneration)}`);
  }
  const networks = new Map<string, Network>();
  const generations = new GenerationClaims(nextGeneration, r.payloadBytes);
  const claim = (g: number): void => generations.claim(g);
  const checkOwner = (v: unknown): string => name(v, 'owner');
  const pairs = new Map<string, string>();
  let prevName: string | undefined;
  const networkCount = r.arrayHeader('networks');
  for (let n = 0; n < networkCount; n++) {
    r.tuple(5, 'network');
    const netName = name(r.value('network name'), 'network name');
    r.canonical(netName);
    if (prevName !== undefined && compare(prevName, netName) >= 0) bad(`networks out of order or repeated at ${describe(netName)}`);
    prevName = netName;
    const cidr = r.value('cidr');
    r.canonical(cidr);
    const slicePrefix = r.value('slice prefix');
    r.canonical(slicePrefix);
    if (typeof cidr !== 'string' || typeof slicePrefix !== 'number') bad(`network ${describe(netName)}: bad cidr or slice prefix`);
    const net = new Network(netName, cidr, slicePrefix);
    if (net.cidr() !== cidr) bad(`network ${describe(netName)}: cidr ${describe(cidr)} is not in canonical form`);
    const pair = r.value('pair');
    if (pair !== null) pairs.set(netName, name(pair, `network ${describe(netName)} pair`));
    r.canonical(pair);
    const nodeCount = r.arrayHeader(`network ${describe(netName)}: nodes`);
    let prevIndex: bigint | undefined;
    // Every block of the network is decoded before any is attached, so the owner index is sized once for
    // all their owners (Network.reserveOwners) rather than doubled and rehashed on the way up.
    const blocks: AllocationBlock[] = [];
    let ownerTotal = 0;
    for (let k = 0; k < nodeCount; k++) {
      const fast = r.wireNode();
      const [rawId, rawIndex, runs, gens, owners] = fast !== undefined ? [fast.nodeId, fast.index, fast.runs, fast.gens, fast.owners] : tuple(r.value('node'), 5, 'node');
      const nodeId = validateNodeId(rawId);
      const index = decodeOffset(rawIndex, `node ${describe(nodeId)} slice index`);
      if (index >= net.geometry.capacity()) bad(`node ${describe(nodeId)}: slice index ${index} outside ${net.cidr()}`);
      if (prevIndex !== undefined && index <= prevIndex) bad(`network ${describe(netName)}: nodes out of slice order at ${describe(nodeId)}`);
      prevIndex = index;
      const block = AllocationBlock.decode(net.geometry, nodeId, net.geometry.toIndex(index), { runs, gens, owners, checkOwner }, claim);
      if (fast === undefined) r.canonical(wireBlock(block)); // the fast path read only canonical bytes
      blocks.push(block);
      ownerTotal += block.ownerCount;
      yield block.size + 1;
    }
    net.reserveOwners(ownerTotal);
    for (const block of blocks) {
      net.attach(block); // refuses a node or slice held twice, an owner holding two addresses
      yield block.ownerCount + 1;
    }
    networks.set(netName, net);
  }
  r.tuple(4, 'sessions');
  // Scalars are held to their canonical spelling as read (a float 1.0 or a long integer form re-packs
  // differently); their ranges are checked by SessionTable.decoder.
  const head = ['logTime', 'session ttlMs', 'nextSessionId'].map((what) => {
    const v = r.value(what);
    r.canonical(v);
    return v;
  });
  const sessionCount = r.arrayHeader('sessions');
  const sessions = SessionTable.decoder(head[0], head[1], head[2], sessionCount);
  for (let k = 0; k < sessionCount; k++) {
    const s = sessions.add(r.value('session'));
    r.canonical(encodeSession(s.id, s.lastActive, s.ackFloor, s.results));
    yield s.results.size + 1;
  }
  r.end();
  const state: IpamState = { nextGeneration, networks, sessions: sessions.table };
  for (const [a, b] of pairs) {
    const net = state.networks.get(a) as Network;
    const partner = state.networks.get(b);
    if (!partner || pairs.get(b) !== a) bad(`network ${describe(a)} is paired with ${describe(b)}, which does not pair back`);
    if (partner.family === net.family) bad(`paired networks ${describe(a)} and ${describe(b)} have the same family`);
    net.pair = b;
  }
  return state;
}
