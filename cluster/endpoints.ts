/**
 * Questions asked of raft-ipam nodes by their HTTP URLs alone — is it ready, who leads, do they agree —
 * for clusters the harness does not hold as child processes (containers, compose projects). Each answer
 * is the node's own /readyz or /v1/status; a node that does not answer in time counts as down.
 */
import type { NodeStatusView as StatusBody } from '../src/node/service.js';

export type { StatusBody };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GET /readyz: true on 200 (the node knows a leader and has caught up with the log it booted with). */
export async function isReady(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}

/** GET /v1/status, or undefined when the node does not answer (down, paused, or too slow). */
export async function nodeStatus(url: string, options: { timeoutMs?: number; token?: string } = {}): Promise<StatusBody | undefined> {
  try {
    const r = await fetch(`${url}/v1/status`, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 1000),
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    });
    if (!r.ok) return undefined;
    const body = (await r.json()) as { ok: boolean; value?: StatusBody };
    return body.ok ? body.value : undefined;
  } catch {
    return undefined;
  }
}

/** Wait until every URL answers /readyz with 200; the error names the ones that never did. */
export async function waitForReady(urls: readonly string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...urls];
  while (Date.now() < deadline) {
    const ready = await Promise.all(pending.map((u) => isReady(u)));
    pending = pending.filter((_, i) => !ready[i]);
    if (pending.length === 0) return;
    await sleep(200);
  }
  throw new Error(`not ready within ${timeoutMs} ms: ${pending.join(', ')}`);
}

/**
 * The id and URL of a node that reports itself leader, among `urls` (those in `exclude` are not asked
 * and a leader of that id is not accepted), within `timeoutMs`.
 */
export async function waitForLeader(urls: readonly string[], timeoutMs = 30_000, exclude: readonly string[] = []): Promise<{ id: string; url: string; term: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const asked = urls.filter((u) => !exclude.includes(u));
    const ss = await Promise.all(asked.map((u) => nodeStatus(u, { timeoutMs: 500 })));
    for (const [i, s] of ss.entries()) {
      if (s?.role === 'leader' && !exclude.includes(s.id)) return { id: s.id, url: asked[i] as string, term: s.term };
    }
    await sleep(100);
  }
  throw new Error(`no leader among ${urls.filter((u) => !exclude.includes(u)).join(', ')} within ${timeoutMs} ms`);
}

/**
 * Wait until every URL answers with the same applied index and state hash, and that index is the
 * highest commit any of them reports (so nobody is still catching up). Returns the common state.
 */
export async function waitForConvergence(urls: readonly string[], timeoutMs = 60_000): Promise<{ applied: number; stateHash: string; statuses: StatusBody[] }> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answers';
  while (Date.now() < deadline) {
    const ss = await Promise.all(urls.map((u) => nodeStatus(u)));
    if (ss.every((s) => s !== undefined)) {
      const all = ss as StatusBody[];
      const first = all[0] as StatusBody;
      last = JSON.stringify(all.map((s) => [s.id, s.role, s.commit, s.applied, s.stateHash.slice(0, 12)]));
      const same = all.every((s) => s.stateHash === first.stateHash && s.applied === first.applied);
      if (same && Math.max(...all.map((s) => s.commit)) === first.applied) return { applied: first.applied, stateHash: first.stateHash, statuses: all };
    } else {
      last = `no answer from ${urls.filter((_, i) => ss[i] === undefined).join(', ')}`;
    }
    await sleep(200);
  }
  throw new Error(`nodes did not converge within ${timeoutMs} ms (last: ${last})`);
}
