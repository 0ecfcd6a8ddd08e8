/**
 * raft-ipam clusters for the rows, on the cluster harness (cluster/cluster.ts, loaded from the build): 3
 * `raft-ipam serve` child processes, each on its own 127.0.0.x with durable LevelDB data, plaintext
 * peers and no harness relays (the peers talk directly: a relay would add a hop in this process, which
 * also runs the load generator). Registered for cleanup, with the admin steps every load row needs (find
 * the leader, make a network, assign slices).
 */
import { join } from 'node:path';
import type { Cluster, ClusterOptions } from '../../cluster/cluster.js';
import { onCleanup } from './cleanup.js';
import type { Compiled } from './compiled.js';
import { ipamValue, type JsonHttp } from './http.js';
import { waitForLeader } from './probe.js';
import { sleep } from './proc.js';

export interface IpamCluster {
  cluster: Cluster;
  /** Stop every node (and forget the cleanup). */
  close(): Promise<void>;
}

/** Generous: three nodes restoring 1,000,000 addresses at once on 2 busy cores take tens of seconds. */
export const BIG_WAIT_MS = 600_000;

export type IpamClusterOptions = Omit<ClusterOptions, 'root' | 'relays' | 'backend'>;

/**
 * Lay the cluster out under `root/name` without launching it (its data directories exist, empty), so a
 * row can fill them first; start it with startLaidOut().
 */
export async function layoutIpamCluster(c: Compiled, root: string, name: string, options: IpamClusterOptions = {}): Promise<IpamCluster> {
  // BENCH_NODE_ENV (a JSON object) adds environment to every node and to nothing else: an A/B run of a
  // node setting (NODE_OPTIONS, glibc tunables) leaves the load generator in this process as it was.
  const env = { ...benchNodeEnv(), ...options.env };
  const cluster = await c.Cluster.layout({ logLevel: process.env.BENCH_NODE_LOG_LEVEL ?? 'warn', ...options, env, root: join(root, name), relays: false });
  const close = onCleanup(`raft-ipam cluster ${name}`, () => cluster.destroy());
  return { cluster, close };
}

function benchNodeEnv(): Record<string, string> {
  const text = process.env.BENCH_NODE_ENV;
  if (text === undefined || text === '') return {};
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) throw new Error('BENCH_NODE_ENV must be a JSON object of strings');
  return v as Record<string, string>;
}

/** Launch a laid-out cluster; resolves once a leader is known (`waitMs` bounds both the start and that). */
export async function startLaidOut(ipam: IpamCluster, waitMs = 60_000): Promise<void> {
  await ipam.cluster.startAll();
  await waitForLeader(ipam.cluster, waitMs);
}

export async function startIpamCluster(c: Compiled, root: string, name: string, options: IpamClusterOptions & { waitMs?: number } = {}): Promise<IpamCluster> {
  const { waitMs, ...rest } = options;
  const ipam = await layoutIpamCluster(c, root, name, { ...rest, startTimeoutMs: rest.startTimeoutMs ?? waitMs ?? 60_000 });
  try {
    await startLaidOut(ipam, waitMs);
  } catch (e) {
    await ipam.close();
    throw e;
  }
  return ipam;
}

/** The leader's client URL, once a running node reports itself leader. */
export async function leaderUrl(cluster: Cluster, exclude: string[] = []): Promise<{ id: string; url: string }> {
  const id = await waitForLeader(cluster, 60_000, exclude);
  return { id, url: cluster.node(id).clientUrl };
}

/** Client URL by node id, for a NotLeader answer that names the leader by id only (LeaderHttp). */
export function urlOf(cluster: Cluster): (id: string) => string | undefined {
  return (id) => (cluster.ids().includes(id) ? cluster.node(id).clientUrl : undefined);
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
