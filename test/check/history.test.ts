/**
 * The history format at its boundary: what parses, what is refused and with which stable code, the
 * recorder's rules, and how client errors become outcomes.
 */
import { describe, expect, it } from 'vitest';
import { IpamClientError } from '../../src/api/client.js';
import { HistoryError, type HistoryErrorCode } from '../../src/check/errors.js';
import { HistoryRecorder, parseHistory, toJsonLines, type HistoryOp } from '../../src/check/history.js';
import { failureKind, outcomeOfError, outcomeOfRefusal } from '../../src/check/outcomes.js';
import { ErrorCodes } from '../../src/index.js';

const allocation = { network: 'pods', nodeId: 'n1', address: '10.200.0.1', generation: 3, owner: 'c1', existing: false };
const good: HistoryOp = { id: 1, process: 'c1', invoke: 5, complete: 9, op: { type: 'allocate', network: 'pods', nodeId: 'n1', owner: 'c1' }, outcome: { type: 'ok', value: allocation } };
const line = (o: unknown): string => JSON.stringify(o);

function refused(text: string): { code: HistoryErrorCode; line: number | undefined; message: string } {
  try {
    parseHistory(text);
  } catch (e) {
    if (e instanceof HistoryError) return { code: e.code, line: e.line, message: e.message };
    throw e;
  }
  throw new Error('accepted');
}

describe('parseHistory', () => {
  it('round-trips what toJsonLines writes, skipping blank lines', () => {
    const ops: HistoryOp[] = [
      good,
      { id: 2, process: 7, invoke: 10, complete: 12, op: { type: 'listAllocations', network: 'pods', node: 'n1', limit: 5 }, outcome: { type: 'ok', value: { network: 'pods', allocations: [{ network: 'pods', nodeId: 'n1', address: '10.200.0.1', generation: 3, owner: 'c1' }], truncated: false } } },
      { id: 3, process: 'c1', invoke: 10, complete: 30, op: { type: 'release', network: 'pods', address: '10.200.0.1', generation: 3 }, outcome: { type: 'info', reason: 'Timeout' } },
      { id: 4, process: 'c2', invoke: 11, complete: 13, op: { type: 'allocate', network: 'pods', nodeId: 'n9' }, outcome: { type: 'fail', code: 'NodeHasNoSlice', message: 'no slice' } },
      { id: 5, process: 'c3', invoke: 11, complete: 13, op: { type: 'listNetworks' }, outcome: { type: 'ok', value: [{ name: 'pods', cidr: '10.200.0.0/24', slicePrefix: 28 }] } },
    ];
    const text = toJsonLines(ops);
    expect(text.split('\n')[0]).toBe(line({ id: 1, process: 'c1', invoke: 5, complete: 9, op: good.op, outcome: good.outcome }));
    expect(parseHistory(`\n${text}\n\n`)).toEqual(ops);
  });

  const cases: Array<[string, string, HistoryErrorCode]> = [
    ['not JSON', '{"id":1,', 'MalformedLine'],
    ['not an object', '[1,2]', 'InvalidRecord'],
    ['an unknown field', line({ ...good, extra: 1 }), 'InvalidRecord'],
    ['a missing field', line({ ...good, outcome: undefined }), 'InvalidRecord'],
    ['a negative id', line({ ...good, id: -1 }), 'InvalidRecord'],
    ['an empty process', line({ ...good, process: '' }), 'InvalidRecord'],
    ['completion before invocation', line({ ...good, invoke: 10, complete: 9 }), 'TimeOrder'],
    ['a time that is not a number', line({ ...good, invoke: '5' }), 'TimeOrder'],
    ['an unknown command', line({ ...good, op: { type: 'allocateAll', network: 'pods' } }), 'InvalidOperation'],
    ['a session command', line({ ...good, op: { type: 'openSession' }, outcome: { type: 'ok', value: { session: 1 } } }), 'InvalidOperation'],
    ['a read with an unknown field', line({ ...good, op: { type: 'listSlices', network: 'pods', node: 'n1' } }), 'InvalidOperation'],
    ['a read limit beyond the API', line({ ...good, op: { type: 'listAllocations', network: 'pods', limit: 1_000_000 } }), 'InvalidOperation'],
    ['an outcome of no known type', line({ ...good, outcome: { type: 'maybe' } }), 'InvalidOutcome'],
    ['an ok without a value', line({ ...good, outcome: { type: 'ok' } }), 'InvalidOutcome'],
    ['a value of another command', line({ ...good, outcome: { type: 'ok', value: { released: true, address: '10.200.0.1' } } }), 'InvalidValue'],
    ['a value with an extra field', line({ ...good, outcome: { type: 'ok', value: { ...allocation, node: 'n1' } } }), 'InvalidValue'],
    ['an address not in canonical form', line({ ...good, outcome: { type: 'ok', value: { ...allocation, address: 'FD00::1' } } }), 'InvalidValue'],
    ['a read view of the wrong shape', line({ ...good, op: { type: 'listSlices', network: 'pods' }, outcome: { type: 'ok', value: { network: 'pods', slices: [{ nodeId: 'n1', slice: '10.200.0.0/28', allocated: 1, total: 14, available: '13' }] } } }), 'InvalidValue'],
    ['a fail without a code', line({ ...good, outcome: { type: 'fail' } }), 'InvalidOutcome'],
    ['a fail with a code nobody answers', line({ ...good, outcome: { type: 'fail', code: 'Nope' } }), 'UnknownErrorCode'],
    ['a fail that may have been applied', line({ ...good, outcome: { type: 'fail', code: 'Timeout' } }), 'AmbiguousFailure'],
    ['an info with a non-string reason', line({ ...good, outcome: { type: 'info', reason: 5 } }), 'InvalidOutcome'],
  ];
  for (const [what, text, code] of cases) {
    it(`refuses ${what} with ${code}, naming the line`, () => {
      const r = refused(`${line({ ...good, id: 0 })}\n${text}\n`);
      expect(r.code).toBe(code);
      expect(r.line).toBe(2);
      expect(r.message).toMatch(/^line 2: /);
    });
  }

  it('refuses a duplicate op id and a process with two operations in flight', () => {
    expect(refused(`${line(good)}\n${line({ ...good, invoke: 20, complete: 30 })}`).code).toBe('DuplicateOpId');
    const overlap = refused(`${line(good)}\n${line({ ...good, id: 2, invoke: 8, complete: 30 })}`);
    expect(overlap).toMatchObject({ code: 'ProcessOverlap', line: 2 });
    // The same times in two processes, or back to back in one, are fine.
    expect(parseHistory(`${line(good)}\n${line({ ...good, id: 2, process: 'c2', invoke: 8, complete: 30 })}\n${line({ ...good, id: 3, invoke: 9, complete: 30 })}`)).toHaveLength(3);
  });
});

