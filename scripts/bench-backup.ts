/**
 * npm run bench:backup -- [--addresses=N] [--owners] — what a backup of a large state costs: restore a
 * saved snapshot of N addresses (default 1,000,000) into three data directories, boot a 3-node cluster of
 * `raft-ipam serve` processes on them, then `snapshot save` it again from the live leader while a probe
 * asks the leader's /healthz every 20 ms (the longest answer shows how long the leader's loop was held:
 * the capture runs in steps, the hash in slices, the body in 64 KiB pieces). Every number is from this
 * run on this machine; ratios, not bare times, are what carry over (GUIDE §4). Prints a table, then one
 * JSON line.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../cluster/cluster.js';
import { IpamClient } from '../src/api/client.js';
import { restoreSnapshot } from '../src/backup/restore.js';
import { saveSnapshot } from '../src/backup/save.js';
import { encodeSnapshotFile, readSnapshotFile } from '../src/backup/snapshot-file.js';
import { buildState } from './support/big-state.js';

const TOTAL = Number(process.argv.find((a) => a.startsWith('--addresses='))?.slice('--addresses='.length) ?? 1_000_000);
const OWNERS = process.argv.includes('--owners');

const round = (x: number): number => Math.round(x);

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'raft-ipam-bench-backup-'));
  let cluster: Cluster | undefined;
  try {
    const sm = buildState(TOTAL, OWNERS);
    const seed = join(root, 'seed.snap');
    await writeFile(seed, encodeSnapshotFile({ clusterId: 'bench-source', index: 1, term: 1, takenAt: Date.now() }, sm.snapshot()));
    const fileBytes = (await stat(seed)).size;

    // No relays: peers dial each other directly, so the numbers are the nodes' own, not the harness's.
    // A million-address snapshot takes a while to load before a node answers HTTP: the start may take as
    // long as the leader wait below.
    cluster = await Cluster.layout({ root: join(root, 'cluster'), relays: false, startTimeoutMs: 120_000 });
    const initialCluster = Object.fromEntries(cluster.nodes().map((n) => [n.id, n.peerAdvertised]));
    const restoreMs: number[] = [];
    let clusterId = '';
    for (const n of cluster.nodes()) {
      const t = performance.now();
      clusterId = (await restoreSnapshot({ file: seed, dataDir: n.dataDir, name: n.id, initialCluster })).clusterId;
      restoreMs.push(performance.now() - t);
    }
    const bootStart = performance.now();
    await cluster.startAll({ clusterId });
    const leader = await cluster.waitForLeader({ timeoutMs: 120_000 });
    const bootMs = performance.now() - bootStart;
    const leaderUrl = cluster.node(leader).clientUrl;

    // The probe: one /healthz at a time, every 20 ms; the slowest answer during a phase.
    const probe = async (untilDone: Promise<unknown>): Promise<{ max: number; count: number }> => {
      let done = false;
      void untilDone.finally(() => (done = true));
      let max = 0;
      let count = 0;
      while (!done) {
        const t = performance.now();
        await fetch(`${leaderUrl}/healthz`).then((r) => r.text());
        max = Math.max(max, performance.now() - t);
        count++;
        await new Promise((r) => setTimeout(r, 20));
      }
      return { max, count };
    };
    const idle = await probe(new Promise((r) => setTimeout(r, 2000)));
    const out = join(root, 'saved.snap');
    const client = new IpamClient({ endpoints: cluster.endpoints(), timeoutMs: 120_000 });
    const saveStart = performance.now();
    const saving = saveSnapshot({ client, file: out });
    const during = await probe(saving);
    const saved = await saving;
    const saveMs = performance.now() - saveStart;
    const verified = await readSnapshotFile(out);

    const rows = [
      { what: 'state', value: `${TOTAL.toLocaleString('en')} addresses${OWNERS ? ', each with an owner' : ''}` },
      { what: 'snapshot file', value: `${fileBytes.toLocaleString('en')} bytes` },
      { what: 'restore one member (in process: read, verify, decode, write LevelDB + snapshot file, read back)', value: `${restoreMs.map(round).join(' / ')} ms` },
      { what: 'boot 3 serve processes on the restored directories until a leader', value: `${round(bootMs)} ms` },
      { what: 'snapshot save from the live leader (ReadIndex, capture, hash, stream, write, verify, rename)', value: `${round(saveMs)} ms, ${saved.bytes.toLocaleString('en')} bytes` },
      { what: 'slowest /healthz of the leader while idle', value: `${round(idle.max)} ms (${idle.count} probes)` },
      { what: 'slowest /healthz of the leader during the save', value: `${round(during.max)} ms (${during.count} probes)` },
      { what: 'saved state hash equals the restored one', value: String(verified.meta.stateHash === sm.stateHash()) },
    ];
    for (const r of rows) console.log(`${r.what.padEnd(100)} ${r.value}`);
    console.log(JSON.stringify({ addresses: TOTAL, owners: OWNERS, fileBytes, restoreMs: restoreMs.map(round), bootMs: round(bootMs), saveMs: round(saveMs), healthzIdleMaxMs: round(idle.max), healthzSaveMaxMs: round(during.max), sameHash: verified.meta.stateHash === sm.stateHash() }));
  } finally {
    await cluster?.destroy();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
