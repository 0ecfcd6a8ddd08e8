/**
 * Checks that need no search: each looks at the answers themselves and says plainly what is wrong. They
 * find the bugs an IPAM exists to prevent (an address or slice granted twice, an acknowledged allocation
 * gone) quickly and with a message a person can act on, on histories too large for the search, and
 * they look across networks, where the search's partitions cannot (generation identity).
 *
 * "Could have freed it" is always read generously (an info operation could have done anything it was
 * asked to, at any time after its invocation), so a violation here is a violation in every explanation.
 */
import { canonicalAddress, describe, formatCidr, parseCidr } from '../ipam/address.js';
import type { AllocationResult, OwnerReleased, SlicesAssigned, SlicesReleased } from '../ipam/results.js';
import { HistoryError } from './errors.js';
import type { HistoryOp } from './history.js';
import { grantedGeneration } from './prepare.js';

export type DirectCheck = 'exclusive-grant' | 'read-consistency' | 'generation-identity' | 'lost-write' | 'phantom' | 'convergence';

export interface Violation {
  check: DirectCheck;
  message: string;
  /** The operations that show it (empty for convergence). */
  opIds: number[];
}

// --- what the answers say ----------------------------------------------------------------------------

interface AddressGrant {
  op: HistoryOp;
  network: string;
  address: string;
  nodeId: string;
  owner: string | undefined;
  generation: number;
}

interface SliceGrant {
  op: HistoryOp;
  network: string;
  slice: string;
  nodeId: string;
}

const END = (h: HistoryOp): number => (h.outcome.type === 'info' ? Number.POSITIVE_INFINITY : h.complete);
const ok = (h: HistoryOp): unknown => (h.outcome.type === 'ok' ? h.outcome.value : undefined);

function canonical(address: string): string | undefined {
  try {
    return canonicalAddress(address);
  } catch {
    return undefined;
  }
}

function addressGrants(history: readonly HistoryOp[]): AddressGrant[] {
  const out: AddressGrant[] = [];
  for (const h of history) {
    const generation = grantedGeneration(h);
    if (generation === undefined) continue;
    const v = ok(h) as AllocationResult;
    out.push({ op: h, network: v.network, address: v.address, nodeId: v.nodeId, owner: v.owner, generation });
  }
  return out;
}

function sliceGrants(history: readonly HistoryOp[]): SliceGrant[] {
  const out: SliceGrant[] = [];
  for (const h of history) {
    if ((h.op.type !== 'assignSlice' && h.op.type !== 'assignSpecificSlice') || h.outcome.type !== 'ok') continue;
    for (const [network, slice] of Object.entries((h.outcome.value as SlicesAssigned).slices)) out.push({ op: h, network, slice, nodeId: h.op.nodeId });
  }
  return out;
}

/** Network → its pair, from every configureNetwork that named one (whatever its outcome). */
function pairsOf(history: readonly HistoryOp[]): Map<string, Set<string>> {
  const pairs = new Map<string, Set<string>>();
  const add = (a: string, b: string): void => void (pairs.get(a) ?? pairs.set(a, new Set()).get(a))?.add(b);
  for (const h of history) {
    if (h.op.type === 'configureNetwork' && h.op.pair !== undefined) {
      add(h.op.name, h.op.pair);
      add(h.op.pair, h.op.name);
    }
  }
  return pairs;
}

/**
 * The operations that could free an address or a slice, indexed so each grant looks only at its own:
 * releases by (network, canonical address), releaseOwner by owner, releaseSlice by node.
 */
class Freers {
  private readonly byAddress = new Map<string, HistoryOp[]>();
  private readonly byOwner = new Map<string, HistoryOp[]>();
  private readonly byNode = new Map<string, HistoryOp[]>();

