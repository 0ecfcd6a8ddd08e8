/**
 * From the recorded history to what the search checks: each operation with the outcome it is held to and
 * the interval it must take effect in.
 * - ok: the value; fail with a state-machine refusal: the refusal code (outcomes.ts); info: nothing, and
 *   no end (+∞).
 * - dropped: fails that mean "not applied" (never happened), and info reads (they constrain nothing).
 * - intervals narrowed by the generation counter (generation-order.ts).
 */
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

export function prepare(history: readonly HistoryOp[]): Prepared {
  const grants: GrantTiming[] = [];
  for (const h of history) {
    const generation = grantedGeneration(h);
    if (generation !== undefined) grants.push({ id: h.id, generation, invoke: h.invoke, complete: h.complete });
  }
  const { intervals, conflicts } = narrowByGeneration(grants);
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
      outcome = { type: 'info' };
    }
    const narrowed = intervals.get(h.id);
    ops.push({
      id: h.id,
      process: h.process,
      op: h.op,
      outcome,
      invoke: narrowed?.invoke ?? h.invoke,
      complete: outcome.type === 'info' ? Number.POSITIVE_INFINITY : (narrowed?.complete ?? h.complete),
    });
  }
  return { ops, dropped, conflicts };
}
