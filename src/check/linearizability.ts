/**
 * The linearizability check of a recorded history against the IPAM specification (model.ts):
 *
 * 1. prepare: outcomes the search holds operations to, "not applied" failures dropped, intervals narrowed
 *    by the generation counter (a contradiction there is already a violation);
 * 2. partition (partition.ts): network groups, then nodes after a cut when that is exact;
 * 3. search each part (search.ts), smallest first, from the empty state or the cut's one end state.
 *
 * Linearizable only if every part was searched to the end; a violation in any part is a violation (the
 * smallest such part is reported, with the longest linearizable prefix the search found and the operation
 * it could not place); otherwise, when the budget ran out anywhere, unknown.
 */
import { describeOperation, describeOutcome } from './describe.js';
import type { HistoryOp } from './history.js';
import { EMPTY_STATE, expectation, freedBy, newlyTaken, shownAllocations, statesEqual, step, takenBy, type ModelState } from './model.js';
import { findCut, groupByNetwork, splitByNode, type Part } from './partition.js';
import { prepare, type CheckedOp } from './prepare.js';
import { searchEndStates, searchLinearization, type Budget, type SearchOp, type SearchResult, type SearchSpec } from './search.js';
import { canonicalJson } from './values.js';

export interface LinearizabilityOptions {
  /** The most (linearized set, state) pairs to explore over the whole check (default 1,000,000). */
  maxStates?: number;
  /** Give up at this time, in `clock` milliseconds. */
  deadline?: number;
  /** The clock of `deadline` (default performance.now). */
  clock?: () => number;
  /** Split network groups by node after a cut (default true); false checks each network group whole. */
  splitNodes?: boolean;
}

export const DEFAULT_MAX_STATES = 1_000_000;

export type PartStatus = 'linearizable' | 'not-linearizable' | 'unknown' | 'unchecked';

export interface PartReport {
  key: string;
  ops: number;
  status: PartStatus;
  /** States this part's search explored. */
  explored: number;
}

export interface LinearizabilityFailure {
  /** The smallest part found violated. */
  part: string;
  /** Its operations, by invoke time. */
  opIds: number[];
  /** The longest linearizable prefix the search found, in linearization order. */
  longestPrefix: number[];
  /** The operation that could not be placed after that prefix (its completion came first). */
  blocked: number | undefined;
  /** What the model answers to it after the prefix. */
  expected: string | undefined;
  message: string;
}

interface Common {
  parts: PartReport[];
  /** States explored in all. */
  explored: number;
  /** Operations checked (after dropping the ones that were not applied). */
  checkedOps: number;
  droppedOps: number;
}

export type LinearizabilityResult =
  | ({ status: 'linearizable' } & Common)
  | ({ status: 'not-linearizable'; failure: LinearizabilityFailure } & Common)
  | ({ status: 'unknown'; reason: string } & Common);

interface Planned {
  key: string;
  ops: CheckedOp[];
  initial: ModelState;
}

/**
 * The model as the search sees it, with two pruning rules. Each drops a next state from which some
 * answered operation still to be placed can never be placed, whatever follows — the search would learn
 * it only after trying every way to place the pending timeouts in between:
 * - a step that frees an allocation (address, generation) such an operation shows: a generation names
 *   one allocation ever, so what is freed is never shown again;
 * - a timed-out allocation that nothing in the history could free (`permanent`, prepare.ts) taking an
 *   address that such an operation allocates afresh: that address is never free again.
 */
function specOf(ops: readonly CheckedOp[], permanent: ReadonlySet<number> = new Set()): SearchSpec<ModelState> {
  const shownBy = new Map<string, number[]>();
  const takenLater = new Map<string, number[]>();
  ops.forEach((c, j) => {
    for (const key of shownAllocations(c.op, c.outcome)) (shownBy.get(key) ?? shownBy.set(key, []).get(key))?.push(j);
    const taken = newlyTaken(c.op, c.outcome);
    if (taken !== undefined) (takenLater.get(taken) ?? takenLater.set(taken, []).get(taken))?.push(j);
  });
  const waiting = (list: number[] | undefined, i: number, placed: (j: number) => boolean): boolean => list?.some((j) => j !== i && !placed(j)) === true;
  return {
    step: (state, i, placed) => {
      const c = ops[i] as CheckedOp;
      let next = step(state, c.op, c.outcome);
      if (shownBy.size > 0) next = next.filter((s) => !freedBy(state, s, c.op).some((key) => waiting(shownBy.get(key), i, placed)));
      if (permanent.has(c.id)) {
        next = next.filter((s) => {
          const taken = takenBy(state, s, c.op);
          return taken === undefined || !waiting(takenLater.get(taken), i, placed);
        });
      }
      return next;
    },
    hash: (s) => s.hash,
    equal: statesEqual,
  };
}

