/**
 * Canonical snapshot bytes of the IPAM state, and their validating decoder.
 *
 * Layout: a 16-byte header, then a msgpack payload.
 *   0  "RIPM"            magic
 *   4  u8  version (1)
 *   5  u8  flags (0)     u16 reserved (0)
 *   8  u32 payload length (big-endian)
 *  12  u32 CRC-32 of the payload
 *  16  payload = [nextGeneration, networks]
 *      network = [name, cidr, slicePrefix, pair | null, nodes]          sorted by name
 *      node    = [nodeId, sliceIndex, runs, generationDeltas, owners]   sorted by slice index
 *      runs    = [start, length, start, length, …]   maximal runs of taken host offsets, ascending
 *      generationDeltas: the generation of each taken address in ascending order, delta-coded
 *      owners  = [position, owner, …]                 position into that ascending order
 * Integers above 2^53 − 1 (IPv6 offsets) are written as decimal strings.
 *
 * Canonical: every collection has one order and every number one spelling, so equal states give equal
 * bytes and the decoder refuses any other order. Decoding builds a fresh state and never touches the live
 * one, so a truncated, corrupt or inconsistent snapshot changes nothing.
 */
import { crc32 } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import { describe } from './address.js';
import { OverlayError } from './errors.js';
import type { Offset } from './host-range.js';
import { validateNodeId } from './node-slice-allocator.js';
import { compare, emptyState, newNetwork, newNodeSlice, type IpamState, type Network, type NodeSlice } from './state.js';
import { MAX_FIELD_LENGTH } from './commands.js';

const MAGIC = [0x52, 0x49, 0x50, 0x4d]; // "RIPM"
const VERSION = 1;
const HEADER_BYTES = 16;

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

type Wire = number | string;

function encodeOffset(o: Offset): Wire {
  return typeof o === 'number' || o <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(o) : o.toString();
}

export function encodeSnapshot(state: IpamState): Uint8Array {
  const networks = [...state.networks.values()].sort((a, b) => compare(a.name, b.name));
  const payload = [
    state.nextGeneration,
    networks.map((net) => [
      net.name,
      net.slices.clusterCidr(),
      net.slices.slicePrefix(),
      net.pair ?? null,
      [...net.nodes.values()].sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0)).map(encodeNode),
    ]),
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

function encodeNode(slice: NodeSlice): unknown[] {
  const runs: Wire[] = [];
  slice.alloc.range.set.forEachRun((start, length) => runs.push(encodeOffset(start), encodeOffset(length)));
  const gens: number[] = [];
  const owners: Array<number | string> = [];
  let prev = 0;
  let position = 0;
  for (const offset of slice.alloc.range.set.values()) {
    const g = slice.gens.get(offset) as number;
    gens.push(g - prev);
    prev = g;
    const owner = slice.owners.get(offset);
    if (owner !== undefined) owners.push(position, owner);
    position++;
  }
  return [slice.nodeId, encodeOffset(slice.index), runs, gens, owners];
}

// --- decoding ----------------------------------------------------------------------------------------

function bad(message: string): never {
  throw new OverlayError('InvalidSnapshot', `invalid snapshot: ${message}`);
}

export function decodeSnapshot(bytes: unknown): IpamState {
  if (!(bytes instanceof Uint8Array)) bad(`expected bytes, got ${describe(bytes)}`);
  if (bytes.length < HEADER_BYTES) bad(`truncated header (${bytes.length} bytes)`);
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) bad('bad magic (not a raft-ipam snapshot)');
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
  try {
    return buildState(payload);
  } catch (e) {
    if (e instanceof OverlayError && e.code !== 'InvalidSnapshot') bad(e.message);
    throw e;
  }
}

function tuple(v: unknown, n: number, what: string): unknown[] {
  if (!Array.isArray(v) || v.length !== n) bad(`${what} must be an array of ${n}, got ${describe(v)}`);
  return v;
}

function name(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_FIELD_LENGTH || !v.isWellFormed()) bad(`${what} must be a non-empty string, got ${describe(v)}`);
  return v;
}

function wireOffset(v: unknown, what: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^[1-9][0-9]{15,38}$/.test(v) && BigInt(v) > BigInt(Number.MAX_SAFE_INTEGER)) return BigInt(v);
  return bad(`${what} must be a non-negative integer, got ${describe(v)}`);
}

