/**
 * raft-ipam clusters for the rows: cluster/process-cluster.ts (3 `raft-ipam serve` processes on
 * 127.0.0.1 with LevelDB data and plaintext peers, the harness the demo and chaos tests use), registered
 * for cleanup, with the admin steps every load row needs (find the leader, make a network, assign slices).
 */
import { join } from 'node:path';
import type { ProcessCluster, ProcessClusterOptions } from '../../cluster/process-cluster.js';
import { onCleanup } from './cleanup.js';
import type { Compiled } from './compiled.js';
import { ipamValue, type JsonHttp } from './http.js';
import { waitForLeader } from './probe.js';
import { sleep } from './proc.js';

export interface IpamCluster {
  cluster: ProcessCluster;
  /** Stop every node (and forget the cleanup). */
  close(): Promise<void>;
}

/** Generous: three nodes restoring 1,000,000 addresses at once on 2 busy cores take tens of seconds. */
export const BIG_WAIT_MS = 600_000;

export async function startIpamCluster(c: Compiled, root: string, name: string, options: Partial<ProcessClusterOptions> & { waitMs?: number } = {}): Promise<IpamCluster> {
  const { extraArgs, waitMs, ...rest } = options;
  const cluster = await c.ProcessCluster.start({ root: join(root, name), ...rest, extraArgs: ['--log-level', process.env.BENCH_NODE_LOG_LEVEL ?? 'warn', ...(extraArgs ?? [])] });
  const close = onCleanup(`raft-ipam cluster ${name}`, () => cluster.destroy());
  await waitForLeader(cluster, waitMs ?? 60_000);
  return { cluster, close };
}

/** The leader's client URL, once every running node agrees on one that answers. */
export async function leaderUrl(cluster: ProcessCluster, exclude: string[] = []): Promise<{ id: string; url: string }> {
  const id = await waitForLeader(cluster, 60_000, exclude);
  return { id, url: cluster.node(id).url };
}

/**
 * A network for one row, with one /16 slice per client (nodeId c<i>) or one shared /12 slice: each row
 * has its own network, so rows never compete for addresses and a row's allocations are its own.
 */
export async function prepareNetwork(http: Pick<JsonHttp, 'post'>, network: string, clients: number, shared: boolean): Promise<void> {
  ipamValue(await http.post('/v1/commands', { type: 'configureNetwork', name: network, cidr: '10.0.0.0/8', slicePrefix: shared ? 12 : 16 }));
  const ids = shared ? ['shared'] : Array.from({ length: clients }, (_, i) => `c${i}`);
  // Assign in waves of 32: 256 serial commits would take seconds on a busy machine.
  for (let i = 0; i < ids.length; i += 32) {
    await Promise.all(ids.slice(i, i + 32).map(async (nodeId) => ipamValue(await http.post('/v1/commands', { type: 'assignSlice', network, nodeId }))));
  }
}

/** Retry an admin step through a leader change (a loaded machine can miss a heartbeat or two). */
export async function retrying<T>(what: string, f: () => Promise<T>, attempts = 20, delayMs = (i: number) => 100 * (i + 1)): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await f();
    } catch (e) {
      last = e;
      await sleep(delayMs(i));
    }
  }
  throw new Error(`${what}: ${(last as Error).message}`);
}
