/**
 * Cutting a history into parts that are checked one at a time. A history of independent objects is
 * linearizable exactly when each object's sub-history is (Herlihy & Wing's locality; Horn & Kroening,
 * "Faster linearizability checking via P-compositionality", 2015): the search of each part is small, and
 * the parts' orders merge with real time into one order. Every rule below only ever splits operations that
 * read and write disjoint parts of the state; when in doubt it merges, which is always sound.
 *
 * 1. Network groups (groupByNetwork). The IPAM state is a map of networks; every command and read names
 *    the networks it touches, except:
 *    - configureNetwork {pair}, and assignSlice/releaseSlice on a paired network, touch both networks of
 *      the pair: networks named together in a configureNetwork are merged (whatever its outcome: an info
 *      one may have paired them);
 *    - releaseOwner without a network touches every network where the owner could hold an address: the
 *      networks where the owner appears in any operation or answer of the history (a history holds every
 *      operation since the cluster was empty, so an owner holds nothing where it never appears);
 *    - listNetworks reads them all: it merges every network of the history.
 *    What the groups still share is the generation counter (model.ts, generation-order.ts).
 *
 * 2. Nodes within a group (findCut + splitByNode). A node's slice is its own: allocate, allocateFirst,
 *    allocateSpecific, mark, and a listing with ?node= read and write only that node's block — as long
 *    as the slice table does not change, since slice placement (FNV-1a home slot + linear probing) and the
 *    block an address `release` lands in both depend on which slices the other nodes hold. So the split
 *    needs a point in time (the cut) that every operation of the group is entirely before or entirely
 *    after, with every slice-table change (configureNetwork, assignSlice, assignSpecificSlice,
 *    releaseSlice) and every whole-network read (listNetworks, listSlices, a listing with neither ?node=
 *    nor ?owner=) before it, and no `info` operation before it (it could take effect after the cut). The
 *    part before the cut is searched for all its end states; when there is exactly one, every part after
 *    the cut starts from it, and the operations after the cut are split by node:
 *    - an owner ties together every node it allocates on or holds an address on (OwnerConflict, an
 *      owner's existing allocation, releaseOwner, a listing with ?owner= all look across the network's
 *      nodes for the owner): nodes and owners are merged into components;
 *    - `release` goes to the node whose slice holds the address (fixed after the cut); an address in no
 *      slice, or not an address of the network, can change nothing and goes to a part of its own.
 */
import { parseAddress } from '../ipam/address.js';
import type { AllocationResult, OwnerReleased } from '../ipam/results.js';
import { ownerNode, type ModelState } from './model.js';
import type { Operation } from './operations.js';
import type { CheckedOp } from './prepare.js';

class UnionFind {
  private readonly parent = new Map<string, string>();

  find(x: string): string {
    let root = x;
    for (let p = this.parent.get(root); p !== undefined && p !== root; p = this.parent.get(root)) root = p;
    if (!this.parent.has(x)) this.parent.set(x, x);
    for (let y = x; y !== root; ) {
      const next = this.parent.get(y) as string;
      this.parent.set(y, root);
      y = next;
    }
    return root;
  }

  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }

  elements(): string[] {
    return [...this.parent.keys()];
  }
}

export interface Part {
  /** Readable name: the networks, and the nodes or owners for a node part. */
  readonly key: string;
  readonly ops: CheckedOp[];
}

/** The network a command or read names directly (undefined for listNetworks and a network-less releaseOwner). */
function namedNetwork(op: Operation): string | undefined {
  switch (op.type) {
    case 'configureNetwork':
      return op.name;
    case 'releaseOwner':
      return op.network;
    case 'listNetworks':
      return undefined;
    default:
      return op.network;
  }
}

