/**
 * Histories a correct cluster produces must pass; the same histories with one answer changed must not
 * (where the change is observable). The answers come from the real IpamStateMachine run in the plan's
 * order; the times are jittered so operations overlap without contradicting that order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HistoryOp } from '../../src/check/history.js';
import { checkLinearizability } from '../../src/check/linearizability.js';
import type { Operation, RecordedCommand } from '../../src/check/operations.js';
import { canonicalJson } from '../../src/check/values.js';
import { IpamStateMachine } from '../../src/index.js';
import { runs } from '../support/runs.js';
import { buildHistory, corrupt, planArb } from './support/random-history.js';
import { readFromStateMachine } from './support/sm-views.js';
import { operationArb, setupCommands } from './support/workload.js';

describe('histories of a correct cluster', () => {
  it('random concurrent histories over every command and read, with timeouts, are linearizable', async () => {
    await fc.assert(
      fc.asyncProperty(planArb(operationArb, { maxSteps: 80, infoRate: 0.1 }), async (plan) => {
        const history = await buildHistory(setupCommands as RecordedCommand[], plan);
        const r = checkLinearizability(history);
        expect(r.status, JSON.stringify(r.status === 'not-linearizable' ? r.failure : r.status)).toBe('linearizable');
      }),
      { numRuns: runs(80) },
    );
  });
});

// --- per-node sequential, nodes concurrent: every answer is determined, so every change shows ----------

const NODES = ['n1', 'n2', 'n3', 'n4'];
const SETUP: RecordedCommand[] = [{ type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/24', slicePrefix: 29 }, ...NODES.map((nodeId): RecordedCommand => ({ type: 'assignSlice', network: 'pods', nodeId }))];

/** Usable addresses of each node's /29 slice after the setup. */
const sliceAddresses: Record<string, string[]> = (() => {
  const sm = new IpamStateMachine();
  for (const c of SETUP) sm.apply(c);
  const out: Record<string, string[]> = {};
  for (const node of NODES) {
    const base = Number((sm.sliceOf('pods', node) as string).split('/')[0]?.split('.')[3]);
    out[node] = [1, 2, 3, 4, 5, 6].map((i) => `10.200.0.${base + i}`);
  }
  return out;
})();

function nodeOpArb(node: string): fc.Arbitrary<Operation> {
  const owner = fc.option(fc.constantFrom(`${node}-a`, `${node}-b`), { nil: undefined });
  const address = fc.constantFrom(...(sliceAddresses[node] as string[]));
  return fc
    .oneof(
      fc.record({ type: fc.constant('allocate' as const), network: fc.constant('pods'), nodeId: fc.constant(node), owner }),
      fc.record({ type: fc.constant('allocate' as const), network: fc.constant('pods'), nodeId: fc.constant(node), owner }),
      fc.record({ type: fc.constant('allocateFirst' as const), network: fc.constant('pods'), nodeId: fc.constant(node), owner }),
      fc.record({ type: fc.constant('allocateSpecific' as const), network: fc.constant('pods'), nodeId: fc.constant(node), address, owner }),
      fc.record({ type: fc.constant('mark' as const), network: fc.constant('pods'), nodeId: fc.constant(node), address }),
      fc.record({ type: fc.constant('release' as const), network: fc.constant('pods'), address, generation: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }) }),
      fc.record({ type: fc.constant('releaseOwner' as const), owner: fc.constantFrom(`${node}-a`, `${node}-b`), network: fc.constant('pods') }),
      fc.record({ type: fc.constant('listAllocations' as const), network: fc.constant('pods'), node: fc.constant(node) }),
    )
    .map((op) => JSON.parse(JSON.stringify(op)) as Operation);
}

const stepsArb = fc.array(
  // Points are 10 apart and an operation completes within 9 of its point, so a node's previous operation is
  // over before the next one's point: each interval contains the point where the state machine applied it.
  fc.constantFrom(...NODES).chain((node) => fc.record({ node: fc.constant(node), op: nodeOpArb(node), left: fc.integer({ min: 0, max: 30 }), right: fc.integer({ min: 0, max: 9 }) })),
  { minLength: 1, maxLength: 60, size: 'max' },
);

async function perNodeHistory(steps: Array<{ node: string; op: Operation; left: number; right: number }>): Promise<HistoryOp[]> {
  const sm = new IpamStateMachine();
  const ops: HistoryOp[] = [];
  SETUP.forEach((c, k) => {
    const r = sm.apply(c);
    ops.push({ id: ops.length, process: 'setup', invoke: -100 + 2 * k, complete: -99 + 2 * k, op: c, outcome: r.ok ? { type: 'ok', value: JSON.parse(JSON.stringify(r.value)) } : { type: 'fail', code: r.error.code } });
  });
  const last = new Map<string, number>();
  for (let k = 0; k < steps.length; k++) {
    const { node, op, left, right } = steps[k] as { node: string; op: Operation; left: number; right: number };
    const point = 10 * k;
    const invoke = Math.max(point - left, (last.get(node) ?? -50) + 0.5);
    const complete = point + right;
    last.set(node, complete);
    let outcome: HistoryOp['outcome'];
    if (op.type === 'listAllocations') {
      const r = await readFromStateMachine(sm, op);
      outcome = r.ok ? { type: 'ok', value: r.value } : { type: 'fail', code: r.code };
    } else {
      const r = sm.apply(op as RecordedCommand);
      outcome = r.ok ? { type: 'ok', value: JSON.parse(JSON.stringify(r.value)) } : { type: 'fail', code: r.error.code };
    }
    ops.push({ id: ops.length, process: node, invoke, complete, op, outcome });
  }
  return ops;
}

describe('per-node sequential histories, nodes concurrent', () => {
  it('are linearizable as recorded', async () => {
    await fc.assert(
      fc.asyncProperty(stepsArb, async (steps) => {
        expect(checkLinearizability(await perNodeHistory(steps)).status).toBe('linearizable');
      }),
      { numRuns: runs(100) },
    );
  });

  it('are not linearizable with any one answer changed', async () => {
    let changed = 0;
    await fc.assert(
      fc.asyncProperty(stepsArb, fc.nat(), fc.constantFrom('a', 'z'), async (steps, pick, alternative) => {
        const history = await perNodeHistory(steps);
        const bad = corrupt(history, pick, alternative);
        if (bad === undefined || canonicalJson(bad) === canonicalJson(history)) return;
        changed++;
        const r = checkLinearizability(bad);
        expect(r.status).toBe('not-linearizable');
      }),
      { numRuns: runs(150) },
    );
    expect(changed).toBeGreaterThan(runs(150) / 2);
  });
});
