/**
 * raft-ipam as a load target, three ways:
 *  - http: raw HTTP/1.1 (undici Pool, the generator etcd's rows use) to the leader's POST /v1/commands,
 *    each client with its own exactly-once session ({id, seq, ack} in the body) and its own slice;
 *  - client: the IpamClient library (what the CLI and CNI-style agents use: undici request(), retries, leader
 *    discovery), one client object and session per concurrent client;
 *  - embedded: the host process runs the leader itself (an IpamNode in the benchmark's process, the two
 *    followers are processes) and calls node.submit() with a session: no HTTP at all, consensus and disk
 *    only. The load generator shares the leader's event loop, as an embedding agent's own work would.
 */
import type { Cluster } from '../../cluster/cluster.js';
import type { IpamNode } from '../../src/node/ipam-node.js';
import type { IpamClient } from '../../src/api/client.js';
import type { Compiled } from './compiled.js';
import { ipamValue, type JsonHttp } from './http.js';
import { ensureLeader, type EmbeddedCluster } from './embedded.js';
import { LeaderHttp } from './leader-http.js';
import { leaderUrl, prepareNetwork, urlOf } from './ipam-cluster.js';
import { raftGauges } from './probe.js';
import { Acks, type LoadTarget, type PreparedRow } from './targets.js';

interface AllocationValue {
  address: string;
  owner?: string;
}

/**
 * The highest term the running members report (from /metrics, cheap). Its rise across a row counts the
 * elections during it: nothing in a load row causes one, so any is a leader deposed while it was busy.
 */
export async function clusterTerm(cluster: Cluster): Promise<number> {
  const ids = cluster.ids().filter((id) => cluster.isRunning(id));
  const gauges = await Promise.all(ids.map((id) => raftGauges(cluster.node(id).clientUrl, 5000)));
  return Math.max(0, ...gauges.map((g) => g?.term ?? 0));
}

/** Check the network holds exactly the acknowledged allocations (none lost, none given twice). */
async function checkUsage(http: LeaderHttp | JsonHttp, network: string, acks: Acks, errors: () => number): Promise<Record<string, unknown>> {
  const usage = ipamValue<{ addressesAllocated: number }>(await http.get(`/v1/networks/${network}?consistency=linearizable`));
  if (acks.duplicates > 0) throw new Error(`${network}: ${acks.duplicates} addresses acknowledged twice`);
  // A request that failed after it was applied (a timeout) is allocated but not acknowledged; nothing else.
  if (usage.addressesAllocated < acks.count || usage.addressesAllocated > acks.count + errors()) {
    throw new Error(`${network}: ${usage.addressesAllocated} addresses allocated, ${acks.count} acknowledged, ${errors()} failed`);
  }
  return { allocated: usage.addressesAllocated, acknowledged: acks.count, duplicates: 0 };
}

export function httpTarget(cluster: Cluster, rowTag = 'http'): LoadTarget {
  return {
    key: `alloc-${rowTag}`,
    system: 'raft-ipam',
    label: 'raft-ipam allocate, HTTP',
    async prepare(clients, shared) {
      const network = `${rowTag}${shared ? '-shared' : ''}-${clients}`;
      const http = new LeaderHttp((await leaderUrl(cluster)).url, Math.max(clients, 32), urlOf(cluster));
      await prepareNetwork(http, network, clients, shared);
      const acks = new Acks();
      let failed = 0;
      const termBefore = await clusterTerm(cluster);
      const row: PreparedRow = {
        async makeClient(i) {
          const { session } = ipamValue<{ session: number }>(await http.post('/v1/commands', { type: 'openSession' }));
          const nodeId = shared ? 'shared' : `c${i}`;
          let seq = 0;
          return async () => {
            seq++;
            const owner = `c${i}-${seq}`;
            // ack = seq: this client has the answer to every earlier seq (one request in flight).
            const a = await http.post('/v1/commands', { type: 'allocate', network, nodeId, owner, session: { id: session, seq, ack: seq } }).catch((e: unknown) => {
              failed++;
              throw e;
            });
            if (a.status !== 200) failed++;
            acks.add(ipamValue<AllocationValue>(a).address, owner);
          };
        },
        verify: async () => ({ ...(await checkUsage(http, network, acks, () => failed)), leaderChanges: http.redirects, elections: (await clusterTerm(cluster)) - termBefore }),
        close: () => http.close(),
      };
      return row;
    },
  };
}