/** The owner an operation or its answer shows in which networks. */
function ownerSightings(c: CheckedOp, add: (owner: string, network: string) => void): void {
  const op = c.op;
  if ((op.type === 'allocate' || op.type === 'allocateFirst' || op.type === 'allocateSpecific') && op.owner !== undefined) add(op.owner, op.network);
  if (op.type === 'releaseOwner' && op.network !== undefined) add(op.owner, op.network);
  if (op.type === 'listAllocations' && op.owner !== undefined) add(op.owner, op.network);
  if (c.outcome.type !== 'ok') return;
  const v = c.outcome.value;
  if (op.type === 'allocate' || op.type === 'allocateFirst' || op.type === 'allocateSpecific' || op.type === 'mark') {
    const r = v as AllocationResult;
    if (r.owner !== undefined) add(r.owner, r.network);
  }
  if (op.type === 'releaseOwner') for (const r of (v as OwnerReleased).released) add(op.owner, r.network);
  if (op.type === 'listAllocations') for (const a of (v as { allocations: Array<{ owner?: string; network: string }> }).allocations) if (a.owner !== undefined) add(a.owner, a.network);
}

/** Every network an answer names (so a network only an answer mentions still joins a group). */
function answerNetworks(c: CheckedOp): string[] {
  if (c.outcome.type !== 'ok') return [];
  const v = c.outcome.value;
  switch (c.op.type) {
    case 'listNetworks':
      return (v as Array<{ name: string; pair?: string }>).flatMap((n) => (n.pair !== undefined ? [n.name, n.pair] : [n.name]));
    case 'releaseOwner':
      return (v as OwnerReleased).released.map((r) => r.network);
    case 'configureNetwork':
      return (v as { pair?: string }).pair !== undefined ? [(v as { pair: string }).pair] : [];
    case 'assignSlice':
    case 'assignSpecificSlice':
      return Object.keys((v as { slices: Record<string, string> }).slices);
    case 'releaseSlice':
      return Object.keys((v as { released: Record<string, string> }).released);
    default:
      return [];
  }
}

/** Level 1: one part per group of networks that some operation ties together. */
export function groupByNetwork(ops: readonly CheckedOp[]): Part[] {
  const uf = new UnionFind();
  const net = (name: string): string => `net:${name}`;
  const all = new Set<string>();
  const owners = new Map<string, Set<string>>();
  for (const c of ops) {
    const named = namedNetwork(c.op);
    if (named !== undefined) all.add(named);
    for (const n of answerNetworks(c)) all.add(n);
    ownerSightings(c, (owner, network) => {
      all.add(network);
      (owners.get(owner) ?? owners.set(owner, new Set()).get(owner))?.add(network);
    });
  }
  for (const n of all) uf.find(net(n));
  const networksOf = (c: CheckedOp): string[] => {
    const op = c.op;
    if (op.type === 'listNetworks') return [...all];
    const named = namedNetwork(op);
    const out = named !== undefined ? [named] : [];
    if (op.type === 'configureNetwork' && op.pair !== undefined) out.push(op.pair);
    if (op.type === 'releaseOwner' && op.network === undefined) out.push(...(owners.get(op.owner) ?? []));
    out.push(...answerNetworks(c));
    return out;
  };
  for (const c of ops) {
    const nets = networksOf(c);
    for (let i = 1; i < nets.length; i++) uf.union(net(nets[0] as string), net(nets[i] as string));
  }
  const parts = new Map<string, CheckedOp[]>();
  for (const c of ops) {
    const nets = networksOf(c);
    // No network at all: a releaseOwner of an owner seen nowhere, a listNetworks of an empty history.
    const key = nets.length > 0 ? uf.find(net(nets[0] as string)) : '';
    (parts.get(key) ?? parts.set(key, []).get(key))?.push(c);
  }
  const members = new Map<string, string[]>();
  for (const e of uf.elements()) {
    const root = uf.find(e);
    (members.get(root) ?? members.set(root, []).get(root))?.push(e.slice('net:'.length));
  }
  return [...parts].map(([root, list]) => ({ key: root === '' ? '(no network)' : (members.get(root) ?? []).sort().join('+'), ops: list }));
}

/** Operations that read or change a whole network (the slice table, or every node): they must precede a cut. */
export function isGroupWide(op: Operation): boolean {
  switch (op.type) {
    case 'configureNetwork':
    case 'assignSlice':
    case 'assignSpecificSlice':
    case 'releaseSlice':
    case 'listNetworks':
    case 'listSlices':
      return true;
    case 'listAllocations':
      return op.node === undefined && op.owner === undefined;
    default:
      return false;
  }
}

/**
 * The earliest cut after every group-wide operation: `before` all complete before any of `after` is
 * invoked (strictly). Undefined when there is none worth making (an info operation would straddle it, or
 * nothing follows it).
 */