function buildState(payload: unknown): IpamState {
  const [nextGeneration, networks] = tuple(payload, 2, 'payload');
  if (typeof nextGeneration !== 'number' || !Number.isSafeInteger(nextGeneration) || nextGeneration < 1) bad(`nextGeneration must be a positive integer, got ${describe(nextGeneration)}`);
  if (!Array.isArray(networks)) bad('networks must be an array');
  const state = emptyState();
  state.nextGeneration = nextGeneration;
  const seenGenerations = new Set<number>();
  const pairs = new Map<string, string>();
  let prevName: string | undefined;
  for (const rawNet of networks) {
    const [rawName, cidr, slicePrefix, pair, nodes] = tuple(rawNet, 5, 'network');
    const netName = name(rawName, 'network name');
    if (prevName !== undefined && compare(prevName, netName) >= 0) bad(`networks out of order or repeated at ${describe(netName)}`);
    prevName = netName;
    if (typeof cidr !== 'string' || typeof slicePrefix !== 'number') bad(`network ${describe(netName)}: bad cidr or slice prefix`);
    const net = newNetwork(netName, cidr, slicePrefix);
    if (net.slices.clusterCidr() !== cidr) bad(`network ${describe(netName)}: cidr ${describe(cidr)} is not in canonical form`);
    if (pair !== null) pairs.set(netName, name(pair, `network ${describe(netName)} pair`));
    if (!Array.isArray(nodes)) bad(`network ${describe(netName)}: nodes must be an array`);
    let prevIndex: bigint | undefined;
    for (const rawNode of nodes) {
      const index = decodeNode(net, rawNode, nextGeneration, seenGenerations);
      if (prevIndex !== undefined && BigInt(index) <= prevIndex) bad(`network ${describe(netName)}: nodes out of slice order`);
      prevIndex = BigInt(index);
    }
    state.networks.set(netName, net);
  }
  for (const [a, b] of pairs) {
    const partner = state.networks.get(b);
    if (!partner || pairs.get(b) !== a) bad(`network ${describe(a)} is paired with ${describe(b)}, which does not pair back`);
    if (partner.family === (state.networks.get(a) as Network).family) bad(`paired networks ${describe(a)} and ${describe(b)} have the same family`);
    (state.networks.get(a) as Network).pair = b;
  }
  return state;
}

function decodeNode(net: Network, rawNode: unknown, nextGeneration: number, seenGenerations: Set<number>): Offset {
  const [rawId, rawIndex, runs, gens, owners] = tuple(rawNode, 5, 'node');
  const nodeId = validateNodeId(rawId);
  const index = wireOffset(rawIndex, `node ${describe(nodeId)} slice index`);
  if (index >= net.slices.capacity()) bad(`node ${describe(nodeId)}: slice index ${index} outside ${net.slices.clusterCidr()}`);
  const sliceIndex = net.slices.assignSpecificIndex(nodeId, net.slices.sliceAt(net.slices.indexBits > 48 ? index : Number(index))); // refuses a slice held twice
  const slice = newNodeSlice(net, nodeId, sliceIndex);
  net.nodes.set(nodeId, slice);
  const range = slice.alloc.range;

  if (!Array.isArray(runs) || runs.length % 2 !== 0) bad(`node ${describe(nodeId)}: runs must be an even-length array`);
  if (!Array.isArray(gens)) bad(`node ${describe(nodeId)}: generations must be an array`);
  // Count first, so a forged run length cannot make us loop: every address needs a generation entry.
  const parsed: Array<[bigint, bigint]> = [];
  let total = 0n;
  let prevEnd = -2n;
  const lo = BigInt(range.lo);
  const hi = BigInt(range.hi);
  for (let i = 0; i < runs.length; i += 2) {
    const start = wireOffset(runs[i], 'run start');
    const length = wireOffset(runs[i + 1], 'run length');
    if (length < 1n) bad(`node ${describe(nodeId)}: empty run`);
    if (start <= prevEnd + 1n) bad(`node ${describe(nodeId)}: runs overlap, touch or are out of order`);
    if (start < lo || start + length - 1n > hi) bad(`node ${describe(nodeId)}: run ${start}+${length} leaves the usable hosts of ${slice.alloc.cidr()}`);
    prevEnd = start + length - 1n;
    total += length;
    parsed.push([start, length]);
  }
  if (total !== BigInt(gens.length)) bad(`node ${describe(nodeId)}: ${total} addresses but ${gens.length} generations`);

  const byPosition: Offset[] = [];
  let g = 0;
  const takeNext = (offset: Offset): void => {
    const delta = gens[byPosition.length];
    if (typeof delta !== 'number' || !Number.isSafeInteger(delta)) bad(`node ${describe(nodeId)}: bad generation delta ${describe(delta)}`);
    g += delta;
    if (g < 1 || g >= nextGeneration) bad(`node ${describe(nodeId)}: generation ${g} outside 1..${nextGeneration - 1}`);
    if (seenGenerations.has(g)) bad(`generation ${g} appears twice`);
    seenGenerations.add(g);
    range.set.add(offset);
    slice.gens.set(offset, g);
    byPosition.push(offset);
  };
  for (const [start, length] of parsed) {
    if (typeof range.lo === 'number') {
      // Number offsets (IPv4, small IPv6 slices): keep BigInt out of the per-address loop.
      const s = Number(start);
      const end = s + Number(length);
      for (let o = s; o < end; o++) takeNext(o);
    } else {
      for (let k = 0n; k < length; k++) takeNext(start + k);
    }
  }

  if (!Array.isArray(owners) || owners.length % 2 !== 0) bad(`node ${describe(nodeId)}: owners must be an even-length array`);
  let prevPosition = -1;
  for (let i = 0; i < owners.length; i += 2) {
    const position = owners[i];
    const owner = name(owners[i + 1], 'owner');
    if (typeof position !== 'number' || !Number.isInteger(position) || position <= prevPosition || position >= byPosition.length) bad(`node ${describe(nodeId)}: bad owner position ${describe(position)}`);
    prevPosition = position;
    if (net.ownerIndex.has(owner)) bad(`owner ${describe(owner)} holds two addresses in network ${describe(net.name)}`);
    const offset = byPosition[position] as Offset;
    slice.owners.set(offset, owner);
    net.ownerIndex.set(owner, { nodeId, offset });
  }
  return sliceIndex;
}
