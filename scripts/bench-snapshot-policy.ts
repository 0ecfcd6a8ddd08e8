/**
 * npm run bench:snapshot-policy — the snapshot policy on a large state under load. Three `serve` nodes boot
 * from a snapshot of 1,000,000 owned addresses (written straight into their storage, as the restart and
 * catch-up rows do), then 256 HTTP clients allocate for `seconds`; the run is made with
 * `--snapshot-log-ratio 0` (the entry count alone: the baseline) and with the default, alternately,
 * `rounds` times. Prints, per run: allocations/s, p99, snapshots the three nodes took, and the nodes' CPU
 * per allocation (from /proc); then the ratios of the default to the baseline.
 *
 *   npm run build && node --import tsx scripts/bench-snapshot-policy.ts [seconds=20] [rounds=2]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SNAPSHOT_LOG_RATIO } from '../src/raft/snapshot-policy.js';
import { VOTERS, bigState, writeNodeData } from './bench/big-state.js';
import { installSignalHandlers, onCleanup, runAll } from './bench/cleanup.js';
import { loadCompiled } from './bench/compiled.js';
import { BIG_WAIT_MS, layoutIpamCluster, startLaidOut } from './bench/ipam-cluster.js';
import { httpTarget } from './bench/ipam-load.js';
import { closedLoop } from './bench/load.js';

const seconds = Number(process.argv[2] ?? 20);
const rounds = Number(process.argv[3] ?? 2);
const ADDRESSES = 1_000_000;
const CLIENTS = 256;

/** CPU time (user + system) of a process so far, in ms, from /proc/<pid>/stat (ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] as string).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Run {
  ratio: number;
  perSecond: number;
  p99: number;
  snapshots: number;
  cpuUsPerAllocation: number;
}

async function run(c: Awaited<ReturnType<typeof loadCompiled>>, state: ReturnType<typeof bigState>, ratio: number): Promise<Run> {
  const root = await mkdtemp(join(tmpdir(), 'raft-ipam-snappolicy-'));
  const ipam = await layoutIpamCluster(c, root, 'snappolicy', { nodes: VOTERS, startTimeoutMs: BIG_WAIT_MS, env: { RAFT_IPAM_SNAPSHOT_LOG_RATIO: String(ratio) } });
  try {
    for (const id of VOTERS) await writeNodeData(c, ipam.cluster.node(id).dataDir, id, state, []);
    await startLaidOut(ipam, BIG_WAIT_MS);
    const pids = VOTERS.map((id) => {
      const pid = ipam.cluster.handle(id)?.pid;
      if (pid === undefined) throw new Error(`${id} has no process id`);
      return pid;
    });
    const snapshots = async (): Promise<number> => {
      let n = 0;
      for (const id of VOTERS) {
        const text = await (await fetch(`${ipam.cluster.node(id).clientUrl}/metrics`)).text();
        n += Number(/raft_ipam_snapshots_total\{kind="taken"\} (\d+)/.exec(text)?.[1] ?? 0);
      }
      return n;
    };
    const prepared = await httpTarget(ipam.cluster).prepare(CLIENTS, false);
    try {
      const s0 = await snapshots();
      const c0 = pids.map(cpuMs);
      const r = await closedLoop({ clients: CLIENTS, seconds, warmupSeconds: 1, makeClient: (i) => prepared.makeClient(i) });
      const cpu = pids.map(cpuMs).reduce((sum, ms, i) => sum + ms - (c0[i] as number), 0);
      const s1 = await snapshots();
      await prepared.verify();
      return { ratio, perSecond: r.perSecond, p99: r.latency.p99, snapshots: s1 - s0, cpuUsPerAllocation: (cpu * 1000) / Math.max(1, r.ops) };
    } finally {
      await prepared.close();
    }
  } finally {
    await ipam.close();
    await rm(root, { recursive: true, force: true });
  }
}

installSignalHandlers();
let exitCode = 0;
try {
  const c = await loadCompiled();
  const state = bigState(ADDRESSES);
  console.log(`${ADDRESSES.toLocaleString('en-US')} owned addresses (snapshot ${(state.data.length / 1e6).toFixed(1)} MB), ${CLIENTS} HTTP clients, ${seconds} s per run`);
  const runs: Run[] = [];
  for (let i = 0; i < rounds; i++) {
    for (const ratio of [0, DEFAULT_SNAPSHOT_LOG_RATIO]) {
      const r = await run(c, state, ratio);
      runs.push(r);
      console.log(`  --snapshot-log-ratio ${String(ratio).padEnd(4)} ${Math.round(r.perSecond).toLocaleString('en-US').padStart(7)} allocations/s  p99 ${r.p99.toFixed(1)} ms  snapshots ${r.snapshots}  nodes' CPU ${r.cpuUsPerAllocation.toFixed(0)} µs/allocation`);
    }
  }
  const mean = (ratio: number, f: (r: Run) => number): number => {
    const xs = runs.filter((r) => r.ratio === ratio).map(f);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const d = DEFAULT_SNAPSHOT_LOG_RATIO;
  console.log(`default ÷ baseline: throughput ${(mean(d, (r) => r.perSecond) / mean(0, (r) => r.perSecond)).toFixed(2)}×, CPU per allocation ${(mean(d, (r) => r.cpuUsPerAllocation) / mean(0, (r) => r.cpuUsPerAllocation)).toFixed(2)}×, snapshots ${mean(d, (r) => r.snapshots).toFixed(1)} vs ${mean(0, (r) => r.snapshots).toFixed(1)} per run`);
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  await runAll();
}
process.exitCode = exitCode;
