/**
 * One result row of the suite, as printed and written to JSON. Every row carries what it is compared
 * with — a limit measured in the same run (fdatasync, a synced batch, a no-op HTTP round trip), a
 * baseline (an empty node, the same work in-process), and for raft-ipam rows the etcd row beside it — so
 * a number from a shared, oversubscribed machine reads as a ratio (GUIDE §4), not as a bare time.
 */
import type { Group } from './args.js';
import type { LatencySummary } from './histogram.js';

export type Higher = 'better' | 'worse';

export interface Comparison {
  /** Row id of the limit/baseline/peer, when it is a row of this run. */
  id?: string;
  label: string;
  value: number;
  unit: string;
  /** value of this row ÷ value of the comparison. */
  ratio: number;
}

export interface Target {
  text: string;
  met: boolean;
}

export interface Row {
  id: string;
  group: Group | 'limits';
  system: 'raft-ipam' | 'etcd' | 'machine';
  label: string;
  value: number;
  unit: string;
  /** Whether a larger value is better (throughput) or worse (latency, time, memory). */
  higher: Higher;
  clients?: number;
  latency?: LatencySummary;
  errors?: number;
  errorSamples?: string[];
  /** What bounds this number (a limit) or what it is measured against (a baseline). */
  limit?: Comparison;
  /** etcd rows beside this one (raft-ipam rows only). */
  peers?: Comparison[];
  targets?: Target[];
  /** What limits this number, in words, for BENCHMARKS.md. */
  limitedBy?: string;
  extra?: Record<string, unknown>;
}

export function compare(value: number, against: Row | { id?: string; label: string; value: number; unit: string }): Comparison {
  return { ...(against.id !== undefined ? { id: against.id } : {}), label: against.label, value: against.value, unit: against.unit, ratio: against.value === 0 ? 0 : value / against.value };
}

export const round = (x: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** 12345.6 → "12,346"; 0.0123 → "0.0123": enough digits to read, never a wall of them. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a === 0) return '0';
  return x.toPrecision(2);
}

export function fmtRatio(r: number): string {
  if (!Number.isFinite(r) || r === 0) return '–';
  return r >= 10 ? `${r.toFixed(0)}×` : r >= 1 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`;
}
