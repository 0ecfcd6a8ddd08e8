/**
 * Hand-written histories, linearizable and not. Every recorded answer is the real state machine's (the
 * builder applies commands in the order the test calls it); a violation is made by recording an answer
 * from another point in that order, or by changing a real one.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizability, type LinearizabilityResult } from '../../src/check/linearizability.js';
import type { HistoryOp } from '../../src/check/history.js';
import { IpamStateMachine, type AllocationResult } from '../../src/index.js';
import { HistoryBuilder } from './support/history-builder.js';

function failure(r: LinearizabilityResult) {
  if (r.status !== 'not-linearizable') throw new Error(`expected a violation, got ${r.status}: ${JSON.stringify(r.parts)}`);
  return r.failure;
}

const alloc = (nodeId: string, owner?: string) => ({ type: 'allocate' as const, network: 'pods', nodeId, ...(owner !== undefined ? { owner } : {}) });
const listNode = (node: string) => ({ type: 'listAllocations' as const, network: 'pods', node });
const addressesIn = (h: HistoryOp): string[] => (h.outcome.type === 'ok' ? (h.outcome.value as { allocations: Array<{ address: string }> }).allocations.map((a) => a.address) : []);

describe('checkLinearizability: hand-written histories', () => {
  it('a sequential history of allocations, releases and reads is linearizable', async () => {
    const b = new HistoryBuilder().setup();
    const a = b.allocate('c1', [0, 10], alloc('n1', 'x'));
    b.allocate('c2', [11, 20], alloc('n1'));
    b.apply('c1', [21, 30], { type: 'release', network: 'pods', address: a.address, generation: a.generation });
    const read = await b.read('c2', [31, 40], listNode('n1'));
    expect(addressesIn(read)).toHaveLength(1);
    const r = checkLinearizability(b.ops);
    expect(r.status).toBe('linearizable');
    expect(r.checkedOps).toBe(b.ops.length);
  });

  it('a stale read: a read that began after an allocation was acknowledged but does not show it', async () => {
    const b = new HistoryBuilder().setup();
    const before = await b.view(listNode('n1'));
    const a = b.allocate('c1', [0, 10], alloc('n1', 'x'));
    const stale = b.record('c2', [20, 30], listNode('n1'), before);
    await b.read('c3', [40, 50], listNode('n1')); // a later read sees it: the write was not lost, the read was stale
    const f = failure(checkLinearizability(b.ops));
    expect(f.blocked).toBe(stale.id);
    expect(f.longestPrefix).toContain(a.id);
    expect(f.expected).toContain(a.address);
  });

  it('the same read overlapping the allocation is fine: it may have happened first', async () => {
    const b = new HistoryBuilder().setup();
    const before = await b.view(listNode('n1'));
    b.allocate('c1', [0, 10], alloc('n1', 'x'));
    b.record('c2', [5, 30], listNode('n1'), before);
    expect(checkLinearizability(b.ops).status).toBe('linearizable');
  });

  it('a lost write: an acknowledged allocation that no later read shows, and whose address is granted again', async () => {
    const b = new HistoryBuilder().setup();
    const snapshot = b.sm.snapshot();
    const lost = b.allocate('c1', [0, 10], alloc('n1'));
    // What a correct cluster would have answered next.
    const correct = new IpamStateMachine();
    correct.restore(b.sm.snapshot());
    const next = correct.apply(alloc('n1'));
    if (!next.ok) throw new Error('the slice has room');
    // The cluster forgets it: the state goes back to before it, and the next allocation gets its address.
    b.sm.restore(snapshot);
    const again = b.allocate('c2', [20, 30], alloc('n1'));
    expect(again.address).toBe(lost.address);
    expect(again.generation).toBe(lost.generation);
    const f = failure(checkLinearizability(b.ops));
    expect(f.blocked).toBe(again.id);
    expect(f.expected).toBe(`ok ${next.value.address} gen > ${lost.generation} (new)`);
  });

  it('a duplicate grant: two acknowledged allocations of one address with no release between', () => {
    const b = new HistoryBuilder().setup();
    const first = b.allocate('c1', [0, 10], alloc('n1', 'a'));
    const second = b.allocate('c2', [0, 10], alloc('n1', 'b'));
    // Rewrite the second answer to the first one's address (a different owner, a new generation).
    const h = b.ops.find((o) => o.id === second.id) as HistoryOp;
    h.outcome = { type: 'ok', value: { ...(h.outcome as { value: AllocationResult }).value, address: first.address } };
    const f = failure(checkLinearizability(b.ops));
    expect([first.id, second.id]).toContain(f.blocked);
  });

  it('a concurrent pair is linearizable in either order', () => {
    for (const order of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const b = new HistoryBuilder().setup();
      // Both invoked at 0, both complete at 10; the state machine applied them in `order`.
      for (const owner of order) b.allocate(owner === 'a' ? 'c1' : 'c2', [0, 10], alloc('n1', owner));
      expect(checkLinearizability(b.ops).status).toBe('linearizable');
    }
  });

  it('the same pair is not linearizable when real time orders them against their generations', () => {
    const b = new HistoryBuilder().setup();
    // a applied first (lower generation and the lower address), but recorded as invoked after b completed.
    const a = b.allocate('c1', [20, 30], alloc('n1', 'a'));
    const later = b.allocate('c2', [0, 10], alloc('n1', 'b'));
    const f = failure(checkLinearizability(b.ops));
    expect(f.part).toBe('generation order');
    expect(f.blocked).toBe(a.id);
    expect(f.opIds).toEqual([later.id, a.id]);
  });

  it('an info allocation must be assumed applied to explain a later read', async () => {
    const b = new HistoryBuilder().setup();
    const timedOut = b.info('c1', [0, 10], alloc('n1', 'ghost'), true);
    const seen = await b.read('c2', [20, 30], listNode('n1'));
    expect(addressesIn(seen)).toHaveLength(1);
    expect(checkLinearizability(b.ops).status).toBe('linearizable');
    // Without the info operation nothing explains the address the read shows.
    const without = b.ops.filter((o) => o.id !== timedOut.id);
    expect(failure(checkLinearizability(without)).blocked).toBe(seen.id);
  });

  it('an info allocation must be assumed not applied when a later allocation got the address it would have taken', async () => {
    const b = new HistoryBuilder().setup();
    b.info('c1', [0, 10], alloc('n1', 'ghost'), false);
    const next = b.allocate('c2', [20, 30], alloc('n1', 'real'));
    await b.read('c3', [40, 50], listNode('n1'));
    expect(checkLinearizability(b.ops).status).toBe('linearizable');
    // It may still take effect later (+∞): a read after everything that shows it is fine too.
    b.info('c4', [60, 70], alloc('n1', 'late'), true);
    await b.read('c3', [80, 90], listNode('n1'));
    expect(checkLinearizability(b.ops).status).toBe('linearizable');
    expect(next.address).toBeDefined();
  });

  it('an info release with a generation nobody saw: both the release and StaleGeneration are considered', async () => {
    const b = new HistoryBuilder().setup();
    b.info('c1', [0, 10], alloc('n1', 'x'), true);
    const address = (b.sm.addressesOf('x')[0] as { address: string }).address;
    const generation = (b.sm.addressesOf('x')[0] as { generation: number }).generation;
    // A release quoting a generation: it matched (the address is free afterwards) …
    b.info('c2', [20, 30], { type: 'release', network: 'pods', address, generation }, true);
    await b.read('c3', [40, 50], listNode('n1'));
    expect(checkLinearizability(b.ops).status).toBe('linearizable');
    // … or, with a wrong generation, it did not (the address is still there).
    const c = new HistoryBuilder().setup();
    c.info('c1', [0, 10], alloc('n1', 'x'), true);
    c.info('c2', [20, 30], { type: 'release', network: 'pods', address, generation: generation + 5 }, true);
    await c.read('c3', [40, 50], listNode('n1'));
    expect(checkLinearizability(c.ops).status).toBe('linearizable');
  });

  it('retried operations: an info allocation retried for the same owner returns the same address', () => {
    const b = new HistoryBuilder().setup();
    b.info('c1', [0, 10], alloc('n1', 'pod-1'), true);
    const retry = b.allocate('c1', [11, 20], alloc('n1', 'pod-1'));
    expect(retry.existing).toBe(true);
    expect(checkLinearizability(b.ops).status).toBe('linearizable');
  });

  it('retried operations: a retry that allocated afresh means the first attempt never took effect', () => {
    const b = new HistoryBuilder().setup();
    b.info('c1', [0, 10], alloc('n1', 'pod-1'), false);
    const retry = b.allocate('c1', [11, 20], alloc('n1', 'pod-1'));
    expect(retry.existing).toBe(false);
    expect(checkLinearizability(b.ops).status).toBe('linearizable');
  });

  it('retried operations: a retry answered existing when nothing could have allocated for the owner is a violation', () => {
    const b = new HistoryBuilder().setup();
    const retry = b.allocate('c1', [11, 20], alloc('n1', 'pod-1'));
    const h = b.ops.find((o) => o.id === retry.id) as HistoryOp;
    h.outcome = { type: 'ok', value: { ...retry, id: undefined, existing: true } };
    expect(failure(checkLinearizability(b.ops)).blocked).toBe(retry.id);
  });

  it('a refusal is evidence: NoAvailableIps while the slice still had room is a violation', () => {
    const b = new HistoryBuilder().setup();
    b.allocate('c1', [0, 10], alloc('n1'));
    const refused = b.record('c2', [20, 30], alloc('n1'), { type: 'fail', code: 'NoAvailableIps' });
    const f = failure(checkLinearizability(b.ops));
    expect(f.blocked).toBe(refused.id);
    // Not applied at all (a NotLeader answer) is dropped instead: nothing to explain.
    refused.outcome = { type: 'fail', code: 'NotLeader' };
    const r = checkLinearizability(b.ops);
    expect(r.status).toBe('linearizable');
    expect(r.droppedOps).toBe(1);
  });
});

describe('checkLinearizability: what only the search structure catches', () => {
  it('two timed-out allocations whose order only a later read reveals (the cache compares states, not just the set placed)', async () => {
    const b = new HistoryBuilder().setup();
    // Applied b first, then a: b has the lower address. Both timed out; the read is the only witness.
    b.info('c1', [0, 10], alloc('n1', 'a'), false);
    b.info('c2', [0, 10], alloc('n1', 'b'), true);
    b.sm.apply(alloc('n1', 'a'));
    const read = await b.read('c3', [20, 30], listNode('n1'));
    expect(addressesIn(read)).toHaveLength(2);
    expect(checkLinearizability(b.ops).status).toBe('linearizable');
  });

  it('k identical timeouts cost about k states, not 2^k subsets', async () => {
    const b = new HistoryBuilder().setup();
    for (let k = 0; k < 14; k++) b.info(`t${k}`, [k, k + 1], alloc('n1'), k % 3 === 0);
    await b.read('r', [100, 110], listNode('n1'));
    const r = checkLinearizability(b.ops, { maxStates: 2_000 });
    expect(r.status).toBe('linearizable');
    expect(r.explored).toBeLessThan(200);
  });

  it('answered operations are placed before pending timeouts are tried', async () => {
    const b = new HistoryBuilder().setup(['n1']);
    // 12 distinct timeouts that never took effect, then 12 answered allocations and a read.
    for (let k = 0; k < 12; k++) b.info(`t${k}`, [k, k + 1], alloc('n1', `lost-${k}`), false);
    for (let k = 0; k < 12; k++) b.allocate(`c${k}`, [20 + 10 * k, 25 + 10 * k], alloc('n1', `real-${k}`));
    await b.read('r', [200, 210], listNode('n1'));
    // Each lost owner is asked about once more, so the timeouts are not interchangeable (fresh owners are).
    for (let k = 0; k < 12; k++) await b.read(`q${k}`, [220 + k, 221 + k], { type: 'listAllocations', network: 'pods', owner: `lost-${k}` });
    const r = checkLinearizability(b.ops, { maxStates: 5_000 });
    expect(r.status).toBe('linearizable');
    expect(r.explored).toBeLessThan(100);
  });

  it('timeouts for owners mentioned nowhere else are interchangeable: about k states, not k! orders', async () => {
    const b = new HistoryBuilder().setup(['n1']);
    for (let k = 0; k < 9; k++) b.info(`t${k}`, [0, 5], alloc('n1', `pod-${k}`), false);
    // A read that shows an address without an owner: no timeout explains it, so every placement is tried.
    const bad = await b.view(listNode('n1'));
    b.sm.apply(alloc('n1'));
    const shown = await b.view(listNode('n1'));
    b.record('r', [10, 20], listNode('n1'), shown);
    const r = checkLinearizability(b.ops, { maxStates: 5_000 });
    expect(r.status).toBe('not-linearizable');
    expect(r.explored).toBeLessThan(100);
    expect(bad).not.toEqual(shown);
  });

  it('generation order across networks: a read that saw an allocation before a lower generation was even requested', async () => {
    const b = new HistoryBuilder().setup(['n1']);
    b.apply('setup', [-50, -49], { type: 'configureNetwork', name: 'other', cidr: '10.201.0.0/24', slicePrefix: 28 });
    b.apply('setup', [-48, -47], { type: 'assignSlice', network: 'other', nodeId: 'n1' });
    // The log applied R (other, lower generation), then Q (pods), then the read P saw Q — but P
    // completed before R was invoked. Each network alone is fine; the counter says otherwise.
    const r = b.allocate('c1', [30, 40], { type: 'allocate', network: 'other', nodeId: 'n1' });
    const q = b.allocate('c2', [0, 100], alloc('n1', 'q'));
    const p = await b.read('c3', [10, 20], listNode('n1'));
    expect(q.generation).toBeGreaterThan(r.generation);
    const f = failure(checkLinearizability(b.ops));
    expect(f.part).toMatch(/^pods/);
    expect([p.id, q.id]).toContain(f.blocked);
    // The same three with the read after R was invoked are linearizable.
    (b.ops.find((o) => o.id === p.id) as HistoryOp).invoke = 35;
    (b.ops.find((o) => o.id === p.id) as HistoryOp).complete = 45;
    expect(checkLinearizability(b.ops).status).toBe('linearizable');
  });

  it('an owner that moves from one node to another after the cut ties the two nodes into one part', async () => {
    const b = new HistoryBuilder().setup(['n1', 'n2']);
    const held = b.allocate('setup', [-10, -9], alloc('n1', 'mover'));
    // A whole-network read puts the cut after the allocation: only the state at the cut links mover to n1.
    await b.read('setup', [-8, -7], { type: 'listSlices', network: 'pods' });
    // After the cut: released on n1 (routed there by its address), then allocated on n2.
    b.apply('c1', [0, 10], { type: 'release', network: 'pods', address: held.address });
    b.allocate('c2', [20, 30], alloc('n2', 'mover'));
    const r = checkLinearizability(b.ops);
    expect(r.status).toBe('linearizable');
    expect(r.parts.map((p) => p.key)).toContain('pods / nodes n1,n2');
  });
});