describe('HistoryRecorder', () => {
  it('records invoke and completion times from its clock, in completion order', () => {
    let now = 100;
    const r = new HistoryRecorder({ clock: () => now });
    const a = r.invoke('c1', good.op);
    now = 105;
    const b = r.invoke('c2', { type: 'listNetworks' });
    now = 107;
    r.ok(b, []);
    now = 110;
    r.ok(a, allocation);
    expect(r.ops()).toEqual([
      { id: b, process: 'c2', invoke: 105, complete: 107, op: { type: 'listNetworks' }, outcome: { type: 'ok', value: [] } },
      { id: a, process: 'c1', invoke: 100, complete: 110, op: good.op, outcome: { type: 'ok', value: allocation } },
    ]);
    expect(parseHistory(r.toJsonLines())).toEqual(r.ops());
  });

  it('refuses what would make a bad history, at the call that would make it', () => {
    const r = new HistoryRecorder({ clock: () => 0 });
    const misuse = (fn: () => unknown): HistoryErrorCode | undefined => {
      try {
        fn();
      } catch (e) {
        if (e instanceof HistoryError) return e.code;
        throw e;
      }
      return undefined;
    };
    const id = r.invoke('c1', good.op);
    expect(misuse(() => r.invoke('c1', good.op))).toBe('RecorderMisuse');
    expect(misuse(() => r.invoke('', good.op))).toBe('RecorderMisuse');
    expect(misuse(() => r.invoke('c2', { type: 'allocate', network: 'pods' } as never))).toBe('InvalidOperation');
    expect(misuse(() => r.fail(id, 'Timeout'))).toBe('AmbiguousFailure');
    expect(misuse(() => r.ok(id, { address: 'x' }))).toBe('InvalidValue');
    expect(misuse(() => r.ok(id, { ...allocation, generation: 10n }))).toBe('InvalidValue');
    r.info(id, 'Timeout');
    expect(misuse(() => r.ok(id, allocation))).toBe('RecorderMisuse');
    expect(misuse(() => r.ok(99, allocation))).toBe('RecorderMisuse');
    // The process is free again once its operation is complete.
    expect(r.invoke('c1', good.op)).toBe(id + 1);
  });

  it('run() records the outcome a call resolves to, and info (rethrowing) when the call throws', async () => {
    let now = 0;
    const r = new HistoryRecorder({ clock: () => (now += 1) });
    await r.run('c1', good.op, async () => ({ type: 'fail', code: 'NoAvailableIps' }));
    await expect(r.run('c1', good.op, async () => Promise.reject(new Error('socket hang up')))).rejects.toThrow('socket hang up');
    expect(r.ops().map((o) => o.outcome)).toEqual([
      { type: 'fail', code: 'NoAvailableIps' },
      { type: 'info', reason: 'Error: socket hang up' },
    ]);
  });

  it('close() turns operations still in flight into info', () => {
    const r = new HistoryRecorder({ clock: () => 1 });
    r.invoke('c1', good.op);
    expect(r.inFlight()).toBe(1);
    expect(r.close().map((o) => o.outcome)).toEqual([{ type: 'info', reason: 'still in flight when the history was closed' }]);
    expect(r.inFlight()).toBe(0);
  });
});