  constructor(
    history: readonly HistoryOp[],
    private readonly pairs: Map<string, Set<string>>,
  ) {
    const add = (m: Map<string, HistoryOp[]>, k: string, h: HistoryOp): void => void (m.get(k) ?? m.set(k, []).get(k))?.push(h);
    for (const h of history) {
      if (h.outcome.type === 'fail') continue; // a definite refusal freed nothing
      const op = h.op;
      if (op.type === 'release') {
        const address = canonical(op.address);
        if (address !== undefined) add(this.byAddress, `${op.network}\u0000${address}`, h);
      } else if (op.type === 'releaseOwner') {
        add(this.byOwner, op.owner, h);
      } else if (op.type === 'releaseSlice') {
        add(this.byNode, op.nodeId, h);
      }
    }
  }

  private inNetwork(network: string, named: string): boolean {
    return named === network || this.pairs.get(network)?.has(named) === true;
  }

  /** The operations that could have freed `g`'s address: released it, its owner, or its node's slice. */
  ofAddress(g: AddressGrant): HistoryOp[] {
    const out: HistoryOp[] = [];
    for (const f of this.byAddress.get(`${g.network}\u0000${g.address}`) ?? []) {
      if (f.outcome.type === 'info' || (ok(f) as { released?: boolean }).released === true) out.push(f);
    }
    if (g.owner !== undefined) {
      for (const f of this.byOwner.get(g.owner) ?? []) {
        const op = f.op as { network?: string };
        if (op.network !== undefined && op.network !== g.network) continue;
        if (f.outcome.type === 'info' || (ok(f) as OwnerReleased).released.some((r) => r.network === g.network && r.address === g.address)) out.push(f);
      }
    }
    for (const f of this.byNode.get(g.nodeId) ?? []) {
      if (!this.inNetwork(g.network, (f.op as { network: string }).network)) continue;
      if (f.outcome.type === 'info' || (ok(f) as SlicesReleased).released[g.network] !== undefined) out.push(f);
    }
    return out;
  }

  /** The operations that could have removed slice grant `g`. */
  ofSlice(g: SliceGrant): HistoryOp[] {
    return (this.byNode.get(g.nodeId) ?? []).filter((f) => this.inNetwork(g.network, (f.op as { network: string }).network) && (f.outcome.type === 'info' || (ok(f) as SlicesReleased).released[g.network] === g.slice));
  }
}

/** Some freeing operation could lie between `first` (taking effect first) and `second`. */
function freedBetween(first: HistoryOp, second: HistoryOp, frees: readonly HistoryOp[]): boolean {
  return frees.some((f) => f.invoke < END(second) && END(f) > first.invoke);
}

/** `a` can take effect before `b`: b did not complete before a was invoked. */
const canPrecede = (a: HistoryOp, b: HistoryOp): boolean => !(END(b) < a.invoke);

/** Pairs of grants of one thing (same `key`) that nothing could have freed between; `sameHolder` pairs are not a conflict. */
function grantedTwice<G extends { op: HistoryOp }>(grants: readonly G[], key: (g: G) => string, sameHolder: (a: G, b: G) => boolean, frees: (g: G) => HistoryOp[], describeGrant: (g: G) => string): Violation[] {
  const byKey = new Map<string, G[]>();
  for (const g of grants) (byKey.get(key(g)) ?? byKey.set(key(g), []).get(key(g)))?.push(g);
  const out: Violation[] = [];
  const cache = new Map<G, HistoryOp[]>();
  const freesOf = (g: G): HistoryOp[] => cache.get(g) ?? (cache.set(g, frees(g)).get(g) as HistoryOp[]);
  for (const list of byKey.values()) {
    if (list.length < 2) continue;
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i] as G;
        const b = list[j] as G;
        if (sameHolder(a, b)) continue;
        const between = (x: G, y: G): boolean => canPrecede(x.op, y.op) && freedBetween(x.op, y.op, freesOf(x));
        if (between(a, b) || between(b, a)) continue;
        out.push({
          check: 'exclusive-grant',
          message: `${describeGrant(a)} (op ${a.op.id}) and ${describeGrant(b)} (op ${b.op.id}): nothing that could have freed it can fall between them`,
          opIds: [a.op.id, b.op.id],
        });
      }
    }
  }
  return out;
}

