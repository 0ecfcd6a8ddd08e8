/**
 * LevelStorage persist throughput beside this machine's raw fdatasync rate, measured in the same run
 * (the machine is shared, so only ratios within one run mean anything: GUIDE §4).
 *
 *   node --import tsx scripts/bench-storage.ts [rounds]
 *
 * Cases: serial 1-entry Ready batches, serial 100-entry batches, and group commit (C persists issued at
 * once, as a node does when several Readys pile up behind a write in flight).
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Entry } from '../src/raft/types.js';
import { LevelStorage } from '../src/storage/index.js';

const rounds = Number(process.argv[2] ?? 300);
const PAYLOAD = 200; // bytes per entry, about one IPAM command envelope

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] as number;
}

/** One raw durable write: 4 KiB pwrite + fdatasync, in µs. */
function rawSync(fd: number, block: Buffer, i: number): number {
  const t = performance.now();
  writeSync(fd, block, 0, block.length, (i % 64) * 4096);
  fdatasyncSync(fd);
  return (performance.now() - t) * 1000;
}

interface Row {
  name: string;
  /** µs per sample of the case. */
  times: number[];
  /** µs of the raw fdatasync taken right before each sample (interleaved, so both see the same load). */
  raw: number[];
  /** Entries or persists per sample, for the rate column. */
  unitsPerSample: number;
  unit: string;
  note?: string;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'raft-ipam-bench-'));
  const s = await LevelStorage.open({ dir: join(dir, 'data'), clusterId: 'bench', nodeId: 'n1' });
  const fd = openSync(join(dir, 'raw.bin'), 'w');
  const block = Buffer.alloc(4096, 0x5a);
  const data = new Uint8Array(PAYLOAD).fill(7);
  let next = 1;
  let rawCount = 0;
  const batch = (n: number): Entry[] => Array.from({ length: n }, () => ({ index: next++, term: 1, type: 'normal' as const, data }));
  const rows: Row[] = [];
  async function measure(name: string, samples: number, unitsPerSample: number, unit: string, sample: () => Promise<void>): Promise<Row> {
    for (let i = 0; i < 10; i++) {
      rawSync(fd, block, rawCount++);
      await sample(); // warm-up
    }
    const row: Row = { name, times: [], raw: [], unitsPerSample, unit };
    for (let i = 0; i < samples; i++) {
      row.raw.push(rawSync(fd, block, rawCount++));
      const t = performance.now();
      await sample();
      row.times.push((performance.now() - t) * 1000);
    }
    rows.push(row);
    return row;
  }
  try {
    const hs = (): { term: number; vote: string; commit: number } => ({ term: 1, vote: 'n1', commit: next - 1 });
    await measure('persist 1 entry, serial', rounds, 1, 'entries', () => s.persist({ hardState: hs(), entries: batch(1) }));
    await measure('persist 100 entries, serial', rounds, 100, 'entries', () => s.persist({ hardState: hs(), entries: batch(100) }));
    for (const c of [8, 32]) {
      const before = s.stats();
      const row = await measure(`${c} concurrent 1-entry persists`, Math.max(20, Math.floor(rounds / 2)), c, 'persists', async () => {
        const calls: Array<Promise<void>> = [];
        for (let k = 0; k < c; k++) calls.push(s.persist({ entries: batch(1) }));
        await Promise.all(calls);
      });
      const after = s.stats();
      row.note = `${((after.calls - before.calls) / (after.writes - before.writes)).toFixed(1)} persists per synced write`;
    }
    const allRaw = rows.flatMap((r) => r.raw);
    const fmt = (us: number): string => `${us.toFixed(0).padStart(5)} µs`;
    console.log(`rounds ${rounds}, ${PAYLOAD} B entries, data dir under ${tmpdir()}; each sample is preceded by one raw fdatasync sample`);
    console.log(`raw 4 KiB pwrite + fdatasync: median ${fmt(median(allRaw))}, p99 ${fmt(p99(allRaw))} → ≈ ${(1e6 / median(allRaw)).toFixed(0)} syncs/s`);
    for (const r of rows) {
      const m = median(r.times);
      const ratio = m / median(r.raw);
      const rate = (r.unitsPerSample * 1e6) / m;
      console.log(`${r.name.padEnd(32)} median ${fmt(m)} (p99 ${fmt(p99(r.times))}) = ${ratio.toFixed(2)}× its fdatasync (${fmt(median(r.raw))}); ${rate.toFixed(0)} ${r.unit}/s${r.note ? `; ${r.note}` : ''}`);
    }
  } finally {
    closeSync(fd);
    await s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
