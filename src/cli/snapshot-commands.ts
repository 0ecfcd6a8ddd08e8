/**
 * `raft-ipam snapshot save | restore | inspect`, named and flagged like etcdctl's: save streams a consistent
 * snapshot from a live cluster into a file, restore builds one member's data directory of a new cluster
 * from it, inspect prints what a file holds. Thin over src/backup; errors go to main's handler
 * (`error [CODE]: …`, exit 2 for a refused file or argument, 3 when no node answered).
 */
import type { Command } from 'commander';
import { IpamClient, IpamClientError } from '../api/client.js';
import type { SnapshotSummary } from '../backup/inspect.js';
import type { SaveProgress } from '../backup/save.js';
import { BackupError } from '../backup/errors.js';
import { ENDPOINTS_ENV } from './client-commands.js';
import { emit, table, type Print } from './output.js';
import { parseInitialCluster } from './serve-config.js';

interface GlobalOptions {
  endpoints?: string[];
  token?: string;
  json?: boolean;
  timeout?: number;
}

const positive = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new BackupError('InvalidArgument', `${flag} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
};

export interface SnapshotCommandIo {
  print: Print;
  /** Progress output (stderr); `isTTY` decides between one redrawn line and a line per 10%. */
  progress: { write(text: string): void; isTTY: boolean };
}

const defaultIo: SnapshotCommandIo = { print: (l) => console.log(l), progress: process.stderr };

export function registerSnapshotCommands(program: Command, io: SnapshotCommandIo = defaultIo): void {
  const snapshot = program.command('snapshot').description('save a consistent snapshot of a live cluster, restore a new cluster from one, inspect one');

  snapshot
    .command('save')
    .description('stream a consistent snapshot (every write acknowledged before the call) from the leader into FILE, atomically')
    .argument('<file>', 'the snapshot file to write (replaced atomically if it exists)')
    .option('--progress', 'print progress on stderr even when it is not a terminal')
    .option('--stall-timeout <ms>', 'give up when no data arrives for this long (default 30000)', positive('--stall-timeout'))
    .action(async (file: string, o: { progress?: boolean; stallTimeout?: number }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const endpoints = g.endpoints ?? [];
      if (endpoints.length === 0) throw new IpamClientError('InvalidArgument', `no endpoints: pass --endpoints or set ${ENDPOINTS_ENV}`, 'invalid');
      const client = new IpamClient({ endpoints, ...(g.token !== undefined ? { token: g.token } : {}), ...(g.timeout !== undefined ? { timeoutMs: g.timeout } : {}) });
      const show = io.progress.isTTY || o.progress === true;
      const progress = show ? progressPrinter(io.progress, file) : undefined;
      const { saveSnapshot } = await import('../backup/save.js'); // loaded by the command: `serve` starts without the backup modules
      let r: Awaited<ReturnType<typeof saveSnapshot>>;
      try {
        r = await saveSnapshot({ client, file, ...(progress ? { onProgress: progress.update } : {}), ...(o.stallTimeout !== undefined ? { stallTimeoutMs: o.stallTimeout } : {}) });
      } finally {
        // End the redrawn line, so an error or the result starts on a line of its own.
        progress?.finish();
      }
      emit(g.json === true, io.print, r, () => {
        io.print(`saved ${r.file}: ${r.bytes} bytes from ${r.endpoint}, cluster ${r.clusterId} index ${r.index} term ${r.term}`);
        printSummary(io.print, r);
      });
    });

  snapshot
    .command('restore')
    .description('build the data directory of one member of a NEW cluster from FILE (run once per member, then start each with serve)')
    .argument('<file>', 'a snapshot file written by snapshot save')
    .requiredOption('--data-dir <dir>', 'the data directory to create (must not exist, or be empty)')
    .requiredOption('--name <id>', "this member's id (one of --initial-cluster)")
    .requiredOption('--initial-cluster <members>', 'every member of the new cluster, name=host:port,… (the same for every member)')
    .option('--cluster-id <id>', 'id of the new cluster (default: derived from the file and --initial-cluster, the same for every member; never the old one)')
    .option('--source-cluster-id <id>', 'refuse a snapshot taken from any cluster but this one')
    .action(async (file: string, o: { dataDir: string; name: string; initialCluster: string; clusterId?: string; sourceClusterId?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { restoreSnapshot } = await import('../backup/restore.js');
      const r = await restoreSnapshot({
        file,
        dataDir: o.dataDir,
        name: o.name,
        initialCluster: parseInitialCluster(o.initialCluster),
        ...(o.clusterId !== undefined ? { clusterId: o.clusterId } : {}),
        ...(o.sourceClusterId !== undefined ? { sourceClusterId: o.sourceClusterId } : {}),
      });
      emit(g.json === true, io.print, r, () => {
        io.print(`restored ${r.name} into ${r.dataDir}: index ${r.index} term ${r.term} of ${r.sourceClusterId}, state ${r.stateHash}`);
        io.print(`new cluster ${r.clusterId}, voters ${r.voters.join(', ')}; start this member with:`);
        io.print(`  raft-ipam serve --name ${r.name} --data-dir ${r.dataDir} --cluster-id ${r.clusterId} --initial-cluster ${o.initialCluster} --listen-client HOST:PORT (--tls-dir DIR | --insecure)`);
      });
    });

  snapshot
    .command('inspect')
    .description('check FILE completely and print what it holds')
    .argument('<file>')
    .option('--source-cluster-id <id>', 'refuse a snapshot taken from any cluster but this one')
    .action(async (file: string, o: { sourceClusterId?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { inspectSnapshotFile } = await import('../backup/inspect.js');
      const r = await inspectSnapshotFile(file, o.sourceClusterId !== undefined ? { sourceClusterId: o.sourceClusterId } : {});
      emit(g.json === true, io.print, r, () => {
        io.print(`${file}: ${r.bytes} bytes, cluster ${r.clusterId} index ${r.index} term ${r.term}`);
        printSummary(io.print, r);
      });
    });
}

function printSummary(print: Print, r: SnapshotSummary): void {
  print(`taken ${r.takenAt}; state hash ${r.stateHash}`);
  print(`${r.networks.length} network(s), ${r.slices} slice(s), ${r.addresses} address(es), ${r.sessions} session(s)`);
  if (r.networks.length > 0) table(print, ['NETWORK', 'CIDR', 'SLICE', 'PAIR', 'SLICES', 'ADDRESSES'], r.networks.map((n) => [n.name, n.cidr, `/${n.slicePrefix}`, n.pair, n.slicesAssigned, n.addressesAllocated]));
}

/** On a terminal one line redrawn at most every 100 ms; otherwise a line per 10%. */
function progressPrinter(out: SnapshotCommandIo['progress'], file: string): { update: (p: SaveProgress) => void; finish: () => void } {
  let lastDraw = 0;
  let lastDecile = -1;
  let drawn = false;
  const mib = (n: number): string => (n / (1024 * 1024)).toFixed(1);
  const line = (p: SaveProgress): string => `saving ${file}: ${mib(p.received)} / ${mib(p.total)} MiB (${p.total > 0 ? Math.floor((100 * p.received) / p.total) : 100}%)`;
  return {
    update: (p) => {
      if (out.isTTY) {
        const now = performance.now();
        if (now - lastDraw < 100 && p.received < p.total) return;
        lastDraw = now;
        out.write(`\r${line(p)}`);
        drawn = true;
        return;
      }
      const decile = p.total > 0 ? Math.floor((10 * p.received) / p.total) : 10;
      if (decile === lastDecile) return;
      lastDecile = decile;
      out.write(`${line(p)}\n`);
    },
    finish: () => {
      if (drawn) out.write('\n');
    },
  };
}
