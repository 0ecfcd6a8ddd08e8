/**
 * The search on its own, over a model small enough to reason about by hand: an append-only list.
 * `append v` adds v; `read xs` must see exactly xs. Expected answers come from that definition.
 */
import { describe, expect, it } from 'vitest';
import { sameBits, searchEndStates, searchLinearization, storeBits, type Budget, type SearchOp, type SearchSpec } from '../../src/check/search.js';

type Op = { kind: 'append'; value: number; info?: boolean } | { kind: 'read'; sees: number[] } | { kind: 'either'; a: number; b: number };
type Timed = Op & { call: number; ret: number };

const listHash = (s: readonly number[]): number => s.reduce((h, v) => Math.imul(h ^ v, 0x01000193) >>> 0, 0x811c9dc5);

function spec(ops: readonly Timed[], hash: (s: readonly number[]) => number = listHash): SearchSpec<readonly number[]> {
  return {
    step: (state, i) => {
      const op = ops[i] as Timed;
      switch (op.kind) {
        case 'append':
          return [[...state, op.value]];
        case 'read':
          return state.length === op.sees.length && state.every((v, k) => v === op.sees[k]) ? [state] : [];
        case 'either':
          // A step the model cannot decide: both next states are possible.
          return [
            [...state, op.a],
            [...state, op.b],
          ];
      }
    },
    hash,
    equal: (a, b) => a.length === b.length && a.every((v, k) => v === b[k]),
  };
}

const budget = (maxStates = 100_000): Budget => ({ maxStates, explored: 0 });
const info = (ops: readonly Timed[]) => (i: number): boolean => (ops[i] as Timed).kind === 'append' && (ops[i] as { info?: boolean }).info === true;
const searchOps = (ops: readonly Timed[]): SearchOp[] => ops.map((o) => ({ call: o.call, ret: o.ret }));
const run = (ops: Timed[], b = budget(), hash?: (s: readonly number[]) => number) => searchLinearization(searchOps(ops), info(ops), spec(ops, hash), [] as readonly number[], b);

const INF = Number.POSITIVE_INFINITY;

