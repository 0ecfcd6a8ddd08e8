/**
 * "Serving again", as a client would check it: the node's /readyz says ready (it knows a leader and has
 * applied the log it booted with) and its own state answers a read of the network with the expected
 * number of addresses (so a node that is up but still installing a snapshot does not count). The read is
 * a stale (local) one because these nodes are followers, and raft-ipam serves linearizable reads on the
 * leader only. Never /v1/status: see probe.ts.
 */
import type { Cluster } from '../../cluster/cluster.js';
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

export type ServingCheck = { network: string; addresses: number } | undefined;

/**
 * Poll the node every 10 ms from `t0` (performance.now()) until it serves; the times are from t0. Gives up
 * (rejects) after `timeoutMs` or once `cancel` is aborted.
 */
export async function untilServing(cluster: Cluster, id: string, check: ServingCheck, t0: number, timeoutMs = 120_000, cancel?: AbortSignal): Promise<Milestones> {
  const http = new JsonHttp(cluster.node(id).clientUrl, 1);
  const deadline = t0 + timeoutMs;
  let last = 'not asked yet';
  let httpMs: number | undefined;
  let readyMs: number | undefined;
  try {
    while (performance.now() < deadline && !cancel?.aborted) {
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
    throw new Error(`${id} not serving ${cancel?.aborted ? 'when its start failed' : `within ${timeoutMs} ms`}: ${last}`);
  } finally {
    await http.close();
  }
}

/**
 * Time one node's start as a client sees it: `start` launches it through the harness (cluster.restart,
 * cluster.startJoining), which resolves once the node answers /healthz (polled every 50 ms); the
 * milestones are polled every 10 ms from the moment `start` is called, alongside it, so the harness's own
 * wait neither delays nor rounds them.
 */
export async function timedStart(cluster: Cluster, id: string, start: () => Promise<void>, check: ServingCheck, timeoutMs: number): Promise<Milestones> {
  const t0 = performance.now();
  const cancel = new AbortController();
  const serving = untilServing(cluster, id, check, t0, timeoutMs, cancel.signal);
  try {
    await start();
  } catch (e) {
    cancel.abort();
    await serving.catch(() => undefined);
    throw e;
  }
  return serving;
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
export async function aFollower(cluster: Cluster): Promise<string> {
  const leader = await waitForLeader(cluster, 60_000);
  return cluster.ids().filter((id) => id !== leader).sort().at(-1) as string;
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
    const rss = (await Promise.all(cluster.ids().map((id) => rssMb(cluster.handle(id)?.pid)))).filter((x): x is number => x !== undefined);
    if (rss.length === 0) throw new Error('no node of the empty cluster has a readable resident set (/proc/<pid>/status)');
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const id = await aFollower(cluster);
      await cluster.kill(id);
      times.push((await timedStart(cluster, id, () => cluster.restart(id), undefined, 120_000)).servingMs);
      await waitForConvergence(cluster);
    }
    times.sort((a, b) => a - b);
    return { restartMs: times[times.length >> 1] as number, rssMb: Math.max(...rss) };
  } finally {
    await ipam.close();
  }
}

