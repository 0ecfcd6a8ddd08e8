/**
 * The order of the run. Limits first; then cluster A (raft-ipam over HTTP, with etcd beside it when
 * --peer etcd: throughput, contention, open-loop latency, reads, transfers, kills — raft-ipam and etcd
 * rows interleaved); then a fresh cluster for the IpamClient rows, one for the embedded leader, one in
 * lease read mode, and the large-state clusters for restart, catch-up and memory. Each cluster is
 * stopped before the next starts, so no row shares the cores with an idle cluster other than its peer.
 */
import type { BenchOptions, Group } from './args.js';
import { bigState } from './big-state.js';
import { catchupRows } from './catchup.js';
import type { Compiled } from './compiled.js';
import { startEmbedded } from './embedded.js';
import { ensureEtcd, EtcdCluster, etcdPutTarget, etcdTxnTarget, etcdVersion } from './etcd.js';
import { failoverRows } from './failover.js';
import { startIpamCluster } from './ipam-cluster.js';
import { clientTarget, embeddedTarget, httpTarget } from './ipam-load.js';
import { etcdOpenLoopRow, ipamOpenLoopRow } from './latency.js';
import { fdatasyncRow, levelBatchRow, noopClosedRow, noopOpenRow, startNoopServer } from './limits.js';
import { etcdReadRow, ipamReadRow, READ_CLIENTS } from './reads.js';
import { restartRows } from './restart.js';
import type { Row } from './rows.js';
import { emptyBaseline } from './serving.js';
import { log, throughputRow, throughputSeries } from './throughput.js';

export interface SuiteResult {
  rows: Row[];
  peer?: { name: 'etcd'; version: string };
}

export async function runSuite(c: Compiled, root: string, o: BenchOptions): Promise<SuiteResult> {
  const rows: Row[] = [];
  const want = (...g: Group[]): boolean => g.some((x) => o.only.has(x));
  const section = (title: string): void => console.log(`\n${title}`);
  const contendedClients = Math.min(64, Math.max(...o.clients));
  const result: SuiteResult = { rows };

  section('limits (this machine, now)');
  const push = (r: Row): void => {
    rows.push(r);
    if (r.group === 'limits') log(r);
  };
  push(fdatasyncRow(root, o.quick ? 0.5 : 3));
  for (const n of o.clients) push(await levelBatchRow(root, n, o.quick ? 0.3 : 2));
  const noop = await startNoopServer(root);
  try {
    const noopClients = new Set(o.clients);
    if (want('reads')) noopClients.add(READ_CLIENTS);
    for (const n of [...noopClients].sort((a, b) => a - b)) push(await noopClosedRow(noop, n, o));
    if (want('reads')) push(await noopClosedRow(noop, READ_CLIENTS, o, 'GET'));
    if (want('latency')) push(await noopOpenRow(noop, o));
  } finally {
    await noop.stop();
  }

  let etcd: EtcdCluster | undefined;
  if (o.peer === 'etcd') {
    const bin = ensureEtcd();
    result.peer = { name: 'etcd', version: etcdVersion(bin) };
  }
  if (want('http', 'contended', 'latency', 'reads', 'transfer', 'failover')) {
    section('cluster A: raft-ipam over HTTP' + (o.peer ? ', etcd beside it' : ''));
    const a = await startIpamCluster(c, root, 'http');
    try {
      if (o.peer === 'etcd') etcd = await EtcdCluster.start(ensureEtcd(), c, root, 256);
      const http = httpTarget(a.cluster);
      const peerTargets = etcd ? [etcdPutTarget(etcd), etcdTxnTarget(etcd)] : [];
      if (want('http')) rows.push(...(await throughputSeries([http, ...peerTargets], 'http', o)));
      if (want('contended')) {
        rows.push(await throughputRow(http, contendedClients, true, 'contended', o));
        if (etcd) rows.push(await throughputRow(etcdTxnTarget(etcd), contendedClients, true, 'contended', o));
      }
      if (want('latency')) {
        rows.push(await ipamOpenLoopRow(a.cluster, o));
        if (etcd) rows.push(await etcdOpenLoopRow(etcd, o));
      }
      if (want('reads')) {
        rows.push(await ipamReadRow(a, 'readindex', o));
        rows.push(await ipamReadRow(a, 'stale', o));
        if (etcd) rows.push(await etcdReadRow(etcd, o));
      }
      if (want('transfer')) rows.push(...(await failoverRows(a, etcd, o, 'transfer')));
      if (want('failover')) rows.push(...(await failoverRows(a, etcd, o, 'kill')));
    } finally {
      await etcd?.destroy();
      await a.close();
    }
  }
  if (want('client')) {
    section('cluster B: raft-ipam through IpamClient');
    const b = await startIpamCluster(c, root, 'client');
    try {
      rows.push(...(await throughputSeries([clientTarget(c, b.cluster)], 'client', o)));
    } finally {
      await b.close();
    }
  }
  if (want('embedded')) {
    section('cluster C: embedded leader (this process) + 2 follower processes');
    const e = await startEmbedded(c, root);
    try {
      rows.push(...(await throughputSeries([embeddedTarget(e)], 'embedded', o)));
    } finally {
      await e.close();
    }
  }
  if (want('reads')) {
    section('cluster D: raft-ipam with --read-mode lease');
    const d = await startIpamCluster(c, root, 'lease', { extraArgs: ['--read-mode', 'lease'] });
    try {
      rows.push(await ipamReadRow(d, 'lease', o));
    } finally {
      await d.close();
    }
  }
  if (want('restart', 'catchup')) {
    section(`large state: ${o.bigAddresses.toLocaleString('en-US')} owned addresses`);
    const baseline = await emptyBaseline(c, root, o.rounds);
    console.log(`  empty node: restart → serving ${Math.round(baseline.restartMs)} ms, RSS ${baseline.rssMb} MB`);
    const state = bigState(o.bigAddresses);
    console.log(`  state built in ${Math.round(state.buildMs)} ms, snapshot ${(state.data.length / 1e6).toFixed(1)} MB`);
    if (want('restart')) rows.push(...(await restartRows(c, root, state, baseline, o)));
    if (want('catchup')) rows.push(...(await catchupRows(c, root, state, baseline, o, true)));
  }
  return result;
}
