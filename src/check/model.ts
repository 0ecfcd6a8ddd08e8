/**
 * The IPAM sequential specification the linearizability search runs: a small persistent (copy-on-write)
 * state and a step function that says which states can follow a recorded operation.
 *
 * It is the IpamStateMachine's semantics, not a second idea of them: every command below mirrors the
 * state machine's method of the same name, check for check and in the same order (so a command with two
 * faults is refused with the same code), and it reuses the state machine's own pieces for everything that
 * is arithmetic rather than state — SliceGeometry (CIDR validation, FNV-1a home slot, slice ↔ index),
 * HostRange (usable offsets, address validation and formatting), validateNodeId, parseAddress.
 * test/check/model.property.test.ts runs random command streams through both and requires equal answers
 * and equal read views after every command.
 *
 * Why a second state at all: the search keeps the state before every step it takes, backtracks, and
 * compares states for its cache (Lowe's memoisation). The state machine's state is mutable and large;
 * here a step copies only the one block it changes and states share the rest, and a state's hash is kept
 * up to date as an XOR of its parts.
 *
 * Generations. The state machine hands out generations from ONE counter for all networks. A partition of
 * the history (one network, or one node's slice) does not see the allocations of the others, so it cannot
 * know the counter's value. The model therefore compares generations only in ways that hold in every
 * partition:
 * - a new allocation (`existing: false`) may carry any generation greater than every new allocation's
 *   before it in this linearization (`genFloor`): the counter only grows, so within any subset of the log
 *   generations increase;
 * - an address remembers the generation it was given; an owner's existing allocation, `mark` of a taken
 *   address, a listing and `release {generation}` are held to it;
 * - an allocation made by an `info` operation has an unknown generation (`null`) until an ok answer shows
 *   it; `release {generation}` of such an address may have succeeded or been StaleGeneration, so the step
 *   returns both states.
 * What no partition can see — one generation given to two addresses of different networks, generations
 * that contradict the real-time order across networks — is checked over the whole history
 * (direct-checks.ts generationIdentity, generation-order.ts).
 * GenerationsExhausted (after 2^53 − 2 allocations) is not modelled.
 */
import { describe, formatAddress, parseAddress } from '../ipam/address.js';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from '../api/schemas.js';
import { OverlayError, type ErrorCode } from '../ipam/errors.js';
import { HostRange, type Offset } from '../ipam/host-range.js';
import { validateNodeId } from '../ipam/node-slice-allocator.js';
import type { AllocationResult, CommandResult } from '../ipam/results.js';
import { SliceGeometry } from '../ipam/slice-geometry.js';
import { compare } from '../ipam/state.js';
import { isRead, type ReadQuery, type RecordedCommand, type Operation } from './operations.js';
import { emptyTrie, trieEntries, trieEqual, trieFirstAbsent, trieGet, trieSet, trieSize, type Trie } from './persistent-trie.js';
import { canonicalJson } from './values.js';
import { describeOutcome } from './describe.js';

/** A generation, or null: given by an operation whose answer nobody saw. */
export type Gen = number | null;

export interface ModelAlloc {
  readonly gen: Gen;
  readonly owner: string | undefined;
}

export interface ModelBlock {
  readonly nodeId: string;
  readonly index: Offset;
  readonly range: HostRange<Offset>;
  readonly cidr: string;
  /** offset → allocation. */
  readonly allocs: Trie<ModelAlloc>;
  readonly hash: number;
}

/** Owners whose names hash alike, with where each one's address in the network is. */
type OwnerBucket = ReadonlyArray<{ owner: string; nodeId: string; offset: Offset }>;

export interface ModelNetwork {
  readonly name: string;
  readonly geometry: SliceGeometry;
  readonly cidr: string;
  readonly slicePrefix: number;
  readonly pair: string | undefined;
  readonly blocks: ReadonlyMap<string, ModelBlock>;
  /** slice index → node id. */
  readonly byIndex: ReadonlyMap<Offset, string>;
  /** The owner index (Network.holding): derived from the blocks, so left out of equality and hash. */
  readonly owners: Trie<OwnerBucket>;
  /** XOR of the blocks' hashes. */
  readonly blocksHash: number;
  readonly hash: number;
}

export interface ModelState {
  readonly nets: ReadonlyMap<string, ModelNetwork>;
  /** The largest generation a new allocation got in this linearization (0: none yet). */
  readonly genFloor: number;
  readonly hash: number;
}

// --- hashing (FNV-1a 32 over UTF-16 units; collisions only cost an equality check) ---------------------

