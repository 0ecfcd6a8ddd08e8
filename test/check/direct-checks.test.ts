/**
 * The checks that need no search. Histories are built with the real state machine (history-builder.ts);
 * violations are made by changing real answers or leaving the final state without a real grant.
 */
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/check/check-history.js';
import { convergenceViolations, exclusiveHolding, finalStateViolations, generationIdentity, parseFinalState, parseNodeStates, type FinalState } from '../../src/check/direct-checks.js';
import { HistoryError } from '../../src/check/errors.js';
import type { HistoryOp } from '../../src/check/history.js';
import type { AllocationResult } from '../../src/index.js';
import { HistoryBuilder } from './support/history-builder.js';

const alloc = (nodeId: string, owner?: string) => ({ type: 'allocate' as const, network: 'pods', nodeId, ...(owner !== undefined ? { owner } : {}) });
const listNode = (node: string) => ({ type: 'listAllocations' as const, network: 'pods', node });

/** Give op `id` the answer `value` (a changed real answer). */
function answer(b: HistoryBuilder, id: number, value: unknown): void {
  (b.ops.find((o) => o.id === id) as HistoryOp).outcome = { type: 'ok', value };
}

/** The final state a read of `b`'s state machine gives now. */
function finalOf(b: HistoryBuilder): FinalState {
  return { allocations: (b.sm.allocations('pods') ?? []).map((a) => ({ ...a })), slices: (b.sm.slices('pods') ?? []).map((s) => ({ network: 'pods', nodeId: s.nodeId, slice: s.slice })) };
}

describe('exclusiveHolding', () => {
  it('finds two acknowledged grants of one address with nothing that could free it between them', () => {
    const b = new HistoryBuilder().setup();
    const first = b.allocate('c1', [0, 10], alloc('n1', 'a'));
    const second = b.allocate('c2', [20, 30], alloc('n1', 'b'));
    expect(exclusiveHolding(b.ops)).toEqual([]);
    answer(b, second.id, { ...second, id: undefined, address: first.address });
    const v = exclusiveHolding(b.ops);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ check: 'exclusive-grant', opIds: [first.id, second.id] });
    expect(v[0]?.message).toContain(`pods/${first.address}`);
  });

  it('accepts the second grant when a release, a releaseOwner or a releaseSlice — acknowledged or not — could lie between', () => {
    const frees = [
      (b: HistoryBuilder, g: AllocationResult) => b.apply('c3', [12, 15], { type: 'release', network: 'pods', address: g.address }),
      (b: HistoryBuilder, g: AllocationResult) => b.info('c3', [12, 15], { type: 'release', network: 'pods', address: g.address, generation: g.generation }, true),
      (b: HistoryBuilder) => b.apply('c3', [12, 15], { type: 'releaseOwner', owner: 'a' }),
      (b: HistoryBuilder) => b.info('c3', [12, 15], { type: 'releaseOwner', owner: 'a', network: 'pods' }, true),
      (b: HistoryBuilder) => b.apply('c3', [12, 15], { type: 'releaseSlice', network: 'pods', nodeId: 'n1' }),
    ];
    for (const free of frees) {
      const b = new HistoryBuilder().setup();
      const first = b.allocate('c1', [0, 10], alloc('n1', 'a'));
      free(b, first);
      if (b.sm.sliceOf('pods', 'n1') === undefined) b.apply('c3', [16, 17], { type: 'assignSlice', network: 'pods', nodeId: 'n1' });
      const again = b.allocate('c2', [20, 30], alloc('n1', 'b'));
      expect(again.address).toBe(first.address);
      expect(exclusiveHolding(b.ops)).toEqual([]);
    }
  });

  it('a release that ended before the first grant began, or that released nothing, explains nothing', () => {
    const b = new HistoryBuilder().setup();
    const first = b.allocate('c1', [0, 10], alloc('n1', 'a'));
    b.record('c3', [-20, -15], { type: 'release', network: 'pods', address: first.address }, { type: 'ok', value: { released: true, address: first.address } });
    b.record('c4', [12, 15], { type: 'release', network: 'pods', address: first.address }, { type: 'ok', value: { released: false, address: first.address } });
    const second = b.allocate('c2', [20, 30], alloc('n1', 'b'));
    answer(b, second.id, { ...second, id: undefined, address: first.address });
    expect(exclusiveHolding(b.ops).map((v) => v.opIds)).toEqual([[first.id, second.id]]);
  });

  it('finds one slice assigned to two nodes, but not a node told its own slice twice', () => {
    const b = new HistoryBuilder().setup(['n1', 'n2']);
    const n1Slice = b.sm.sliceOf('pods', 'n1') as string;
    b.apply('c1', [0, 10], { type: 'assignSlice', network: 'pods', nodeId: 'n1' });
    expect(exclusiveHolding(b.ops)).toEqual([]);
    const n2 = b.ops.find((o) => o.op.type === 'assignSlice' && o.op.nodeId === 'n2') as HistoryOp;
    answer(b, n2.id, { slices: { pods: n1Slice } });
    expect(exclusiveHolding(b.ops).map((v) => v.check)).toEqual(['exclusive-grant', 'exclusive-grant']);
  });

  it('finds a read listing one address, or one owner, twice', async () => {
    const b = new HistoryBuilder().setup();
    b.allocate('c1', [0, 10], alloc('n1', 'a'));
    b.allocate('c1', [11, 20], alloc('n1', 'b'));
    const read = await b.read('c2', [30, 40], listNode('n1'));
    const view = (read.outcome as { value: { allocations: Array<{ address: string; owner?: string }> } }).value;
    answer(b, read.id, { ...view, allocations: [view.allocations[0], { ...view.allocations[1], address: view.allocations[0]?.address }] });
    expect(exclusiveHolding(b.ops)).toEqual([expect.objectContaining({ check: 'read-consistency', opIds: [read.id] })]);
    answer(b, read.id, { ...view, allocations: [view.allocations[0], { ...view.allocations[1], owner: 'a' }] });
    expect(exclusiveHolding(b.ops)[0]?.message).toContain('owner "a" twice');
  });
});

