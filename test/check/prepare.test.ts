/**
 * What the checker infers from a history before searching it, rule by rule, on histories built with the
 * real state machine. Each rule is a fact about the state machine the search would otherwise rediscover
 * by trying every placement of every timeout; the expected values are derived here from the rule itself.
 */
import { describe, expect, it } from 'vitest';
import type { HistoryOp } from '../../src/check/history.js';
import { checkLinearizability } from '../../src/check/linearizability.js';
import { infoReleaseNotBefore, prepare, revealInfo, unseenAllocationNotBefore } from '../../src/check/prepare.js';
import { HistoryBuilder } from './support/history-builder.js';

const alloc = (nodeId: string, owner?: string) => ({ type: 'allocate' as const, network: 'pods', nodeId, ...(owner !== undefined ? { owner } : {}) });
const listNode = (node: string) => ({ type: 'listAllocations' as const, network: 'pods', node });
const holding = (b: HistoryBuilder, owner: string) => b.sm.addressesOf(owner)[0] as { address: string; generation: number; nodeId: string };

describe('revealInfo: a timed-out allocation whose answer a later answer shows', () => {
  it('a read showing the owner reveals the one timed-out command that allocated for it', async () => {
    const b = new HistoryBuilder().setup();
    const t = b.info('c1', [0, 5], alloc('n1', 'p'), true);
    await b.read('c2', [10, 15], listNode('n1'));
    const h = holding(b, 'p');
    expect(revealInfo(b.ops).get(t.id)).toEqual({ network: 'pods', nodeId: 'n1', address: h.address, generation: h.generation, owner: 'p', existing: false });
  });

  it('a retry answered existing reveals the first attempt', () => {
    const b = new HistoryBuilder().setup();
    const t = b.info('c1', [0, 5], alloc('n1', 'p'), true);
    const retry = b.allocate('c1', [6, 9], alloc('n1', 'p'));
    expect(retry.existing).toBe(true);
    expect(revealInfo(b.ops).get(t.id)).toMatchObject({ address: retry.address, generation: retry.generation, existing: false });
  });

  it('nothing is revealed when two timed-out commands could have made it, when an acknowledged one did, or when the node differs', async () => {
    const two = new HistoryBuilder().setup();
    two.info('c1', [0, 5], alloc('n1', 'p'), true);
    two.info('c2', [0, 5], alloc('n1', 'p'), true);
    await two.read('c3', [10, 15], listNode('n1'));
    expect(revealInfo(two.ops).size).toBe(0);

    const acked = new HistoryBuilder().setup();
    acked.info('c1', [0, 5], alloc('n1', 'p'), false);
    acked.allocate('c2', [6, 9], alloc('n1', 'p'));
    await acked.read('c3', [10, 15], listNode('n1'));
    expect(revealInfo(acked.ops).size).toBe(0);

    const elsewhere = new HistoryBuilder().setup();
    const t = elsewhere.info('c1', [0, 5], alloc('n1', 'p'), true);
    const read = await elsewhere.read('c3', [10, 15], listNode('n1'));
    const view = (read.outcome as { value: { allocations: Array<{ nodeId: string }> } }).value;
    (read as HistoryOp).outcome = { type: 'ok', value: { ...view, allocations: view.allocations.map((a) => ({ ...a, nodeId: 'n2' })) } };
    expect(revealInfo(elsewhere.ops).has(t.id)).toBe(false);
  });

  it('a revealed generation puts the timeout in generation order: a read that missed it after a higher generation completed is a violation', async () => {
    const b = new HistoryBuilder().setup(['n1', 'n2']);
    b.info('c1', [0, 5], alloc('n2', 'p'), true); // generation 1, on n2
    const q = b.allocate('c2', [10, 15], alloc('n1', 'q')); // generation 2, on n1: p took effect before q completed
    // Only the generations link the two nodes: n2's own history alone would let p take effect late.
    const real = await b.view(listNode('n2'));
    const view = (real as { value: { network: string; allocations: Array<{ owner?: string }>; truncated: boolean } }).value;
    const missed = b.record('c3', [20, 25], listNode('n2'), { type: 'ok', value: { ...view, allocations: view.allocations.filter((a) => a.owner !== 'p') } });
    await b.read('c4', [30, 35], listNode('n2')); // shows p with generation 1
    expect(q.generation).toBe(2);
    const r = checkLinearizability(b.ops);
    expect(r.status).toBe('not-linearizable');
    if (r.status === 'not-linearizable') expect(r.failure.blocked).toBe(missed.id);
  });
});

