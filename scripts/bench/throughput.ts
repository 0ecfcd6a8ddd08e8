/**
 * Throughput rows: each target at each concurrency, closed loop, then the target's own correctness check
 * (no address acknowledged twice, the system holds what was acknowledged). Targets are interleaved per
 * concurrency (raft-ipam, then etcd put, then etcd txn at 1 client; then at 16; …) so that on a shared
 * machine a burst of someone else's work falls on both systems rather than on one.
 */
import type { BenchOptions, Group } from './args.js';
import { closedLoop } from './load.js';
import type { Row } from './rows.js';
import type { LoadTarget } from './targets.js';

export async function throughputRow(target: LoadTarget, clients: number, shared: boolean, group: Group, o: BenchOptions): Promise<Row> {
  const prepared = await target.prepare(clients, shared);
  try {
    const r = await closedLoop({ clients, seconds: o.seconds, warmupSeconds: o.warmupSeconds, makeClient: (i) => prepared.makeClient(i) });
    const check = await prepared.verify();
    const row: Row = {
      id: `${target.key}${shared ? '-shared' : ''}-${clients}`,
      group,
      system: target.system,
      label: `${target.label}, ${clients} client${clients === 1 ? '' : 's'}${shared ? ', one shared slice' : ''}`,
      value: r.perSecond,
      unit: target.system === 'etcd' && target.key === 'etcd-put' ? 'puts/s' : 'allocations/s',
      higher: 'better',
      clients,
      latency: r.latency,
      errors: r.errors,
      ...(r.errorSamples.length > 0 ? { errorSamples: r.errorSamples } : {}),
      extra: { check },
    };
    log(row);
    return row;
  } finally {
    await prepared.close();
  }
}

export function log(row: Row): void {
  const l = row.latency;
  const lat = l ? `  p50 ${l.p50} ms  p99 ${l.p99} ms  p99.9 ${l.p999} ms` : '';
  const err = row.errors ? `  errors ${row.errors} (${row.errorSamples?.[0] ?? ''})` : '';
  console.log(`  ${row.id.padEnd(28)} ${Math.round(row.value * 10) / 10} ${row.unit}${lat}${err}`);
}

export async function throughputSeries(targets: LoadTarget[], group: Group, o: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const clients of o.clients) for (const t of targets) rows.push(await throughputRow(t, clients, false, group, o));
  return rows;
}