describe('generationIdentity', () => {
  it('finds one generation naming two addresses, across networks too', () => {
    const b = new HistoryBuilder().setup();
    b.apply('setup', [-50, -49], { type: 'configureNetwork', name: 'other', cidr: '10.201.0.0/24', slicePrefix: 28 });
    b.apply('setup', [-48, -47], { type: 'assignSlice', network: 'other', nodeId: 'n1' });
    const a = b.allocate('c1', [0, 10], alloc('n1'));
    const o = b.allocate('c2', [0, 10], { type: 'allocate', network: 'other', nodeId: 'n1' });
    expect(generationIdentity(b.ops)).toEqual([]);
    answer(b, o.id, { ...o, id: undefined, generation: a.generation });
    expect(generationIdentity(b.ops)).toEqual([expect.objectContaining({ check: 'generation-identity', opIds: [a.id, o.id] })]);
  });
});

describe('finalStateViolations', () => {
  it('nothing when the final state is the state machine\'s', () => {
    const b = new HistoryBuilder().setup();
    b.allocate('c1', [0, 10], alloc('n1', 'a'));
    b.allocate('c2', [0, 10], alloc('n2'));
    expect(finalStateViolations(b.ops, finalOf(b))).toEqual([]);
  });

  it('a lost write: an acknowledged allocation missing with nothing that could have freed it', () => {
    const b = new HistoryBuilder().setup();
    const kept = b.allocate('c1', [0, 10], alloc('n1', 'a'));
    const lost = b.allocate('c2', [0, 10], alloc('n1', 'b'));
    const final = finalOf(b);
    final.allocations = final.allocations.filter((a) => a.address !== lost.address);
    expect(finalStateViolations(b.ops, final)).toEqual([expect.objectContaining({ check: 'lost-write', opIds: [lost.id] })]);
    // An unanswered release of it, invoked after the allocation was, explains the absence.
    b.info('c3', [5, 20], { type: 'release', network: 'pods', address: lost.address }, false);
    expect(finalStateViolations(b.ops, final)).toEqual([]);
    expect(kept.address).not.toBe(lost.address);
  });

  it('a lost slice, and phantoms: an allocation or a slice nothing granted', () => {
    const b = new HistoryBuilder().setup(['n1', 'n2']);
    const final = finalOf(b);
    const n2 = final.slices?.find((s) => s.nodeId === 'n2');
    final.slices = final.slices?.filter((s) => s !== n2);
    final.allocations.push({ network: 'pods', nodeId: 'n1', address: '10.200.0.77', generation: 40 });
    final.slices?.push({ network: 'pods', nodeId: 'n9', slice: '10.200.0.240/28' });
    expect(finalStateViolations(b.ops, final).map((v) => v.check).sort()).toEqual(['lost-write', 'phantom', 'phantom']);
    // An unanswered allocation on that node could have made the address.
    b.info('c1', [0, 10], alloc('n1'), false);
    expect(finalStateViolations(b.ops, final).map((v) => v.check).sort()).toEqual(['lost-write', 'phantom']);
  });

  it('validates the final state at the boundary', () => {
    const bad = (input: unknown): string => {
      try {
        parseFinalState(input);
      } catch (e) {
        if (e instanceof HistoryError) return e.code;
        throw e;
      }
      return 'accepted';
    };
    expect(bad(null)).toBe('InvalidInput');
    expect(bad({ allocations: [{ network: 'pods', nodeId: 'n1', address: 'nope', generation: 1 }] })).toBe('InvalidInput');
    expect(bad({ allocations: [{ network: 'pods', nodeId: 'n1', address: '10.0.0.1', generation: 0 }] })).toBe('InvalidInput');
    expect(bad({ allocations: [], slices: [{ network: 'pods', nodeId: 'n1', slice: '10.0.0.0/33' }] })).toBe('InvalidInput');
    expect(parseFinalState({ allocations: [{ network: 'pods', nodeId: 'n1', address: 'FD00::0001', generation: 1 }] }).allocations[0]?.address).toBe('fd00::1');
  });
});

