/**
 * The definition of linearizability, checked by brute force: some order of all the operations that
 * respects real time (a completed before b was invoked ⇒ a first; info operations never complete) in
 * which every operation's recorded outcome is one the specification allows. No partitions, no narrowing,
 * no cache, no linked list: every order is tried. For histories of a handful of operations.
 */
import type { HistoryOp } from '../../../src/check/history.js';
import { EMPTY_STATE, step, type CheckedOutcome, type ModelState } from '../../../src/check/model.js';
import { isRead, type Operation } from '../../../src/check/operations.js';
import { failureKind } from '../../../src/check/outcomes.js';

interface Op {
  op: Operation;
  outcome: CheckedOutcome;
  invoke: number;
  complete: number;
}

export function naiveLinearizable(history: readonly HistoryOp[]): boolean {
  const ops: Op[] = [];
  for (const h of history) {
    if (h.outcome.type === 'fail' && failureKind(h.outcome.code) !== 'refusal') continue; // never happened
    if (h.outcome.type === 'info' && isRead(h.op)) continue; // observes nothing
    const outcome: CheckedOutcome = h.outcome.type === 'ok' ? { type: 'ok', value: h.outcome.value } : h.outcome.type === 'fail' ? { type: 'refused', code: h.outcome.code } : { type: 'info' };
    ops.push({ op: h.op, outcome, invoke: h.invoke, complete: h.outcome.type === 'info' ? Number.POSITIVE_INFINITY : h.complete });
  }
  const remaining = new Set(ops.map((_, i) => i));
  const search = (state: ModelState): boolean => {
    if (remaining.size === 0) return true;
    for (const i of [...remaining]) {
      const o = ops[i] as Op;
      // Real time: nothing left may have completed before this one was invoked.
      if ([...remaining].some((j) => j !== i && (ops[j] as Op).complete < o.invoke)) continue;
      remaining.delete(i);
      for (const next of step(state, o.op, o.outcome)) {
        if (search(next)) {
          remaining.add(i);
          return true;
        }
      }
      remaining.add(i);
    }
    return false;
  };
  return search(EMPTY_STATE);
}
