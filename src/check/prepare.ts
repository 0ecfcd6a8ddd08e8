/**
 * From the recorded history to what the search checks: each operation with the outcome it is held to and
 * the interval it must take effect in.
 * - ok: the value; fail with a state-machine refusal: the refusal code (outcomes.ts); info: nothing, and
 *   no end (+∞).
 * - dropped: fails that mean "not applied" (never happened), and info reads (they constrain nothing).
 * - info allocations whose answer the rest of the history reveals are checked as answered (revealInfo);
 * - an info release {generation} cannot take effect before an answer that still saw that allocation
 *   (infoReleaseNotBefore), and an info allocation nobody ever saw cannot take effect before a complete
 *   listing of its node that does not show it (unseenAllocationNotBefore);
 * - intervals narrowed by the generation counter (generation-order.ts).
 */
import { canonicalAddress } from '../ipam/address.js';
import type { AllocationResult } from '../ipam/results.js';
import { narrowByGeneration, type GenerationConflict, type GrantTiming } from './generation-order.js';
import type { HistoryOp, ProcessId } from './history.js';
import type { CheckedOutcome } from './model.js';
import { isRead, type Operation } from './operations.js';
import { failureKind } from './outcomes.js';

export interface CheckedOp {
  readonly id: number;
  readonly process: ProcessId;
  readonly op: Operation;
  readonly outcome: CheckedOutcome;
  /** The earliest time it can have taken effect. */
  readonly invoke: number;
  /** The latest; +∞ for info. */
  readonly complete: number;
}

export interface Prepared {
  readonly ops: CheckedOp[];
  /** Info operations checked as answered, with the answer the history reveals (revealInfo). */
  readonly revealed: ReadonlyMap<number, AllocationResult>;
  /** Info allocations that, if they took effect, nothing in the history could free (unseenAllocationNotBefore). */
  readonly permanent: ReadonlySet<number>;
  readonly dropped: ReadonlyArray<{ id: number; why: string }>;
  readonly conflicts: GenerationConflict[];
}

const ALLOCATING: ReadonlySet<string> = new Set(['allocate', 'allocateFirst', 'allocateSpecific', 'mark']);

/** The generation a new allocation got, when `h` is one (ok, existing: false). */
export function grantedGeneration(h: HistoryOp): number | undefined {
  if (h.outcome.type !== 'ok' || !ALLOCATING.has(h.op.type)) return undefined;
  const v = h.outcome.value as AllocationResult;
  return v.existing ? undefined : v.generation;
}

const key = (network: string, owner: string): string => `${network}\u0000${owner}`;

/**
 * Timed-out allocations whose answer the history shows anyway. An allocation that carries an owner can
 * only have been made by a command carrying that owner in that network (mark never sets one). So when an
 * ok read, or an ok answer `existing: true` (a retry), shows owner o holding address a with generation g
 * in network N, and no acknowledged new allocation was (N, a, g), then one of the info commands
 * allocating for o in N made it — and if there is exactly one such command, its answer was
 * {a, g, existing: false} on the node the read names. It is then checked like an acknowledged one: held
 * to that answer, and placed in generation order (its +∞ completion becomes the earliest completion of a
 * higher generation). This relies on the history holding every operation (history.ts); without it, the
 * search would have to guess which of several concurrent timeouts took which address and learn it was
 * wrong only at the next read.
 */
export function revealInfo(history: readonly HistoryOp[]): Map<number, AllocationResult> {
  const fresh = new Set<string>();
  const creators = new Map<string, HistoryOp[]>();
  for (const h of history) {
    const op = h.op as { type: string; network?: string; owner?: string };
    if (!ALLOCATING.has(op.type) || op.owner === undefined || op.network === undefined) continue;
    if (h.outcome.type === 'info') (creators.get(key(op.network, op.owner)) ?? creators.set(key(op.network, op.owner), []).get(key(op.network, op.owner)))?.push(h);
    const generation = grantedGeneration(h);
    if (generation !== undefined) {
      const v = (h.outcome as { value: AllocationResult }).value;
      fresh.add(`${v.network}\u0000${v.address}\u0000${v.generation}`);
    }
  }
  const revealed = new Map<number, AllocationResult>();
  const ambiguous = new Set<number>();
  const see = (a: { network: string; nodeId: string; address: string; generation: number; owner?: string }): void => {
    if (a.owner === undefined || fresh.has(`${a.network}\u0000${a.address}\u0000${a.generation}`)) return;
    const candidates = creators.get(key(a.network, a.owner));
    if (candidates?.length !== 1) return;
    const creator = candidates[0] as HistoryOp;
    const op = creator.op as { nodeId: string; address?: string };
    if (op.nodeId !== a.nodeId || (op.address !== undefined && canonical(op.address) !== a.address)) return; // leave it to the search to find what is wrong
    const value: AllocationResult = { network: a.network, nodeId: a.nodeId, address: a.address, generation: a.generation, owner: a.owner, existing: false };
    const before = revealed.get(creator.id);
    if (before !== undefined && (before.address !== value.address || before.generation !== value.generation)) ambiguous.add(creator.id);
    revealed.set(creator.id, value);
  };
  for (const h of history) {
    if (h.outcome.type !== 'ok') continue;
    if (h.op.type === 'listAllocations') for (const a of (h.outcome.value as { allocations: Array<{ network: string; nodeId: string; address: string; generation: number; owner?: string }> }).allocations) see(a);
    else if (ALLOCATING.has(h.op.type) && (h.outcome.value as AllocationResult).existing) see(h.outcome.value as AllocationResult);
  }
  for (const id of ambiguous) revealed.delete(id);
  return revealed;
}

