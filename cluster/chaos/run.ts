/**
 * One chaos run: a real cluster under concurrent client load while faults are injected, then healed;
 * the recorded client history is checked — linearizable against the IPAM model, no address or slice held
 * twice, every acknowledged allocation present at the end unless released — and every member must end at
 * the same applied index and state hash. The verdict comes from the history, not from the nodes' word.
 *
 * A failing run writes a report directory: the history (JSON lines), a readable timeline of the violated
 * part, the verdict, the harness's fault log and every node's log; the seed to replay the fault sequence
 * is in the verdict and the first line of the timeline.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkHistory, type CheckReport } from '../../src/check/check-history.js';
import type { FinalState, NodeState } from '../../src/check/direct-checks.js';
import { HistoryRecorder, type HistoryOp, type Outcome } from '../../src/check/history.js';
import { writeFailureReport } from '../../src/check/timeline.js';
import { DEFAULT_RAFT_TIMING, electionTimeoutRangeMs, type RaftTiming } from '../../src/node/timing.js';
import { createRng } from '../../src/raft/rng.js';
import { Cluster, type ClusterOptions } from '../cluster.js';
import type { NodeBackend } from '../backend.js';
import { Nemesis, NEMESES, planNemeses, type NemesisKind, type NemesisStats } from './nemesis.js';
import { Workload, type WorkloadCounts } from './workload.js';

export interface ChaosOptions {
  seed: number;
  /** How nodes run (default: child processes). */
  backend?: NodeBackend;
  nodes?: number;
  tls?: boolean;
  clients?: number;
  /** Fault kinds to use (default all). */
  nemeses?: readonly NemesisKind[];
  /** Budget mode: at least this many leader kills and every kind once (default 30). */
  leaderKills?: number;
  /** Time mode instead of the budget: keep injecting random faults for this long. */
  minutes?: number;
  /** Where a failing run's report goes (default: chaos-reports/seed-S-<time> under the working directory). */
  reportDir?: string;
  /** Raft timing of every node (default: what `raft-ipam serve` ships, DEFAULT_RAFT_TIMING). */
  timing?: RaftTiming;
  /** Environment for every node (a broken node for the checker's own test: RAFT_IPAM_UNSAFE_FAULT). */
  env?: Readonly<Record<string, string>>;
  /** Bound on the linearizability search (states explored). */
  maxStates?: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  ok: boolean;
  seed: number;
  violations: string[];
  nemesis: NemesisStats;
  ops: WorkloadCounts;
  /** The checker's verdict: pass, fail, or unknown (the search ran out of budget: not known to be fine). */
  verdict: CheckReport['verdict'] | 'not checked';
  linearizability: CheckReport['linearizability']['status'] | 'not checked';
  checkedOps: number;
  converged?: { applied: number; stateHash: string };
  durationMs: number;
  /**
   * Terms that passed while each kind of fault ran (from before it until a leader was known again after
   * it), summed per kind: a kill or a pause needs one election, a transfer one term; more is a split vote
   * or an election nobody caused (a busy leader deposed). Sampled from the members' status, so a term
   * that a fault's aftermath raises after the sample counts towards the next fault.
   */
  termsByNemesis: Partial<Record<NemesisKind, number>>;
  /** Set when the run failed: where the history, timeline and logs are. */
  reportDir?: string;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const started = performance.now();
  const log = o.log ?? (() => undefined);
  const rng = createRng(o.seed);
  const kinds = o.nemeses ?? NEMESES;
  const timing = o.timing ?? DEFAULT_RAFT_TIMING;
  const options: ClusterOptions = {
    nodes: o.nodes ?? 3,
    tls: o.tls ?? false,
    tickMs: timing.tickMs,
    electionTicks: timing.electionTicks,
    heartbeatTicks: timing.heartbeatTicks,
    // Snapshots every few hundred entries, so wiped and lagging members catch up by snapshot.
    snapshotEntries: 200,
    ...(o.backend ? { backend: o.backend } : {}),
    ...(o.env ? { env: o.env } : {}),
  };
  const cluster = await Cluster.start(options);
  const timeline: string[] = [`seed ${o.seed}`];
  const note = (line: string): void => {
    timeline.push(`${Math.round(performance.now() - started)} ms  ${line}`);
    log(line);
  };
  const recorder = new HistoryRecorder();
  const workload = new Workload({ clients: o.clients ?? 4, endpoints: cluster.endpoints(), recorder, rng: rng.fork() });
  const nemesis = new Nemesis(cluster, rng.fork(), { electionTimeoutMs: electionTimeoutRangeMs(timing).min, log: note });
  const violations: string[] = [];
  const termsByNemesis: Partial<Record<NemesisKind, number>> = {};
  let history: HistoryOp[] = [];
  let converged: { applied: number; stateHash: string } | undefined;
  let report: CheckReport | undefined;
  try {
    await cluster.waitForLeader();
    await workload.setup();
    workload.start();
    const run = async (kind: NemesisKind): Promise<void> => {
      const before = await maxTerm(cluster);
      await nemesis.run(kind);
      await cluster.waitForLeader({ timeoutMs: 60_000 });
      termsByNemesis[kind] = (termsByNemesis[kind] ?? 0) + (await maxTerm(cluster)) - before;
    };
    try {
      if (o.minutes !== undefined) {
        const end = performance.now() + o.minutes * 60_000;
        while (performance.now() < end) await run(kinds[rng.int(kinds.length)] as NemesisKind);
      } else {
        for (const kind of planNemeses(rng, kinds, o.leaderKills ?? 30)) await run(kind);
      }
    } finally {
      await workload.stop();
    }
    await nemesis.whole();
    note('healed; waiting for convergence');
    try {
      converged = await cluster.waitForConvergence({ timeoutMs: 60_000 });
    } catch (e) {
      violations.push(`members did not converge: ${(e as Error).message}`);
    }
    const nodes = await nodeStates(cluster);
    const final = finalState(await workload.finalReads());
    history = recorder.close();
    report = checkHistory(history, { maxStates: o.maxStates ?? 5_000_000, nodes, ...(final ? { final } : {}) });
    if (!final) violations.push('the final read of the allocations did not succeed: acknowledged allocations could not be checked');
    for (const v of report.violations) violations.push(`${v.check}: ${v.message}`);
    if (report.linearizability.status === 'not-linearizable') violations.push(`not linearizable: ${report.linearizability.failure.message}`);
    if (report.linearizability.status === 'unknown') violations.push(`linearizability unknown (search budget exhausted): ${report.linearizability.reason}`);
  } catch (e) {
    violations.push(`run aborted: ${(e as Error).stack ?? String(e)}`);
    history = recorder.close('the run aborted');
  }
  const out: ChaosResult = {
    ok: violations.length === 0,
    seed: o.seed,
    violations,
    nemesis: nemesis.stats,
    ops: workload.counts,
    verdict: report?.verdict ?? 'not checked',
    linearizability: report?.linearizability.status ?? 'not checked',
    checkedOps: report?.linearizability.checkedOps ?? 0,
    ...(converged ? { converged } : {}),
    durationMs: Math.round(performance.now() - started),
    termsByNemesis,
  };
  try {
    if (!out.ok) out.reportDir = await writeReport(o.reportDir ?? join(process.cwd(), 'chaos-reports', `seed-${o.seed}-${Date.now()}`), cluster, history, timeline, out, report);
  } finally {
    await cluster.destroy();
  }
  return out;
}