export function findCut(ops: readonly CheckedOp[]): { before: CheckedOp[]; after: CheckedOp[] } | undefined {
  let cut = Number.NEGATIVE_INFINITY;
  for (const c of ops) if (isGroupWide(c.op)) cut = Math.max(cut, c.complete);
  if (cut === Number.POSITIVE_INFINITY) return undefined;
  for (;;) {
    let latest = cut;
    for (const c of ops) if (c.invoke <= cut) latest = Math.max(latest, c.complete);
    if (latest === Number.POSITIVE_INFINITY) return undefined;
    if (latest === cut) break;
    cut = latest;
  }
  const before = ops.filter((c) => c.invoke <= cut);
  const after = ops.filter((c) => c.invoke > cut);
  return after.length === 0 ? undefined : { before, after };
}

/** The node whose slice holds `address` in `network` of `state`, if any. */
function holderOf(state: ModelState, network: string, address: string): string | undefined {
  const net = state.nets.get(network);
  if (net === undefined) return undefined;
  let value: bigint;
  try {
    const parsed = parseAddress(address);
    if (parsed.family !== net.geometry.cluster.family) return undefined;
    value = parsed.value;
  } catch {
    return undefined;
  }
  const index = net.geometry.indexOfAddress(value);
  return index === undefined ? undefined : net.byIndex.get(index);
}

/**
 * Level 2: the operations after a cut, by node component, each to be searched from `state` (the one end
 * state of the part before the cut). Every operation must be node-local (not isGroupWide).
 */
export function splitByNode(groupKey: string, after: readonly CheckedOp[], state: ModelState): Part[] {
  const uf = new UnionFind();
  const UNROUTED = 'unrouted';
  const elementsOf = (c: CheckedOp): string[] => {
    const op = c.op;
    switch (op.type) {
      case 'allocate':
      case 'allocateFirst':
      case 'allocateSpecific':
        return op.owner !== undefined ? [`node:${op.nodeId}`, `owner:${op.owner}`] : [`node:${op.nodeId}`];
      case 'mark':
        return [`node:${op.nodeId}`];
      case 'release': {
        const holder = holderOf(state, op.network, op.address);
        return holder !== undefined ? [`node:${holder}`] : [UNROUTED];
      }
      case 'releaseOwner':
        return [`owner:${op.owner}`];
      case 'listAllocations': {
        const out: string[] = [];
        if (op.node !== undefined) out.push(`node:${op.node}`);
        if (op.owner !== undefined) out.push(`owner:${op.owner}`);
        return out;
      }
      default:
        throw new Error(`splitByNode: ${op.type} is not node-local`);
    }
  };
  const owners = new Set<string>();
  for (const c of after) {
    const elements = elementsOf(c);
    for (const e of elements) {
      uf.find(e);
      if (e.startsWith('owner:')) owners.add(e.slice('owner:'.length));
    }
    for (let i = 1; i < elements.length; i++) uf.union(elements[0] as string, elements[i] as string);
  }
  // An owner already holding an address at the cut ties its node in as well.
  for (const net of state.nets.values()) {
    for (const owner of owners) {
      const node = ownerNode(net, owner);
      if (node !== undefined) uf.union(`owner:${owner}`, `node:${node}`);
    }
  }
  const parts = new Map<string, CheckedOp[]>();
  for (const c of after) {
    const root = uf.find((elementsOf(c)[0] as string));
    (parts.get(root) ?? parts.set(root, []).get(root))?.push(c);
  }
  const members = new Map<string, string[]>();
  for (const e of uf.elements()) {
    const root = uf.find(e);
    (members.get(root) ?? members.set(root, []).get(root))?.push(e);
  }
  return [...parts].map(([root, ops]) => {
    const names = members.get(root) ?? [];
    const nodes = names.filter((n) => n.startsWith('node:')).map((n) => n.slice(5));
    const label = nodes.length > 0 ? `nodes ${nodes.sort().join(',')}` : names.includes(UNROUTED) ? 'addresses in no slice' : `owners ${names.map((n) => n.slice(6)).sort().join(',')}`;
    return { key: `${groupKey} / ${label}`, ops };
  });
}
