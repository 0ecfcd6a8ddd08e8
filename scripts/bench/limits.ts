/**
 * The limits every other row is read against, measured in the same run on the same disk and cores:
 *  - fdatasync: serial 4 KiB write + fdatasync, the ceiling of a log that syncs every entry alone;
 *  - synced LevelDB batch: a chained classic-level batch of N ≈200 B entries written with sync, serially,
 *    the ceiling of one node's log at group-commit size N (what a leader with N clients can reach if every
 *    fsync carries N entries);
 *  - no-op HTTP: the closed-loop and open-loop generators of the load rows against a bare fastify server
 *    in its own process, the ceiling of HTTP request handling on this machine.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import type { BenchOptions } from './args.js';
import { histogram, recordMs, summarize } from './histogram.js';
import { JsonHttp } from './http.js';
import { closedLoop, openLoop } from './load.js';
import { firstJsonLine, startChild } from './proc.js';
import type { Row } from './rows.js';

const here = fileURLToPath(new URL('.', import.meta.url));

export function fdatasyncRow(dir: string, seconds: number): Row {
  const fd = openSync(join(dir, 'fdatasync-probe'), 'w');
  const block = Buffer.alloc(4096, 0x5a);
  const h = histogram();
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  while (performance.now() < end) {
    const t = performance.now();
    writeSync(fd, block, 0, block.length, (n++ % 64) * 4096);
    fdatasyncSync(fd);
    recordMs(h, performance.now() - t);
  }
  const elapsed = (performance.now() - t0) / 1000;
  closeSync(fd);
  return {
    id: 'limit-fdatasync',
    group: 'limits',
    system: 'machine',
    label: 'fdatasync, 4 KiB, serial',
    value: n / elapsed,
    unit: 'syncs/s',
    higher: 'better',
    latency: summarize(h),
  };
}

/** Serial synced chained batches of `size` entries; the value is entries per second. */
export async function levelBatchRow(dir: string, size: number, seconds: number): Promise<Row> {
  const path = join(dir, `level-probe-${size}`);
  await mkdir(path, { recursive: true });
  const db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const value = Buffer.alloc(200, 7);
  const h = histogram();
  let index = 0;
  let batches = 0;
  const key = (i: number): Buffer => {
    const k = Buffer.alloc(9);
    k[0] = 0x65;
    k.writeBigUInt64BE(BigInt(i), 1);
    return k;
  };
  try {
    for (let w = 0; w < 20; w++) {
      const b = db.batch();
      for (let i = 0; i < size; i++) b.put(key(index++), value);
      await b.write({ sync: true });
    }
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    while (performance.now() < end) {
      const t = performance.now();
      const b = db.batch();
      for (let i = 0; i < size; i++) b.put(key(index++), value);
      await b.write({ sync: true });
      recordMs(h, performance.now() - t);
      batches++;
    }
    const elapsed = (performance.now() - t0) / 1000;
    return {
      id: `limit-batch-${size}`,
      group: 'limits',
      system: 'machine',
      label: `synced LevelDB batch of ${size} × 200 B, serial`,
      value: (batches * size) / elapsed,
      unit: 'entries/s',
      higher: 'better',
      clients: size,
      latency: summarize(h),
      extra: { batchesPerSecond: batches / elapsed },
    };
  } finally {
    await db.close();
  }
}

export interface NoopServer {
  origin: string;
  stop(): Promise<void>;
}

export async function startNoopServer(root: string): Promise<NoopServer> {
  const child = startChild('no-op server', process.execPath, ['--import', 'tsx', join(here, 'noop-server.ts')], join(root, 'noop-server.log'));
  const { port } = await firstJsonLine<{ port: number }>(child);
  return { origin: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/** A request body of the size of an allocate command with its session, so the parse cost is alike. */
const NOOP_BODY = { type: 'allocate', network: 'bench-http', nodeId: 'c17', owner: 'c17-123456', session: { id: 17, seq: 123456, ack: 123456 } };

export async function noopClosedRow(server: NoopServer, clients: number, o: BenchOptions, method: 'POST' | 'GET' = 'POST'): Promise<Row> {
  const http = new JsonHttp(server.origin, clients);
  try {
    const r = await closedLoop({
      clients,
      seconds: o.seconds,
      warmupSeconds: o.warmupSeconds,
      makeClient: async () => async () => {
        const a = method === 'POST' ? await http.post('/noop', NOOP_BODY) : await http.get('/noop?consistency=stale');
        if (a.status !== 200) throw new Error(`HTTP ${a.status}`);
      },
    });
    return {
      id: method === 'POST' ? `limit-noop-http-${clients}` : `limit-noop-get-${clients}`,
      group: 'limits',
      system: 'machine',
      label: `no-op HTTP ${method} round trip (bare fastify), ${clients} client${clients === 1 ? '' : 's'}`,
      value: r.perSecond,
      unit: 'req/s',
      higher: 'better',
      clients,
      latency: r.latency,
      errors: r.errors,
    };
  } finally {
    await http.close();
  }
}

export async function noopOpenRow(server: NoopServer, o: BenchOptions): Promise<Row> {
  const http = new JsonHttp(server.origin, 64);
  try {
    const r = await openLoop({
      rate: o.openLoopRate,
      seconds: o.seconds,
      warmupSeconds: o.warmupSeconds,
      op: async () => {
        const a = await http.post('/noop', NOOP_BODY);
        if (a.status !== 200) throw new Error(`HTTP ${a.status}`);
      },
    });
    return {
      id: 'limit-noop-open',
      group: 'limits',
      system: 'machine',
      label: `no-op HTTP at ${o.openLoopRate} req/s offered (open loop), p99`,
      value: r.latency.p99,
      unit: 'ms',
      higher: 'worse',
      latency: r.latency,
      errors: r.errors,
      extra: { lateStarts: r.lateStarts },
    };
  } finally {
    await http.close();
  }
}