export function clientTarget(c: Compiled, cluster: Cluster): LoadTarget {
  return {
    key: 'alloc-client',
    system: 'raft-ipam',
    label: 'raft-ipam allocate, IpamClient',
    async prepare(clients, shared) {
      const network = `client${shared ? '-shared' : ''}-${clients}`;
      const admin = new LeaderHttp((await leaderUrl(cluster)).url, 32, urlOf(cluster));
      await prepareNetwork(admin, network, clients, shared);
      const acks = new Acks();
      let failed = 0;
      const made: IpamClient[] = [];
      return {
        async makeClient(i) {
          const client = new c.IpamClient({ endpoints: cluster.endpoints(), session: true, timeoutMs: 30_000 });
          made.push(client);
          await client.openSession(); // also finds the leader, before the clock starts
          const nodeId = shared ? 'shared' : `c${i}`;
          let n = 0;
          return async () => {
            const owner = `c${i}-${++n}`;
            try {
              acks.add((await client.allocate({ network, nodeId, owner })).address, owner);
            } catch (e) {
              failed++;
              throw e;
            }
          };
        },
        verify: () => checkUsage(admin, network, acks, () => failed),
        close: () => admin.close(),
      };
    },
  };
}

export function embeddedTarget(e: EmbeddedCluster): LoadTarget {
  const node = (): IpamNode => e.node;
  return {
    key: 'alloc-embedded',
    system: 'raft-ipam',
    label: 'raft-ipam allocate, embedded leader (node.submit)',
    async prepare(clients, shared) {
      const network = `embedded${shared ? '-shared' : ''}-${clients}`;
      await ensureLeader(e.ipam, e.node);
      const submit = async (command: Parameters<IpamNode['submit']>[0], session?: { id: number; seq: number; ack: number }): Promise<unknown> => {
        const r = await node().submit(command, session);
        if (!r.ok) throw new Error(`[${r.error.code}] ${r.error.message}`);
        return r.value;
      };
      await submit({ type: 'configureNetwork', name: network, cidr: '10.0.0.0/8', slicePrefix: shared ? 12 : 16 });
      const ids = shared ? ['shared'] : Array.from({ length: clients }, (_, i) => `c${i}`);
      await Promise.all(ids.map((nodeId) => submit({ type: 'assignSlice', network, nodeId })));
      const acks = new Acks();
      let failed = 0;
      return {
        async makeClient(i) {
          const { session } = (await submit({ type: 'openSession' } as Parameters<IpamNode['submit']>[0])) as { session: number };
          const nodeId = shared ? 'shared' : `c${i}`;
          let seq = 0;
          return async () => {
            seq++;
            const owner = `c${i}-${seq}`;
            try {
              const v = (await submit({ type: 'allocate', network, nodeId, owner }, { id: session, seq, ack: seq })) as AllocationValue;
              acks.add(v.address, owner);
            } catch (e) {
              failed++;
              throw e;
            }
          };
        },
        async verify() {
          const usage = await node().query('linearizable', (sm) => sm.networkUsage(network));
          const allocated = usage?.addressesAllocated ?? -1;
          if (acks.duplicates > 0) throw new Error(`${network}: ${acks.duplicates} addresses acknowledged twice`);
          if (allocated < acks.count || allocated > acks.count + failed) throw new Error(`${network}: ${allocated} allocated, ${acks.count} acknowledged, ${failed} failed`);
          return { allocated, acknowledged: acks.count, duplicates: 0 };
        },
        close: async () => undefined,
      };
    },
  };
}
