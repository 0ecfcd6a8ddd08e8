/**
 * Leader loss and leadership transfer, measured as a client sees them: the time from the event to the
 * first write committed under the new leader.
 *
 *  - kill: SIGKILL of the leader process; from the signal, every surviving member gets a write attempt
 *    every 10 ms (each attempt independent, 2 s timeout), and the first one acknowledged ends the sample.
 *    The killed member is then restarted on its data and the cluster left to settle before the next kill.
 *  - transfer: the leader is asked to hand over to a follower (raft-ipam POST /v1/transfer-leader, etcd
 *    POST /v3/maintenance/transfer-leadership); once the call returns, writes go to the new leader until
 *    one commits. From the request to that commit.
 *
 * raft-ipam and etcd samples alternate (one raft-ipam kill, one etcd kill, …) so both see the same
 * background load. The clusters are otherwise idle.
 */
import type { BenchOptions } from './args.js';
import type { EtcdCluster } from './etcd.js';
import { samplesSummary } from './histogram.js';
import { ipamValue, JsonHttp } from './http.js';
import { leaderUrl, type IpamCluster } from './ipam-cluster.js';
import { waitForConvergence } from './probe.js';
import { sleep } from './proc.js';
import type { Row } from './rows.js';
import { electionTimeoutMs } from './timing.js';

/** Attempts `write` against each of `targets` every 10 ms until one succeeds; resolves with that time. */
async function firstSuccess(targets: Array<() => Promise<void>>, t0: number, giveUpMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timers: Array<ReturnType<typeof setInterval>> = [];
    const finish = (f: () => void): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearInterval(t);
      clearTimeout(giveUp);
      f();
    };
    const giveUp = setTimeout(() => finish(() => reject(new Error(`no write committed within ${giveUpMs} ms`))), giveUpMs);
    for (const write of targets) {
      let inFlight = 0;
      const fire = (): void => {
        // An attempt lasts at most 2 s, so at one attempt per 10 ms at most 200 are in flight: the bound
        // only guards against a runaway, it never delays an attempt (a lower bound would: etcd holds
        // puts at a member without a leader until they time out, and a full window would then stop the
        // probe from trying again until the first of them expired).
        if (done || inFlight >= 400) return;
        inFlight++;
        write().then(
          () => finish(() => resolve(performance.now() - t0)),
          () => undefined,
        ).finally(() => inFlight--);
      };
      fire();
      timers.push(setInterval(fire, 10));
    }
  });
}

export interface IpamProbe {
  write(url: string): Promise<void>;
  close(): Promise<void>;
}

