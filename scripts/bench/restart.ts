/**
 * Restart: every node holds a snapshot of 1,000,000 owned addresses plus a 100,000-entry committed log
 * tail (big-state.ts). The cluster boots from that data (a whole-cluster restart, timed from the spawn
 * to the first committed write), then a follower is SIGKILLed and restarted `rounds` times, each timed
 * from the spawn to serving (untilServing). Snapshots are kept from compacting the tail during the run
 * (--snapshot-entries above the tail), so every restart replays the same 100,000 entries.
 *
 * Compared with: an empty node's restart (the process start + open + join floor), plus the same boot work
 * (open and load the store, restore, replay) in a fresh process on a copy of the data, without Raft,
 * peers or HTTP (the CPU floor), measured right before each sample so both see the same machine load:
 * floor = empty + load + restore + replay.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './args.js';
import { bootWork, logTail, medianBootWork, VOTERS, writeNodeData, type BigState, type BootWork } from './big-state.js';
import type { Compiled } from './compiled.js';
import { samplesSummary } from './histogram.js';
import { ipamValue, JsonHttp } from './http.js';
import { BIG_WAIT_MS, layoutIpamCluster, leaderUrl, retrying, startLaidOut } from './ipam-cluster.js';
import { waitForConvergence } from './probe.js';
import type { Row } from './rows.js';
import { aFollower, medianMilestones, timedStart, type EmptyBaseline, type Milestones } from './serving.js';
import { log } from './throughput.js';

export async function restartRows(c: Compiled, root: string, state: BigState, baseline: EmptyBaseline, o: BenchOptions): Promise<Row[]> {
  const { entries: tail, allocations } = logTail(state, o.tailEntries);
  const ipam = await layoutIpamCluster(c, root, 'restart', { nodes: VOTERS, snapshotEntries: Math.max(10_000, o.tailEntries * 10), startTimeoutMs: BIG_WAIT_MS });
  try {
    const cluster = ipam.cluster;
    for (const id of VOTERS) await writeNodeData(c, cluster.node(id).dataDir, id, state, tail);
    const floorDir = join(root, 'restart-floor');
    await writeNodeData(c, floorDir, 'n1', state, tail); // a copy no node opens, for the floor's fresh process
    const floors: BootWork[] = [];
    const check = { network: 'overlay', addresses: state.addresses + allocations };
    const t0 = performance.now();
    await startLaidOut(ipam, BIG_WAIT_MS);
    // Whole cluster: from spawning all three to the first write committed by the new leader.
    await retrying('first write after cluster restart', async () => {
      const { url } = await leaderUrl(cluster);
      const http = new JsonHttp(url, 1);
      try {
        ipamValue(await http.post('/v1/commands', { type: 'assignSlice', network: 'overlay', nodeId: 'after-restart' }, 10_000));
      } finally {
        await http.close();
      }
    }, BIG_WAIT_MS / 20, () => 20); // a fixed short pause: the sample is the time to the first success
    const clusterMs = performance.now() - t0;
    const times: number[] = [];
    const milestones: Milestones[] = [];
    for (let i = 0; i < o.rounds; i++) {
      await waitForConvergence(cluster, BIG_WAIT_MS);
      const id = await aFollower(cluster);
      floors.push(await bootWork(floorDir, 'n1'));
      await cluster.kill(id);
      const m = await timedStart(cluster, id, () => cluster.restart(id), check, BIG_WAIT_MS);
      milestones.push(m);
      times.push(m.servingMs);
      console.log(`  restart ${i + 1}/${o.rounds}: ${m.servingMs.toFixed(0)} ms (answering HTTP at ${m.httpMs.toFixed(0)}, ready at ${m.readyMs.toFixed(0)})`);
    }
    const s = samplesSummary(times);
    const floor = medianBootWork(floors);
    const floorMs = baseline.restartMs + floor.loadMs + floor.restoreMs + floor.replayMs;
    const label = `${state.addresses.toLocaleString('en-US')}-address snapshot + ${o.tailEntries.toLocaleString('en-US')}-entry log tail`;
    const rows: Row[] = [
      {
        id: 'restart-follower',
        group: 'restart',
        system: 'raft-ipam',
        label: `restart a follower with a ${label} → serving (median of ${o.rounds})`,
        value: s.p50,
        unit: 'ms',
        higher: 'worse',
        latency: s,
        limit: { label: 'floor: empty-node restart + the boot work (load, restore, replay) alone in a fresh process', value: floorMs, unit: 'ms', ratio: s.p50 / floorMs },
        extra: { samples: s.samples, milestones: medianMilestones(milestones), emptyRestartMs: baseline.restartMs, bootWork: floor, snapshotBytes: state.data.length },
      },
      {
        id: 'restart-cluster',
        group: 'restart',
        system: 'raft-ipam',
        label: `restart all 3 nodes, each with a ${label} → first committed write`,
        value: clusterMs,
        unit: 'ms',
        higher: 'worse',
        limit: { label: 'floor: empty-node restart + the boot work (load, restore, replay) alone in a fresh process', value: floorMs, unit: 'ms', ratio: clusterMs / floorMs },
      },
    ];
    rows.forEach(log);
    return rows;
  } finally {
    await ipam.close();
    await rm(join(root, 'restart'), { recursive: true, force: true }).catch(() => undefined);
    await rm(join(root, 'restart-floor'), { recursive: true, force: true }).catch(() => undefined);
  }
}
