/**
 * The recorded history of a chaos run: every operation a client made, when it was invoked, when it
 * completed and what came back. This is the input of the linearizability check (Jepsen's history model:
 * an operation is `ok`, `fail` — definitely refused — or `info` — it may or may not have taken effect).
 *
 * A history must hold every operation that changed the cluster since it was created empty (setup
 * commands included: record them from a "setup" process), because the check starts from the empty state.
 *
 * On disk: JSON lines, one operation per line, keys in this order:
 *   {"id":17,"process":"c3","invoke":1043.2,"complete":1051.9,"op":{"type":"allocate",…},"outcome":{"type":"ok","value":{…}}}
 * Times are milliseconds on one clock (any origin; the recorder uses performance.now()). `complete` of an
 * `info` operation is when the client gave up; the checker treats its effect as possible at any time
 * after `invoke`, or never.
 */
import { describe } from '../ipam/address.js';
import { HistoryError } from './errors.js';
import { parseOperation, type Operation } from './operations.js';
import { failureKind } from './outcomes.js';
import { valueProblem } from './values.js';

export type Outcome =
  | { type: 'ok'; value: unknown }
  /** A definite answer that the operation changed nothing: a state-machine refusal, or not applied at all (outcomes.ts). */
  | { type: 'fail'; code: string; message?: string }
  /** Unknown: timed out, connection lost, outcome unknown. */
  | { type: 'info'; reason?: string };

export type ProcessId = string | number;

export interface HistoryOp {
  /** Unique within the history. */
  id: number;
  /** The client lane: one process has at most one operation in flight. */
  process: ProcessId;
  /** Milliseconds. */
  invoke: number;
  /** Milliseconds, ≥ invoke. */
  complete: number;
  op: Operation;
  outcome: Outcome;
}

const RECORD_KEYS = ['id', 'process', 'invoke', 'complete', 'op', 'outcome'];

/** Validate one untrusted record (without the cross-record checks of parseHistory). */
export function parseRecord(input: unknown, line?: number): HistoryOp {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new HistoryError('InvalidRecord', `a record must be an object, got ${describe(input)}`, line);
  const r = input as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!RECORD_KEYS.includes(key)) throw new HistoryError('InvalidRecord', `unexpected field ${JSON.stringify(key)}`, line);
  for (const key of RECORD_KEYS) if (r[key] === undefined) throw new HistoryError('InvalidRecord', `missing field ${JSON.stringify(key)}`, line);
  const { id, process, invoke, complete } = r;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new HistoryError('InvalidRecord', `id must be a non-negative integer, got ${describe(id)}`, line);
  if (!isProcessId(process)) throw new HistoryError('InvalidRecord', `op ${id}: process must be a non-empty string or a non-negative integer, got ${describe(process)}`, line);
  if (typeof invoke !== 'number' || !Number.isFinite(invoke) || typeof complete !== 'number' || !Number.isFinite(complete)) {
    throw new HistoryError('TimeOrder', `op ${id}: invoke and complete must be finite numbers, got ${describe(invoke)} and ${describe(complete)}`, line);
  }
  if (complete < invoke) throw new HistoryError('TimeOrder', `op ${id} completes (${complete}) before it is invoked (${invoke})`, line);
  let op: Operation;
  try {
    op = parseOperation(r.op);
  } catch (e) {
    if (e instanceof HistoryError) throw new HistoryError(e.code, `op ${id}: ${e.message}`, line);
    throw e;
  }
  const outcome = parseOutcome(op, r.outcome, id, line);
  return { id, process, invoke, complete, op, outcome };
}

function isProcessId(p: unknown): p is ProcessId {
  return (typeof p === 'string' && p.length > 0 && p.length <= 256) || (typeof p === 'number' && Number.isSafeInteger(p) && p >= 0);
}

