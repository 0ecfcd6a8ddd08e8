/**
 * Where a node's resident memory goes at a large state: the catch-up row's scenario (catchup.ts) — three
 * voters booted from a snapshot of N owned addresses, then `rounds` learners that each receive and install
 * it — followed by a breakdown per node: VmRSS, /proc/<pid>/smaps_rollup (anonymous vs file-backed) and
 * the node's own V8 numbers from GET /metrics (heap spaces, external, array buffers). Not a row of the
 * suite: a tool for memory work. Runs the build (dist/); `npm run build` first.
 *
 *   node --import tsx scripts/bench/rss-probe.ts [addresses=1000000] [rounds=3]
 *   PROBE_NODE_ENV='{"MALLOC_ARENA_MAX":"2"}' …   extra environment for every node
 *   PROBE_HOLD=1 …                                 keep the cluster up until Ctrl-C (inspect the pids)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VOTERS, bigState, writeNodeData } from './big-state.js';
import { installSignalHandlers, onCleanup, runAll } from './cleanup.js';
import { loadCompiled } from './compiled.js';
import { BIG_WAIT_MS, layoutIpamCluster, retrying, startLaidOut } from './ipam-cluster.js';
import { waitForConvergence } from './probe.js';
import { timedStart } from './serving.js';
import { sleep } from './proc.js';

const addresses = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 3);
const env = JSON.parse(process.env.PROBE_NODE_ENV ?? '{}') as Record<string, string>;
installSignalHandlers();
const root = await mkdtemp(join(tmpdir(), 'raft-ipam-rss-'));
onCleanup('temp root', () => rm(root, { recursive: true, force: true }));
try {
  const c = await loadCompiled();
  const state = bigState(addresses);
  console.log(`state: ${addresses} addresses, snapshot ${(state.data.length / 1e6).toFixed(1)} MB; node env ${JSON.stringify(env)}`);
  const ipam = await layoutIpamCluster(c, root, 'probe', { nodes: VOTERS, startTimeoutMs: BIG_WAIT_MS, env });
  const cluster = ipam.cluster;
  for (const id of VOTERS) await writeNodeData(c, cluster.node(id).dataDir, id, state, []);
  await startLaidOut(ipam, BIG_WAIT_MS);
  const check = { network: 'overlay', addresses };
  for (let i = 0; i < rounds; i++) {
    await waitForConvergence(cluster, BIG_WAIT_MS);
    const id = `learner${i + 1}`;
    await cluster.prepareNode(id);
    await retrying(`members add ${id}`, () => cluster.addMember(id, { learner: true }));
    const m = await timedStart(cluster, id, () => cluster.startJoining(id), check, BIG_WAIT_MS);
    console.log(`catch-up ${i + 1}/${rounds}: ${m.servingMs.toFixed(0)} ms`);
    if (i < rounds - 1) await retrying(`members remove ${id}`, () => cluster.removeMember(id));
  }
  await waitForConvergence(cluster, BIG_WAIT_MS);
  const report = async (): Promise<void> => {
    for (const id of cluster.ids().filter((x) => cluster.isRunning(x))) {
      const pid = cluster.handle(id)?.pid as number;
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
      const kb = (text: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
      const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8');
      // The brk heap (glibc's main arena: most malloc'd memory, ArrayBuffer backing stores included).
      const brk = Number(/\[heap\]\n(?:.*\n)*?Rss:\s+(\d+) kB/.exec(smaps)?.[1] ?? NaN);
      const metrics = await (await fetch(`${cluster.node(id).clientUrl}/metrics`)).text();
      const metric = (re: RegExp): number => Number(re.exec(metrics)?.[1] ?? NaN) / 1e6;
      const spaces = [...metrics.matchAll(/^raft_ipam_nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\d+)/gm)].map(([, s, v]) => `${s}=${(Number(v) / 1e6).toFixed(1)}`);
      console.log(
        `${id.padEnd(9)} pid ${pid}  VmRSS ${(kb(status, 'VmRSS') / 1024).toFixed(1)} MB  anon ${(kb(rollup, 'Anonymous') / 1024).toFixed(1)}  file ${(kb(status, 'RssFile') / 1024).toFixed(1)}  brk ${(brk / 1024).toFixed(1)}` +
          `  heapTotal ${metric(/^raft_ipam_nodejs_heap_size_total_bytes (\S+)/m).toFixed(1)} used ${metric(/^raft_ipam_nodejs_heap_size_used_bytes (\S+)/m).toFixed(1)} external ${metric(/^raft_ipam_nodejs_external_memory_bytes (\S+)/m).toFixed(1)}\n           spaces(total MB) ${spaces.join(' ')} leader ${/^raft_ipam_raft_is_leader 1/m.test(metrics)}`,
      );
    }
  };
  await report();
  if (process.env.PROBE_HOLD) {
    for (;;) {
      await sleep(30_000);
      await report();
    }
  }
  await ipam.close();
} finally {
  await runAll();
}