/**
 * No address or slice held twice: two acknowledged grants of one address (or one slice to two nodes)
 * with nothing that could have freed it between them, and no read listing an address, an owner, a slice
 * or a node twice.
 */
export function exclusiveHolding(history: readonly HistoryOp[]): Violation[] {
  const freers = new Freers(history, pairsOf(history));
  const out = grantedTwice(
    addressGrants(history),
    (g) => `${g.network}\u0000${g.address}`,
    // Every new allocation of an address is a grant of its own (an owner's existing one is not counted).
    () => false,
    (g) => freers.ofAddress(g),
    (g) => `${g.network}/${g.address} granted with generation ${g.generation}${g.owner !== undefined ? ` to owner ${g.owner}` : ''}`,
  );
  out.push(
    ...grantedTwice(
      sliceGrants(history),
      (g) => `${g.network}\u0000${g.slice}`,
      // assignSlice is idempotent: the same node told its slice again holds it once.
      (a, b) => a.nodeId === b.nodeId,
      (g) => freers.ofSlice(g),
      (g) => `slice ${g.network}/${g.slice} assigned to node ${g.nodeId}`,
    ),
  );
  for (const h of history) out.push(...readDuplicates(h));
  return out;
}

function readDuplicates(h: HistoryOp): Violation[] {
  const twice = (what: string, keys: string[]): Violation[] => {
    const seen = new Set<string>();
    for (const k of keys) {
      if (seen.has(k)) return [{ check: 'read-consistency', message: `op ${h.id} (${h.op.type}) lists ${what} ${describe(k)} twice`, opIds: [h.id] }];
      seen.add(k);
    }
    return [];
  };
  if (h.outcome.type !== 'ok') return [];
  if (h.op.type === 'listAllocations') {
    const list = (h.outcome.value as { allocations: Array<{ address: string; owner?: string }> }).allocations;
    return [...twice('address', list.map((a) => a.address)), ...twice('owner', list.flatMap((a) => (a.owner !== undefined ? [a.owner] : [])))];
  }
  if (h.op.type === 'listSlices') {
    const list = (h.outcome.value as { slices: Array<{ nodeId: string; slice: string }> }).slices;
    return [...twice('slice', list.map((s) => s.slice)), ...twice('node', list.map((s) => s.nodeId))];
  }
  return [];
}

/** One generation names one allocation: the counter never repeats, in any network. */
export function generationIdentity(history: readonly HistoryOp[]): Violation[] {
  const first = new Map<number, { where: string; op: number }>();
  const out: Violation[] = [];
  const see = (generation: number, network: string, address: string, op: number): void => {
    const where = `${network}/${address}`;
    const seen = first.get(generation);
    if (seen === undefined) first.set(generation, { where, op });
    else if (seen.where !== where) out.push({ check: 'generation-identity', message: `generation ${generation} names ${seen.where} (op ${seen.op}) and ${where} (op ${op})`, opIds: [seen.op, op] });
  };
  for (const h of history) {
    if (h.outcome.type !== 'ok') continue;
    const v = h.outcome.value;
    if (h.op.type === 'allocate' || h.op.type === 'allocateFirst' || h.op.type === 'allocateSpecific' || h.op.type === 'mark') {
      const r = v as AllocationResult;
      see(r.generation, r.network, r.address, h.id);
    } else if (h.op.type === 'listAllocations') {
      for (const a of (v as { allocations: Array<{ network: string; address: string; generation: number }> }).allocations) see(a.generation, a.network, a.address, h.id);
    }
  }
  return out;
}

// --- the final state ------------------------------------------------------------------------------------