/**
 * The earliest point each info `release {network, address, generation}` can take effect at. A generation
 * names one allocation, ever (the counter never repeats), so once that release freed (address, g) no
 * answer can show (address, g) again: every ok answer that shows it — a listing, an allocation answer,
 * another release of it that succeeded — took effect before, hence was invoked before, the release's
 * effect. (A release that instead found the allocation gone changed nothing, and a no-op timeout can be
 * placed last; search.ts.) Without this, a timed-out release that never happened stays a candidate at
 * every step of the rest of the history.
 */
export function infoReleaseNotBefore(history: readonly HistoryOp[]): Map<number, number> {
  const lastSeen = new Map<string, number>();
  const saw = (network: string, address: string, generation: number, at: number): void => {
    const k = `${network}\u0000${address}\u0000${generation}`;
    lastSeen.set(k, Math.max(lastSeen.get(k) ?? Number.NEGATIVE_INFINITY, at));
  };
  for (const h of history) {
    if (h.outcome.type !== 'ok') continue;
    const v = h.outcome.value;
    if (h.op.type === 'listAllocations') for (const a of (v as { allocations: Array<{ network: string; address: string; generation: number }> }).allocations) saw(a.network, a.address, a.generation, h.invoke);
    else if (ALLOCATING.has(h.op.type)) saw((v as AllocationResult).network, (v as AllocationResult).address, (v as AllocationResult).generation, h.invoke);
    else if (h.op.type === 'release' && h.op.generation !== undefined && (v as { released: boolean; address: string }).released) saw(h.op.network, (v as { address: string }).address, h.op.generation, h.invoke);
  }
  const out = new Map<number, number>();
  for (const h of history) {
    if (h.outcome.type !== 'info' || h.op.type !== 'release' || h.op.generation === undefined) continue;
    const address = canonical(h.op.address);
    if (address === undefined) continue;
    const seen = lastSeen.get(`${h.op.network}\u0000${address}\u0000${h.op.generation}`);
    if (seen !== undefined && seen > h.invoke) out.set(h.id, seen);
  }
  return out;
}

interface Listing {
  network: string;
  node: string | undefined;
  invoke: number;
  allocations: Array<{ network: string; nodeId: string; address: string; generation: number; owner?: string }>;
}

/**
 * The earliest point each info allocation that no answer ever shows can take effect at. If such an
 * allocation had taken effect before a complete listing of its node (no owner filter, not truncated), the
 * listing would show it — unless something freed it in between. So when nothing in the history could
 * free it (no releaseOwner of its owner, no releaseSlice of its node, no release of an address and
 * generation nobody saw allocated), it took effect after every such listing that does not show it, or
 * never: its earliest point is after the last such listing was invoked. "Does not show it": for an
 * owner, the owner is in no answer at all (else revealInfo or the search handles it); for an allocation
 * without owner, every owner-less entry of the listing on that node is an acknowledged allocation.
 * A timed-out allocation that never happened then leaves the middle of the search.
 */
