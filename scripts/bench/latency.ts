/**
 * Latency at a fixed offered load (open loop, latency from each request's scheduled start: no
 * coordinated omission). raft-ipam: allocations over HTTP to the leader, each request under a session
 * taken from a pool of one per connection (one request in flight per session, as the closed-loop
 * clients; a request finding the pool empty opens one and pays for it); etcd: durable puts.
 */
import type { BenchOptions } from './args.js';
import type { EtcdCluster } from './etcd.js';
import type { Cluster } from '../../cluster/cluster.js';
import { ipamValue } from './http.js';
import { leaderUrl, prepareNetwork, urlOf } from './ipam-cluster.js';
import { LeaderHttp } from './leader-http.js';
import { openLoop } from './load.js';
import type { Row } from './rows.js';
import { log } from './throughput.js';

export async function ipamOpenLoopRow(cluster: Cluster, o: BenchOptions): Promise<Row> {
  const connections = 128;
  const http = new LeaderHttp((await leaderUrl(cluster)).url, connections, urlOf(cluster));
  const network = 'open-loop';
  try {
    await prepareNetwork(http, network, 1, true);
    const free: Array<{ id: number; seq: number }> = [];
    const open = async (): Promise<{ id: number; seq: number }> => ({ id: ipamValue<{ session: number }>(await http.post('/v1/commands', { type: 'openSession' })).session, seq: 0 });
    // One session per connection, opened before the clock starts, as a client sized for this concurrency
    // would at start-up (sessions are cheap: a few hundred bytes each in the replicated table).
    for (let i = 0; i < connections; i++) free.push(await open());
    let n = 0;
    const r = await openLoop({
      rate: o.openLoopRate,
      seconds: o.seconds,
      warmupSeconds: o.warmupSeconds,
      op: async () => {
        // A session opened on demand is part of this request's latency: it is what a client would pay.
        const s = free.pop() ?? (await open());
        s.seq++;
        try {
          ipamValue(await http.post('/v1/commands', { type: 'allocate', network, nodeId: 'shared', owner: `open-${++n}`, session: { id: s.id, seq: s.seq, ack: s.seq } }));
        } finally {
          free.push(s);
        }
      },
    });
    const row: Row = {
      id: 'latency-open-http',
      group: 'latency',
      system: 'raft-ipam',
      label: `raft-ipam allocate over HTTP at ${o.openLoopRate}/s offered (open loop), p99`,
      value: r.latency.p99,
      unit: 'ms (p99)',
      higher: 'worse',
      latency: r.latency,
      errors: r.errors,
      ...(r.errorSamples.length > 0 ? { errorSamples: r.errorSamples } : {}),
      extra: { achievedPerSecond: r.perSecond, lateStarts: r.lateStarts, leaderChanges: http.redirects },
    };
    log(row);
    return row;
  } finally {
    await http.close();
  }
}

export async function etcdOpenLoopRow(etcd: EtcdCluster, o: BenchOptions): Promise<Row> {
  const leader = await etcd.leader();
  let n = 0;
  const r = await openLoop({ rate: o.openLoopRate, seconds: o.seconds, warmupSeconds: o.warmupSeconds, op: () => etcd.put(leader, `/bench/open/${++n}`, `owner-${n}`) });
  const row: Row = {
    id: 'etcd-latency-open-put',
    group: 'latency',
    system: 'etcd',
    label: `etcd put at ${o.openLoopRate}/s offered (open loop), p99`,
    value: r.latency.p99,
    unit: 'ms (p99)',
    higher: 'worse',
    latency: r.latency,
    errors: r.errors,
    extra: { achievedPerSecond: r.perSecond, lateStarts: r.lateStarts },
  };
  log(row);
  return row;
}
