/**
 * npm run bench:allocator — the allocator core against a naive port of the seed's algorithms, measured in
 * the same run (this machine is noisy; read the ratios). The naive side is capped where it would take
 * minutes: it runs the first K operations of the same workload and the fast side is timed on the same K,
 * so the ratio compares like with like; the naive full-size time is extrapolated from its O(n²) shape and
 * labelled so. Prints a table and, last, one JSON line.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { Address6 } from 'ip-address';
import { encodeEntry, formatV6, IpAllocator, IpamStateMachine, NodeSliceAllocator, type IpamCommand } from '../src/index.js';
import { NaiveIpAllocator, NaiveSliceAllocator } from '../test/support/naive-seed.js';
import { buildState } from './support/big-state.js';

// `--only=<case key>` runs one case (e.g. `--only=slice-memory`); without it every case runs.
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const want = (key: string): boolean => only === undefined || key === only;

// A full collection before each memory reading, without asking the caller for --expose-gc.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Row {
  case: string;
  n: number;
  fastMs: number;
  target?: string;
  naiveN?: number;
  naiveMs?: number;
  fastMsAtNaiveN?: number;
  speedup?: number;
  naiveFullMsExtrapolated?: number;
  extra?: Record<string, number | string>;
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

/** Median of `runs` timings, each on fresh state from `make`. */
function median<S>(runs: number, make: () => S, fn: (s: S) => void): number {
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = make();
    ts.push(time(() => fn(s)));
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)] as number;
}

const round = (x: number) => Math.round(x * 100) / 100;
const rows: Row[] = [];
const CAP = 4096;

// 1. Fill an IPv4 /16.
if (want('fill-v4')) {
  const fill = (a: IpAllocator, n = Infinity) => {
    for (let i = 0; i < n && a.allocate() !== undefined; i++);
  };
  const fastMs = median(7, () => new IpAllocator('10.200.0.0/16'), (a) => fill(a));
  const fastCap = median(7, () => new IpAllocator('10.200.0.0/16'), (a) => fill(a, CAP));
  const naiveMs = median(3, () => new NaiveIpAllocator(4, 0x0ac80000n, 16), (a) => {
    for (let i = 0; i < CAP; i++) a.allocate();
  });
  rows.push({ case: 'fill IPv4 /16 (65,534 allocate)', n: 65534, fastMs, target: '< 50 ms', naiveN: CAP, naiveMs, fastMsAtNaiveN: fastCap, speedup: naiveMs / fastCap, naiveFullMsExtrapolated: naiveMs * (65534 / CAP) ** 2 });
}

// 2. Assign 65,536 slices (10.0.0.0/8 → /24).
if (want('assign-slices')) {
  const ids = Array.from({ length: 65536 }, (_, i) => `node-${i}`);
  const fastMs = median(7, () => new NodeSliceAllocator('10.0.0.0/8', 24), (a) => ids.forEach((id) => a.assign(id)));
  const fastCap = median(7, () => new NodeSliceAllocator('10.0.0.0/8', 24), (a) => ids.slice(0, CAP).forEach((id) => a.assign(id)));
  const naiveMs = median(3, () => new NaiveSliceAllocator(8, 24), (a) => ids.slice(0, CAP).forEach((id) => a.assign(id)));
  rows.push({ case: 'assign 65,536 slices (/8 → /24)', n: 65536, fastMs, target: '< 100 ms', naiveN: CAP, naiveMs, fastMsAtNaiveN: fastCap, speedup: naiveMs / fastCap, naiveFullMsExtrapolated: naiveMs * (65536 / CAP) ** 2 });
}

// 3. 100,000 allocations in an IPv6 /64.
if (want('fill-v6')) {
  const fill = (a: IpAllocator, n: number) => {
    for (let i = 0; i < n; i++) a.allocate();
  };
  const fastMs = median(5, () => new IpAllocator('fd00::/64'), (a) => fill(a, 100_000));
  const fastCap = median(7, () => new IpAllocator('fd00::/64'), (a) => fill(a, CAP));
  const naiveMs = median(3, () => new NaiveIpAllocator(6, 0xfd00n << 112n, 64), (a) => {
    for (let i = 0; i < CAP; i++) a.allocate();
  });
  rows.push({ case: 'allocate 100,000 in IPv6 /64', n: 100_000, fastMs, naiveN: CAP, naiveMs, fastMsAtNaiveN: fastCap, speedup: naiveMs / fastCap, naiveFullMsExtrapolated: naiveMs * (100_000 / CAP) ** 2 });
}