describe('searchLinearization', () => {
  it('an empty history is linearizable with the empty order', () => {
    expect(run([])).toEqual({ status: 'linearizable', order: [], end: [] });
  });

  it('finds the order concurrency allows, and reports it', () => {
    const ops: Timed[] = [
      { kind: 'append', value: 1, call: 0, ret: 10 },
      { kind: 'append', value: 2, call: 0, ret: 10 },
      { kind: 'read', sees: [2, 1], call: 20, ret: 30 },
    ];
    const r = run(ops);
    expect(r).toMatchObject({ status: 'linearizable', order: [1, 0, 2], end: [2, 1] });
  });

  it('refuses an order real time forbids, with the longest prefix and the operation that could not be placed', () => {
    const ops: Timed[] = [
      { kind: 'append', value: 1, call: 0, ret: 10 },
      { kind: 'append', value: 2, call: 20, ret: 30 },
      { kind: 'read', sees: [2, 1], call: 40, ret: 50 },
    ];
    const r = run(ops);
    expect(r.status).toBe('not-linearizable');
    if (r.status !== 'not-linearizable') return;
    expect(r.longest).toEqual([0, 1]);
    expect(r.blocked).toBe(2);
    expect(r.stateAtLongest).toEqual([1, 2]);
  });

  it('reports the deepest dead end, not the first one', () => {
    const ops: Timed[] = [
      { kind: 'append', value: 1, call: 0, ret: 10 },
      { kind: 'append', value: 2, call: 0, ret: 10 },
      { kind: 'read', sees: [2, 1], call: 20, ret: 30 },
      { kind: 'append', value: 3, call: 40, ret: 50 },
      { kind: 'read', sees: [2, 1], call: 60, ret: 70 },
    ];
    // 1 first dies at the first read (depth 2); 2 first gets through three more before the stale read.
    expect(run(ops)).toMatchObject({ status: 'not-linearizable', longest: [1, 0, 2, 3], blocked: 4, stateAtLongest: [2, 1, 3] });
  });

  it('an operation returning at t and one invoked at t are concurrent', () => {
    const ops: Timed[] = [
      { kind: 'append', value: 1, call: 0, ret: 10 },
      { kind: 'append', value: 2, call: 10, ret: 20 },
      { kind: 'read', sees: [2, 1], call: 30, ret: 40 },
    ];
    expect(run(ops).status).toBe('linearizable');
  });

  it('an info operation may take effect long after it was invoked, or never', () => {
    const late: Timed[] = [
      { kind: 'append', value: 9, info: true, call: 0, ret: INF },
      { kind: 'append', value: 1, call: 10, ret: 20 },
      { kind: 'read', sees: [1, 9], call: 30, ret: 40 },
    ];
    expect(run(late).status).toBe('linearizable');
    const never: Timed[] = [
      { kind: 'append', value: 9, info: true, call: 0, ret: INF },
      { kind: 'read', sees: [], call: 30, ret: 40 },
    ];
    expect(run(never)).toMatchObject({ status: 'linearizable', order: [1, 0] });
    const before: Timed[] = [
      { kind: 'read', sees: [9], call: 0, ret: 5 },
      { kind: 'append', value: 9, info: true, call: 10, ret: INF },
    ];
    expect(run(before).status).toBe('not-linearizable');
  });

  it('tries every next state a step gives', () => {
    const ops: Timed[] = [
      { kind: 'either', a: 1, b: 2, call: 0, ret: 10 },
      { kind: 'read', sees: [2], call: 20, ret: 30 },
    ];
    expect(run(ops)).toMatchObject({ status: 'linearizable', end: [2] });
  });

  it('the cache compares states, not only hashes: with every hash equal, two orders of the same set stay apart', () => {
    const ops: Timed[] = [
      { kind: 'append', value: 1, info: true, call: 0, ret: INF },
      { kind: 'append', value: 2, info: true, call: 0, ret: INF },
      { kind: 'read', sees: [2, 1], call: 20, ret: 30 },
    ];
    expect(run(ops, budget(), () => 7)).toMatchObject({ status: 'linearizable', order: [1, 0, 2] });
  });

  it('identical info operations are placed in call order only (twins): the same verdicts, k+1 subsets instead of 2^k', () => {
    const twins = (ops: Timed[]): SearchOp[] => searchOps(ops).map((o, i) => (i > 0 && i < 10 ? { ...o, twin: i - 1 } : o));
    const timeouts = (): Timed[] => Array.from({ length: 10 }, (_, k) => ({ kind: 'append' as const, value: 5, info: true, call: k, ret: INF }));
    const fine = [...timeouts(), { kind: 'read' as const, sees: [5, 5, 5], call: 100, ret: 110 }];
    expect(searchLinearization(twins(fine), info(fine), spec(fine), [] as readonly number[], budget()).status).toBe('linearizable');
    // A read nothing explains makes the search exhaust every way of placing the timeouts.
    const violated = [...timeouts(), { kind: 'read' as const, sees: [5, 7], call: 100, ret: 110 }];
    const withTwins = budget();
    expect(searchLinearization(twins(violated), info(violated), spec(violated), [] as readonly number[], withTwins).status).toBe('not-linearizable');
    const without = budget();
    expect(run(violated, without).status).toBe('not-linearizable');
    expect(withTwins.explored).toBeLessThanOrEqual(11);
    expect(without.explored).toBeGreaterThanOrEqual(2 ** 10 - 1);
  });

  it('stops at the state budget with unknown, never linearizable', () => {
    const ops: Timed[] = Array.from({ length: 12 }, (_, k) => ({ kind: 'append' as const, value: k, call: 0, ret: 10 }));
    ops.push({ kind: 'read', sees: [99], call: 20, ret: 30 });
    const b = budget(50);
    expect(run(ops, b)).toMatchObject({ status: 'unknown', reason: 'states' });
    expect(b.explored).toBe(50);
  });

  it('stops at the deadline of the caller clock with unknown', () => {
    const ops: Timed[] = Array.from({ length: 12 }, (_, k) => ({ kind: 'append' as const, value: k, call: 0, ret: 10 }));
    ops.push({ kind: 'read', sees: [99], call: 20, ret: 30 });
    let now = 0;
    const b: Budget = { maxStates: 1e9, explored: 0, deadline: 1_000, clock: () => (now += 10) };
    expect(run(ops, b)).toMatchObject({ status: 'unknown', reason: 'deadline' });
  });
});