function hashText(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
const floorHash = (floor: number): number => hashText(`floor\0${floor}`);
const allocHash = (net: string, node: string, offset: Offset, a: ModelAlloc): number => hashText(`a\0${net}\0${node}\0${offset}\0${a.gen ?? '?'}\0${a.owner ?? ''}`);
const configHash = (name: string, cidr: string, prefix: number, pair: string | undefined): number => hashText(`n\0${name}\0${cidr}\0${prefix}\0${pair ?? ''}`);
const blockKeyHash = (net: string, node: string, index: Offset): number => hashText(`b\0${net}\0${node}\0${index}`);

export const EMPTY_STATE: ModelState = { nets: new Map(), genFloor: 0, hash: floorHash(0) };

// --- persistent updates ----------------------------------------------------------------------------------

const ranges = new WeakMap<SliceGeometry, Map<Offset, HostRange<Offset>>>();

function newBlock(net: ModelNetwork, nodeId: string, index: Offset): ModelBlock {
  let byIndex = ranges.get(net.geometry);
  if (byIndex === undefined) ranges.set(net.geometry, (byIndex = new Map()));
  let range = byIndex.get(index);
  if (range === undefined) byIndex.set(index, (range = HostRange.create(net.geometry.sliceCidr(index))));
  return { nodeId, index, range, cidr: net.geometry.sliceAt(index), allocs: emptyTrie(range.cidr.hostBits), hash: blockKeyHash(net.name, nodeId, index) };
}

const OWNER_KEY_BITS = 32;

function ownerAt(net: ModelNetwork, owner: string): { nodeId: string; offset: Offset } | undefined {
  return trieGet(net.owners, hashText(owner))?.find((o) => o.owner === owner);
}

/** The node holding `owner`'s address in `net`, if any. */
export function ownerNode(net: ModelNetwork, owner: string): string | undefined {
  return ownerAt(net, owner)?.nodeId;
}

function withOwner(owners: Trie<OwnerBucket>, owner: string, at: { nodeId: string; offset: Offset } | undefined): Trie<OwnerBucket> {
  const key = hashText(owner);
  const rest = (trieGet(owners, key) ?? []).filter((o) => o.owner !== owner);
  const bucket = at === undefined ? rest : [...rest, { owner, ...at }];
  return trieSet(owners, key, bucket.length > 0 ? bucket : undefined);
}

function makeNetwork(
  name: string,
  geometry: SliceGeometry,
  slicePrefix: number,
  pair: string | undefined,
  blocks: ReadonlyMap<string, ModelBlock>,
  byIndex: ReadonlyMap<Offset, string>,
  owners: Trie<OwnerBucket>,
  blocksHash: number,
): ModelNetwork {
  const cidr = geometry.clusterCidr();
  return { name, geometry, cidr, slicePrefix, pair, blocks, byIndex, owners, blocksHash, hash: (configHash(name, cidr, slicePrefix, pair) ^ blocksHash) >>> 0 };
}

/** The network with `nodeId`'s block replaced (or removed when `block` is undefined), owner index kept in step. */
function withBlock(net: ModelNetwork, nodeId: string, block: ModelBlock | undefined, owners: Trie<OwnerBucket> = net.owners): ModelNetwork {
  const blocks = new Map(net.blocks);
  let byIndex = net.byIndex;
  let blocksHash = net.blocksHash;
  const old = blocks.get(nodeId);
  if (old !== undefined) {
    blocksHash ^= old.hash;
    blocks.delete(nodeId);
  }
  if (block !== undefined) {
    blocksHash ^= block.hash;
    blocks.set(nodeId, block);
  }
  if (old?.index !== block?.index) {
    const copy = new Map(byIndex);
    if (old !== undefined) copy.delete(old.index);
    if (block !== undefined) copy.set(block.index, nodeId);
    byIndex = copy;
  }
  return makeNetwork(net.name, net.geometry, net.slicePrefix, net.pair, blocks, byIndex, owners, blocksHash >>> 0);
}

/** The network with `offset` of `block` set to `alloc`, or freed when `alloc` is undefined. */
function withAlloc(net: ModelNetwork, block: ModelBlock, offset: Offset, alloc: ModelAlloc | undefined): ModelNetwork {
  const old = trieGet(block.allocs, offset);
  let hash = block.hash;
  let owners = net.owners;
  if (old !== undefined) {
    hash ^= allocHash(net.name, block.nodeId, offset, old);
    if (old.owner !== undefined) owners = withOwner(owners, old.owner, undefined);
  }
  if (alloc !== undefined) {
    hash ^= allocHash(net.name, block.nodeId, offset, alloc);
    if (alloc.owner !== undefined) owners = withOwner(owners, alloc.owner, { nodeId: block.nodeId, offset });
  }
  const allocs = trieSet(block.allocs, offset, alloc, alloc === undefined ? 0 : allocHash(net.name, block.nodeId, offset, alloc));
  return withBlock(net, block.nodeId, { ...block, allocs, hash: hash >>> 0 }, owners);
}

/** The network without `nodeId`'s block and its owners. */
function withoutBlock(net: ModelNetwork, block: ModelBlock): ModelNetwork {
  let owners = net.owners;
  for (const [, a] of trieEntries(block.allocs)) if (a.owner !== undefined) owners = withOwner(owners, a.owner, undefined);
  return withBlock(net, block.nodeId, undefined, owners);
}

function withNetwork(state: ModelState, net: ModelNetwork): ModelState {
  const nets = new Map(state.nets);
  const old = nets.get(net.name);
  nets.set(net.name, net);
  return { nets, genFloor: state.genFloor, hash: (state.hash ^ (old?.hash ?? 0) ^ net.hash) >>> 0 };
}

function withFloor(state: ModelState, genFloor: number): ModelState {
  return genFloor === state.genFloor ? state : { nets: state.nets, genFloor, hash: (state.hash ^ floorHash(state.genFloor) ^ floorHash(genFloor)) >>> 0 };
}

/** `state` with one allocation of one network set or freed. */
function withAllocIn(state: ModelState, net: ModelNetwork, block: ModelBlock, offset: Offset, alloc: ModelAlloc | undefined): ModelState {
  const current = state.nets.get(net.name) as ModelNetwork;
  return withNetwork(state, withAlloc(current, current.blocks.get(block.nodeId) as ModelBlock, offset, alloc));
}

// --- equality (the search cache's exact check behind the hash) --------------------------------------------

export function statesEqual(a: ModelState, b: ModelState): boolean {
  if (a === b) return true;
  if (a.hash !== b.hash || a.genFloor !== b.genFloor || a.nets.size !== b.nets.size) return false;
  for (const [name, na] of a.nets) {
    const nb = b.nets.get(name);
    if (nb === undefined || !networksEqual(na, nb)) return false;
  }
  return true;
}

const sameAlloc = (x: ModelAlloc, y: ModelAlloc): boolean => x.gen === y.gen && x.owner === y.owner;

function networksEqual(a: ModelNetwork, b: ModelNetwork): boolean {
  if (a === b) return true;
  if (a.hash !== b.hash || a.cidr !== b.cidr || a.slicePrefix !== b.slicePrefix || a.pair !== b.pair || a.blocks.size !== b.blocks.size) return false;
  for (const [node, ba] of a.blocks) {
    const bb = b.blocks.get(node);
    if (bb === undefined) return false;
    if (ba === bb) continue;
    if (ba.index !== bb.index || !trieEqual(ba.allocs, bb.allocs, sameAlloc)) return false;
  }
  return true;
}

// --- commands ---------------------------------------------------------------------------------------------

type AllocationFields = Omit<AllocationResult, 'generation'>;

/** One way a command can go from a state. */
export type Branch =
  | { kind: 'refused'; code: ErrorCode; message: string }
  /** The answer is fully known. */
  | { kind: 'done'; value: CommandResult; next: ModelState }
  /** A new allocation: its generation is the counter's next value, which the partition cannot know. */
  | { kind: 'grant'; value: AllocationFields; next: (gen: Gen) => ModelState }
  /** An existing allocation handed back: its stored generation (null: not yet seen; `bind` records it). */
  | { kind: 'held'; value: AllocationFields; gen: Gen; bind: (gen: number) => ModelState };

/** Every way `command` can go from `state`: one branch, except a release {generation} of an address whose generation is unknown. */
export function execute(state: ModelState, command: RecordedCommand): Branch[] {
  try {
    return run(state, command);
  } catch (e) {
    if (e instanceof OverlayError) return [{ kind: 'refused', code: e.code, message: e.message }];
    throw e;
  }
}

function run(s: ModelState, c: RecordedCommand): Branch[] {
  switch (c.type) {
    case 'configureNetwork':
      return [configureNetwork(s, c.name, c.cidr, c.slicePrefix, c.pair)];
    case 'assignSlice':
      return [assignSlice(s, c.network, c.nodeId, undefined)];
    case 'assignSpecificSlice':
      return [assignSlice(s, c.network, c.nodeId, c.slice)];
    case 'releaseSlice':
      return [releaseSlice(s, c.network, c.nodeId)];
    case 'allocate':
      return [allocate(s, c.network, c.nodeId, c.owner, true)];
    case 'allocateFirst':
      return [allocate(s, c.network, c.nodeId, c.owner, false)];
    case 'allocateSpecific':
      return [allocateSpecific(s, c.network, c.nodeId, c.address, c.owner)];
    case 'mark':
      return [mark(s, c.network, c.nodeId, c.address)];
    case 'release':
      return release(s, c.network, c.address, c.generation);
    case 'releaseOwner':
      return [releaseOwner(s, c.owner, c.network)];
  }
}

function network(s: ModelState, name: string): ModelNetwork {
  const net = s.nets.get(name);
  if (!net) throw new OverlayError('UnknownNetwork', `no network named ${describe(name)}`);
  return net;
}

function nodeBlock(net: ModelNetwork, nodeId: string): ModelBlock {
  const block = net.blocks.get(nodeId);
  if (!block) throw new OverlayError('NodeHasNoSlice', `node ${describe(nodeId)} has no slice in network ${describe(net.name)}`);
  return block;
}

const byName = (): Record<string, string> => Object.create(null) as Record<string, string>;
const sortedNets = (s: ModelState): ModelNetwork[] => [...s.nets.values()].sort((a, b) => compare(a.name, b.name));
const inc = (o: Offset): Offset => (typeof o === 'bigint' ? o + 1n : o + 1);

function configureNetwork(s: ModelState, name: string, cidr: string, slicePrefix: number, pair: string | undefined): Branch {
  const geometry = new SliceGeometry(cidr, slicePrefix); // the state machine's Network constructor validates exactly this
  const existing = s.nets.get(name);
  if (existing) {
    const same = existing.cidr === geometry.clusterCidr() && existing.slicePrefix === slicePrefix && (pair === undefined || existing.pair === pair);
    if (!same) {
      throw new OverlayError('NetworkExists', `network ${describe(name)} already exists as ${existing.cidr} with /${existing.slicePrefix} slices${existing.pair ? ` paired with ${describe(existing.pair)}` : ''}`);
    }
    return { kind: 'done', value: { network: name, cidr: existing.cidr, slicePrefix, ...(existing.pair !== undefined ? { pair: existing.pair } : {}), created: false }, next: s };
  }
  let partner: ModelNetwork | undefined;
  if (pair !== undefined) {
    partner = network(s, pair);
    const family = geometry.cluster.family;
    if (partner.geometry.cluster.family === family) throw new OverlayError('InvalidCommand', `cannot pair IPv${family} network ${describe(name)} with IPv${family} network ${describe(pair)}: pairs are one IPv4 and one IPv6 network`);
    if (partner.pair !== undefined) throw new OverlayError('InvalidCommand', `network ${describe(pair)} is already paired with ${describe(partner.pair)}`);
  }
  let next = withNetwork(s, makeNetwork(name, geometry, slicePrefix, partner ? partner.name : undefined, new Map(), new Map(), emptyTrie(OWNER_KEY_BITS), 0));
  if (partner) next = withNetwork(next, makeNetwork(partner.name, partner.geometry, partner.slicePrefix, name, partner.blocks, partner.byIndex, partner.owners, partner.blocksHash));
  return { kind: 'done', value: { network: name, cidr: geometry.clusterCidr(), slicePrefix, ...(partner ? { pair: partner.name } : {}), created: true }, next };
}

/** The seed's placement (SliceTable.probe): the FNV-1a home slot, else the next free one, wrapping once. */
function probe(net: ModelNetwork, nodeId: string): Offset {
  const g = net.geometry;
  const last = g.lastIndex();
  for (const start of [g.homeIndex(nodeId), g.big ? 0n : 0]) {
    for (let i: Offset = start; i <= last; i = inc(i)) if (!net.byIndex.has(i)) return i;
  }
  throw new OverlayError('NoAvailableSlices', `all ${g.capacity()} /${g.prefix} slices of ${g.clusterCidr()} are assigned`);
}

/** SliceTable.checkFree: NodeHasSlice, then SliceTaken. */
function checkSliceFree(net: ModelNetwork, nodeId: string, index: Offset): void {
  const existing = net.blocks.get(nodeId);
  if (existing !== undefined) throw new OverlayError('NodeHasSlice', `node ${describe(nodeId)} already holds slice ${existing.cidr}`);
  const holder = net.byIndex.get(index);
  if (holder !== undefined) throw new OverlayError('SliceTaken', `slice ${net.geometry.sliceAt(index)} is already assigned to node ${describe(holder)}`);
}

function assignSlice(s: ModelState, networkName: string, nodeId: string, slice: string | undefined): Branch {
  const net = network(s, networkName);
  const targets = [net];
  if (net.pair !== undefined) targets.push(network(s, net.pair));
  validateNodeId(nodeId);
  let next = s;
  for (const target of targets) {
    const explicit = slice !== undefined && target === net ? target.geometry.indexOfSlice(slice) : undefined;
    const held = target.blocks.get(nodeId);
    if (held) {
      if (explicit !== undefined && held.index !== explicit) checkSliceFree(target, nodeId, explicit);
      continue;
    }
    const index = explicit ?? probe(target, nodeId);
    checkSliceFree(target, nodeId, index);
    next = withNetwork(next, withBlock(target, nodeId, newBlock(target, nodeId, index)));
  }
  const slices = byName();
  for (const target of [...targets].sort((a, b) => compare(a.name, b.name))) slices[target.name] = (next.nets.get(target.name)?.blocks.get(nodeId) as ModelBlock).cidr;
  return { kind: 'done', value: { slices }, next };
}

function releaseSlice(s: ModelState, networkName: string, nodeId: string): Branch {
  const net = network(s, networkName);
  const targets = (net.pair !== undefined ? [net, network(s, net.pair)] : [net]).sort((a, b) => compare(a.name, b.name));
  const released = byName();
  let addressesReleased = 0;
  let next = s;
  for (const target of targets) {
    const block = target.blocks.get(nodeId);
    if (!block) continue;
    addressesReleased += trieSize(block.allocs);
    released[target.name] = block.cidr;
    next = withNetwork(next, withoutBlock(target, block));
  }
  return { kind: 'done', value: { released, addressesReleased }, next };
}

function fields(net: ModelNetwork, block: ModelBlock, offset: Offset, owner: string | undefined, existing: boolean): AllocationFields {
  return { network: net.name, nodeId: block.nodeId, address: block.range.format(offset), ...(owner !== undefined ? { owner } : {}), existing };
}

function grant(s: ModelState, net: ModelNetwork, block: ModelBlock, offset: Offset, owner: string | undefined): Branch {
  return {
    kind: 'grant',
    value: fields(net, block, offset, owner, false),
    next: (gen) => withFloor(withAllocIn(s, net, block, offset, { gen, owner }), gen !== null ? Math.max(gen, s.genFloor) : s.genFloor),
  };
}

function held(s: ModelState, net: ModelNetwork, block: ModelBlock, offset: Offset): Branch {
  const alloc = trieGet(block.allocs, offset) as ModelAlloc;
  return {
    kind: 'held',
    value: fields(net, block, offset, alloc.owner, true),
    gen: alloc.gen,
    bind: (gen) => withAllocIn(s, net, block, offset, { gen, owner: alloc.owner }),
  };
}

/** The owner's address in this network if on this node; OwnerConflict if on another node. */
function ownerHolding(s: ModelState, net: ModelNetwork, owner: string, nodeId: string): Branch | undefined {
  const at = ownerAt(net, owner);
  if (at === undefined) return undefined;
  const block = net.blocks.get(at.nodeId) as ModelBlock;
  if (at.nodeId !== nodeId) {
    throw new OverlayError('OwnerConflict', `owner ${describe(owner)} already holds ${block.range.format(at.offset)} on node ${describe(at.nodeId)} in network ${describe(net.name)}`);
  }
  return held(s, net, block, at.offset);
}

function lowestFree(block: ModelBlock): Offset | undefined {
  return trieFirstAbsent(block.allocs, block.range.lo, block.range.hi) as Offset | undefined;
}

const taken = (block: ModelBlock, offset: Offset): boolean => trieGet(block.allocs, offset) !== undefined;

function allocate(s: ModelState, networkName: string, nodeId: string, owner: string | undefined, lowest: boolean): Branch {
  const net = network(s, networkName);
  const block = nodeBlock(net, nodeId);
  if (owner !== undefined) {
    const h = ownerHolding(s, net, owner, nodeId);
    if (h) return h;
  }
  const offset = lowest ? lowestFree(block) : block.range.first();
  if (offset === undefined) throw new OverlayError('NoAvailableIps', `no free address in slice ${block.cidr} of node ${describe(nodeId)}`);
  if (!lowest && taken(block, offset)) throw new OverlayError('IpAlreadyAllocated', `IP address ${block.range.format(offset)} is already allocated`);
  return grant(s, net, block, offset, owner);
}

function usableOffset(block: ModelBlock, address: string): Offset {
  return block.range.usableOffset(address, () => `slice ${block.cidr} of node ${describe(block.nodeId)}`);
}

function allocateSpecific(s: ModelState, networkName: string, nodeId: string, address: string, owner: string | undefined): Branch {
  const net = network(s, networkName);
  const block = nodeBlock(net, nodeId);
  const offset = usableOffset(block, address);
  if (owner !== undefined) {
    const h = ownerHolding(s, net, owner, nodeId);
    if (h) {
      if (h.kind === 'held' && h.value.address === block.range.format(offset)) return h;
      throw new OverlayError('OwnerConflict', `owner ${describe(owner)} already holds ${(h as { value: AllocationFields }).value.address} in network ${describe(networkName)}`);
    }
  }
  if (taken(block, offset)) throw new OverlayError('IpAlreadyAllocated', `IP address ${block.range.format(offset)} is already allocated`);
  return grant(s, net, block, offset, owner);
}

function mark(s: ModelState, networkName: string, nodeId: string, address: string): Branch {
  const net = network(s, networkName);
  const block = nodeBlock(net, nodeId);
  const offset = usableOffset(block, address);
  if (taken(block, offset)) return held(s, net, block, offset);
  return grant(s, net, block, offset, undefined);
}

/** The block and offset of an address value in an assigned slice of `net` (Network.locate). */
function locate(net: ModelNetwork, value: bigint): { block: ModelBlock; offset: Offset } | undefined {
  const index = net.geometry.indexOfAddress(value);
  if (index === undefined) return undefined;
  const node = net.byIndex.get(index);
  if (node === undefined) return undefined;
  const block = net.blocks.get(node) as ModelBlock;
  return { block, offset: block.range.offsetOf(value) };
}

function release(s: ModelState, networkName: string, address: string, generation: number | undefined): Branch[] {
  const net = network(s, networkName);
  const parsed = parseAddress(address);
  const family = net.geometry.cluster.family;
  if (parsed.family !== family) throw new OverlayError('AddressFamilyMismatch', `IPv${parsed.family} address ${describe(address)} cannot belong to IPv${family} network ${describe(net.name)}`);
  const text = formatAddress(parsed.family, parsed.value);
  const found = locate(net, parsed.value);
  const alloc = found ? trieGet(found.block.allocs, found.offset) : undefined;
  const stale = (): Branch => ({
    kind: 'refused',
    code: 'StaleGeneration',
    message: `release of ${text} carries generation ${generation}, but ${alloc === undefined ? 'the address is not allocated' : `the current allocation has generation ${alloc.gen ?? '(unknown)'}`}`,
  });
  if (found === undefined || alloc === undefined) return [generation !== undefined ? stale() : { kind: 'done', value: { released: false, address: text }, next: s }];
  const freed: Branch = { kind: 'done', value: { released: true, address: text }, next: withAllocIn(s, net, found.block, found.offset, undefined) };
  if (generation === undefined || alloc.gen === generation) return [freed];
  // An allocation whose generation nobody saw: the release matched it or it did not.
  return alloc.gen === null ? [freed, stale()] : [stale()];
}

function releaseOwner(s: ModelState, owner: string, networkName: string | undefined): Branch {
  const nets = networkName !== undefined ? [network(s, networkName)] : sortedNets(s);
  const released: Array<{ network: string; address: string }> = [];
  let next = s;
  for (const net of nets) {
    const at = ownerAt(net, owner);
    if (at === undefined) continue;
    const block = net.blocks.get(at.nodeId) as ModelBlock;
    released.push({ network: net.name, address: block.range.format(at.offset) });
    next = withAllocIn(next, net, block, at.offset, undefined);
  }
  return { kind: 'done', value: { released }, next };
}

// --- reads (src/api/routes/networks.ts, src/api/listing.ts) ---------------------------------------------

/** A listed allocation, with where it lives so an unknown generation the read reveals can be recorded. */
export interface ListedAllocation {
  network: string;
  nodeId: string;
  address: string;
  gen: Gen;
  owner: string | undefined;
  offset: Offset;
}

export type ReadAnswer =
  | { kind: 'refused'; code: ErrorCode; message: string }
  | { kind: 'view'; value: unknown }
  | { kind: 'allocations'; network: string; allocations: ListedAllocation[]; truncated: boolean; next?: string };

const sortedBlocks = (net: ModelNetwork): ModelBlock[] => [...net.blocks.values()].sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));

