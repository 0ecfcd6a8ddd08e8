/**
 * Catch-up and memory. Every node boots from a snapshot of 1,000,000 owned addresses (no tail). Then,
 * `rounds` times, a new member joins the way a replaced node does: it is added as a learner
 * (POST /v1/members), started on an empty disk (--initial-cluster-state existing), and, being 1,000,000
 * addresses behind a leader whose log starts after its snapshot, must receive and install the snapshot.
 * Timed from the spawn to serving with all 1,000,000 addresses (untilServing); the learner is removed
 * again before the next round. (Wiping a voter's disk in place would not do: a voter that forgets its
 * log and vote breaks Raft's safety, and an idle leader never notices it needs a snapshot.)
 * Compared with: an empty node's restart plus restoring the same snapshot in a fresh process (measured
 * right before each sample, so both see the same machine load).
 *
 * Memory: the resident set of each node holding the 1,000,000 addresses, after the catch-ups (the three
 * voters booted from disk; the last learner installed the state from the wire), beside an idle empty
 * node's.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './args.js';
import { bootWork, medianBootWork, VOTERS, writeNodeData, type BigState, type BootWork } from './big-state.js';
import type { Compiled } from './compiled.js';
import { samplesSummary } from './histogram.js';
import { BIG_WAIT_MS, layoutIpamCluster, retrying, startLaidOut } from './ipam-cluster.js';
import { rssMb } from './proc.js';
import { waitForConvergence } from './probe.js';
import type { Row } from './rows.js';
import { medianMilestones, timedStart, type EmptyBaseline, type Milestones } from './serving.js';
import { log } from './throughput.js';

export async function catchupRows(c: Compiled, root: string, state: BigState, baseline: EmptyBaseline, o: BenchOptions, withCatchup: boolean): Promise<Row[]> {
  const ipam = await layoutIpamCluster(c, root, 'catchup', { nodes: VOTERS, startTimeoutMs: BIG_WAIT_MS });
  try {
    const cluster = ipam.cluster;
    for (const id of VOTERS) await writeNodeData(c, cluster.node(id).dataDir, id, state, []);
    const floorDir = join(root, 'catchup-floor');
    await writeNodeData(c, floorDir, 'n1', state, []); // a copy no node opens, for the floor's fresh process
    const floors: BootWork[] = [];
    const check = { network: 'overlay', addresses: state.addresses };
    await startLaidOut(ipam, BIG_WAIT_MS);
    const rows: Row[] = [];
    const times: number[] = [];
    const milestones: Milestones[] = [];
    const rounds = withCatchup ? o.rounds : 0;
    let lastLearner: string | undefined;
    for (let i = 0; i < rounds; i++) {
      await waitForConvergence(cluster, BIG_WAIT_MS);
      floors.push(await bootWork(floorDir, 'n1'));
      const id = `learner${i + 1}`;
      await cluster.prepareNode(id);
      await retrying(`members add ${id}`, () => cluster.addMember(id, { learner: true }));
      const m = await timedStart(cluster, id, () => cluster.startJoining(id), check, BIG_WAIT_MS);
      milestones.push(m);
      times.push(m.servingMs);
      console.log(`  catch-up ${i + 1}/${rounds}: ${m.servingMs.toFixed(0)} ms (answering HTTP at ${m.httpMs.toFixed(0)}, ready at ${m.readyMs.toFixed(0)})`);
      // removeMember stops the learner and retires it from the harness (its log kept).
      if (i < rounds - 1) await retrying(`members remove ${id}`, () => cluster.removeMember(id));
      else lastLearner = id;
    }
    if (withCatchup) {
      const s = samplesSummary(times);
      const floor = medianBootWork(floors);
      const floorMs = baseline.restartMs + floor.restoreMs;
      rows.push({
        id: 'catchup-snapshot',
        group: 'catchup',
        system: 'raft-ipam',
        label: `new member ${state.addresses.toLocaleString('en-US')} addresses behind (empty disk) → snapshot installed, serving (median of ${rounds})`,
        value: s.p50,
        unit: 'ms',
        higher: 'worse',
        latency: s,
        limit: { label: 'floor: empty-node restart + restoring the snapshot alone in a fresh process', value: floorMs, unit: 'ms', ratio: s.p50 / floorMs },
        extra: { samples: s.samples, milestones: medianMilestones(milestones), emptyRestartMs: baseline.restartMs, bootWork: floor, snapshotBytes: state.data.length },
      });
    }
    await waitForConvergence(cluster, BIG_WAIT_MS);
    const rss = await Promise.all(cluster.ids().filter((id) => cluster.isRunning(id)).map(async (id) => [id, await rssMb(cluster.handle(id)?.pid)] as const));
    if (rss.some(([, v]) => v === undefined)) throw new Error(`resident set unreadable for ${rss.filter(([, v]) => v === undefined).map(([id]) => id).join(', ')}`);
    const max = Math.max(...rss.map(([, v]) => v ?? 0));
    rows.push({
      id: 'rss-1m',
      group: 'catchup',
      system: 'raft-ipam',
      label: `resident memory per node at ${state.addresses.toLocaleString('en-US')} allocated addresses (largest of ${rss.length})`,
      value: max,
      unit: 'MB',
      higher: 'worse',
      limit: { label: 'baseline: idle empty node', value: baseline.rssMb, unit: 'MB', ratio: max / baseline.rssMb },
      extra: { perNode: Object.fromEntries(rss), ...(lastLearner ? { installedFromTheWire: lastLearner } : {}) },
    });
    rows.forEach(log);
    return rows;
  } finally {
    await ipam.close();
    await rm(join(root, 'catchup'), { recursive: true, force: true }).catch(() => undefined);
    await rm(join(root, 'catchup-floor'), { recursive: true, force: true }).catch(() => undefined);
  }
}
