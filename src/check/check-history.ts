/**
 * The one entry point a chaos run calls at its end: validate the history (and the final state and node
 * states, when given), run the direct checks and the linearizability search, and give one verdict.
 *
 *   pass     every check ran to the end and found nothing;
 *   fail     some check found a violation (the search's, or a direct one);
 *   unknown  nothing was found, but the search ran out of budget: the history is NOT known to be fine.
 */
import { HistoryError } from './errors.js';
import { checkHistoryRules, parseRecord, type HistoryOp } from './history.js';
import { convergenceViolations, exclusiveHolding, finalStateViolations, generationIdentity, parseFinalState, parseNodeStates, type FinalState, type NodeState, type Violation } from './direct-checks.js';
import { checkLinearizability, type LinearizabilityOptions, type LinearizabilityResult } from './linearizability.js';

export interface CheckOptions extends LinearizabilityOptions {
  /** A linearizable read of every network after the run: acknowledged grants must be in it, and nothing else. */
  final?: FinalState;
  /** Every node's applied index and state hash after healing: they must all agree. */
  nodes?: NodeState[];
}

export type Verdict = 'pass' | 'fail' | 'unknown';

export interface CheckReport {
  verdict: Verdict;
  /** Direct violations (direct-checks.ts). */
  violations: Violation[];
  linearizability: LinearizabilityResult;
  ops: number;
}

/** Validate a history given as objects (records the recorder made, or parsed by hand). Throws HistoryError. */
export function validateHistory(ops: readonly unknown[]): HistoryOp[] {
  if (!Array.isArray(ops)) throw new HistoryError('InvalidRecord', 'a history must be an array of operations');
  const parsed = ops.map((o, i) => {
    try {
      return parseRecord(o);
    } catch (e) {
      if (e instanceof HistoryError) throw new HistoryError(e.code, `record ${i}: ${e.message}`);
      throw e;
    }
  });
  checkHistoryRules(parsed);
  return parsed;
}

export function checkHistory(history: readonly unknown[], options: CheckOptions = {}): CheckReport {
  const ops = validateHistory(history);
  const final = options.final !== undefined ? parseFinalState(options.final) : undefined;
  const nodes = options.nodes !== undefined ? parseNodeStates(options.nodes) : undefined;
  if (options.maxStates !== undefined && (!Number.isSafeInteger(options.maxStates) || options.maxStates < 1)) {
    throw new HistoryError('InvalidInput', `maxStates must be a positive integer, got ${String(options.maxStates)}`);
  }
  const violations = [...exclusiveHolding(ops), ...generationIdentity(ops), ...(final ? finalStateViolations(ops, final) : []), ...(nodes ? convergenceViolations(nodes) : [])];
  const linearizability = checkLinearizability(ops, options);
  const verdict: Verdict = violations.length > 0 || linearizability.status === 'not-linearizable' ? 'fail' : linearizability.status === 'unknown' ? 'unknown' : 'pass';
  return { verdict, violations, linearizability, ops: ops.length };
}
