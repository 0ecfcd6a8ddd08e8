/**
 * Speed of the history checker on histories shaped like a chaos run's: concurrent clients, timeouts,
 * reads, every answer from the real IpamStateMachine (so every history is linearizable and the checker
 * must search all of it, not stop at a first violation).
 *
 *   node --import tsx scripts/bench-checker.ts [--ops 5000] [--clients 8] [--info 0.1] [--seed 1]
 *
 * Scenarios (same size, same op mix, different sharing):
 *   per-node      each client allocates on its own node and reads ?node=: the checker splits by node
 *   shared-nodes  the clients share 3 nodes: each node part holds several concurrent clients
 *   one-part      every read lists the whole network: no split, one part with every client
 *
 * A client's operation: 55% allocate for a new pod, 10% allocate without owner, 15% release of an
 * address it was given (with the generation it got), 5% releaseOwner of one of its pods (also one whose
 * allocation timed out, as a CNI DEL after a failed ADD does), 15% read. `--info` of the commands time
 * out: half of them took effect, half never did. Clients only act on what they were told: a timed-out
 * allocation's address is never released by address. Intervals: each operation takes effect at its point (1 ms apart) and was
 * invoked up to 6 ms before and completed up to 6 ms after it; a client has one operation at a time.
 * Times are this run's; the machine is shared (GUIDE §4), so states/s and the explored counts compare
 * across scenarios, not across machines.
 */
import { performance } from 'node:perf_hooks';
import { checkHistory } from '../src/check/check-history.js';
import type { HistoryOp, Outcome } from '../src/check/history.js';
import type { Operation, ReadQuery, RecordedCommand } from '../src/check/operations.js';
import { IpamStateMachine, type AllocationResult } from '../src/index.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(String(process.argv[i]).replace(/^--/, ''), String(process.argv[i + 1]));
const OPS = Number(args.get('ops') ?? 5000);
const CLIENTS = Number(args.get('clients') ?? 8);
const INFO = Number(args.get('info') ?? 0.1);
const SEED = Number(args.get('seed') ?? 1);

/** mulberry32: a seeded PRNG, so a run can be repeated. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Scenario = 'per-node' | 'shared-nodes' | 'one-part';

function build(scenario: Scenario): HistoryOp[] {
  const random = rng(SEED);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const nodes = scenario === 'per-node' ? Array.from({ length: CLIENTS }, (_, i) => `node-${i}`) : ['node-0', 'node-1', 'node-2'];
  const sm = new IpamStateMachine();
  const history: HistoryOp[] = [];
  const record = (process: string, invoke: number, complete: number, op: Operation, outcome: Outcome): void => {
    history.push({ id: history.length, process, invoke, complete, op, outcome });
  };
  const setup: RecordedCommand[] = [{ type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 22 }, ...nodes.map((nodeId): RecordedCommand => ({ type: 'assignSlice', network: 'pods', nodeId }))];
  setup.forEach((c, k) => {
    const r = sm.apply(c);
    record('setup', -100 + 2 * k, -99 + 2 * k, c, r.ok ? { type: 'ok', value: JSON.parse(JSON.stringify(r.value)) } : { type: 'fail', code: r.error.code });
  });
  const busyUntil = new Array<number>(CLIENTS).fill(-1);
  const owners: string[][] = Array.from({ length: CLIENTS }, () => []);
  /** What each client was given and has not released itself: [node, address, generation]. */
  const given: Array<Array<{ node: string; address: string; generation: number }>> = Array.from({ length: CLIENTS }, () => []);
  let point = 0;
  for (let k = 0; k < OPS; k++) {
    let free = busyUntil.map((t, c) => (t < point ? c : -1)).filter((c) => c >= 0);
    while (free.length === 0) {
      point++;
      free = busyUntil.map((t, c) => (t < point ? c : -1)).filter((c) => c >= 0);
    }
    const client = pick(free);
    const node = scenario === 'per-node' ? (nodes[client] as string) : pick(nodes);
    const roll = random();
    let op: Operation;
    if (roll < 0.55) {
      const owner = `pod-${client}-${k}`;
      owners[client]?.push(owner);
      op = { type: 'allocate', network: 'pods', nodeId: node, owner };
    } else if (roll < 0.65) {
      op = { type: 'allocate', network: 'pods', nodeId: node };
    } else if (roll < 0.8) {
      const mine = given[client] as Array<{ node: string; address: string; generation: number }>;
      const victim = mine.length > 0 ? mine.splice(Math.floor(random() * mine.length), 1)[0] : undefined;
      op = victim ? { type: 'release', network: 'pods', address: victim.address, generation: victim.generation } : { type: 'allocate', network: 'pods', nodeId: node };
    } else if (roll < 0.85) {
      op = { type: 'releaseOwner', owner: owners[client]?.length ? pick(owners[client] as string[]) : `pod-${client}-none`, network: 'pods' };
    } else {
      op = scenario === 'one-part' ? { type: 'listAllocations', network: 'pods' } : ({ type: 'listAllocations', network: 'pods', node } satisfies ReadQuery);
    }
    const invoke = Math.max(point - 6 * random(), (busyUntil[client] as number) + 0.001);
    const complete = point + 6 * random();
    busyUntil[client] = complete;
    let outcome: Outcome;
    if (op.type === 'listAllocations') {
      const list = op.node !== undefined ? sm.allocations('pods', { nodeId: op.node, limit: 10_001 }) : sm.allocations('pods', { limit: 10_001 });
      outcome = { type: 'ok', value: { network: 'pods', allocations: (list ?? []).slice(0, 10_000), truncated: (list ?? []).length > 10_000 } };
    } else if (random() < INFO) {
      if (random() < 0.5) sm.apply(op);
      outcome = { type: 'info', reason: 'Timeout' };
    } else {
      const r = sm.apply(op);
      outcome = r.ok ? { type: 'ok', value: JSON.parse(JSON.stringify(r.value)) } : { type: 'fail', code: r.error.code };
      if (r.ok && op.type === 'allocate') { const v = r.value as AllocationResult; if (!v.existing) given[client]?.push({ node: op.nodeId, address: v.address, generation: v.generation }); }
    }
    record(`c${client}`, invoke, complete, op, outcome);
    point++;
  }
  return history;
}

for (const scenario of ['per-node', 'shared-nodes', 'one-part'] as const) {
  const history = build(scenario);
  const info = history.filter((h) => h.outcome.type === 'info').length;
  const t0 = performance.now();
  const report = checkHistory(history, { maxStates: 300_000 });
  const ms = performance.now() - t0;
  const lin = report.linearizability;
  const biggest = Math.max(...lin.parts.map((p) => p.ops));
  console.log(
    JSON.stringify({
      scenario,
      ops: history.length,
      info,
      verdict: report.verdict,
      parts: lin.parts.length,
      biggestPart: biggest,
      statesExplored: lin.explored,
      ms: Math.round(ms),
      opsPerSec: Math.round((history.length / ms) * 1000),
      statesPerSec: Math.round((lin.explored / ms) * 1000),
    }),
  );
  if (report.verdict !== 'pass') {
    console.error(`a correct history was not passed: ${JSON.stringify(lin.status === 'not-linearizable' ? lin.failure : report.violations.slice(0, 3))}`);
    process.exitCode = 1;
  }
}
