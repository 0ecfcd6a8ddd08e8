/**
 * The definition of linearizability, checked by brute force: some order of all the operations that
 * respects real time (a completed before b was invoked ⇒ a first; info operations never complete) in
 * which every operation's recorded outcome is one the specification allows. No partitions, no narrowing,
 * no cache, no linked list: every order is tried. For histories of a handful of operations.
 *
 * Two specifications bracket the checker's:
 * - modelLinearizable: the model's (model.ts), which leaves generations open — a new allocation may carry
 *   any generation above the previous ones, and one nobody saw may later be shown with any generation;
 * - exactLinearizable: the state machine's exact counter — every allocation that takes effect, answered
 *   or not, gets the next generation, 1, 2, 3, … (the histories the tests build hold every operation).
 * The checker also uses facts about generations the model leaves out (one allocation per generation,
 * allocations ordered by generation), so: exact ⇒ checker ⇒ model, for "linearizable".
 */
import type { HistoryOp } from '../../../src/check/history.js';
import { EMPTY_STATE, execute, step, type CheckedOutcome, type ModelState } from '../../../src/check/model.js';
import { isRead, type Operation, type RecordedCommand } from '../../../src/check/operations.js';
import { failureKind } from '../../../src/check/outcomes.js';
import { canonicalJson } from '../../../src/check/values.js';
import type { AllocationResult } from '../../../src/index.js';

interface Op {
  op: Operation;
  outcome: CheckedOutcome;
  invoke: number;
  complete: number;
}

interface Spec<S> {
  initial: S;
  step(state: S, op: Op): S[];
}

function ops(history: readonly HistoryOp[]): Op[] {
  const out: Op[] = [];
  for (const h of history) {
    if (h.outcome.type === 'fail' && failureKind(h.outcome.code) !== 'refusal') continue; // never happened
    if (h.outcome.type === 'info' && isRead(h.op)) continue; // observes nothing
    const outcome: CheckedOutcome = h.outcome.type === 'ok' ? { type: 'ok', value: h.outcome.value } : h.outcome.type === 'fail' ? { type: 'refused', code: h.outcome.code } : { type: 'info' };
    out.push({ op: h.op, outcome, invoke: h.invoke, complete: h.outcome.type === 'info' ? Number.POSITIVE_INFINITY : h.complete });
  }
  return out;
}

function bruteForce<S>(history: readonly HistoryOp[], spec: Spec<S>): boolean {
  const all = ops(history);
  const remaining = new Set(all.map((_, i) => i));
  const search = (state: S): boolean => {
    if (remaining.size === 0) return true;
    for (const i of [...remaining]) {
      const o = all[i] as Op;
      // Real time: nothing left may have completed before this one was invoked.
      if ([...remaining].some((j) => j !== i && (all[j] as Op).complete < o.invoke)) continue;
      remaining.delete(i);
      for (const next of spec.step(state, o)) {
        if (search(next)) {
          remaining.add(i);
          return true;
        }
      }
      remaining.add(i);
    }
    return false;
  };
  return search(spec.initial);
}

export function modelLinearizable(history: readonly HistoryOp[]): boolean {
  return bruteForce<ModelState>(history, { initial: EMPTY_STATE, step: (s, o) => step(s, o.op, o.outcome) });
}

/** The model with the state machine's counter: generations exactly 1, 2, 3, … in the order allocations take effect. */
export function exactLinearizable(history: readonly HistoryOp[]): boolean {
  type S = { model: ModelState; next: number };
  return bruteForce<S>(history, {
    initial: { model: EMPTY_STATE, next: 1 },
    step: (s, o) => {
      if (isRead(o.op)) return step(s.model, o.op, o.outcome).map((model) => ({ model, next: s.next }));
      const out: S[] = [];
      for (const b of execute(s.model, o.op as RecordedCommand)) {
        const v = o.outcome.type === 'ok' ? (o.outcome.value as AllocationResult) : undefined;
        switch (b.kind) {
          case 'refused':
            if (o.outcome.type === 'info' || (o.outcome.type === 'refused' && o.outcome.code === b.code)) out.push(s);
            break;
          case 'done':
            if (o.outcome.type === 'info' || (v !== undefined && canonicalJson(b.value) === canonicalJson(v))) out.push({ model: b.next, next: s.next });
            break;
          case 'grant':
            if (o.outcome.type === 'info' || (v !== undefined && canonicalJson(b.value) === canonicalJson({ ...v, generation: undefined }) && v.generation === s.next)) out.push({ model: b.next(s.next), next: s.next + 1 });
            break;
          case 'held':
            // Every allocation got its generation when it was made, so none is unknown here.
            if (o.outcome.type === 'info' || (v !== undefined && canonicalJson(b.value) === canonicalJson({ ...v, generation: undefined }) && v.generation === b.gen)) out.push(s);
            break;
        }
      }
      return out;
    },
  });
}