// 4. Snapshot encode + decode of the state machine holding 1,000,000 addresses.
for (const owners of want('snapshot') ? [false, true] : []) {
  const total = 1_000_000;
  const sm = buildState(total, owners);
  let bytes: Uint8Array = new Uint8Array();
  const encodeMs = median(3, () => sm, (s) => {
    bytes = s.snapshot();
  });
  const decodeMs = median(3, () => new IpamStateMachine(), (s) => s.restore(bytes));
  // Baseline: the seed's persistence, a JSON list of address strings, written and read back into a Set.
  const addresses: string[] = [];
  const reference = new IpAllocator('10.0.0.0/12');
  for (let i = 0; i < total; i++) addresses.push(reference.allocate() as string);
  let json = '';
  const naiveMs = median(3, () => null, () => {
    json = JSON.stringify({ cidr: '10.0.0.0/8', allocated: addresses });
    new Set(JSON.parse(json).allocated as string[]);
  });
  rows.push({
    case: `snapshot encode+decode, 1,000,000 addresses${owners ? ' each with an owner' : ''}`,
    n: total,
    fastMs: encodeMs + decodeMs,
    target: owners ? undefined : '< 1000 ms and < 4 MB',
    naiveN: total,
    naiveMs,
    speedup: naiveMs / (encodeMs + decodeMs),
    extra: { encodeMs: round(encodeMs), decodeMs: round(decodeMs), snapshotBytes: bytes.length, seedJsonBytes: Buffer.byteLength(json) },
  });
}

