/**
 * npm run bench — issue 9's measurement suite: a 3-node raft-ipam cluster of real processes with durable
 * LevelDB storage on loopback, measured beside the limits it is compared with (this machine's fdatasync
 * rate, a synced LevelDB batch, a no-op HTTP round trip), and with --peer etcd beside a 3-member etcd
 * cluster driven by the same load generator. Prints a table, writes JSON (default bench-results/),
 * and with --report BENCHMARKS.md and BENCHMARKS.svg. See scripts/bench/ (one module per measurement).
 *
 *   npm run bench [-- --quick] [-- --peer etcd] [--only http,failover] [--seconds 10] [--out r.json] [--report] [--profile]
 *
 * Benchmarks are not tests: nothing here asserts a time. A run fails only if a row cannot be measured
 * or a row's correctness check fails (an address acknowledged twice, an acknowledged write missing).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from './bench/args.js';
import { installSignalHandlers, onCleanup, runAll } from './bench/cleanup.js';
import { loadCompiled, repoRoot } from './bench/compiled.js';
import { finalize } from './bench/finalize.js';
import { endLoad, machineFacts } from './bench/machine.js';
import { profileLeader } from './bench/profile.js';
import { writeReport, type BenchResult } from './bench/report.js';
import { runSuite } from './bench/suite.js';
import { benchTiming } from './bench/timing.js';
import { terminalTable } from './bench/table.js';

const o = parseArgs(process.argv.slice(2));
installSignalHandlers();
const started = performance.now();
const root = await mkdtemp(join(tmpdir(), 'raft-ipam-bench-'));
onCleanup('temp root', () => rm(root, { recursive: true, force: true })); // registered first: removed last
let exitCode = 0;
try {
  const c = await loadCompiled();
  const machine = machineFacts(root);
  console.log(`raft-ipam bench${o.quick ? ' --quick' : ''}: ${machine.cpus} cores, load average ${machine.loadAverage.start.join(' ')}, node ${machine.node}`);
  const stamp = machine.startedAt.replace(/[:.]/g, '-');
  const out = resolve(o.out ?? join(repoRoot, 'bench-results', `${o.profile ? 'profile' : 'bench'}-${stamp}.json`));
  await mkdir(dirname(out), { recursive: true });
  // Timing set through the environment (timing.ts) is part of the command that reproduces the run.
  const timingEnv = ['TICK_MS', 'ELECTION_TICKS', 'HEARTBEAT_TICKS'].flatMap((k) => (process.env[`RAFT_IPAM_${k}`] !== undefined ? [`RAFT_IPAM_${k}=${process.env[`RAFT_IPAM_${k}`]} `] : [])).join('');
  const command = `${timingEnv}npm run bench --${o.quick ? ' --quick' : ''}${o.peer ? ` --peer ${o.peer}` : ''}${o.only.size < 10 ? ` --only ${[...o.only].join(',')}` : ''} --seconds ${o.seconds}${o.clientsGiven ? ` --clients ${o.clients.join(',')}` : ''}${o.report ? ' --report' : ''}${o.profile ? ' --profile' : ''}`;
  if (o.profile) {
    const p = await profileLeader(c, root, o, out.replace(/\.json$/, '') + '.cpuprofiles');
    endLoad(machine);
    console.log(`\nleader profile (${p.leader.file}): ${p.leader.sampledMs} ms sampled of ${p.leader.totalMs} ms; every node's raw profile in ${p.rawProfiles}`);
    console.table(p.leader.topFunctions);
    console.table(p.leader.byArea);
    await writeFile(out, JSON.stringify({ format: 1, command, machine, profile: p }, null, 2));
  } else {
    const suite = await runSuite(c, root, o);
    endLoad(machine);
    const result: BenchResult = {
      format: 1,
      command,
      options: { ...o, only: [...o.only] },
      timing: benchTiming(),
      machine,
      ...(suite.peer ? { peer: suite.peer } : {}),
      durationSeconds: (performance.now() - started) / 1000,
      rows: finalize(suite.rows),
    };
    console.log(`\n${terminalTable(result.rows)}`);
    await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
    if (o.report) {
      await writeReport(result, repoRoot);
      console.log('\nwrote BENCHMARKS.md and BENCHMARKS.svg');
    }
  }
  console.log(`\nJSON: ${out}`);
} catch (e) {
  console.error(`\nbench failed: ${(e as Error).stack ?? String(e)}`);
  exitCode = 1;
} finally {
  await runAll();
}
console.log(`done in ${Math.round((performance.now() - started) / 1000)} s`);
process.exit(exitCode);
