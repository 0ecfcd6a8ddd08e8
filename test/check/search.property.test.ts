/**
 * The checker against the definition, on small random histories (half of them with one answer changed):
 * brute force over every order (test/check/support/naive-checker.ts), under the model's generations and
 * under the state machine's exact counter. The checker knows more about generations than the model and
 * less than the exact counter (it allows gaps), so for every history:
 *   exact says linearizable ⇒ the checker says linearizable (no false alarm on what a correct cluster did);
 *   the model says violated ⇒ the checker says violated (nothing the model rules out gets through).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizability } from '../../src/check/linearizability.js';
import type { Operation, RecordedCommand } from '../../src/check/operations.js';
import { runs } from '../support/runs.js';
import { exactLinearizable, modelLinearizable } from './support/naive-checker.js';
import type { HistoryOp } from '../../src/check/history.js';
import type { LinearizabilityOptions } from '../../src/check/linearizability.js';
import { buildHistory, corrupt, planArb } from './support/random-history.js';

const NET = 'tiny';
/** /30 slices: two usable addresses each, so slices fill, refuse and reuse within a few operations. */
const setupFor = (nodes: string[]): RecordedCommand[] => [
  { type: 'configureNetwork', name: NET, cidr: '192.0.2.0/27', slicePrefix: 30 },
  ...nodes.map((nodeId): RecordedCommand => ({ type: 'assignSlice', network: NET, nodeId })),
];

function opArb(nodes: string[], addresses: string[], sliceChanges: boolean): fc.Arbitrary<Operation> {
  const node = fc.constantFrom(...nodes);
  const owner = fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined });
  const address = fc.constantFrom(...addresses);
  const arbs: Array<fc.Arbitrary<Operation>> = [
    fc.record({ type: fc.constant('allocate' as const), network: fc.constant(NET), nodeId: node, owner }),
    fc.record({ type: fc.constant('allocate' as const), network: fc.constant(NET), nodeId: node, owner }),
    fc.record({ type: fc.constant('allocateFirst' as const), network: fc.constant(NET), nodeId: node, owner }),
    fc.record({ type: fc.constant('allocateSpecific' as const), network: fc.constant(NET), nodeId: node, address, owner }),
    fc.record({ type: fc.constant('mark' as const), network: fc.constant(NET), nodeId: node, address }),
    fc.record({ type: fc.constant('release' as const), network: fc.constant(NET), address, generation: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }) }),
    fc.record({ type: fc.constant('release' as const), network: fc.constant(NET), address }),
    fc.record({ type: fc.constant('releaseOwner' as const), owner: fc.constantFrom('a', 'b', 'c'), network: fc.option(fc.constant(NET), { nil: undefined }) }),
    fc.record({ type: fc.constant('listAllocations' as const), network: fc.constant(NET), node }),
    fc.record({ type: fc.constant('listAllocations' as const), network: fc.constant(NET), owner: fc.constantFrom('a', 'b', 'c') }),
  ];
  if (sliceChanges) {
    arbs.push(
      fc.record({ type: fc.constant('listAllocations' as const), network: fc.constant(NET) }),
      fc.record({ type: fc.constant('listSlices' as const), network: fc.constant(NET) }),
      fc.record({ type: fc.constant('releaseSlice' as const), network: fc.constant(NET), nodeId: node }),
      fc.record({ type: fc.constant('assignSlice' as const), network: fc.constant(NET), nodeId: node }),
    );
  }
  return fc.oneof(...arbs).map((op) => JSON.parse(JSON.stringify(op)) as Operation);
}

/** Every usable address of the /30 slices of 192.0.2.0/27: wherever a node's slice lands, these hit it. */
const ADDRESSES = Array.from({ length: 8 }, (_, k) => [4 * k + 1, 4 * k + 2]).flat().map((i) => `192.0.2.${i}`);

const caseArb = (nodes: string[], sliceChanges: boolean) =>
  fc.record({
    plan: planArb(opArb(nodes, ADDRESSES, sliceChanges), { maxSteps: 7, infoRate: 0.25 }),
    corruption: fc.option(fc.tuple(fc.nat(), fc.constantFrom('a', 'z')), { nil: undefined }),
  });

/** Check one history against both oracles; returns whether it is a violation by the exact counter. */
function bracket(history: HistoryOp[], options: LinearizabilityOptions = {}): boolean {
  const status = checkLinearizability(history, options).status;
  expect(status).not.toBe('unknown');
  const exact = exactLinearizable(history);
  if (exact) expect(status).toBe('linearizable');
  if (!modelLinearizable(history)) expect(status).toBe('not-linearizable');
  return !exact;
}

describe('the checker against brute force on small histories', () => {
  it('one network checked whole (splitNodes: false)', async () => {
    let violations = 0;
    await fc.assert(
      fc.asyncProperty(caseArb(['n1', 'n2'], true), async ({ plan, corruption }) => {
        let history = await buildHistory(setupFor(['n1', 'n2']), plan);
        if (corruption !== undefined) history = corrupt(history, corruption[0], corruption[1]) ?? history;
        if (bracket(history, { splitNodes: false })) violations++;
      }),
      { numRuns: runs(400) },
    );
    // The corrupted half must actually produce violations, or the brackets above prove little.
    expect(violations).toBeGreaterThan(runs(400) / 10);
  });

  it('one node, split after the cut', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(['n1'], false), async ({ plan, corruption }) => {
        let history = await buildHistory(setupFor(['n1']), plan);
        if (corruption !== undefined) history = corrupt(history, corruption[0], corruption[1]) ?? history;
        bracket(history);
      }),
      { numRuns: runs(300) },
    );
  });

  it('three nodes split by node', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(['n1', 'n2', 'n3'], false), async ({ plan, corruption }) => {
        let history = await buildHistory(setupFor(['n1', 'n2', 'n3']), plan);
        if (corruption !== undefined) history = corrupt(history, corruption[0], corruption[1]) ?? history;
        bracket(history);
      }),
      { numRuns: runs(300) },
    );
  });

  it('on these histories the two brackets rarely differ: the checker decides almost every case exactly', async () => {
    let differ = 0;
    await fc.assert(
      fc.asyncProperty(caseArb(['n1', 'n2'], true), async ({ plan, corruption }) => {
        let history = await buildHistory(setupFor(['n1', 'n2']), plan);
        if (corruption !== undefined) history = corrupt(history, corruption[0], corruption[1]) ?? history;
        if (exactLinearizable(history) !== modelLinearizable(history)) differ++;
      }),
      { numRuns: runs(300) },
    );
    expect(differ).toBeLessThan(runs(300) / 20);
  });
});
