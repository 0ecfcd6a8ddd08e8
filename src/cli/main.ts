#!/usr/bin/env node
/** raft-ipam command line. Thin over the library: parse arguments, call, print. */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { importSeedState, IpamStateMachine, OverlayError } from '../index.js';
import { runDemo } from './demo.js';

const program = new Command();
program.name('raft-ipam').description('Replicated IP address manager for container overlay networks').version('0.1.0');

program
  .command('demo')
  .description('walk through the allocator and the IPAM state machine: networks, slices, owners, snapshots')
  .action(() => runDemo((line) => console.log(line)));

program
  .command('import-seed')
  .description('turn zlayer-overlay state files into IPAM commands (JSON lines on stdout)')
  .requiredOption('--network <name>', 'name of the network to create')
  .requiredOption('--slices <file>', 'NodeSliceAllocator snapshot JSON of the leader')
  .option('--allocator <file...>', 'IpAllocator state JSON of each agent')
  .option('--check', 'apply the commands to an empty state machine and report the result instead')
  .action(async (opts: { network: string; slices: string; allocator?: string[]; check?: boolean }) => {
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

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof OverlayError) {
    console.error(`error [${e.code}]: ${e.message}`);
    process.exit(2);
  }
  console.error(e);
  process.exit(1);
});