describe('outcomes of errors', () => {
  it('every state-machine refusal code is evidence; session refusals and boundary errors mean not applied; timeouts are ambiguous', () => {
    for (const code of ErrorCodes) {
      expect(failureKind(code)).toBe(code.startsWith('Session') || code === 'UnknownSession' || code === 'TooManySessions' ? 'not-applied' : 'refusal');
    }
    for (const code of ['NotLeader', 'NoLeader', 'Overloaded', 'InvalidRequest', 'Unauthorized']) expect(failureKind(code)).toBe('not-applied');
    for (const code of ['Timeout', 'ProposalDropped', 'Stopped', 'Unavailable', 'OutcomeUnknown', 'Internal']) expect(failureKind(code)).toBe('ambiguous');
    expect(failureKind('Whatever')).toBeUndefined();
  });

  it('maps IpamClient errors and answers to what the checker may assume', () => {
    expect(outcomeOfError(new IpamClientError('NoAvailableIps', 'full', 'refused', 507))).toEqual({ type: 'fail', code: 'NoAvailableIps', message: 'full' });
    expect(outcomeOfError(new IpamClientError('Unauthorized', 'token', 'unauthorized', 401))).toMatchObject({ type: 'fail', code: 'Unauthorized' });
    expect(outcomeOfError(new IpamClientError('OutcomeUnknown', 'maybe', 'outcome-unknown'))).toEqual({ type: 'info', reason: 'OutcomeUnknown: maybe' });
    expect(outcomeOfError(new IpamClientError('Unavailable', 'gave up', 'unavailable'))).toMatchObject({ type: 'info' });
    // A 500 answered as a refusal still leaves the effect open.
    expect(outcomeOfError(new IpamClientError('Internal', 'bug', 'refused', 500))).toMatchObject({ type: 'info' });
    expect(outcomeOfError(new TypeError('fetch failed'))).toEqual({ type: 'info', reason: 'TypeError: fetch failed' });
    expect(outcomeOfRefusal({ code: 'SessionExpired', message: 'gone' })).toEqual({ type: 'fail', code: 'SessionExpired', message: 'gone' });
    expect(outcomeOfRefusal({ code: 'Timeout', message: 'slow' })).toMatchObject({ type: 'info' });
  });
});