function listed(net: ModelNetwork, block: ModelBlock, offset: Offset): ListedAllocation {
  const a = trieGet(block.allocs, offset) as ModelAlloc;
  return { network: net.name, nodeId: block.nodeId, address: block.range.format(offset), gen: a.gen, owner: a.owner, offset };
}

export function query(s: ModelState, read: ReadQuery): ReadAnswer {
  try {
    switch (read.type) {
      case 'listNetworks':
        return { kind: 'view', value: sortedNets(s).map((n) => ({ name: n.name, cidr: n.cidr, slicePrefix: n.slicePrefix, ...(n.pair !== undefined ? { pair: n.pair } : {}) })) };
      case 'listSlices': {
        const net = network(s, read.network);
        return {
          kind: 'view',
          value: {
            network: read.network,
            slices: sortedBlocks(net).map((b) => {
              const total = b.range.total();
              return { nodeId: b.nodeId, slice: b.cidr, allocated: trieSize(b.allocs), total: String(total), available: String(total - BigInt(trieSize(b.allocs))) };
            }),
          },
        };
      }
      case 'listAllocations': {
        const net = network(s, read.network);
        const limit = Math.min(read.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
        const out: ListedAllocation[] = [];
        if (read.owner !== undefined) {
          const at = ownerAt(net, read.owner);
          if (at !== undefined && (read.node === undefined || at.nodeId === read.node)) out.push(listed(net, net.blocks.get(at.nodeId) as ModelBlock, at.offset));
        } else {
          const blocks = read.node !== undefined ? [net.blocks.get(read.node)].filter((b) => b !== undefined) : sortedBlocks(net);
          outer: for (const block of blocks) {
            for (const [offset] of trieEntries(block.allocs)) {
              if (out.length > limit) break outer;
              out.push(listed(net, block, offset as Offset));
            }
          }
        }
        const page = out.slice(0, limit);
        // A truncated answer names its last address, the cursor for the next page (src/api/listing.ts).
        const next = out.length > limit ? page[page.length - 1]?.address : undefined;
        return { kind: 'allocations', network: read.network, allocations: page, truncated: out.length > limit, ...(next !== undefined ? { next } : {}) };
      }
    }
  } catch (e) {
    if (e instanceof OverlayError) return { kind: 'refused', code: e.code, message: e.message };
    throw e;
  }
}

/** The AllocationView a listed allocation shows (generation null when the model does not know it). */
export function allocationView(a: ListedAllocation): { network: string; nodeId: string; address: string; generation: Gen; owner?: string } {
  return { network: a.network, nodeId: a.nodeId, address: a.address, generation: a.gen, ...(a.owner !== undefined ? { owner: a.owner } : {}) };
}

// --- the step the search takes -----------------------------------------------------------------------------

/** What the search holds an operation to: its ok value, its refusal code, or nothing (info). */
export type CheckedOutcome = { type: 'ok'; value: unknown } | { type: 'refused'; code: string } | { type: 'info' };

/** The states that can follow `op` with `outcome` from `state`; empty when it cannot take effect here. */
export function step(state: ModelState, op: Operation, outcome: CheckedOutcome): ModelState[] {
  if (isRead(op)) {
    if (outcome.type === 'info') return [state]; // a read changes nothing (info reads are dropped before the search)
    const answer = query(state, op);
    if (outcome.type === 'refused') return answer.kind === 'refused' && answer.code === outcome.code ? [state] : [];
    if (answer.kind === 'refused') return [];
    if (answer.kind === 'view') return canonicalJson(answer.value) === canonicalJson(outcome.value) ? [state] : [];
    const next = matchAllocations(state, answer, outcome.value);
    return next === undefined ? [] : [next];
  }
  const out: ModelState[] = [];
  for (const branch of execute(state, op)) {
    const next = follow(state, branch, outcome);
    if (next !== undefined && !out.includes(next)) out.push(next);
  }
  return out;
}

function follow(state: ModelState, b: Branch, outcome: CheckedOutcome): ModelState | undefined {
  switch (outcome.type) {
    case 'info':
      // Took effect with whatever answer this branch gives (never taking effect is the search placing it last).
      return b.kind === 'done' ? b.next : b.kind === 'grant' ? b.next(null) : state;
    case 'refused':
      return b.kind === 'refused' && b.code === outcome.code ? state : undefined;
    case 'ok': {
      if (b.kind === 'refused') return undefined;
      if (b.kind === 'done') return canonicalJson(b.value) === canonicalJson(outcome.value) ? b.next : undefined;
      const v = outcome.value as AllocationResult;
      if (!sameFields(b.value, v)) return undefined;
      if (b.kind === 'grant') return v.generation > state.genFloor ? b.next(v.generation) : undefined;
      if (b.gen === null) return b.bind(v.generation);
      return b.gen === v.generation ? state : undefined;
    }
  }
}

function sameFields(a: AllocationFields, v: AllocationResult): boolean {
  return a.network === v.network && a.nodeId === v.nodeId && a.address === v.address && a.owner === v.owner && a.existing === v.existing;
}

interface WireAllocation {
  network: string;
  nodeId: string;
  address: string;
  generation: number;
  owner?: string;
}

/** Compare a listing with the model's; generations the model does not know are taken from the listing. */
function matchAllocations(state: ModelState, answer: Extract<ReadAnswer, { kind: 'allocations' }>, value: unknown): ModelState | undefined {
  const v = value as { network: string; allocations: WireAllocation[]; truncated: boolean; next?: string };
  if (v.network !== answer.network || v.truncated !== answer.truncated || v.next !== answer.next || v.allocations.length !== answer.allocations.length) return undefined;
  let next = state;
  for (let i = 0; i < answer.allocations.length; i++) {
    const want = answer.allocations[i] as ListedAllocation;
    const got = v.allocations[i] as WireAllocation;
    if (got.network !== want.network || got.nodeId !== want.nodeId || got.address !== want.address || got.owner !== want.owner) return undefined;
    if (want.gen === null) {
      const net = next.nets.get(want.network) as ModelNetwork;
      next = withAllocIn(next, net, net.blocks.get(want.nodeId) as ModelBlock, want.offset, { gen: got.generation, owner: want.owner });
    } else if (want.gen !== got.generation) {
      return undefined;
    }
  }
  return next;
}

// --- what a step freed ---------------------------------------------------------------------------------

const allocationKey = (network: string, address: string, generation: number): string => `${network}\u0000${address}\u0000${generation}`;

/**
 * The allocations with a known generation that `op` freed going from `before` to `after`, as
 * `network \0 address \0 generation` keys. A generation names one allocation ever, so a freed one can
 * never be shown again: the search uses this to drop a step that would doom an answer still to come.
 */
export function freedBy(before: ModelState, after: ModelState, op: Operation): string[] {
  if (before === after) return [];
  const out: string[] = [];
  const gone = (net: ModelNetwork, block: ModelBlock, offset: Offset, a: ModelAlloc): void => {
    if (a.gen === null) return;
    const now = after.nets.get(net.name)?.blocks.get(block.nodeId);
    const still = now !== undefined && now.index === block.index ? trieGet(now.allocs, offset) : undefined;
    if (still?.gen !== a.gen) out.push(allocationKey(net.name, block.range.format(offset), a.gen));
  };
  switch (op.type) {
    case 'release': {
      const net = before.nets.get(op.network);
      if (net === undefined) return out;
      let value: bigint;
      try {
        value = parseAddress(op.address).value;
      } catch {
        return out;
      }
      const found = locate(net, value);
      const a = found ? trieGet(found.block.allocs, found.offset) : undefined;
      if (found && a) gone(net, found.block, found.offset, a);
      return out;
    }
    case 'releaseOwner':
      for (const net of before.nets.values()) {
        if (op.network !== undefined && net.name !== op.network) continue;
        const at = ownerAt(net, op.owner);
        if (at === undefined) continue;
        const block = net.blocks.get(at.nodeId) as ModelBlock;
        gone(net, block, at.offset, trieGet(block.allocs, at.offset) as ModelAlloc);
      }
      return out;
    case 'releaseSlice':
      for (const net of before.nets.values()) {
        const block = net.blocks.get(op.nodeId);
        if (block === undefined) continue;
        for (const [offset, a] of trieEntries(block.allocs)) gone(net, block, offset as Offset, a);
      }
      return out;
    default:
      return out;
  }
}

/** The address an allocating `op` took going from `before` to `after` (`network \0 address`), if it took one. */
export function takenBy(before: ModelState, after: ModelState, op: Operation): string | undefined {
  if (before === after || (op.type !== 'allocate' && op.type !== 'allocateFirst' && op.type !== 'allocateSpecific' && op.type !== 'mark')) return undefined;
  const was = before.nets.get(op.network)?.blocks.get(op.nodeId);
  const now = after.nets.get(op.network)?.blocks.get(op.nodeId);
  if (was === undefined || now === undefined || trieSize(now.allocs) !== trieSize(was.allocs) + 1) return undefined;
  for (const [offset] of trieEntries(now.allocs)) if (trieGet(was.allocs, offset) === undefined) return `${op.network}\u0000${now.range.format(offset as Offset)}`;
  return undefined;
}

/** The address a new allocation's ok answer took (`network \0 address`): it was free just before. */
export function newlyTaken(op: Operation, outcome: CheckedOutcome): string | undefined {
  if (outcome.type !== 'ok' || (op.type !== 'allocate' && op.type !== 'allocateFirst' && op.type !== 'allocateSpecific' && op.type !== 'mark')) return undefined;
  const v = outcome.value as AllocationResult;
  return v.existing ? undefined : `${v.network}\u0000${v.address}`;
}

/** The allocations an ok answer shows as present when it took effect (same keys as freedBy). */
export function shownAllocations(op: Operation, outcome: CheckedOutcome): string[] {
  if (outcome.type !== 'ok') return [];
  const v = outcome.value as { network?: string; address?: string; generation?: number; existing?: boolean; released?: boolean; allocations?: Array<{ network: string; address: string; generation: number }> };
  switch (op.type) {
    case 'listAllocations':
      return (v.allocations ?? []).map((a) => allocationKey(a.network, a.address, a.generation));
    case 'allocate':
    case 'allocateFirst':
    case 'allocateSpecific':
    case 'mark':
      // A new allocation creates what it shows; an existing one must still be there.
      return v.existing === true ? [allocationKey(v.network as string, v.address as string, v.generation as number)] : [];
    case 'release':
      return v.released === true && op.generation !== undefined ? [allocationKey(op.network, v.address as string, op.generation)] : [];
    default:
      return [];
  }
}

// --- explanations ------------------------------------------------------------------------------------------

/** What the model would answer to `op` in `state`, as the timeline writes answers: for failure reports. */
export function expectation(state: ModelState, op: Operation): string {
  const refused = (code: string, message: string): string => `fail ${code} (${message})`;
  if (isRead(op)) {
    const a = query(state, op);
    if (a.kind === 'refused') return refused(a.code, a.message);
    if (a.kind === 'view') return describeOutcome(op, { type: 'ok', value: a.value });
    const value = { network: a.network, allocations: a.allocations.map((x) => ({ ...allocationView(x), generation: x.gen ?? '?' })), truncated: a.truncated, ...(a.next !== undefined ? { next: a.next } : {}) };
    return describeOutcome(op, { type: 'ok', value });
  }
  return execute(state, op)
    .map((b) => {
      switch (b.kind) {
        case 'refused':
          return refused(b.code, b.message);
        case 'done':
          return describeOutcome(op, { type: 'ok', value: b.value });
        case 'grant':
          return `ok ${b.value.address} gen > ${state.genFloor}${b.value.owner !== undefined ? ` owner=${b.value.owner}` : ''} (new)`;
        case 'held':
          return `ok ${b.value.address} gen ${b.gen ?? '?'}${b.value.owner !== undefined ? ` owner=${b.value.owner}` : ''} (existing)`;
      }
    })
    .join(' or ');
}
