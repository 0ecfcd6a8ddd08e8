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
import { MAX_FIELD_LENGTH } from './commands.js';
import { OverlayError } from './errors.js';
import { Network } from './network.js';
import { validateNodeId } from './node-slice-allocator.js';
import { SessionTable } from './sessions.js';
import { decodeOffset, encodeOffset, invalidSnapshot as bad } from './snapshot-wire.js';
import { compare, emptyState, MAX_GENERATION, type IpamState } from './state.js';

const MAGIC = [0x52, 0x49, 0x50, 0x4d]; // "RIPM"
const VERSION = 2;
const HEADER_BYTES = 16;

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

export function encodeSnapshot(state: IpamState): Uint8Array {
  const networks = [...state.networks.values()].sort((a, b) => compare(a.name, b.name));
  const payload = [
    state.nextGeneration,
    networks.map((net) => [net.name, net.cidr(), net.slicePrefix(), net.pair ?? null, net.blocks().map((b) => [b.nodeId, encodeOffset(b.index), ...b.encode()])]),
    state.sessions.encode(),
  ];
  const body = packr.pack(payload);
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  const view = new DataView(out.buffer);
  view.setUint32(8, body.length);
  view.setUint32(12, crc32(body));
  out.set(body, HEADER_BYTES);
  return out;
}

// --- decoding ----------------------------------------------------------------------------------------

export function decodeSnapshot(bytes: unknown): IpamState {
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
  let payload: unknown;
  try {
    payload = unpackr.unpack(body);
  } catch (e) {
    bad(`payload does not decode: ${(e as Error).message}`);
  }
  let state: IpamState;
  try {
    state = buildState(payload);
  } catch (e) {
    // Live-rule refusals (a bad CIDR, a slice held twice, an owner twice) are snapshot defects here.
    if (e instanceof OverlayError && e.code !== 'InvalidSnapshot') bad(e.message);
    throw e;
  }
  if (!sameBytes(encodeSnapshot(state), bytes)) bad('not in canonical form (an integer not in its shortest encoding, or a value of the wrong msgpack type)');
  return state;
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

function buildState(payload: unknown): IpamState {
  const [nextGeneration, networks, sessions] = tuple(payload, 3, 'payload');
  if (typeof nextGeneration !== 'number' || !Number.isSafeInteger(nextGeneration) || nextGeneration < 1 || nextGeneration > MAX_GENERATION) {
    bad(`nextGeneration must be an integer in 1..${MAX_GENERATION}, got ${describe(nextGeneration)}`);
  }
  if (!Array.isArray(networks)) bad('networks must be an array');
  const state: IpamState = { ...emptyState(), sessions: SessionTable.decode(sessions) };
  state.nextGeneration = nextGeneration;
  const seenGenerations = new Set<number>();
  const claim = (g: number): void => {
    if (g < 1 || g >= nextGeneration) bad(`generation ${g} outside 1..${nextGeneration - 1}`);
    if (seenGenerations.has(g)) bad(`generation ${g} appears twice`);
    seenGenerations.add(g);
  };
  const checkOwner = (v: unknown): string => name(v, 'owner');
  const pairs = new Map<string, string>();
  let prevName: string | undefined;
  for (const rawNet of networks) {
    const [rawName, cidr, slicePrefix, pair, nodes] = tuple(rawNet, 5, 'network');
    const netName = name(rawName, 'network name');
    if (prevName !== undefined && compare(prevName, netName) >= 0) bad(`networks out of order or repeated at ${describe(netName)}`);
    prevName = netName;
    if (typeof cidr !== 'string' || typeof slicePrefix !== 'number') bad(`network ${describe(netName)}: bad cidr or slice prefix`);
    const net = new Network(netName, cidr, slicePrefix);
    if (net.cidr() !== cidr) bad(`network ${describe(netName)}: cidr ${describe(cidr)} is not in canonical form`);
    if (pair !== null) pairs.set(netName, name(pair, `network ${describe(netName)} pair`));
    if (!Array.isArray(nodes)) bad(`network ${describe(netName)}: nodes must be an array`);
    let prevIndex: bigint | undefined;
    for (const rawNode of nodes) {
      const [rawId, rawIndex, runs, gens, owners] = tuple(rawNode, 5, 'node');
      const nodeId = validateNodeId(rawId);
      const index = decodeOffset(rawIndex, `node ${describe(nodeId)} slice index`);
      if (index >= net.geometry.capacity()) bad(`node ${describe(nodeId)}: slice index ${index} outside ${net.cidr()}`);
      if (prevIndex !== undefined && index <= prevIndex) bad(`network ${describe(netName)}: nodes out of slice order at ${describe(nodeId)}`);
      prevIndex = index;
      const block = AllocationBlock.decode(net.geometry, nodeId, net.geometry.toIndex(index), { runs, gens, owners, checkOwner }, claim);
      net.attach(block); // refuses a node or slice held twice, an owner holding two addresses
    }
    state.networks.set(netName, net);
  }
  for (const [a, b] of pairs) {
    const net = state.networks.get(a) as Network;
    const partner = state.networks.get(b);
    if (!partner || pairs.get(b) !== a) bad(`network ${describe(a)} is paired with ${describe(b)}, which does not pair back`);
    if (partner.family === net.family) bad(`paired networks ${describe(a)} and ${describe(b)} have the same family`);
    net.pair = b;
  }
  return state;
}
