/**
 * The replicated IPAM state as data: the generation counter, the networks and the client sessions. IpamStateMachine changes it
 * through commands; the snapshot codec encodes and rebuilds it. Kept apart so neither depends on the other.
 */
import type { Network } from './network.js';
import { SessionTable } from './sessions.js';

/**
 * Generations are 1 … MAX_GENERATION − 1, so nextGeneration ≤ MAX_GENERATION. The bound keeps every
 * generation an exact double (2^53 − 1 is the largest safe integer): past it `n++` stops changing n and
 * two allocations would share a generation, which would let a stale release free a successor's address.
 * At one allocation per microsecond it lasts 285 years.
 */
export const MAX_GENERATION = Number.MAX_SAFE_INTEGER;

/** @internal the whole replicated state; replaced as a unit by restore(). */
export interface IpamState {
  /** Next allocation generation to hand out (starts at 1; 0 never names an allocation). */
  nextGeneration: number;
  readonly networks: Map<string, Network>;
  /** Client sessions, their cached results, log time and the session TTL (sessions.ts). */
  readonly sessions: SessionTable;
}

export function emptyState(): IpamState {
  return { nextGeneration: 1, networks: new Map(), sessions: new SessionTable() };
}

/** Code-unit order: deterministic and locale-independent. */
export function compare(a: string, b: string): number {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent here — V8's sort and every caller only ask "< 0" (or ">= 0"), and the names compared are unique, so 0 vs 1 and < vs <= never change an outcome
  return a < b ? -1 : a > b ? 1 : 0;
}