describe('convergenceViolations', () => {
  it('every node at the same applied index with the same state hash, or a violation naming the groups', () => {
    expect(convergenceViolations(parseNodeStates([{ id: 'n1', applied: 7, stateHash: 'ab' }, { id: 'n2', applied: 7, stateHash: 'ab' }]))).toEqual([]);
    const v = convergenceViolations(parseNodeStates([{ id: 'n1', applied: 7, stateHash: 'ab' }, { id: 'n2', applied: 7, stateHash: 'cd' }, { id: 'n3', applied: 6, stateHash: 'ab' }]));
    expect(v).toHaveLength(1);
    expect(v[0]?.message).toBe('the nodes did not converge: n1: applied 7, state ab; n2: applied 7, state cd; n3: applied 6, state ab');
    expect(() => parseNodeStates([])).toThrow(HistoryError);
    expect(() => parseNodeStates([{ id: 'n1', applied: 1, stateHash: 'a' }, { id: 'n1', applied: 1, stateHash: 'a' }])).toThrow(/unique/);
  });
});

describe('checkHistory', () => {
  it('pass, fail and unknown; a direct violation fails the history even when the search passes', async () => {
    const b = new HistoryBuilder().setup();
    const a = b.allocate('c1', [0, 10], alloc('n1', 'a'));
    await b.read('c2', [20, 30], listNode('n1'));
    expect(checkHistory(b.ops, { final: finalOf(b), nodes: [{ id: 'n1', applied: 3, stateHash: 'x' }] }).verdict).toBe('pass');
    const diverged = checkHistory(b.ops, { nodes: [{ id: 'n1', applied: 3, stateHash: 'x' }, { id: 'n2', applied: 3, stateHash: 'y' }] });
    expect(diverged).toMatchObject({ verdict: 'fail', linearizability: { status: 'linearizable' } });
    const lost = checkHistory(b.ops, { final: { allocations: [] } });
    expect(lost.violations.map((v) => v.opIds)).toEqual([[a.id]]);
    expect(checkHistory(b.ops, { maxStates: 2 }).verdict).toBe('unknown');
    expect(() => checkHistory([{ ...b.ops[0], outcome: { type: 'fail', code: 'Timeout' } }])).toThrow(/record 0: op 0/);
  });
});
