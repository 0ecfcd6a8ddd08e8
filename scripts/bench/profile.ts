/**
 * `npm run bench -- --profile`: the leader's CPU profile under the 64-client HTTP allocation load, for
 * the optimisation work. Every node of a fresh cluster runs V8's sampling profiler (cpu-prof-preload.mjs),
 * the load runs, each node writes its profile, and the leader's is summarised: self time per function
 * and per module area (a dependency, a source directory, node internals, GC).
 */
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchOptions } from './args.js';
import type { Compiled } from './compiled.js';
import { leaderUrl, startIpamCluster } from './ipam-cluster.js';
import { httpTarget } from './ipam-load.js';
import { sleep } from './proc.js';
import { throughputRow } from './throughput.js';

const here = dirname(fileURLToPath(import.meta.url));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  sampledMs: number;
  topFunctions: Array<{ fn: string; where: string; selfMs: number; selfPct: number }>;
  byArea: Array<{ area: string; selfMs: number; selfPct: number }>;
}

/** Where a function lives, coarsely: a dependency, a source directory, node internals, or the engine. */
function area(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native/V8)';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1] as string;
  const src = /dist\/(src\/[^/]+|cluster)\//.exec(url);
  if (src) return src[1] as string;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url.split('/').slice(-2).join('/');
}

export function summarizeProfile(profile: CpuProfile, file: string, top = 25): ProfileSummary {
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const samples = profile.samples.length;
  const msPerSample = totalMs / Math.max(1, samples);
  const fns = new Map<string, { fn: string; where: string; hits: number }>();
  const areas = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const fn = functionName || '(anonymous)';
    const where = url ? `${url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${fn}@${where}`;
    const e = fns.get(key) ?? { fn, where, hits: 0 };
    e.hits += hits;
    fns.set(key, e);
    const a = area(url, fn);
    areas.set(a, (areas.get(a) ?? 0) + hits);
  }
  const pct = (hits: number): number => Math.round((hits / Math.max(1, samples)) * 1000) / 10;
  const ms = (hits: number): number => Math.round(hits * msPerSample);
  return {
    file,
    totalMs: Math.round(totalMs),
    sampledMs: Math.round(samples * msPerSample),
    topFunctions: [...fns.values()].sort((a, b) => b.hits - a.hits).slice(0, top).map((e) => ({ fn: e.fn, where: e.where, selfMs: ms(e.hits), selfPct: pct(e.hits) })),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([a, hits]) => ({ area: a, selfMs: ms(hits), selfPct: pct(hits) })),
  };
}

/**
 * Profiles every node under the HTTP allocation row; the raw .cpuprofile files (one per node, named by
 * node id, for a flame graph in Chrome DevTools or speedscope) are copied into `keepDir`.
 */
export async function profileLeader(c: Compiled, root: string, o: BenchOptions, keepDir: string): Promise<{ row: unknown; leader: ProfileSummary; followers: ProfileSummary[]; rawProfiles: string }> {
  const dir = join(root, 'cpu-profiles');
  await mkdir(dir, { recursive: true });
  // node refuses --cpu-prof in NODE_OPTIONS, but --import is allowed: a preload starts the profiler and
  // writes the profile on SIGUSR2. The nodes' environment only (the harness's `env` option).
  const env = {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(join(here, 'cpu-prof-preload.mjs')).href}`.trim(),
    BENCH_CPU_PROF_DIR: dir,
  };
  const ipam = await startIpamCluster(c, root, 'profile', { env });
  let row: unknown;
  const pids = new Map<number, string>();
  let leaderId = '';
  // 64 clients unless one concurrency is asked for (`--clients 256 --profile`).
  const clients = o.clients.length === 1 ? (o.clients[0] as number) : 64;
  try {
    leaderId = (await leaderUrl(ipam.cluster)).id;
    const toggle = (): void => {
      for (const id of ipam.cluster.ids()) {
        const pid = ipam.cluster.handle(id)?.pid;
        if (pid === undefined) throw new Error(`${id} has no process id to signal`);
        pids.set(pid, id);
        process.kill(pid, 'SIGUSR2');
      }
    };
    toggle(); // start: the row's setup, warm-up and measured window are profiled, the start-up is not
    row = await throughputRow(httpTarget(ipam.cluster), clients, false, 'http', o);
    toggle(); // stop and write
    const deadline = Date.now() + 30_000;
    while ((await readdir(dir)).length < pids.size && Date.now() < deadline) await sleep(100);
    await sleep(500); // let the last writeFileSync finish
  } finally {
    await ipam.close();
  }
  const summaries: Array<{ id: string; s: ProfileSummary }> = [];
  await mkdir(keepDir, { recursive: true });
  for (const f of await readdir(dir)) {
    const id = pids.get(Number(f.split('.')[0])) ?? f;
    await copyFile(join(dir, f), join(keepDir, `${id}${id === leaderId ? '-leader' : ''}.cpuprofile`));
    summaries.push({ id, s: summarizeProfile(JSON.parse(await readFile(join(dir, f), 'utf8')) as CpuProfile, `${id} (${f})`) });
  }
  const leader = summaries.find((x) => x.id === leaderId);
  if (!leader) throw new Error(`no profile of the leader ${leaderId} among ${summaries.map((x) => x.id).join(', ')}`);
  return { row, leader: leader.s, followers: summaries.filter((x) => x !== leader).map((x) => x.s), rawProfiles: keepDir };
}
