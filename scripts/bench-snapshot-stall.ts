/**
 * npm run bench:snapshot-stall — how long a snapshot blocks the event loop, for 1,000,000 addresses with
 * and without owners, beside the default election timeout (500 ms: electionTick 10 × 50 ms ticks). A
 * blocked loop answers no heartbeat, so any single stall near that figure can start an election.
 *
 * Rows: snapshot() and restore() as one synchronous call each (what the replica did before incremental
 * capture and install; restore() is still what a node runs once at boot); the cost of copying the allocations out (the least a worker thread
 * would need handed to it, before any structured clone); and the incremental capture the replica now runs:
 * begin (on the loop), the longest of its steps, their sum, and the final join of the chunks; and the
 * incremental install of a received snapshot: the longest decode step, their sum, and the swap. Prints a table and, last,
 * one JSON line.
 */
import type { IpamState } from '../src/ipam/state.js';
import { IpamStateMachine } from '../src/ipam/state-machine.js';
import { SNAPSHOT_STEP_ADDRESSES } from '../src/node/ipam-app.js';
import { electionTimeoutRangeMs } from '../src/node/timing.js';
import { buildState } from './support/big-state.js';

/** A stall this long on a leader's loop gets it deposed: the default minimum election timeout. */
const ELECTION_TIMEOUT_MS = electionTimeoutRangeMs().min;
const TOTAL = Number(process.argv.find((a) => a.startsWith('--addresses='))?.slice('--addresses='.length) ?? 1_000_000);


function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const round = (x: number): number => Math.round(x * 10) / 10;
const rows: Array<Record<string, string | number>> = [];

for (const owners of [false, true]) {
  const sm = buildState(TOTAL, owners);
  const label = `${TOTAL.toLocaleString('en')} addresses${owners ? ', each with an owner' : ''}`;
  let bytes: Uint8Array = new Uint8Array();
  const snapMs = median([0, 1, 2].map(() => time(() => (bytes = sm.snapshot()))));
  const restoreMs = median([0, 1, 2].map(() => time(() => new IpamStateMachine().restore(bytes))));
  // What a worker thread would need before it could encode anything: the allocations copied out of the
  // live maps on the loop (the copy alone, without the postMessage clone that follows it).
  const copyMs = median([0, 1, 2].map(() => time(() => {
    const out: Array<[number, number, string | undefined]> = [];
    // The benchmark reaches into the private state: no public API hands out raw offsets.
    const state = (sm as unknown as { state: IpamState }).state;
    for (const net of state.networks.values()) for (const block of net.blocks()) for (const a of block.allocations()) out.push([Number(a.offset), a.generation, a.owner]);
  })));
  // The replica's path (IpamApp.beginSnapshot): begin on the loop, then one step per event-loop turn.
  const incremental = [0, 1, 2].map(() => {
    let longest = 0;
    let total = 0;
    let steps = 0;
    let capture: ReturnType<IpamStateMachine['beginSnapshot']> | undefined;
    const beginMs = time(() => (capture = sm.beginSnapshot()));
    const c = capture as ReturnType<IpamStateMachine['beginSnapshot']>;
    let done = false;
    while (!done) {
      const ms = time(() => (done = c.step(SNAPSHOT_STEP_ADDRESSES)));
      longest = Math.max(longest, ms);
      total += ms;
      steps++;
    }
    const joinMs = time(() => c.result());
    if (!Buffer.from(c.result()).equals(Buffer.from(bytes))) throw new Error('incremental capture differs from snapshot()');
    return { beginMs, longest, total, steps, joinMs };
  });
  // The replica's path for a received snapshot (IpamApp.beginRestore): decode one step per event-loop
  // turn into a fresh state, swap it in at the end.
  const restoring = [0, 1, 2].map(() => {
    let longest = 0;
    let total = 0;
    let steps = 0;
    const target = new IpamStateMachine();
    const task = target.beginRestore(bytes);
    let done = false;
    while (!done) {
      const ms = time(() => (done = task.step(SNAPSHOT_STEP_ADDRESSES)));
      longest = Math.max(longest, ms);
      total += ms;
      steps++;
    }
    const finishMs = time(() => task.finish());
    if (target.stateHash() !== sm.stateHash()) throw new Error('stepwise restore differs from the state');
    return { longest, total, steps, finishMs };
  });
  const pickRestore = (k: 'longest' | 'total' | 'finishMs'): number => median(restoring.map((r) => r[k]));
  const pick = (k: 'beginMs' | 'longest' | 'total' | 'joinMs'): number => median(incremental.map((r) => r[k]));
  const worst = Math.max(pick('beginMs'), pick('longest'), pick('joinMs'));
  rows.push({ case: `capture: begin ${label}`, blockedMs: round(pick('beginMs')), vsElection: round(pick('beginMs') / ELECTION_TIMEOUT_MS) });
  rows.push({ case: `capture: longest of ${incremental[0]?.steps} steps (${SNAPSHOT_STEP_ADDRESSES} addresses each) ${label}`, blockedMs: round(pick('longest')), vsElection: round(pick('longest') / ELECTION_TIMEOUT_MS), sumMs: round(pick('total')) });
  rows.push({ case: `capture: join chunks ${label}`, blockedMs: round(pick('joinMs')), vsElection: round(pick('joinMs') / ELECTION_TIMEOUT_MS), longestStallMs: round(worst) });
  rows.push({ case: `snapshot() ${label}`, blockedMs: round(snapMs), vsElection: round(snapMs / ELECTION_TIMEOUT_MS), bytes: bytes.length });
  rows.push({ case: `restore() ${label}`, blockedMs: round(restoreMs), vsElection: round(restoreMs / ELECTION_TIMEOUT_MS) });
  rows.push({ case: `install: longest of ${restoring[0]?.steps} restore steps ${label}`, blockedMs: round(pickRestore('longest')), vsElection: round(pickRestore('longest') / ELECTION_TIMEOUT_MS), sumMs: round(pickRestore('total')) });
  rows.push({ case: `install: swap in ${label}`, blockedMs: round(pickRestore('finishMs')), vsElection: round(pickRestore('finishMs') / ELECTION_TIMEOUT_MS) });
  rows.push({ case: `copy allocations out (worker capture) ${label}`, blockedMs: round(copyMs), vsElection: round(copyMs / ELECTION_TIMEOUT_MS) });
}

console.table(rows);
console.log(JSON.stringify({ electionTimeoutMs: ELECTION_TIMEOUT_MS, rows }));
