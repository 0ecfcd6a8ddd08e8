/**
 * Random concurrent histories that a correct cluster could produce: operations take effect one after
 * another in the real IpamStateMachine (the plan's order), each at a point inside its recorded interval,
 * and the intervals are jittered so that operations overlap. Some commands time out (info): either they
 * took effect at their point, or they never did. Then, optionally, one recorded answer is corrupted.
 */
import fc from 'fast-check';
import type { HistoryOp, Outcome } from '../../../src/check/history.js';
import type { Operation, RecordedCommand } from '../../../src/check/operations.js';
import { isRead } from '../../../src/check/operations.js';
import { IpamStateMachine, type AllocationResult } from '../../../src/index.js';
import { readFromStateMachine } from './sm-views.js';

export interface PlanStep {
  op: Operation;
  /** How far before its point the operation is invoked, and after it completed (× 4 ms; points are 10 ms apart). */
  left: number;
  right: number;
  info: 'no' | 'applied' | 'lost';
  lane: number;
}

export function planArb(opArb: fc.Arbitrary<Operation>, options: { maxSteps: number; infoRate: number }): fc.Arbitrary<PlanStep[]> {
  const step = fc.record({
    op: opArb,
    left: fc.integer({ min: 0, max: 3 }),
    right: fc.integer({ min: 0, max: 3 }),
    // An integer percentage: fast-check's doubles lean towards their bounds, which would make most steps info.
    info: fc.integer({ min: 0, max: 99 }).map((x): PlanStep['info'] => (x < (options.infoRate * 100) / 2 ? 'applied' : x < options.infoRate * 100 ? 'lost' : 'no')),
    lane: fc.nat(7),
  });
  return fc.array(step, { maxLength: options.maxSteps, size: 'max' });
}

/** Run the setup, then the plan, against a fresh state machine; record what each operation saw. */
export async function buildHistory(setup: readonly RecordedCommand[], plan: readonly PlanStep[], lanes = 6): Promise<HistoryOp[]> {
  const sm = new IpamStateMachine();
  const ops: HistoryOp[] = [];
  let id = 0;
  setup.forEach((command, k) => {
    const r = sm.apply(command);
    ops.push({ id: id++, process: 'setup', invoke: -1000 + 2 * k, complete: -999 + 2 * k, op: command, outcome: r.ok ? { type: 'ok', value: JSON.parse(JSON.stringify(r.value)) } : { type: 'fail', code: r.error.code } });
  });
  const busyUntil = new Array<number>(lanes).fill(Number.NEGATIVE_INFINITY);
  for (let k = 0; k < plan.length; k++) {
    const s = plan[k] as PlanStep;
    const point = 10 * k;
    const free = busyUntil.map((t, lane) => (t < point ? lane : -1)).filter((lane) => lane >= 0);
    if (free.length === 0) {
      busyUntil.push(Number.NEGATIVE_INFINITY);
      free.push(busyUntil.length - 1);
    }
    const lane = free[s.lane % free.length] as number;
    const invoke = Math.max(point - 4 * s.left, (busyUntil[lane] as number) + 0.5);
    const complete = point + 4 * s.right;
    busyUntil[lane] = complete;
    let outcome: Outcome;
    if (isRead(s.op)) {
      const r = await readFromStateMachine(sm, s.op);
      outcome = s.info !== 'no' ? { type: 'info', reason: 'Timeout' } : r.ok ? { type: 'ok', value: r.value } : { type: 'fail', code: r.code };
    } else if (s.info === 'lost') {
      outcome = { type: 'info', reason: 'Timeout' };
    } else {
      const r = sm.apply(s.op);
      outcome = s.info === 'applied' ? { type: 'info', reason: 'Timeout' } : r.ok ? { type: 'ok', value: JSON.parse(JSON.stringify(r.value)) } : { type: 'fail', code: r.error.code };
    }
    ops.push({ id: id++, process: `c${lane}`, invoke, complete, op: s.op, outcome });
  }
  return ops;
}

/** Change one answer (chosen by `pick`) to another answer of the same shape; undefined when nothing can be changed. */
export function corrupt(history: readonly HistoryOp[], pick: number, alternative: string): HistoryOp[] | undefined {
  const candidates = history.filter((h) => h.process !== 'setup' && h.outcome.type !== 'info');
  const target = candidates[pick % Math.max(1, candidates.length)];
  if (target === undefined) return undefined;
  const changed = changeOutcome(target, alternative);
  if (changed === undefined) return undefined;
  return history.map((h) => (h === target ? { ...h, outcome: changed } : h));
}

function changeOutcome(h: HistoryOp, alternative: string): Outcome | undefined {
  const o = h.outcome;
  if (o.type === 'fail') {
    return { type: 'fail', code: o.code === 'NoAvailableIps' ? 'IpAlreadyAllocated' : 'NoAvailableIps' };
  }
  if (o.type !== 'ok') return undefined;
  const v = o.value as Record<string, unknown>;
  switch (h.op.type) {
    case 'allocate':
    case 'allocateFirst':
    case 'allocateSpecific':
    case 'mark': {
      const a = v as unknown as AllocationResult;
      if (alternative < 'm') return { type: 'ok', value: { ...a, address: a.address.replace(/\d+$/, (d) => String((Number(d) % 200) + 1)) } };
      return { type: 'ok', value: { ...a, existing: !a.existing } };
    }
    case 'release':
      return { type: 'ok', value: { ...v, released: !v.released } };
    case 'releaseOwner': {
      const released = v.released as unknown[];
      return released.length > 0 ? { type: 'ok', value: { released: [] } } : { type: 'fail', code: 'UnknownNetwork' };
    }
    case 'listAllocations': {
      const allocations = v.allocations as unknown[];
      return allocations.length > 0 ? { type: 'ok', value: { ...v, allocations: allocations.slice(1) } } : { type: 'fail', code: 'UnknownNetwork' };
    }
    case 'listSlices': {
      const slices = v.slices as unknown[];
      return slices.length > 0 ? { type: 'ok', value: { ...v, slices: slices.slice(1) } } : { type: 'fail', code: 'UnknownNetwork' };
    }
    default:
      return { type: 'fail', code: 'NoAvailableIps' };
  }
}
