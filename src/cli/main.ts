#!/usr/bin/env node
/** raft-ipam command line. Thin over the library: parse arguments, call, print. */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { BackupError } from '../backup/errors.js';
import { OverlayError } from '../ipam/errors.js';
import { registerServeCommand } from './serve.js';
import { registerCertsCommand } from './certs.js';
import { addGlobalClientOptions, registerClientCommands } from './client-commands.js';
import { registerSnapshotCommands } from './snapshot-commands.js';
import { registerCheckHistoryCommand } from './check-history.js';
import { isVariant, VARIANTS, type Variant } from '../sim/variants.js';

// What a command needs beyond its flags is imported when it runs: a restarted `serve` does not load the
// cluster harness, the simulator or the checker (module loading is most of a node's process start).

const program = new Command();
program.name('raft-ipam').description('Replicated IP address manager for container overlay networks').version('0.1.0');
// Usage errors surface as CommanderError in the handler below (exit 2, `error [Usage]: …`) instead of
// commander printing and exiting 1 itself; set before any subcommand exists, which inherit it.
program.exitOverride().configureOutput({ outputError: () => {} });
addGlobalClientOptions(program);

program
  .command('demo')
  .description('start a 3-node cluster on 127.0.0.1, allocate under load, SIGKILL the leader, prove nothing was lost or granted twice, restart it, clean up')
  .option('--clients <n>', 'concurrent clients', (v) => Number(v), 8)
  .option('--per-client <n>', 'allocations per client', (v) => Number(v), 40)
  .action(async (opts: { clients: number; perClient: number }) => {
    for (const [k, v] of Object.entries(opts)) {
      if (!Number.isInteger(v) || v < 1 || v > 1000) throw new OverlayError('InvalidCommand', `--${k === 'perClient' ? 'per-client' : k} must be an integer in 1..1000`);
    }
    const { runClusterDemo } = await import('./demo.js');
    const { ok } = await runClusterDemo({ clients: opts.clients, perClient: opts.perClient });
    process.exitCode = ok ? 0 : 1;
  });

program
  .command('drill')
  .description('backup drill on real processes: save a snapshot under load, restore it into a fresh cluster, check state hash, acknowledged writes and no duplicate after restore, clean up')
  .option('--nodes <n>', 'members of each cluster (default 3)', (v) => drillInt('nodes', v, 1, 7))
  .option('--load-clients <n>', 'concurrent allocating clients (default 4)', (v) => drillInt('load-clients', v, 1, 256))
  .option('--seconds <s>', 'seconds of load; the save starts halfway (default 4)', (v) => drillInt('seconds', v, 1, 3600))
  .option('--new-allocations <n>', 'allocations made on the restored cluster (default 40)', (v) => drillInt('new-allocations', v, 1, 10_000))
  .option('--keep', 'keep the temporary directory (logs, data, the snapshot file)')
  .action(async (o: { nodes?: number; loadClients?: number; seconds?: number; newAllocations?: number; keep?: boolean }, cmd: Command) => {
    const json = cmd.optsWithGlobals<{ json?: boolean }>().json === true;
    // With --json, stdout carries the report alone; the running commentary goes to stderr.
    const { runDrill } = await import('./drill.js');
    const report = await runDrill({ ...o, print: json ? (l) => console.error(l) : (l) => console.log(l) });
    if (json) console.log(JSON.stringify(report, null, 2));
    process.exitCode = report.ok ? 0 : 1;
  });

program
  .command('tour')
  .description('walk through the allocator and the IPAM state machine in this process: networks, slices, owners, snapshots')
  .action(async () => (await import('./tour.js')).runTour((line) => console.log(line)));

registerServeCommand(program);

