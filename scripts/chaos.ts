/**
 * npm run chaos -- [--minutes N | --leader-kills K] [--seed S] [--clients C] [--nodes N] [--tls]
 *                  [--backend process|container] [--nemeses kill-leader,pause-leader,…] [--runs R] [--report DIR]
 *                  [--tick-ms T --election-ticks E --heartbeat-ticks H]   (default: serve's defaults)
 *
 * The long chaos run: repeated runs of cluster/chaos/run.ts (a fresh 3-node cluster each, of child
 * processes or of containers), every nemesis mixed at random from the seed, each run's history checked. Prints one line per
 * run and a JSON total; exits 1 on any violation, with the report directory of the failing run.
 */
import { parseArgs } from 'node:util';
import { backendFromName } from '../cluster/backends.js';
import { isNemesis, NEMESES, type NemesisKind } from '../cluster/chaos/nemesis.js';
import { runChaos } from '../cluster/chaos/run.js';
import { DEFAULT_RAFT_TIMING } from '../src/node/timing.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    'leader-kills': { type: 'string' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    clients: { type: 'string', default: '4' },
    nodes: { type: 'string', default: '3' },
    tls: { type: 'boolean', default: false },
    backend: { type: 'string', default: 'process' },
    nemeses: { type: 'string', default: NEMESES.join(',') },
    runs: { type: 'string', default: '1' },
    report: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    'tick-ms': { type: 'string', default: String(DEFAULT_RAFT_TIMING.tickMs) },
    'election-ticks': { type: 'string', default: String(DEFAULT_RAFT_TIMING.electionTicks) },
    'heartbeat-ticks': { type: 'string', default: String(DEFAULT_RAFT_TIMING.heartbeatTicks) },
  },
});
const int = (name: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
};
const kinds = (values.nemeses ?? '').split(',').filter(Boolean);
for (const k of kinds) if (!isNemesis(k)) throw new Error(`unknown nemesis ${k}; choose from ${NEMESES.join(', ')}`);
const seed = int('seed', values.seed, 0);
const runs = int('runs', values.runs, 1);
const timing = { tickMs: int('tick-ms', values['tick-ms'], 1), electionTicks: int('election-ticks', values['election-ticks'], 2), heartbeatTicks: int('heartbeat-ticks', values['heartbeat-ticks'], 1) };
if (timing.heartbeatTicks >= timing.electionTicks) throw new Error('--heartbeat-ticks must be below --election-ticks');
const minutes = values.minutes !== undefined ? Number(values.minutes) : undefined;
if (minutes !== undefined && !(minutes > 0)) throw new Error(`--minutes must be positive, got ${values.minutes}`);

const totals = { runs: 0, failed: 0, leaderKills: 0, pauses: 0, partitions: 0, ops: 0, checkedOps: 0, nemeses: {} as Record<string, number>, failoverMs: [] as number[] };
const backend = await backendFromName(values.backend ?? 'process');
for (let r = 0; r < runs; r++) {
  const result = await runChaos({
    backend,
    seed: seed + r,
    nodes: int('nodes', values.nodes, 1),
    clients: int('clients', values.clients, 1),
    tls: values.tls ?? false,
    timing,
    nemeses: kinds as NemesisKind[],
    ...(minutes !== undefined ? { minutes: minutes / runs } : { leaderKills: int('leader-kills', values['leader-kills'] ?? '30', 0) }),
    ...(values.report ? { reportDir: `${values.report}/seed-${seed + r}` } : {}),
    ...(values.quiet ? {} : { log: (line: string) => console.error(`[seed ${seed + r}] ${line}`) }),
  });
  totals.runs++;
  if (!result.ok) totals.failed++;
  totals.leaderKills += result.nemesis.leaderKills;
  totals.pauses += result.nemesis.pauses;
  totals.partitions += result.nemesis.partitions;
  totals.ops += result.ops.invoked;
  totals.checkedOps += result.checkedOps;
  totals.failoverMs.push(...result.nemesis.failoverMs);
  for (const [k, n] of Object.entries(result.nemesis.runs)) totals.nemeses[k] = (totals.nemeses[k] ?? 0) + n;
  console.log(JSON.stringify({ seed: result.seed, ok: result.ok, verdict: result.verdict, linearizability: result.linearizability, ops: result.ops, checkedOps: result.checkedOps, kills: result.nemesis.leaderKills, termsByNemesis: result.termsByNemesis, durationMs: result.durationMs, ...(result.ok ? {} : { violations: result.violations, report: result.reportDir }) }));
}
await backend.close();
const sorted = [...totals.failoverMs].sort((a, b) => a - b);
const pct = (p: number): number | undefined => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
console.log(JSON.stringify({ ...totals, failoverMs: undefined, failoverP50Ms: pct(50), failoverP99Ms: pct(99), violations: totals.failed }));
process.exitCode = totals.failed > 0 ? 1 : 0;