/** Every owner name an operation or its answer mentions. */
function ownersIn(c: CheckedOp): string[] {
  const out: string[] = [];
  const op = c.op as { owner?: string };
  if (op.owner !== undefined) out.push(op.owner);
  if (c.outcome.type !== 'ok') return out;
  const v = c.outcome.value as { owner?: string; allocations?: Array<{ owner?: string }> } | null;
  if (v !== null && typeof v === 'object') {
    if (typeof v.owner === 'string') out.push(v.owner);
    if (Array.isArray(v.allocations)) for (const a of v.allocations) if (a.owner !== undefined) out.push(a.owner);
  }
  return out;
}

/**
 * Search ops with twins: identical info operations (search.ts tries only the first one not yet placed).
 * Identical up to the owner's name, when that name appears nowhere else in the part: nothing can tell
 * two such owners apart (the model only compares owner names for equality and never orders by them), so
 * swapping two of these timeouts maps every linearization onto another with the same answers. Without
 * this, k timed-out allocations for k fresh pods would be tried in all k! orders.
 */
function searchOps(ops: readonly CheckedOp[]): SearchOp[] {
  const mentions = new Map<string, number>();
  for (const c of ops) for (const o of ownersIn(c)) mentions.set(o, (mentions.get(o) ?? 0) + 1);
  const lastInfo = new Map<string, number>();
  const byCall = ops.map((_, i) => i).sort((a, b) => (ops[a] as CheckedOp).invoke - (ops[b] as CheckedOp).invoke || a - b);
  const twins = new Map<number, number>();
  for (const i of byCall) {
    const c = ops[i] as CheckedOp;
    if (c.outcome.type !== 'info') continue;
    const owner = (c.op as { owner?: string }).owner;
    const key = canonicalJson(owner !== undefined && mentions.get(owner) === 1 && c.op.type !== 'releaseOwner' ? { ...c.op, owner: { fresh: true } } : c.op);
    const twin = lastInfo.get(key);
    if (twin !== undefined) twins.set(i, twin);
    lastInfo.set(key, i);
  }
  return ops.map((c, i) => {
    const twin = twins.get(i);
    return twin !== undefined ? { call: c.invoke, ret: c.complete, twin } : { call: c.invoke, ret: c.complete };
  });
}

const isInfo = (ops: readonly CheckedOp[]) => (i: number): boolean => (ops[i] as CheckedOp).outcome.type === 'info';

export function checkLinearizability(history: readonly HistoryOp[], options: LinearizabilityOptions = {}): LinearizabilityResult {
  const budget: Budget = {
    maxStates: options.maxStates ?? DEFAULT_MAX_STATES,
    explored: 0,
    ...(options.deadline !== undefined ? { deadline: options.deadline, clock: options.clock ?? (() => performance.now()) } : {}),
  };
  const byId = new Map(history.map((h) => [h.id, h]));
  const prepared = prepare(history);
  const common = (parts: PartReport[]): Common => ({ parts, explored: budget.explored, checkedOps: prepared.ops.length, droppedOps: prepared.dropped.length });

  const conflict = prepared.conflicts[0];
  if (conflict !== undefined) {
    const { lower, higher } = conflict;
    return {
      status: 'not-linearizable',
      failure: {
        part: 'generation order',
        opIds: [higher.id, lower.id],
        longestPrefix: [],
        blocked: lower.id,
        expected: undefined,
        message: `op ${lower.id} got generation ${lower.generation} but was invoked at ${lower.invoke}, after op ${higher.id} had completed at ${higher.complete} with the higher generation ${higher.generation}: the counter only grows, so op ${lower.id} took effect before op ${higher.id}, outside its own interval`,
      },
      ...common([]),
    };
  }

  const reports: PartReport[] = [];
  const failures: Array<{ planned: Planned; result: Extract<SearchResult<ModelState>, { status: 'not-linearizable' }> }> = [];
  const planned: Planned[] = [];
  for (const group of groupByNetwork(prepared.ops)) {
    const split = options.splitNodes === false ? undefined : splitGroup(group, budget, reports, failures);
    planned.push(...(split ?? [{ key: group.key, ops: group.ops, initial: EMPTY_STATE }]));
  }

  planned.sort((a, b) => a.ops.length - b.ops.length);
  let cutShort: string | undefined;
  for (const p of planned) {
    const smallestFailure = Math.min(...failures.map((f) => f.planned.ops.length));
    if (cutShort !== undefined || p.ops.length >= smallestFailure) {
      reports.push({ key: p.key, ops: p.ops.length, status: 'unchecked', explored: 0 });
      continue;
    }
    const before = budget.explored;
    const r = searchLinearization(searchOps(p.ops), isInfo(p.ops), specOf(p.ops, prepared.permanent), p.initial, budget);
    reports.push({ key: p.key, ops: p.ops.length, status: r.status, explored: budget.explored - before });
    if (r.status === 'not-linearizable') failures.push({ planned: p, result: r });
    if (r.status === 'unknown') cutShort = r.reason === 'states' ? `explored ${budget.maxStates} states` : 'the deadline passed';
  }

  if (failures.length > 0) {
    const f = failures.reduce((a, b) => (b.planned.ops.length < a.planned.ops.length ? b : a));
    return { status: 'not-linearizable', failure: describeFailure(f.planned, f.result, byId), ...common(reports) };
  }
  if (cutShort !== undefined) return { status: 'unknown', reason: `budget exhausted (${cutShort}) before every part was searched`, ...common(reports) };
  return { status: 'linearizable', ...common(reports) };
}