program
  .command('import-seed')
  .description('turn zlayer-overlay state files into IPAM commands (JSON lines on stdout)')
  .requiredOption('--network <name>', 'name of the network to create')
  .requiredOption('--slices <file>', 'NodeSliceAllocator snapshot JSON of the leader')
  .option('--allocator <file...>', 'IpAllocator state JSON of each agent')
  .option('--check', 'apply the commands to an empty state machine and report the result instead')
  .action(async (opts: { network: string; slices: string; allocator?: string[]; check?: boolean }) => {
    const { importSeedState, IpamStateMachine } = await import('../index.js');
    const readJson = async (path: string): Promise<unknown> => {
      try {
        return JSON.parse(await readFile(path, 'utf8'));
      } catch (e) {
        throw new OverlayError('InvalidState', `${path}: ${(e as Error).message}`);
      }
    };
    const commands = importSeedState({
      network: opts.network,
      slices: await readJson(opts.slices),
      allocators: await Promise.all((opts.allocator ?? []).map(readJson)),
    });
    if (!opts.check) {
      for (const c of commands) console.log(JSON.stringify(c));
      return;
    }
    const sm = new IpamStateMachine();
    for (const c of commands) {
      const r = sm.apply(c);
      if (!r.ok) throw new OverlayError(r.error.code, r.error.message);
    }
    const usage = sm.networkUsage(opts.network);
    console.log(JSON.stringify({ commands: commands.length, ...usage, sliceCapacity: String(usage?.sliceCapacity), stateHash: sm.stateHash() }));
  });

function drillInt(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new BackupError('InvalidArgument', `--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

const int = (name: string, min: number, max: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new OverlayError('InvalidCommand', `--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
};
const variantOf = (v: string): Variant => {
  if (!isVariant(v)) throw new OverlayError('InvalidCommand', `--variant must be one of ${VARIANTS.join(', ')}`);
  return v;
};

program
  .command('simulate')
  .description('run one seeded Raft simulation (replays a failure exactly)')
  .requiredOption('--seed <n>', 'seed', int('seed', 0, 2 ** 32 - 1))
  .option('--steps <n>', 'events in the fault phase', int('steps', 1, 10_000_000), 3000)
  .option('--nodes <n>', 'initial voters', int('nodes', 3, 7), 3)
  .option('--variant <name>', `deliberately broken core: ${VARIANTS.join(', ')}`, variantOf, 'none')
  .option('--trace', 'print every event to stderr as it is processed: virtual ms, then the event as JSON')
  .action(async (o: { seed: number; steps: number; nodes: number; variant: Variant; trace?: boolean }) => {
    const { trace, ...options } = o;
    const { simulate } = await import('../sim/simulator.js');
    const r = await simulate(options, trace ? (line) => process.stderr.write(`${line}\n`) : undefined);
    console.log(JSON.stringify(r, null, 2));
    if (!r.ok) process.exitCode = 1;
  });

program
  .command('sim-many')
  .description('run many seeds; print failures with their replay commands')
  .option('--seeds <n>', 'number of seeds', int('seeds', 1, 100_000_000), 100)
  .option('--from <n>', 'first seed', int('from', 0, 2 ** 32 - 1), 1)
  .option('--steps <n>', 'events per seed', int('steps', 1, 10_000_000), 3000)
  .option('--nodes <n>', 'initial voters (default: 3–7 by seed)', int('nodes', 3, 7))
  .option('--variant <name>', `deliberately broken core: ${VARIANTS.join(', ')}`, variantOf)
  .action(async (o: { seeds: number; from: number; steps: number; nodes?: number; variant?: Variant }) => {
    const { runSeeds } = await import('../sim/run-seeds.js');
    const r = await runSeeds({ ...o, onProgress: (done) => { if (done % 1000 === 0) console.error(`${done} seeds…`); } });
    for (const f of r.failures) console.log(`FAIL seed ${f.seed}: ${f.violation}\n  replay: ${f.replay}`);
    console.log(JSON.stringify({ seeds: r.seeds, failures: r.failures.length, ms: r.ms, msPerSeed: Math.round((r.ms / r.seeds) * 10) / 10 }));
    if (r.failures.length > 0) process.exitCode = 1;
  });

registerCertsCommand(program);
registerClientCommands(program);
registerSnapshotCommands(program);
registerCheckHistoryCommand(program);

program.parseAsync(process.argv).catch(async (e: unknown) => {
  const { failureOf } = await import('./exit-codes.js');
  const { exitCode, line } = failureOf(e);
  if (line !== undefined) console.error(line);
  process.exit(exitCode);
});
