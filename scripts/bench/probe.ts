/**
 * Cheap questions to a running raft-ipam node — who leads, has everybody applied everything — answered
 * from GET /metrics (raft gauges read from the core at scrape time) instead of GET /v1/status.
 *
 * Why not /v1/status (what the harness's findLeader, waitForLeader and waitForConvergence ask): its
 * stateHash is a SHA-256 over a full snapshot encoding. It is computed a step at a time and once per
 * applied index, so it no longer blocks the node, but under load every call at a new index still costs a
 * whole capture, and a benchmark that polls status would measure its own polling. So nothing here calls
 * it, and the bench never calls those three harness methods (start and restart wait on /healthz).
 */
import type { Cluster } from '../../cluster/cluster.js';
import { sleep } from './proc.js';

export interface RaftGauges {
  isLeader: boolean;
  term: number;
  commit: number;
  applied: number;
}

function gauge(text: string, name: string): number | undefined {
  const m = new RegExp(`^raft_ipam_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

export async function raftGauges(url: string, timeoutMs = 1000): Promise<RaftGauges | undefined> {
  try {
    const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) return undefined;
    const text = await r.text();
    const term = gauge(text, 'raft_term');
    const commit = gauge(text, 'raft_commit_index');
    const applied = gauge(text, 'raft_applied_index');
    const isLeader = gauge(text, 'raft_is_leader');
    if (term === undefined || commit === undefined || applied === undefined || isLeader === undefined) return undefined;
    return { isLeader: isLeader === 1, term, commit, applied };
  } catch {
    return undefined; // not listening yet, killed, or too busy to answer in time
  }
}

const running = (cluster: Cluster, exclude: string[] = []): string[] => cluster.ids().filter((id) => cluster.isRunning(id) && !cluster.isPaused(id) && !exclude.includes(id));

/** The node that reports itself leader at the highest term, within `timeoutMs`. */
export async function waitForLeader(cluster: Cluster, timeoutMs = 60_000, exclude: string[] = []): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const ids = running(cluster, exclude);
    const gauges = await Promise.all(ids.map((id) => raftGauges(cluster.node(id).clientUrl)));
    let best: { id: string; term: number } | undefined;
    ids.forEach((id, i) => {
      const g = gauges[i];
      if (g?.isLeader && (!best || g.term > best.term)) best = { id, term: g.term };
    });
    if (best) return best.id;
    await sleep(50);
  }
  throw new Error(`no leader within ${timeoutMs} ms; logs in ${cluster.root}`);
}

/** Every running node has applied everything the leader has committed (and nobody lags behind). */
export async function waitForConvergence(cluster: Cluster, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  while (performance.now() < deadline) {
    const ids = running(cluster);
    const gauges = await Promise.all(ids.map((id) => raftGauges(cluster.node(id).clientUrl)));
    if (gauges.every((g) => g !== undefined) && gauges.some((g) => g?.isLeader)) {
      const commit = Math.max(...gauges.map((g) => g?.commit ?? 0));
      if (gauges.every((g) => g?.applied === commit)) return;
      last = ids.map((id, i) => `${id}:${gauges[i]?.applied}/${gauges[i]?.commit}`).join(' ');
    }
    await sleep(50);
  }
  throw new Error(`nodes did not converge within ${timeoutMs} ms (${last}); logs in ${cluster.root}`);
}