export function unseenAllocationNotBefore(history: readonly HistoryOp[], revealed: ReadonlyMap<number, AllocationResult>): { notBefore: Map<number, number>; permanent: Set<number> } {
  const pairs = new Map<string, string>();
  for (const h of history) if (h.op.type === 'configureNetwork' && h.op.pair !== undefined) pairs.set(h.op.name, h.op.pair).set(h.op.pair, h.op.name);
  const seenOwners = new Set<string>();
  const seenAllocations = new Set<string>();
  const explained = new Set<string>();
  const listings: Listing[] = [];
  const triple = (network: string, address: string, generation: number): string => `${network}\u0000${address}\u0000${generation}`;
  for (const v of revealed.values()) explained.add(triple(v.network, v.address, v.generation));
  for (const h of history) {
    if (h.outcome.type !== 'ok') continue;
    const v = h.outcome.value;
    if (ALLOCATING.has(h.op.type)) {
      const r = v as AllocationResult;
      seenAllocations.add(triple(r.network, r.address, r.generation));
      if (r.owner !== undefined) seenOwners.add(key(r.network, r.owner));
      if (!r.existing) explained.add(triple(r.network, r.address, r.generation));
    } else if (h.op.type === 'listAllocations') {
      const view = v as { truncated: boolean; allocations: Listing['allocations'] };
      for (const a of view.allocations) {
        seenAllocations.add(triple(a.network, a.address, a.generation));
        if (a.owner !== undefined) seenOwners.add(key(a.network, a.owner));
      }
      if (h.op.owner === undefined && !view.truncated) listings.push({ network: h.op.network, node: h.op.node, invoke: h.invoke, allocations: view.allocations });
    } else if (h.op.type === 'releaseOwner') {
      for (const r of (v as { released: Array<{ network: string }> }).released) seenOwners.add(key(r.network, h.op.owner));
    }
  }
  const out = new Map<number, number>();
  const permanent = new Set<number>();
  // What could free an allocation: every release, releaseOwner and releaseSlice not definitely refused.
  const freeing = history
    .filter((f) => f.outcome.type !== 'fail' && (f.op.type === 'release' || f.op.type === 'releaseOwner' || f.op.type === 'releaseSlice'))
    .map((f) => ({ f, address: f.op.type === 'release' ? canonical(f.op.address) : undefined }));
  for (const h of history) {
    if (h.outcome.type !== 'info' || !ALLOCATING.has(h.op.type) || revealed.has(h.id)) continue;
    const op = h.op as { network: string; nodeId: string; owner?: string };
    if (op.owner !== undefined && seenOwners.has(key(op.network, op.owner))) continue;
    const frees = freeing.some(({ f, address }) => {
      if ((f.outcome.type === 'info' ? Number.POSITIVE_INFINITY : f.complete) <= h.invoke) return false;
      const v = f.outcome.type === 'ok' ? f.outcome.value : undefined;
      switch (f.op.type) {
        case 'releaseSlice':
          return f.op.nodeId === op.nodeId && (f.op.network === op.network || pairs.get(op.network) === f.op.network) && (v === undefined || (v as { released: Record<string, string> }).released[op.network] !== undefined);
        case 'releaseOwner':
          return op.owner !== undefined && f.op.owner === op.owner && (f.op.network === undefined || f.op.network === op.network);
        case 'release':
          if (f.op.network !== op.network || (v !== undefined && !(v as { released: boolean }).released)) return false;
          return f.op.generation === undefined || address === undefined || !seenAllocations.has(triple(op.network, address, f.op.generation));
        default:
          return false;
      }
    });
    if (frees) continue;
    permanent.add(h.id);
    let latest = h.invoke;
    for (const q of listings) {
      if (q.network !== op.network || (q.node !== undefined && q.node !== op.nodeId) || q.invoke <= latest) continue;
      const shows = q.allocations.some((a) => a.nodeId === op.nodeId && a.owner === undefined && !explained.has(triple(a.network, a.address, a.generation)));
      if (op.owner !== undefined || !shows) latest = q.invoke;
    }
    if (latest > h.invoke) out.set(h.id, latest);
  }
  return { notBefore: out, permanent };
}

function canonical(address: string): string | undefined {
  try {
    return canonicalAddress(address);
  } catch {
    return undefined;
  }
}

export function prepare(history: readonly HistoryOp[]): Prepared {
  const revealed = revealInfo(history);
  const grants: GrantTiming[] = [];
  for (const h of history) {
    const generation = grantedGeneration(h) ?? revealed.get(h.id)?.generation;
    if (generation !== undefined) grants.push({ id: h.id, generation, invoke: h.invoke, complete: revealed.has(h.id) ? Number.POSITIVE_INFINITY : h.complete });
  }
  const { intervals, conflicts } = narrowByGeneration(grants);
  const unseen = unseenAllocationNotBefore(history, revealed);
  const notBefore = new Map([...infoReleaseNotBefore(history), ...unseen.notBefore]);
  const ops: CheckedOp[] = [];
  const dropped: Array<{ id: number; why: string }> = [];
  for (const h of history) {
    let outcome: CheckedOutcome;
    if (h.outcome.type === 'ok') {
      outcome = { type: 'ok', value: h.outcome.value };
    } else if (h.outcome.type === 'fail') {
      if (failureKind(h.outcome.code) !== 'refusal') {
        dropped.push({ id: h.id, why: `${h.outcome.code}: not applied` });
        continue;
      }
      outcome = { type: 'refused', code: h.outcome.code };
    } else {
      if (isRead(h.op)) {
        dropped.push({ id: h.id, why: 'read without an answer' });
        continue;
      }
      const answer = revealed.get(h.id);
      outcome = answer !== undefined ? { type: 'ok', value: answer } : { type: 'info' };
    }
    const narrowed = intervals.get(h.id);
    ops.push({
      id: h.id,
      process: h.process,
      op: h.op,
      outcome,
      invoke: narrowed?.invoke ?? notBefore.get(h.id) ?? h.invoke,
      // An info operation, revealed or not, may have taken effect any time after its invocation.
      complete: h.outcome.type === 'info' ? (narrowed?.complete ?? Number.POSITIVE_INFINITY) : (narrowed?.complete ?? h.complete),
    });
  }
  return { ops, dropped, conflicts, revealed, permanent: unseen.permanent };
}
