/**
 * `raft-ipam demo`: a real 3-node cluster on 127.0.0.1, watched by a person. It starts three `serve`
 * processes with mutual TLS and data in a temporary directory, configures a dual-stack network, assigns
 * slices, allocates under concurrent load through exactly-once sessions, kills the leader with SIGKILL in
 * the middle of it, shows the new leader taking over, proves from the clients' own records that every
 * acknowledged allocation survived and none was handed out twice, restarts the killed node, waits for it
 * to reach the same state hash, and removes every process and file it made. Every number printed is
 * measured in this run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../../cluster/cluster.js';
import { IpamClient, IpamClientError } from '../api/client.js';

export interface DemoOptions {
  /** Concurrent clients allocating during the leader kill. */
  clients?: number;
  /** Allocations each client makes. */
  perClient?: number;
  print?: (line: string) => void;
}

interface Grant {
  address: string;
  owner: string;
  generation: number;
  node: string;
}

const WORKERS = ['worker-1', 'worker-2', 'worker-3', 'worker-4'];

export async function runClusterDemo(options: DemoOptions = {}): Promise<{ ok: boolean }> {
  const print = options.print ?? ((line: string) => console.log(line));
  const clients = options.clients ?? 8;
  const perClient = options.perClient ?? 40;
  const root = await mkdtemp(join(tmpdir(), 'raft-ipam-demo-'));
  let cluster: Cluster | undefined;
  let keep = false;
  const t0 = performance.now();
  const at = (): string => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s]`;
  try {
    print(`${at()} starting 3 nodes in ${root}, each on its own loopback address, with a cluster CA and node certificates (mutual TLS between peers)`);
    // No relays: nothing in the demo cuts links, so peers dial each other directly.
    cluster = await Cluster.start({ root, tls: true, relays: false, nodes: ['n1', 'n2', 'n3'] });
    for (const id of cluster.ids()) {
      const n = cluster.node(id);
      print(`${at()} started ${n.id}: peers on ${n.peerListen}, HTTP on ${n.clientUrl}, log ${n.logFile}`);
    }
    const first = await cluster.waitForLeader();
    print(`${at()} ${first} was elected leader`);

    const admin = new IpamClient({ endpoints: cluster.endpoints(), session: true, timeoutMs: 20_000 });
    await admin.configureNetwork({ name: 'pods-v4', cidr: '10.200.0.0/16', slicePrefix: 24 });
    await admin.configureNetwork({ name: 'pods-v6', cidr: 'fd00:200::/56', slicePrefix: 64, pair: 'pods-v4' });
    print(`${at()} configured pods-v4 10.200.0.0/16 (/24 per node), paired with pods-v6 fd00:200::/56 (/64 per node)`);
    for (const w of WORKERS) {
      const r = await admin.assignSlice({ network: 'pods-v4', nodeId: w });
      print(`${at()} ${w} → ${Object.entries(r.slices).map(([net, s]) => `${net} ${s}`).join(', ')}`);
    }

    print(`${at()} ${clients} clients allocate ${perClient} addresses each, with owners, through exactly-once sessions`);
    const grants: Grant[] = [];
    const failures: string[] = [];
    let killed: string | undefined;
    let killedAt = 0;
    const load = Array.from({ length: clients }, async (_, c) => {
      const client = new IpamClient({ endpoints: cluster?.endpoints() ?? [], session: true, timeoutMs: 30_000 });
      for (let i = 0; i < perClient; i++) {
        const owner = `ctr-${c}-${i}`;
        const node = WORKERS[(c + i) % WORKERS.length] as string;
        try {
          const r = await client.allocate({ network: 'pods-v4', nodeId: node, owner });
          grants.push({ address: r.address, owner, generation: r.generation, node });
        } catch (e) {
          failures.push(`${owner}: ${e instanceof IpamClientError ? `[${e.code}] ${e.message}` : String(e)}`);
        }
      }
    });
    const kill = (async () => {
      while (grants.length < (clients * perClient) / 3) await new Promise((r) => setTimeout(r, 10));
      killed = await (cluster as Cluster).waitForLeader();
      killedAt = performance.now();
      await (cluster as Cluster).kill(killed);
      print(`${at()} SIGKILL the leader ${killed} after ${grants.length} acknowledged allocations (clients keep going)`);
      const next = await (cluster as Cluster).waitForLeader({ exclude: [killed] });
      print(`${at()} ${next} leads now, ${Math.round(performance.now() - killedAt)} ms after the kill`);
    })();
    await Promise.all([...load, kill]);
    print(`${at()} load done: ${grants.length} allocations acknowledged, ${failures.length} failed`);
    for (const f of failures.slice(0, 5)) print(`          failed: ${f}`);

    // The clients' own records are the evidence: every acknowledged grant must be in the cluster's state,
    // held by the owner that was told it got it, and no address may have been acknowledged twice.
    const seen = new Map<string, Grant>();
    const duplicates = grants.filter((g) => {
      const other = seen.get(g.address);
      seen.set(g.address, g);
      return other !== undefined;
    });
    const listed = await admin.allocations('pods-v4', { consistency: 'linearizable', limit: 100_000 });
    const held = new Map(listed.allocations.map((a) => [a.address, a]));
    const lost = grants.filter((g) => held.get(g.address)?.owner !== g.owner || held.get(g.address)?.generation !== g.generation);
    print(`${at()} checked against a linearizable read: ${grants.length - lost.length}/${grants.length} acknowledged allocations present with their owner, ${duplicates.length} duplicates, ${lost.length} lost`);

    if (killed) {
      await cluster.restart(killed);
      print(`${at()} restarted ${killed} on its data directory`);
    }
    const converged = await cluster.waitForConvergence({ timeoutMs: 60_000 });
    print(`${at()} all 3 nodes at applied index ${converged.applied} with state hash ${converged.stateHash.slice(0, 16)}…`);
    const ok = duplicates.length === 0 && lost.length === 0 && failures.length === 0;
    print(ok ? `${at()} OK: nothing lost, nothing granted twice` : `${at()} FAILED: see above`);
    keep = !ok;
    return { ok };
  } catch (e) {
    keep = true;
    throw e;
  } finally {
    await cluster?.destroy();
    // A failed run keeps its node logs for whoever investigates; a good one leaves nothing behind.
    if (keep) print(`${at()} stopped every node; logs and data kept in ${root}`);
    else {
      await rm(root, { recursive: true, force: true });
      print(`${at()} stopped every node and removed ${root}`);
    }
  }
}