// 5. Dense IPv4 memory: bits per address of the bitmap in a fragmented /12 (every other address taken).
if (want('memory-v4')) {
  const a = new IpAllocator('10.0.0.0/12');
  for (let i = 0; i < 1 << 20; i++) a.allocate();
  const fullBytes = a.set.usedBytes;
  for (let i = 2; i < 1 << 20; i += 2) a.release(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  rows.push({ case: 'memory: IPv4 /12, full then every other address released', n: 1 << 20, fastMs: 0, extra: { bytesWhenFull: fullBytes, bitsPerAddressFragmented: round((a.set.usedBytes * 8) / (1 << 20)) } });
}

// 5b. Sparse IPv6: bytes per address when allocations are sequential vs scattered across a /64.
if (want('memory-v6')) {
  const seq = new IpAllocator('fd00::/64');
  for (let i = 0; i < 100_000; i++) seq.allocate();
  const scattered = new IpAllocator('fd00::/64');
  let x = 0x9e3779b97f4a7c15n; // a fixed xorshift stream: the same addresses every run
  for (let i = 0; i < 10_000; i++) {
    x ^= (x << 13n) & 0xffffffffffffffffn;
    x ^= x >> 7n;
    x ^= (x << 17n) & 0xffffffffffffffffn;
    const offset = x === 0n ? 1n : x;
    try {
      scattered.allocateSpecific(formatV6((0xfd00n << 112n) + offset));
    } catch {
      // a repeat of an earlier offset: skip it
    }
  }
  rows.push({
    case: 'memory: IPv6 /64, 100k sequential vs 10k scattered allocations',
    n: 110_000,
    fastMs: 0,
    extra: { sequentialBytesPerAddress: round(seq.set.usedBytes / seq.allocatedCount()), scatteredBytesPerAddress: round(scattered.set.usedBytes / scattered.allocatedCount()) },
  });
}

// 5c. Memory of assigned-but-empty slices: 65,536 nodes in a state machine, live and restored. An empty
// slice used to pre-size its bitmap slabs (≈ 400 MB RSS for 65,536, ≈ 800 MB peak on restore).
if (want('slice-memory')) {
  const n = 65536;
  const mb = (b: number) => round(b / 2 ** 20);
  gc();
  const m0 = process.memoryUsage();
  const sm = new IpamStateMachine();
  sm.apply({ type: 'configureNetwork', name: 'overlay', cidr: '10.0.0.0/8', slicePrefix: 24 });
  const assignMs = time(() => {
    for (let i = 0; i < n; i++) sm.apply({ type: 'assignSlice', network: 'overlay', nodeId: `node-${i}` });
  });
  gc();
  const m1 = process.memoryUsage();
  const bytes = sm.snapshot();
  const target = new IpamStateMachine();
  gc();
  const m2 = process.memoryUsage();
  const restoreMs = time(() => target.restore(bytes));
  const m3 = process.memoryUsage(); // before any forced collection: what restoring costs at its peak
  gc();
  const m4 = process.memoryUsage();
  const decodeMs = median(3, () => new IpamStateMachine(), (s) => s.restore(bytes));
  if (target.stateHash() !== sm.stateHash()) throw new Error('restore changed the state');
  rows.push({
    case: 'memory: 65,536 assigned slices, no addresses (state machine)',
    n,
    fastMs: assignMs,
    extra: {
      heapDeltaMB: mb(m1.heapUsed - m0.heapUsed),
      rssDeltaMB: mb(m1.rss - m0.rss),
      heapBytesPerSlice: round((m1.heapUsed - m0.heapUsed) / n),
      arrayBuffersDeltaMB: mb(m1.arrayBuffers - m0.arrayBuffers),
      bitmapSlabBytes: sm.reservedBytes(),
      snapshotBytes: bytes.length,
      restoreMs: round(restoreMs),
      restoreMsMedian3: round(decodeMs),
      restoreRssGrowthMB: mb(m3.rss - m2.rss),
      restoredHeapDeltaMB: mb(m4.heapUsed - m2.heapUsed),
    },
  });
}

// 5d. Client sessions: the runtime's applyEntry (decode + session check + execute + cache the result)
// against apply() of the same commands without a session. Entries are encoded before timing: a follower
// only decodes. The session client acknowledges every response but the last 8 (a pipelining client), so
// its cache stays small.
if (want('sessions')) {
  const n = 50_000;
  const nodes = 64;
  const t0 = 1_700_000_000_000;
  const commands: IpamCommand[] = Array.from({ length: n }, (_, i) => ({ type: 'allocate', network: 'overlay', nodeId: `node-${i % nodes}`, owner: `ctr-${i}` }));
  const fresh = (): IpamStateMachine => {
    const sm = new IpamStateMachine();
    sm.apply({ type: 'configureNetwork', name: 'overlay', cidr: '10.0.0.0/8', slicePrefix: 22 });
    for (let i = 0; i < nodes; i++) sm.apply({ type: 'assignSlice', network: 'overlay', nodeId: `node-${i}` });
    // Session 1, opened by an entry dated like the workload's (opened at log time 0, the first dated entry
    // would expire it).
    sm.applyEntry(encodeEntry({ id: n + 1, command: { type: 'openSession' }, time: t0 }));
    return sm;
  };
  const plainEntries = commands.map((command, i) => encodeEntry({ id: i + 1, command, time: t0 + i }));
  const sessionEntries = commands.map((command, i) => encodeEntry({ id: i + 1, command, session: { id: 1, seq: i + 1, ack: Math.max(1, i - 7) }, time: t0 + i }));
  const check = (sm: IpamStateMachine) => {
    if (sm.addressesOf(`ctr-${n - 1}`).length !== 1) throw new Error('bench workload did not allocate');
  };
  const applyMs = median(5, fresh, (sm) => {
    for (const c of commands) sm.apply(c);
    check(sm);
  });
  const plainEntryMs = median(5, fresh, (sm) => {
    for (const b of plainEntries) sm.applyEntry(b);
    check(sm);
  });
  const sessionMs = median(5, fresh, (sm) => {
    for (const b of sessionEntries) sm.applyEntry(b);
    check(sm);
  });
  const encodeMs = median(5, () => null, () => {
    commands.forEach((command, i) => encodeEntry({ id: i + 1, command, session: { id: 1, seq: i + 1, ack: Math.max(1, i - 7) }, time: t0 + i }));
  });
  rows.push({
    case: 'applyEntry with a session vs apply() without (50,000 allocations)',
    n,
    fastMs: sessionMs,
    naiveN: n,
    naiveMs: applyMs,
    extra: {
      applyMs: round(applyMs),
      applyEntryNoSessionMs: round(plainEntryMs),
      applyEntrySessionMs: round(sessionMs),
      sessionOverApply: round(sessionMs / applyMs),
      sessionOverNoSessionEntry: round(sessionMs / plainEntryMs),
      sessionEntriesPerSec: Math.round(n / (sessionMs / 1000)),
      encodeSessionEntriesMs: round(encodeMs),
    },
  });
}

// 6. Why formatting is hand-written: ip-address's RFC 5952 form vs formatV6.
if (want('format-v6')) {
  const values = Array.from({ length: 100_000 }, (_, i) => (0xfd00n << 112n) + BigInt(i * 7919));
  const mine = median(5, () => null, () => values.forEach((v) => formatV6(v)));
  const lib = median(3, () => null, () => values.forEach((v) => Address6.fromBigInt(v).correctForm()));
  rows.push({ case: 'format 100,000 IPv6 addresses (vs ip-address correctForm)', n: 100_000, fastMs: mine, naiveN: 100_000, naiveMs: lib, fastMsAtNaiveN: mine, speedup: lib / mine });
}

const pad = (s: string, n: number) => s.padEnd(n);
console.log(`${pad('case', 64)} ${pad('fast ms', 10)} ${pad('target', 22)} ${pad('baseline', 26)} speedup`);
for (const r of rows) {
  const base = r.naiveMs === undefined ? '' : `${round(r.naiveMs)} ms @ ${r.naiveN}`;
  console.log(`${pad(r.case, 64)} ${pad(String(round(r.fastMs)), 10)} ${pad(r.target ?? '', 22)} ${pad(base, 26)} ${r.speedup ? `${round(r.speedup)}x` : ''}${r.naiveFullMsExtrapolated ? `  (naive full size ≈ ${Math.round(r.naiveFullMsExtrapolated / 1000)} s, extrapolated)` : ''}${r.extra ? `  ${JSON.stringify(r.extra)}` : ''}`);
}
console.log(JSON.stringify({ bench: 'allocator', node: process.version, rows: rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v]))) }));