describe('searchEndStates', () => {
  it('collects the distinct end states of every linearization', () => {
    const ops: Timed[] = [
      { kind: 'append', value: 1, call: 0, ret: 10 },
      { kind: 'append', value: 2, call: 0, ret: 10 },
    ];
    const r = searchEndStates(searchOps(ops), info(ops), spec(ops), [] as readonly number[], budget(), 5);
    expect(r.status).toBe('linearizable');
    if (r.status !== 'linearizable') return;
    expect(r.complete).toBe(true);
    expect([...r.ends].map((e) => e.join(',')).sort()).toEqual(['1,2', '2,1']);
  });

  it('stops once there are more than `limit`, and reports one state for a sequential history', () => {
    const concurrent: Timed[] = [
      { kind: 'append', value: 1, call: 0, ret: 10 },
      { kind: 'append', value: 2, call: 0, ret: 10 },
    ];
    expect(searchEndStates(searchOps(concurrent), info(concurrent), spec(concurrent), [] as readonly number[], budget(), 1)).toMatchObject({ status: 'linearizable', complete: false });
    const sequential: Timed[] = [
      { kind: 'append', value: 1, call: 0, ret: 10 },
      { kind: 'append', value: 2, call: 20, ret: 30 },
    ];
    expect(searchEndStates(searchOps(sequential), info(sequential), spec(sequential), [] as readonly number[], budget(), 1)).toEqual({ status: 'linearizable', ends: [[1, 2]], complete: true });
  });

  it('a violated history has no end state', () => {
    const ops: Timed[] = [
      { kind: 'append', value: 1, call: 0, ret: 10 },
      { kind: 'read', sees: [], call: 20, ret: 30 },
    ];
    expect(searchEndStates(searchOps(ops), info(ops), spec(ops), [] as readonly number[], budget(), 1)).toMatchObject({ status: 'not-linearizable', blocked: 1 });
  });
});

describe('the cache\'s stored sets of placed operations', () => {
  const bitsOf = (n: number, set: number[]): Uint32Array => {
    const bits = new Uint32Array(Math.ceil(n / 32));
    for (const i of set) bits[i >>> 5] = (bits[i >>> 5] as number) | (1 << (i & 31));
    return bits;
  };
  const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, k) => a + k);

  it('drop leading full words and trailing empty words, and compare equal only to the same set', () => {
    const sets = [[], [0], [5, 70], range(0, 32), range(0, 64), [...range(0, 32), 40], [...range(0, 64), 100], range(0, 128), [127], [31, 32]];
    for (const a of sets) {
      const stored = storeBits(bitsOf(128, a));
      for (const b of sets) expect(sameBits(bitsOf(128, b), stored)).toBe(a.join() === b.join());
    }
    expect(storeBits(bitsOf(128, [...range(0, 64), 100]))).toMatchObject({ ones: 2 });
    expect(storeBits(bitsOf(128, [...range(0, 64), 100])).words).toHaveLength(2);
    expect(storeBits(bitsOf(128, range(0, 128))).words).toHaveLength(0);
    expect(storeBits(bitsOf(128, [5])).words).toHaveLength(1);
    expect(storeBits(bitsOf(128, [])).words).toHaveLength(0);
  });
});