/** Validate an outcome against its operation: an ok value of the operation's answer shape, a fail code that is definite. */
export function parseOutcome(op: Operation, input: unknown, id: number, line?: number): Outcome {
  const where = `op ${id} (${op.type})`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new HistoryError('InvalidOutcome', `${where}: outcome must be an object, got ${describe(input)}`, line);
  const o = input as Record<string, unknown>;
  const allowed = o.type === 'ok' ? ['type', 'value'] : o.type === 'fail' ? ['type', 'code', 'message'] : o.type === 'info' ? ['type', 'reason'] : undefined;
  if (allowed === undefined) throw new HistoryError('InvalidOutcome', `${where}: outcome type must be "ok", "fail" or "info", got ${describe(o.type)}`, line);
  for (const key of Object.keys(o)) if (!allowed.includes(key)) throw new HistoryError('InvalidOutcome', `${where}: unexpected outcome field ${JSON.stringify(key)}`, line);
  switch (o.type) {
    case 'ok': {
      if (!('value' in o)) throw new HistoryError('InvalidOutcome', `${where}: an ok outcome needs a value`, line);
      const problem = valueProblem(op, o.value);
      if (problem !== undefined) throw new HistoryError('InvalidValue', `${where}: ${problem}`, line);
      return { type: 'ok', value: o.value };
    }
    case 'fail': {
      const { code, message } = o;
      if (typeof code !== 'string' || code.length === 0) throw new HistoryError('InvalidOutcome', `${where}: a fail outcome needs a code, got ${describe(code)}`, line);
      if (message !== undefined && typeof message !== 'string') throw new HistoryError('InvalidOutcome', `${where}: message must be a string, got ${describe(message)}`, line);
      const kind = failureKind(code);
      if (kind === undefined) throw new HistoryError('UnknownErrorCode', `${where}: no layer of raft-ipam answers with code ${describe(code)}`, line);
      if (kind === 'ambiguous') throw new HistoryError('AmbiguousFailure', `${where}: ${code} leaves open whether the operation took effect; record it as info, not fail`, line);
      return message !== undefined ? { type: 'fail', code, message } : { type: 'fail', code };
    }
    default: {
      const { reason } = o;
      if (reason !== undefined && typeof reason !== 'string') throw new HistoryError('InvalidOutcome', `${where}: reason must be a string, got ${describe(reason)}`, line);
      return reason !== undefined ? { type: 'info', reason } : { type: 'info' };
    }
  }
}

/** Cross-record rules: ids unique, one operation in flight per process. */
export function checkHistoryRules(ops: readonly HistoryOp[], lineOf?: (index: number) => number): void {
  const seen = new Map<number, number>();
  ops.forEach((op, i) => {
    if (seen.has(op.id)) throw new HistoryError('DuplicateOpId', `op id ${op.id} is used twice`, lineOf?.(i));
    seen.set(op.id, i);
  });
  const byProcess = new Map<string, number[]>();
  ops.forEach((op, i) => {
    const key = `${typeof op.process}:${op.process}`;
    const list = byProcess.get(key) ?? [];
    list.push(i);
    byProcess.set(key, list);
  });
  for (const list of byProcess.values()) {
    list.sort((a, b) => (ops[a] as HistoryOp).invoke - (ops[b] as HistoryOp).invoke || (ops[a] as HistoryOp).complete - (ops[b] as HistoryOp).complete);
    for (let k = 1; k < list.length; k++) {
      const prev = ops[list[k - 1] as number] as HistoryOp;
      const next = ops[list[k] as number] as HistoryOp;
      if (next.invoke < prev.complete) {
        throw new HistoryError('ProcessOverlap', `process ${describe(next.process)} invoked op ${next.id} at ${next.invoke} while op ${prev.id} was in flight until ${prev.complete}`, lineOf?.(list[k] as number));
      }
    }
  }
}

/** Parse and validate a JSON-lines history. Empty lines are skipped. Throws HistoryError. */
export function parseHistory(text: string): HistoryOp[] {
  const ops: HistoryOp[] = [];
  const lines: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new HistoryError('MalformedLine', `not JSON: ${(e as Error).message}`, i + 1);
    }
    ops.push(parseRecord(json, i + 1));
    lines.push(i + 1);
  });
  checkHistoryRules(ops, (index) => lines[index] as number);
  return ops;
}