/** Every member's state hash and the applied index it is of, as it answers now. */
/** The highest term any running member reports (members that do not answer are skipped). */
async function maxTerm(cluster: Cluster): Promise<number> {
  let term = 0;
  for (const st of (await cluster.statuses()).values()) if (st) term = Math.max(term, st.term);
  return term;
}

async function nodeStates(cluster: Cluster): Promise<NodeState[]> {
  const out: NodeState[] = [];
  // The hash is of the state at stateHashIndex (equal to applied on a quiet node, maybe below it under load).
  for (const [id, st] of await cluster.statuses()) if (st) out.push({ id, applied: st.stateHashIndex, stateHash: st.stateHash });
  return out;
}

/** The allocations the final linearizable reads saw, or undefined when any of them failed or was cut short. */
function finalState(reads: readonly Outcome[]): FinalState | undefined {
  const allocations: FinalState['allocations'] = [];
  for (const r of reads) {
    if (r.type !== 'ok') return undefined;
    const v = r.value as { allocations?: FinalState['allocations']; truncated?: boolean };
    if (v.allocations === undefined) continue; // a slices read
    if (v.truncated) return undefined;
    allocations.push(...v.allocations);
  }
  return { allocations };
}

async function writeReport(dir: string, cluster: Cluster, history: readonly HistoryOp[], timeline: readonly string[], result: ChaosResult, report: CheckReport | undefined): Promise<string> {
  if (report) await writeFailureReport(dir, history, report);
  else await writeFailureReport(dir, history, { verdict: 'unknown', violations: [], linearizability: { status: 'unknown', reason: 'the run aborted before the check', parts: [], explored: 0, checkedOps: 0, droppedOps: 0 }, ops: history.length });
  await writeFile(join(dir, 'faults.txt'), `${timeline.join('\n')}\n`);
  await writeFile(join(dir, 'run.json'), `${JSON.stringify(result, null, 2)}\n`);
  await cluster.copyLogs(join(dir, 'logs'));
  return dir;
}