/** What a linearizable read of every network returned after the run (healed, quiet). */
export interface FinalState {
  allocations: Array<{ network: string; nodeId: string; address: string; generation: number; owner?: string }>;
  /** Omit to skip the slice checks. */
  slices?: Array<{ network: string; nodeId: string; slice: string }>;
}

export function parseFinalState(input: unknown): FinalState {
  const bad = (why: string): never => {
    throw new HistoryError('InvalidInput', `final state: ${why}`);
  };
  if (typeof input !== 'object' || input === null) bad(`expected an object, got ${describe(input)}`);
  const r = input as Record<string, unknown>;
  const str = (v: unknown, what: string): string => (typeof v === 'string' && v.length > 0 ? v : bad(`${what} must be a non-empty string, got ${describe(v)}`));
  if (!Array.isArray(r.allocations)) bad('allocations must be an array');
  const allocations = (r.allocations as unknown[]).map((a, i) => {
    if (typeof a !== 'object' || a === null) return bad(`allocations[${i}] must be an object`);
    const x = a as Record<string, unknown>;
    const address = canonical(str(x.address, `allocations[${i}].address`)) ?? bad(`allocations[${i}].address is not an address: ${describe(x.address)}`);
    if (typeof x.generation !== 'number' || !Number.isSafeInteger(x.generation) || x.generation < 1) bad(`allocations[${i}].generation must be a positive integer`);
    return { network: str(x.network, `allocations[${i}].network`), nodeId: str(x.nodeId, `allocations[${i}].nodeId`), address, generation: x.generation as number, ...(x.owner !== undefined ? { owner: str(x.owner, `allocations[${i}].owner`) } : {}) };
  });
  if (r.slices === undefined) return { allocations };
  if (!Array.isArray(r.slices)) bad('slices must be an array');
  const slices = (r.slices as unknown[]).map((s, i) => {
    if (typeof s !== 'object' || s === null) return bad(`slices[${i}] must be an object`);
    const x = s as Record<string, unknown>;
    let slice: string;
    try {
      const c = parseCidr(str(x.slice, `slices[${i}].slice`));
      slice = formatCidr(c.family, c.network, c.prefix);
    } catch (e) {
      return bad(`slices[${i}].slice: ${(e as Error).message}`);
    }
    return { network: str(x.network, `slices[${i}].network`), nodeId: str(x.nodeId, `slices[${i}].nodeId`), slice };
  });
  return { allocations, slices };
}

/**
 * Every acknowledged grant is in the final state unless something that could free it came after it was
 * requested; and everything in the final state was granted by an acknowledged operation or could have
 * been by an info one (no phantoms).
 */
