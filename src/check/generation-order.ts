/**
 * What the global generation counter says about time, across every partition.
 *
 * Every new allocation (an ok answer with `existing: false`) takes the counter's next value, and the
 * counter only grows in log order. Each operation took effect at one point of the log between its invoke
 * and its completion (with a session, a retry answered from the cache took effect at the first
 * execution, which also lies in that interval). So if new allocations A and B got generations gA < gB:
 *
 *   invoke(A) ≤ point(A) < point(B) ≤ complete(B)
 *
 * Two consequences, both sound (they hold in every linearization of the whole history):
 * 1. If B completed before A was invoked, the history is not linearizable (a pair that contradicts).
 * 2. B's point is after the latest invoke of any lower generation, and A's point is before the earliest
 *    completion of any higher one: the intervals can be narrowed to that. The search of each partition
 *    then runs on the narrowed intervals, which carries the cross-network order of generations into
 *    partitions that cannot see each other (e.g. a read in one network that saw allocation A, which
 *    must then precede a lower-generation allocation in another network whose client finished first).
 *
 * This does not make per-partition checking complete in every case: two partitions may each order their
 * operations consistently with the narrowed intervals and still admit no common order with the counter
 * (see model.ts). It never makes a linearizable history look violated.
 */

export interface GrantTiming {
  readonly id: number;
  readonly generation: number;
  readonly invoke: number;
  readonly complete: number;
}

export interface GenerationConflict {
  /** The lower generation, invoked after… */
  readonly lower: GrantTiming;
  /** …the higher one had completed. */
  readonly higher: GrantTiming;
}

export interface Narrowed {
  /** op id → narrowed [invoke, complete] (only ops whose interval changed). */
  readonly intervals: ReadonlyMap<number, { invoke: number; complete: number }>;
  readonly conflicts: GenerationConflict[];
}

export function narrowByGeneration(grants: readonly GrantTiming[]): Narrowed {
  const sorted = [...grants].sort((a, b) => a.generation - b.generation || a.id - b.id);
  const conflicts: GenerationConflict[] = [];
  const invoke = new Map<number, number>();
  const complete = new Map<number, number>();
  // Latest invoke among lower generations (prefix), earliest completion among higher ones (suffix).
  let latest: GrantTiming | undefined;
  for (const g of sorted) {
    if (latest !== undefined && latest.generation < g.generation) {
      if (g.complete < latest.invoke) conflicts.push({ lower: latest, higher: g });
      if (latest.invoke > g.invoke) invoke.set(g.id, latest.invoke);
    }
    if (latest === undefined || g.invoke > latest.invoke) latest = g;
  }
  let earliest: GrantTiming | undefined;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const g = sorted[i] as GrantTiming;
    if (earliest !== undefined && earliest.generation > g.generation && earliest.complete < g.complete) complete.set(g.id, earliest.complete);
    if (earliest === undefined || g.complete < earliest.complete) earliest = g;
  }
  const intervals = new Map<number, { invoke: number; complete: number }>();
  for (const g of sorted) {
    if (!invoke.has(g.id) && !complete.has(g.id)) continue;
    intervals.set(g.id, { invoke: invoke.get(g.id) ?? g.invoke, complete: complete.get(g.id) ?? g.complete });
  }
  return { intervals, conflicts };
}
