/**
 * The checker's model must be the state machine's semantics: random command streams go through the real
 * IpamStateMachine and through the model, and after every command the answers agree (refusal codes,
 * every field of every result; a new allocation's generation is the one thing the model leaves open) and
 * every read the API offers gives the same view.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_STATE, execute, query, step, allocationView, type ModelState } from '../../src/check/model.js';
import type { RecordedCommand } from '../../src/check/operations.js';
import { canonicalJson } from '../../src/check/values.js';
import { IpamStateMachine, type AllocationResult, type ApplyResult, type CommandResult } from '../../src/index.js';
import { runs } from '../support/runs.js';
import { readFromStateMachine } from './support/sm-views.js';
import { allReads, mutationArb, setupCommands } from './support/workload.js';

/** The model's view of a read, in the API's JSON (generations known: every answer was observed). */
function modelView(state: ModelState, read: Parameters<typeof query>[1]): { ok: true; value: unknown } | { ok: false; code: string } {
  const a = query(state, read);
  if (a.kind === 'refused') return { ok: false, code: a.code };
  if (a.kind === 'view') return { ok: true, value: a.value };
  return { ok: true, value: { network: a.network, allocations: a.allocations.map(allocationView), truncated: a.truncated, ...(a.next !== undefined ? { next: a.next } : {}) } };
}

/** Apply `command` to both; the model's prediction must be the state machine's answer. Returns the model's next state. */
function agree(sm: IpamStateMachine, state: ModelState, command: RecordedCommand, nextGeneration: { value: number }): ModelState {
  const r: ApplyResult<CommandResult> = sm.apply(command);
  const branches = execute(state, command);
  // Every generation was observed, so nothing is open: one way to go.
  expect(branches).toHaveLength(1);
  const b = branches[0];
  if (b === undefined) throw new Error('no branch');
  if (!r.ok) {
    expect({ kind: b.kind, code: b.kind === 'refused' ? b.code : undefined }).toEqual({ kind: 'refused', code: r.error.code });
  } else if (b.kind === 'done') {
    expect(canonicalJson(b.value)).toBe(canonicalJson(r.value));
  } else if (b.kind === 'grant') {
    const { generation, ...fields } = r.value as AllocationResult;
    expect(canonicalJson(b.value)).toBe(canonicalJson(fields));
    // The model says "a new generation": the state machine's answer must be the counter's next value.
    expect(generation).toBe(nextGeneration.value);
  } else if (b.kind === 'held') {
    const { generation, ...fields } = r.value as AllocationResult;
    expect(canonicalJson(b.value)).toBe(canonicalJson(fields));
    expect(b.gen).toBe(generation);
  } else {
    throw new Error(`the state machine answered ok ${JSON.stringify(r.value)}, the model refused ${b.code}`);
  }
  if (b.kind === 'grant') nextGeneration.value++;
  const next = step(state, command, r.ok ? { type: 'ok', value: JSON.parse(JSON.stringify(r.value)) } : { type: 'refused', code: r.error.code });
  expect(next).toHaveLength(1);
  return next[0] as ModelState;
}

describe('the model agrees with IpamStateMachine', () => {
  const reads = allReads();

  it('on random command streams: every answer, then every read view', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutationArb, { maxLength: 60, size: 'max' }), async (commands) => {
        const sm = new IpamStateMachine();
        let state = EMPTY_STATE;
        const counter = { value: 1 };
        for (const command of [...setupCommands, ...commands] as RecordedCommand[]) {
          state = agree(sm, state, command, counter);
        }
        for (const read of reads) expect(modelView(state, read)).toEqual(await readFromStateMachine(sm, read));
      }),
      { numRuns: runs(300) },
    );
  });

  it('after every command of a stream (reads compared at each step)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutationArb, { maxLength: 25, size: 'max' }), async (commands) => {
        const sm = new IpamStateMachine();
        let state = EMPTY_STATE;
        const counter = { value: 1 };
        for (const command of [...setupCommands, ...commands] as RecordedCommand[]) {
          state = agree(sm, state, command, counter);
          for (const read of reads) expect(modelView(state, read)).toEqual(await readFromStateMachine(sm, read));
        }
      }),
      { numRuns: runs(60) },
    );
  });

  it('fills a slice to NoAvailableIps and reuses released addresses lowest first, as the state machine does', () => {
    const sm = new IpamStateMachine();
    let state = EMPTY_STATE;
    const counter = { value: 1 };
    const commands: RecordedCommand[] = [
      { type: 'configureNetwork', name: 't', cidr: '192.0.2.0/28', slicePrefix: 30 },
      { type: 'assignSlice', network: 't', nodeId: 'a' },
      { type: 'allocate', network: 't', nodeId: 'a' },
      { type: 'allocate', network: 't', nodeId: 'a' },
      { type: 'allocate', network: 't', nodeId: 'a' },
    ];
    for (const c of commands) state = agree(sm, state, c, counter);
    // A /30 slice has two usable addresses: the third allocate was refused by both.
    expect(modelView(state, { type: 'listSlices', network: 't' })).toMatchObject({ ok: true, value: { slices: [{ allocated: 2, available: '0' }] } });
    const first = sm.allocations('t')?.[0]?.address as string;
    for (const c of [{ type: 'release', network: 't', address: first }, { type: 'allocate', network: 't', nodeId: 'a' }] as RecordedCommand[]) state = agree(sm, state, c, counter);
  });
});