export function finalStateViolations(history: readonly HistoryOp[], final: FinalState): Violation[] {
  const pairs = pairsOf(history);
  const freers = new Freers(history, pairs);
  const out: Violation[] = [];
  const held = new Set(final.allocations.map((a) => `${a.network}\u0000${a.address}\u0000${a.generation}`));
  const grants = addressGrants(history);
  for (const g of grants) {
    if (held.has(`${g.network}\u0000${g.address}\u0000${g.generation}`)) continue;
    if (freers.ofAddress(g).some((f) => END(f) > g.op.invoke)) continue;
    out.push({ check: 'lost-write', message: `${g.network}/${g.address} (generation ${g.generation}, op ${g.op.id}) was acknowledged, nothing could have freed it, and the final state does not hold it`, opIds: [g.op.id] });
  }
  const granted = new Set(grants.map((g) => `${g.network}\u0000${g.address}\u0000${g.generation}`));
  const infoAllocations = history.filter((h) => h.outcome.type === 'info' && (h.op.type === 'allocate' || h.op.type === 'allocateFirst' || h.op.type === 'allocateSpecific' || h.op.type === 'mark'));
  for (const a of final.allocations) {
    if (granted.has(`${a.network}\u0000${a.address}\u0000${a.generation}`)) continue;
    const explained = infoAllocations.some((h) => {
      const op = h.op as { network: string; nodeId: string; address?: string };
      return op.network === a.network && op.nodeId === a.nodeId && (op.address === undefined || canonical(op.address) === a.address);
    });
    if (!explained) out.push({ check: 'phantom', message: `the final state holds ${a.network}/${a.address} (generation ${a.generation}, node ${a.nodeId}), which no acknowledged or unanswered operation allocated`, opIds: [] });
  }
  if (final.slices === undefined) return out;
  const assigned = new Set(final.slices.map((s) => `${s.network}\u0000${s.nodeId}\u0000${s.slice}`));
  const sliceGranted = sliceGrants(history);
  for (const g of sliceGranted) {
    if (assigned.has(`${g.network}\u0000${g.nodeId}\u0000${g.slice}`)) continue;
    if (freers.ofSlice(g).some((f) => END(f) > g.op.invoke)) continue;
    out.push({ check: 'lost-write', message: `slice ${g.network}/${g.slice} of node ${g.nodeId} (op ${g.op.id}) was acknowledged, no releaseSlice could have removed it, and the final state does not hold it`, opIds: [g.op.id] });
  }
  const sliceKeys = new Set(sliceGranted.map((g) => `${g.network}\u0000${g.nodeId}\u0000${g.slice}`));
  for (const s of final.slices) {
    if (sliceKeys.has(`${s.network}\u0000${s.nodeId}\u0000${s.slice}`)) continue;
    const explained = history.some((h) => h.outcome.type === 'info' && (h.op.type === 'assignSlice' || h.op.type === 'assignSpecificSlice') && h.op.nodeId === s.nodeId && (h.op.network === s.network || pairs.get(s.network)?.has(h.op.network)));
    if (!explained) out.push({ check: 'phantom', message: `the final state assigns slice ${s.network}/${s.slice} to node ${s.nodeId}, which no acknowledged or unanswered operation assigned`, opIds: [] });
  }
  return out;
}

// --- replicas -------------------------------------------------------------------------------------------

export interface NodeState {
  id: string;
  applied: number;
  stateHash: string;
}

export function parseNodeStates(input: unknown): NodeState[] {
  if (!Array.isArray(input) || input.length === 0) throw new HistoryError('InvalidInput', `node states must be a non-empty array, got ${describe(input)}`);
  const ids = new Set<string>();
  return input.map((n, i) => {
    const x = (typeof n === 'object' && n !== null ? n : {}) as Record<string, unknown>;
    if (typeof x.id !== 'string' || x.id.length === 0 || ids.has(x.id)) throw new HistoryError('InvalidInput', `node states[${i}].id must be a unique non-empty string, got ${describe(x.id)}`);
    if (typeof x.applied !== 'number' || !Number.isSafeInteger(x.applied) || x.applied < 0) throw new HistoryError('InvalidInput', `node ${x.id}: applied must be a non-negative integer, got ${describe(x.applied)}`);
    if (typeof x.stateHash !== 'string' || x.stateHash.length === 0) throw new HistoryError('InvalidInput', `node ${x.id}: stateHash must be a non-empty string, got ${describe(x.stateHash)}`);
    ids.add(x.id);
    return { id: x.id, applied: x.applied, stateHash: x.stateHash };
  });
}

/** After healing, every node has applied the same index and holds the same state. */
export function convergenceViolations(nodes: readonly NodeState[]): Violation[] {
  const groups = new Map<string, string[]>();
  for (const n of nodes) {
    const key = `applied ${n.applied}, state ${n.stateHash.slice(0, 16)}`;
    (groups.get(key) ?? groups.set(key, []).get(key))?.push(n.id);
  }
  if (groups.size <= 1) return [];
  const parts = [...groups].map(([key, ids]) => `${ids.sort().join(',')}: ${key}`);
  return [{ check: 'convergence', message: `the nodes did not converge: ${parts.join('; ')}`, opIds: [] }];
}