describe('infoReleaseNotBefore: a timed-out release cannot precede an answer that still shows the allocation', () => {
  it('moves its earliest point to the last answer showing that address and generation', async () => {
    const b = new HistoryBuilder().setup();
    const a = b.allocate('c1', [0, 5], alloc('n1', 'x'));
    const r = b.info('c2', [6, 8], { type: 'release', network: 'pods', address: a.address, generation: a.generation }, false);
    await b.read('c3', [10, 12], listNode('n1'));
    await b.read('c3', [30, 32], listNode('n1'));
    const existing = b.apply('c1', [40, 45], alloc('n1', 'x')); // existing: true, also shows it
    expect(infoReleaseNotBefore(b.ops).get(r.id)).toBe(existing.invoke);
    // A release without a generation, or of another generation, is not bound by it.
    const c = new HistoryBuilder().setup();
    const a2 = c.allocate('c1', [0, 5], alloc('n1', 'x'));
    const noGen = c.info('c2', [6, 8], { type: 'release', network: 'pods', address: a2.address }, false);
    const otherGen = c.info('c4', [6, 8], { type: 'release', network: 'pods', address: a2.address, generation: a2.generation + 7 }, false);
    await c.read('c3', [30, 32], listNode('n1'));
    expect(infoReleaseNotBefore(c.ops).has(noGen.id)).toBe(false);
    expect(infoReleaseNotBefore(c.ops).has(otherGen.id)).toBe(false);
  });
});

describe('unseenAllocationNotBefore: a timed-out allocation nobody saw, with nothing that could free it', () => {
  it('cannot take effect before a complete listing of its node, and is permanent if it does', async () => {
    const b = new HistoryBuilder().setup();
    const t = b.info('c1', [0, 5], alloc('n1', 'ghost'), false);
    await b.read('c2', [10, 12], listNode('n1'));
    const last = await b.read('c2', [40, 42], { type: 'listAllocations', network: 'pods' });
    await b.read('c2', [50, 52], listNode('n2')); // another node's listing says nothing about n1
    await b.read('c2', [60, 62], { type: 'listAllocations', network: 'pods', node: 'n1', owner: 'x' }); // filtered: not complete
    const r = unseenAllocationNotBefore(b.ops, new Map());
    expect(r.notBefore.get(t.id)).toBe(last.invoke);
    expect(r.permanent.has(t.id)).toBe(true);
  });

  it('does not apply when something could free it, or when its owner is seen', async () => {
    const freed = new HistoryBuilder().setup();
    const t = freed.info('c1', [0, 5], alloc('n1', 'ghost'), false);
    freed.info('c1', [6, 8], { type: 'releaseOwner', owner: 'ghost', network: 'pods' }, false);
    await freed.read('c2', [10, 12], listNode('n1'));
    expect(unseenAllocationNotBefore(freed.ops, new Map()).permanent.has(t.id)).toBe(false);

    const seen = new HistoryBuilder().setup();
    const u = seen.info('c1', [0, 5], alloc('n1', 'p'), true);
    await seen.read('c2', [10, 12], listNode('n1'));
    expect(unseenAllocationNotBefore(seen.ops, new Map()).notBefore.has(u.id)).toBe(false);
  });

  it('an allocation without owner counts a listing only if every owner-less entry there is acknowledged', async () => {
    const b = new HistoryBuilder().setup();
    b.allocate('c1', [0, 5], alloc('n1'));
    const t = b.info('c2', [6, 8], alloc('n1'), false);
    const clean = await b.read('c3', [10, 12], listNode('n1'));
    b.info('c4', [14, 16], alloc('n1'), true); // took effect, unanswered: an unexplained owner-less entry from now on
    await b.read('c3', [20, 22], listNode('n1'));
    expect(unseenAllocationNotBefore(b.ops, new Map()).notBefore.get(t.id)).toBe(clean.invoke);
  });

  it('prepare applies the bounds to the intervals the search sees', async () => {
    const b = new HistoryBuilder().setup();
    const t = b.info('c1', [0, 5], alloc('n1', 'ghost'), false);
    const last = await b.read('c2', [10, 12], listNode('n1'));
    const op = prepare(b.ops).ops.find((c) => c.id === t.id);
    expect(op).toMatchObject({ invoke: last.invoke, complete: Number.POSITIVE_INFINITY, outcome: { type: 'info' } });
  });
});

describe('pruning doomed steps', () => {
  it('a release is not placed before a read that still shows what it frees (instead of trying every timeout in between)', async () => {
    const b = new HistoryBuilder().setup(['n1']);
    const a = b.allocate('c1', [0, 5], alloc('n1', 'x'));
    // Eight distinct timeouts, each for its own address in n1's slice, that never took effect.
    const base = Number((b.sm.sliceOf('pods', 'n1') as string).split('/')[0]?.split('.')[3]);
    for (let k = 0; k < 8; k++) b.info(`t${k}`, [10 + k, 11 + k], { type: 'allocateSpecific', network: 'pods', nodeId: 'n1', address: `10.200.0.${base + 3 + k}` }, false);
    // The read took effect before the release, though the release was invoked first.
    const view = await b.view(listNode('n1'));
    b.apply('c2', [100, 120], { type: 'release', network: 'pods', address: a.address, generation: a.generation });
    b.record('c3', [105, 110], listNode('n1'), view);
    const r = checkLinearizability(b.ops, { maxStates: 50_000 });
    expect(r.status).toBe('linearizable');
    expect(r.explored).toBeLessThan(40);
  });
});
