/**
 * What a person reads to understand a failure: one line per operation, by invoke time, with a column per
 * client lane showing who else had an operation in flight, the interval relative to the start, the
 * operation and its outcome, and the search's findings (the order of the longest linearizable prefix, the
 * operation that could not be placed). And the directory a failing chaos run leaves behind.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckReport } from './check-history.js';
import { describeOperation, describeOutcome } from './describe.js';
import { toJsonLines, type HistoryOp } from './history.js';

export interface TimelineOptions {
  /** Heading line. */
  title?: string;
  /** Times are printed relative to this (default: the earliest invoke). */
  origin?: number;
  /** Op ids in the order the search linearized them: marked L1, L2, … */
  order?: readonly number[];
  /** The op the search could not place: marked "<< not placed". */
  blocked?: number;
  /** Op ids to mark with a note (e.g. "dropped: NotLeader"). */
  notes?: ReadonlyMap<number, string>;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const ms = (t: number): string => (t === Number.POSITIVE_INFINITY ? '∞' : t.toFixed(3));

export function renderTimeline(history: readonly HistoryOp[], options: TimelineOptions = {}): string {
  const ops = [...history].sort((a, b) => a.invoke - b.invoke || a.id - b.id);
  if (ops.length === 0) return `${options.title ?? 'timeline'}: no operations\n`;
  const origin = options.origin ?? (ops[0] as HistoryOp).invoke;
  const lanes: string[] = [];
  for (const o of ops) if (!lanes.includes(String(o.process))) lanes.push(String(o.process));
  const position = new Map((options.order ?? []).map((id, i) => [id, i + 1]));
  const rows = ops.map((o) => {
    // This op's lane '*'; a lane with another op in flight when this one was invoked '|'; idle '.'.
    const laneCells = lanes.map((lane) => {
      if (lane === String(o.process)) return '*';
      return ops.some((p) => String(p.process) === lane && p.invoke <= o.invoke && o.invoke < p.complete) ? '|' : '.';
    });
    const marks = [position.has(o.id) ? `L${position.get(o.id)}` : '', o.id === options.blocked ? '<< not placed' : '', options.notes?.get(o.id) ?? ''].filter((m) => m !== '');
    return [`#${o.id}`, ms(o.invoke - origin), o.outcome.type === 'info' ? `${ms(o.complete - origin)}?` : ms(o.complete - origin), laneCells.join(''), String(o.process), describeOperation(o.op), describeOutcome(o.op, o.outcome), marks.join(' ')];
  });
  const header = ['op', 'invoke', 'complete', 'lanes', 'process', 'operation', 'outcome', 'search'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const numeric = new Set([1, 2]);
  const line = (cells: string[]): string => cells.map((c, i) => (numeric.has(i) ? lpad(c, widths[i] as number) : pad(c, widths[i] as number))).join('  ').trimEnd();
  const out = [
    `${options.title ?? 'timeline'} (${ops.length} operations; ms from ${origin}; lanes: ${lanes.join(' ')}; "?" after a time: info, the client gave up there)`,
    line(header),
    ...rows.map(line),
  ];
  return `${out.join('\n')}\n`;
}

/** The timelines of a report: the failing part with the search's marks, then each direct violation's operations. */
export function renderReport(history: readonly HistoryOp[], report: CheckReport): string {
  const byId = new Map(history.map((h) => [h.id, h]));
  const pick = (ids: readonly number[]): HistoryOp[] => ids.flatMap((id) => (byId.has(id) ? [byId.get(id) as HistoryOp] : []));
  const sections: string[] = [`verdict: ${report.verdict}\n`];
  const lin = report.linearizability;
  if (lin.status === 'not-linearizable') {
    const f = lin.failure;
    sections.push(`${f.message}\n`);
    sections.push(renderTimeline(pick(f.opIds), { title: `part "${f.part}"`, order: f.longestPrefix, ...(f.blocked !== undefined ? { blocked: f.blocked } : {}) }));
  } else if (lin.status === 'unknown') {
    sections.push(`linearizability unknown: ${lin.reason}\n`);
  }
  for (const v of report.violations) {
    sections.push(`${v.check}: ${v.message}\n`);
    if (v.opIds.length > 0) sections.push(renderTimeline(pick(v.opIds), { title: v.check }));
  }
  if (lin.status !== 'not-linearizable' && report.violations.length === 0) sections.push(renderTimeline(history, { title: 'whole history' }));
  return sections.join('\n');
}

/**
 * Write a failure report directory: history.jsonl (the whole history, as recorded), timeline.txt
 * (renderReport) and verdict.json (the report). The chaos suite adds node logs beside them.
 */
export async function writeFailureReport(dir: string, history: readonly HistoryOp[], report: CheckReport): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = [join(dir, 'history.jsonl'), join(dir, 'timeline.txt'), join(dir, 'verdict.json')];
  await writeFile(files[0] as string, toJsonLines(history));
  await writeFile(files[1] as string, renderReport(history, report));
  await writeFile(files[2] as string, `${JSON.stringify(report, null, 2)}\n`);
  return files;
}
