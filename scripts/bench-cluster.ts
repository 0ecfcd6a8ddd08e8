/**
 * First cluster number (issue 7): committed allocations per second on a 3-node cluster of real processes
 * on loopback, each node on its own 127.0.0.x (LevelDB with synced writes, plaintext peers), at 1 and 64
 * concurrent clients over HTTP, each client with its own exactly-once session; beside it, in the same
 * run, this machine's fdatasync rate (the physical limit of a serial durable log) so the result reads as
 * a ratio, not a bare time.
 *
 *   npm run bench:cluster [-- --seconds 5 --clients 1,64]
 *
 * The 3 nodes and the load generator share this machine's cores; see README "Benchmarks".
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../cluster/cluster.js';
import { IpamClient } from '../src/api/client.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : fallback;
}

const seconds = Number(arg('seconds', '5'));
const concurrencies = arg('clients', '1,64').split(',').map(Number);

/** Serial 4 KiB write + fdatasync in the directory the nodes use: the ceiling of one un-batched log. */
async function fdatasyncRate(dir: string): Promise<{ perSecond: number; medianUs: number }> {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const buf = Buffer.alloc(4096, 7);
  const samples: number[] = [];
  const end = performance.now() + 2000;
  while (performance.now() < end) {
    const t = performance.now();
    writeSync(fd, buf, 0, buf.length, 0);
    fdatasyncSync(fd);
    samples.push(performance.now() - t);
  }
  closeSync(fd);
  samples.sort((a, b) => a - b);
  return { perSecond: samples.length / 2, medianUs: Math.round((samples[samples.length >> 1] as number) * 1000) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function load(endpoints: string[], clients: number, ms: number): Promise<{ ops: number; perSecond: number; p50: number; p99: number; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const stopAt = performance.now() + ms;
  const workers = Array.from({ length: clients }, async (_, c) => {
    const client = new IpamClient({ endpoints, session: true, timeoutMs: 20_000 });
    let i = 0;
    while (performance.now() < stopAt) {
      const t = performance.now();
      try {
        await client.allocate({ network: 'pods', nodeId: `w${c % 16}`, owner: `b-${c}-${i++}` });
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  });
  const t0 = performance.now();
  await Promise.all(workers);
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { ops: latencies.length, perSecond: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

const root = await mkdtemp(join(tmpdir(), 'raft-ipam-bench-'));
let cluster: Cluster | undefined;
try {
  const disk = await fdatasyncRate(root);
  // No relays: the number is the cluster's own, without a forwarding hop per peer message.
  cluster = await Cluster.start({ root, relays: false, logLevel: 'warn' });
  await cluster.waitForLeader();
  const admin = new IpamClient({ endpoints: cluster.endpoints(), timeoutMs: 20_000 });
  await admin.configureNetwork({ name: 'pods', cidr: '10.0.0.0/8', slicePrefix: 16 });
  for (let w = 0; w < 16; w++) await admin.assignSlice({ network: 'pods', nodeId: `w${w}` });
  const rows = [];
  for (const clients of concurrencies) {
    const r = await load(cluster.endpoints(), clients, seconds * 1000);
    rows.push({ clients, ...r, ratioToFdatasync: r.perSecond / disk.perSecond });
  }
  console.log(`machine: fdatasync (4 KiB, serial) ${disk.perSecond.toFixed(0)}/s, median ${disk.medianUs} µs — measured in this run`);
  console.log('| clients | committed allocations/s | p50 ms | p99 ms | errors | ÷ fdatasync rate |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.clients} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${r.ratioToFdatasync.toFixed(2)}× |`);
  console.log(JSON.stringify({ fdatasync: disk, seconds, rows }));
} finally {
  await cluster?.destroy();
  await rm(root, { recursive: true, force: true });
}