/**
 * The node parts of a network group, after searching the part before its cut for its one end state; or
 * undefined to check the group whole (no cut, several end states, or the enumeration hit its cap).
 */
function splitGroup(group: Part, budget: Budget, reports: PartReport[], failures: Array<{ planned: Planned; result: Extract<SearchResult<ModelState>, { status: 'not-linearizable' }> }>): Planned[] | undefined {
  const cut = findCut(group.ops);
  if (cut === undefined) return undefined;
  const beforeKey = `${group.key} / before the cut`;
  let initial: ModelState = EMPTY_STATE;
  if (cut.before.length > 0) {
    // Enumerating every linearization can cost more than finding one: cap it, and check the group whole if it runs over.
    const cap: Budget = { ...budget, maxStates: Math.min(budget.maxStates, budget.explored + Math.max(20_000, 50 * cut.before.length)) };
    const r = searchEndStates(searchOps(cut.before), isInfo(cut.before), specOf(cut.before), EMPTY_STATE, cap, 1);
    const explored = cap.explored - budget.explored;
    budget.explored = cap.explored;
    if (r.status === 'not-linearizable') {
      reports.push({ key: beforeKey, ops: cut.before.length, status: 'not-linearizable', explored });
      failures.push({ planned: { key: beforeKey, ops: cut.before, initial: EMPTY_STATE }, result: r });
      return [];
    }
    if (r.status !== 'linearizable' || !r.complete || r.ends.length !== 1) return undefined;
    reports.push({ key: beforeKey, ops: cut.before.length, status: 'linearizable', explored });
    initial = r.ends[0] as ModelState;
  }
  return splitByNode(group.key, cut.after, initial).map((p) => ({ key: p.key, ops: p.ops, initial }));
}

function describeFailure(p: Planned, r: Extract<SearchResult<ModelState>, { status: 'not-linearizable' }>, byId: ReadonlyMap<number, HistoryOp>): LinearizabilityFailure {
  const ids = (indexes: readonly number[]): number[] => indexes.map((i) => (p.ops[i] as CheckedOp).id);
  const opIds = [...p.ops].sort((a, b) => a.invoke - b.invoke || a.id - b.id).map((c) => c.id);
  const blocked = r.blocked >= 0 ? (p.ops[r.blocked] as CheckedOp) : undefined;
  if (blocked === undefined) {
    return { part: p.key, opIds, longestPrefix: ids(r.longest), blocked: undefined, expected: undefined, message: `no linearization of part ${p.key}` };
  }
  const h = byId.get(blocked.id) as HistoryOp;
  const expected = expectation(r.stateAtLongest, blocked.op);
  const window = blocked.complete === Number.POSITIVE_INFINITY ? `after ${blocked.invoke}` : `between ${blocked.invoke} and ${blocked.complete}`;
  return {
    part: p.key,
    opIds,
    longestPrefix: ids(r.longest),
    blocked: blocked.id,
    expected,
    message:
      `op ${blocked.id} (process ${h.process}: ${describeOperation(blocked.op)} → ${describeOutcome(h.op, h.outcome)}) cannot take effect ${window}: ` +
      `the longest linearizable prefix found has ${r.longest.length} operation(s), and after it the model answers ${expected}`,
  };
}