/** Writes without a session into a 'probe' network (one allocation each, unique owner). */
export async function ipamProbe(ipam: IpamCluster): Promise<IpamProbe> {
  const pools = new Map<string, JsonHttp>();
  const pool = (url: string): JsonHttp => {
    let p = pools.get(url);
    if (!p) pools.set(url, (p = new JsonHttp(url, 64)));
    return p;
  };
  const { url } = await leaderUrl(ipam.cluster);
  const exists = await pool(url).get('/v1/networks/probe?consistency=stale');
  if (exists.status !== 200) {
    ipamValue(await pool(url).post('/v1/commands', { type: 'configureNetwork', name: 'probe', cidr: '10.0.0.0/8', slicePrefix: 10 }));
    ipamValue(await pool(url).post('/v1/commands', { type: 'assignSlice', network: 'probe', nodeId: 'probe' }));
  }
  let n = 0;
  return {
    async write(target) {
      ipamValue(await pool(target).post('/v1/commands', { type: 'allocate', network: 'probe', nodeId: 'probe', owner: `probe-${++n}` }, 2000));
    },
    close: async () => {
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  };
}

async function ipamKill(ipam: IpamCluster, probe: IpamProbe): Promise<number> {
  const c = ipam.cluster;
  await waitForConvergence(c);
  const { id } = await leaderUrl(c);
  const survivors = c.nodes().filter((n) => n.id !== id).map((n) => n.clientUrl);
  const t0 = performance.now();
  const killed = c.kill(id);
  const ms = await firstSuccess(survivors.map((u) => () => probe.write(u)), t0);
  await killed;
  await c.restart(id);
  await waitForConvergence(c);
  return ms;
}

async function etcdKill(etcd: EtcdCluster): Promise<number> {
  const leader = await etcd.leader(60_000);
  const survivors = etcd.members.filter((m) => m !== leader);
  let n = 0;
  const t0 = performance.now();
  const killed = etcd.kill(leader);
  const ms = await firstSuccess(survivors.map((m) => () => etcd.put(m, `/bench/failover/${++n}`, 'x', 2000)), t0);
  await killed;
  await etcd.restart(leader);
  await etcd.leader(60_000);
  return ms;
}

async function ipamTransfer(ipam: IpamCluster, probe: IpamProbe): Promise<number> {
  const c = ipam.cluster;
  await waitForConvergence(c);
  const { url, id } = await leaderUrl(c);
  const to = c.ids().find((x) => x !== id) as string;
  const http = new JsonHttp(url, 1);
  try {
    const t0 = performance.now();
    ipamValue(await http.post('/v1/transfer-leader', { to }, 10_000));
    return await firstSuccess([() => probe.write(c.node(to).clientUrl)], t0);
  } finally {
    await http.close();
  }
}

async function etcdTransfer(etcd: EtcdCluster): Promise<number> {
  const leader = await etcd.leader(60_000);
  const to = etcd.members.find((m) => m !== leader);
  if (!to?.id) throw new Error('etcd: no member id known for the transfer target');
  let n = 0;
  const t0 = performance.now();
  const a = await leader.http.post('/v3/maintenance/transfer-leadership', { targetID: to.id }, 10_000);
  if (a.status !== 200) throw new Error(`etcd transfer: HTTP ${a.status} ${JSON.stringify(a.body).slice(0, 200)}`);
  return firstSuccess([() => etcd.put(to, `/bench/transfer/${++n}`, 'x', 2000)], t0);
}

function sampleRow(id: string, group: 'failover' | 'transfer', system: 'raft-ipam' | 'etcd', label: string, samples: number[]): Row {
  const s = samplesSummary(samples);
  // The minimum election timeout both systems ran with (etcd is given raft-ipam's: etcd.ts).
  return { id, group, system, label, value: s.p50, unit: 'ms (p50)', higher: 'worse', latency: s, extra: { samples: s.samples, electionTimeoutMs: electionTimeoutMs() } };
}

export async function failoverRows(ipam: IpamCluster, etcd: EtcdCluster | undefined, o: BenchOptions, kind: 'kill' | 'transfer'): Promise<Row[]> {
  const probe = await ipamProbe(ipam);
  const ours: number[] = [];
  const theirs: number[] = [];
  const rounds = kind === 'kill' ? o.kills : o.transfers;
  try {
    for (let i = 0; i < rounds; i++) {
      ours.push(kind === 'kill' ? await ipamKill(ipam, probe) : await ipamTransfer(ipam, probe));
      if (etcd) theirs.push(kind === 'kill' ? await etcdKill(etcd) : await etcdTransfer(etcd));
      console.log(`  ${kind} ${i + 1}/${rounds}: raft-ipam ${ours.at(-1)?.toFixed(0)} ms${etcd ? `, etcd ${theirs.at(-1)?.toFixed(0)} ms` : ''}`);
      await sleep(200);
    }
  } finally {
    await probe.close();
  }
  const group = kind === 'kill' ? 'failover' : 'transfer';
  const rows: Row[] = [];
  if (kind === 'kill') {
    rows.push(sampleRow('failover-kill', group, 'raft-ipam', `raft-ipam: SIGKILL leader → first committed write (${rounds} kills)`, ours));
    if (etcd) rows.push(sampleRow('etcd-failover-kill', group, 'etcd', `etcd: SIGKILL leader → first successful put (${rounds} kills)`, theirs));
  } else {
    rows.push(sampleRow('transfer', group, 'raft-ipam', `raft-ipam: leadership transfer → first committed write (${rounds} transfers)`, ours));
    if (etcd) rows.push(sampleRow('etcd-transfer', group, 'etcd', `etcd: move-leader → first successful put (${rounds} transfers)`, theirs));
  }
  return rows;
}