/** JSON lines, one operation per line in the order given, keys in the documented order. */
export function toJsonLines(ops: readonly HistoryOp[]): string {
  return ops.map((o) => `${JSON.stringify({ id: o.id, process: o.process, invoke: o.invoke, complete: o.complete, op: o.op, outcome: o.outcome })}\n`).join('');
}

// --- recording ---------------------------------------------------------------------------------------

export interface RecorderOptions {
  /** Milliseconds on one clock for every process (default performance.now()). */
  clock?: () => number;
}

interface Pending {
  id: number;
  process: ProcessId;
  op: Operation;
  invoke: number;
}

/**
 * Clients call invoke() before sending a request and ok()/fail()/info() when it is over (or run(), which
 * does both around a call). Inputs are validated as they arrive, so a history the recorder wrote always
 * parses. One recorder per run; one process id per concurrent client lane.
 */
export class HistoryRecorder {
  private readonly clock: () => number;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly busy = new Map<string, number>();
  private readonly done: HistoryOp[] = [];

  constructor(options: RecorderOptions = {}) {
    this.clock = options.clock ?? (() => performance.now());
  }

  /** Record the invocation of `op` by `process`; returns the op id to complete it with. */
  invoke(process: ProcessId, op: Operation): number {
    if (!isProcessId(process)) throw new HistoryError('RecorderMisuse', `process must be a non-empty string or a non-negative integer, got ${describe(process)}`);
    const checked = parseOperation(op);
    const key = `${typeof process}:${process}`;
    const inFlight = this.busy.get(key);
    if (inFlight !== undefined) throw new HistoryError('RecorderMisuse', `process ${describe(process)} already has op ${inFlight} in flight; use one process id per concurrent client`);
    const id = this.nextId++;
    this.pending.set(id, { id, process, op: checked, invoke: this.clock() });
    this.busy.set(key, id);
    return id;
  }

  ok(id: number, value: unknown): void {
    this.complete(id, { type: 'ok', value });
  }

  fail(id: number, code: string, message?: string): void {
    this.complete(id, message !== undefined ? { type: 'fail', code, message } : { type: 'fail', code });
  }

  info(id: number, reason?: string): void {
    this.complete(id, reason !== undefined ? { type: 'info', reason } : { type: 'info' });
  }

  /** Complete op `id` with `outcome` (validated against the operation). */
  complete(id: number, outcome: Outcome): void {
    const p = this.pending.get(id);
    if (p === undefined) throw new HistoryError('RecorderMisuse', `op ${describe(id)} is not in flight (never invoked, or completed already)`);
    let plain: unknown;
    try {
      plain = JSON.parse(JSON.stringify(outcome)) as unknown; // what the file will hold, so the check sees the same
    } catch (e) {
      throw new HistoryError('InvalidValue', `op ${id}: the outcome is not JSON: ${(e as Error).message}`);
    }
    const checked = parseOutcome(p.op, plain, id);
    const complete = Math.max(this.clock(), p.invoke);
    this.pending.delete(id);
    this.busy.delete(`${typeof p.process}:${p.process}`);
    this.done.push({ id, process: p.process, invoke: p.invoke, complete, op: p.op, outcome: checked });
  }

  /**
   * Invoke `op`, await `call` and complete with the outcome it resolves to. A call that throws is recorded
   * as info (nothing is known of its effect) and the error is rethrown.
   */
  async run(process: ProcessId, op: Operation, call: () => Promise<Outcome>): Promise<Outcome> {
    const id = this.invoke(process, op);
    let outcome: Outcome;
    try {
      outcome = await call();
    } catch (e) {
      this.info(id, e instanceof Error ? `${e.name}: ${e.message}` : String(e));
      throw e;
    }
    this.complete(id, outcome);
    return outcome;
  }

  /** Operations in flight now. */
  inFlight(): number {
    return this.pending.size;
  }

  /** The completed operations, in completion order. */
  ops(): HistoryOp[] {
    return [...this.done];
  }

  /** Complete every operation still in flight as info (the run ended before it answered), then return the history. */
  close(reason = 'still in flight when the history was closed'): HistoryOp[] {
    for (const id of [...this.pending.keys()]) this.info(id, reason);
    return this.ops();
  }

  toJsonLines(): string {
    return toJsonLines(this.done);
  }
}
