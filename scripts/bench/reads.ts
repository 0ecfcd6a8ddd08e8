/**
 * Linearizable reads per second: GET /v1/networks/<net> (a small answer) with
 * ?consistency=linearizable, closed loop, every client on the leader (raft-ipam's followers answer a
 * linearizable read with NotLeader; they do not forward a ReadIndex request). In 'safe' mode each read
 * waits for a ReadIndex round (a heartbeat quorum; reads arriving meanwhile share the next round); in
 * 'lease' mode (--read-mode lease) the leader answers under its lease without a round. Beside them,
 * stale reads on the same leader at the same concurrency: the same HTTP and query work without any
 * consensus, the ceiling of the other two. etcd: linearizable range reads of one key through the
 * gateway, on its leader too.
 */
import type { BenchOptions } from './args.js';
import type { EtcdCluster } from './etcd.js';
import { ipamValue } from './http.js';
import { LeaderHttp } from './leader-http.js';
import { leaderUrl, urlOf, type IpamCluster } from './ipam-cluster.js';
import { closedLoop } from './load.js';
import type { Row } from './rows.js';
import { log } from './throughput.js';

export const READ_CLIENTS = 64;

export async function ipamReadRow(ipam: IpamCluster, mode: 'readindex' | 'lease' | 'stale', o: BenchOptions): Promise<Row> {
  const pool = new LeaderHttp((await leaderUrl(ipam.cluster)).url, READ_CLIENTS, urlOf(ipam.cluster));
  const consistency = mode === 'stale' ? 'stale' : 'linearizable';
  try {
    if ((await pool.get('/v1/networks/reads?consistency=stale')).status !== 200) {
      ipamValue(await pool.post('/v1/commands', { type: 'configureNetwork', name: 'reads', cidr: '10.0.0.0/16', slicePrefix: 24 }));
    }
    const r = await closedLoop({
      clients: READ_CLIENTS,
      seconds: o.seconds,
      warmupSeconds: o.warmupSeconds,
      makeClient: async () => {
        return async () => {
          ipamValue(await pool.get(`/v1/networks/reads?consistency=${consistency}`));
        };
      },
    });
    const labels = { readindex: 'linearizable (ReadIndex)', lease: 'linearizable (leader lease)', stale: 'stale (local, no consensus)' };
    const row: Row = {
      id: `reads-${mode}-${READ_CLIENTS}`,
      group: 'reads',
      system: 'raft-ipam',
      label: `raft-ipam reads, ${labels[mode]}, ${READ_CLIENTS} clients on the leader`,
      value: r.perSecond,
      unit: 'reads/s',
      higher: 'better',
      clients: READ_CLIENTS,
      latency: r.latency,
      errors: r.errors,
      ...(r.errorSamples.length > 0 ? { errorSamples: r.errorSamples } : {}),
      extra: { leaderChanges: pool.redirects },
    };
    log(row);
    return row;
  } finally {
    await pool.close();
  }
}

export async function etcdReadRow(etcd: EtcdCluster, o: BenchOptions): Promise<Row> {
  const leader = await etcd.leader();
  await etcd.put(leader, '/bench/read', 'x');
  const key = Buffer.from('/bench/read').toString('base64');
  const r = await closedLoop({
    clients: READ_CLIENTS,
    seconds: o.seconds,
    warmupSeconds: o.warmupSeconds,
    makeClient: async () => {
      return async () => {
        const a = await leader.http.post('/v3/kv/range', { key });
        if (a.status !== 200) throw new Error(`HTTP ${a.status}`);
      };
    },
  });
  const row: Row = {
    id: `etcd-reads-${READ_CLIENTS}`,
    group: 'reads',
    system: 'etcd',
    label: `etcd linearizable range reads, ${READ_CLIENTS} clients on the leader`,
    value: r.perSecond,
    unit: 'reads/s',
    higher: 'better',
    clients: READ_CLIENTS,
    latency: r.latency,
    errors: r.errors,
  };
  log(row);
  return row;
}
