/**
 * "Serving again", as a client would check it: the node's /readyz says ready (it knows a leader and has
 * applied the log it booted with) and its own state answers a read of the network with the expected
 * number of addresses (so a node that is up but still installing a snapshot does not count). The read is
 * a stale (local) one because these nodes are followers, and raft-ipam serves linearizable reads on the
 * leader only. Never /v1/status: see probe.ts.
 */
import type { ProcessCluster } from '../../cluster/process-cluster.js';
import type { Compiled } from './compiled.js';
import { ipamValue, JsonHttp } from './http.js';
import { sleep, rssMb } from './proc.js';
import { startIpamCluster } from './ipam-cluster.js';
import { waitForConvergence, waitForLeader } from './probe.js';

export interface Milestones {
  /** The node answered HTTP at all (process started, storage opened, snapshot restored). */
  httpMs: number;
  /** /readyz said ready: a leader is known and the log the node booted with is applied. */
  readyMs: number;
  /** Ready and holding every address: the sample. */
  servingMs: number;
}

/** Poll the node every 10 ms from `t0` (performance.now()) until it serves; the times are from t0. */
export async function untilServing(cluster: ProcessCluster, id: string, check: { network: string; addresses: number } | undefined, t0: number, timeoutMs = 120_000): Promise<Milestones> {
  const http = new JsonHttp(cluster.node(id).url, 1);
  const deadline = t0 + timeoutMs;
  let last = 'not asked yet';
  let httpMs: number | undefined;
  let readyMs: number | undefined;
  try {
    while (performance.now() < deadline) {
      try {
        const ready = await http.get('/readyz', 1000);
        httpMs ??= performance.now() - t0;
        if (ready.status === 200) {
          readyMs ??= performance.now() - t0;
          const path = check ? `/v1/networks/${check.network}?consistency=stale` : '/v1/networks?consistency=stale';
          const v = ipamValue<{ addressesAllocated?: number }>(await http.get(path, 5000));
          if (!check || v.addressesAllocated === check.addresses) {
            const servingMs = performance.now() - t0;
            return { httpMs: httpMs ?? servingMs, readyMs: readyMs ?? servingMs, servingMs };
          }
          last = `${v.addressesAllocated} addresses, expected ${check.addresses}`;
        } else last = `readyz ${ready.status}`;
      } catch (e) {
        last = (e as Error).message; // not listening yet, or still catching up
      }
      await sleep(10);
    }
    throw new Error(`${id} not serving within ${timeoutMs} ms: ${last}`);
  } finally {
    await http.close();
  }
}

/** Medians of each milestone over the rounds, rounded to ms. */
export function medianMilestones(ms: Milestones[]): Milestones {
  const med = (k: keyof Milestones): number => {
    const s = ms.map((m) => m[k]).sort((a, b) => a - b);
    return Math.round(s[s.length >> 1] ?? 0);
  };
  return { httpMs: med('httpMs'), readyMs: med('readyMs'), servingMs: med('servingMs') };
}

/** A follower of the current leader (the node a restart or catch-up round takes down). */
export async function aFollower(cluster: ProcessCluster): Promise<string> {
  const leader = await waitForLeader(cluster, 60_000);
  return [...cluster.nodes.keys()].filter((id) => id !== leader).sort().at(-1) as string;
}

export interface EmptyBaseline {
  /** SIGKILL + restart of a follower of an empty cluster → serving: process start, open, join. */
  restartMs: number;
  /** RSS of an idle node of an empty cluster. */
  rssMb: number;
}

/** The empty-node baseline the restart, catch-up and memory rows are read against. */
export async function emptyBaseline(c: Compiled, root: string, rounds: number): Promise<EmptyBaseline> {
  const ipam = await startIpamCluster(c, root, 'empty');
  try {
    const cluster = ipam.cluster;
    await waitForConvergence(cluster);
    const rss = (await Promise.all([...cluster.nodes.values()].map((n) => rssMb(n.child?.pid)))).filter((x): x is number => x !== undefined);
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const id = await aFollower(cluster);
      await cluster.kill(id);
      const t0 = performance.now();
      await cluster.restart(id);
      times.push((await untilServing(cluster, id, undefined, t0)).servingMs);
      await waitForConvergence(cluster);
    }
    times.sort((a, b) => a - b);
    return { restartMs: times[times.length >> 1] as number, rssMb: Math.max(...rss) };
  } finally {
    await ipam.close();
  }
}

