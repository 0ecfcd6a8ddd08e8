/**
 * Data directories holding a large state, written straight into LevelDB storage (the node's own storage
 * code, from the build) so a node can boot into 1,000,000 addresses without 1,000,000 entries going
 * through the log first (as test/node/snapshot-offloop.test.ts boots replicas from a snapshot).
 *
 * The history is one a real cluster could have: entries 1–3 were the bootstrap membership (term 1); a
 * leader of term 2 then committed the commands that built the state; the snapshot is at the index of
 * the last of them, with term 2 and the three voters. An optional log tail of allocations (term 2,
 * committed) follows it. A node booting from this restores the snapshot and applies the tail.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encodeIpamEntry, ClusterApp } from '../../src/node/cluster-app.js';
import { IpamApp } from '../../src/node/ipam-app.js';
import type { Entry } from '../../src/raft/types.js';
import { buildState } from '../support/big-state.js';
import { tailCommands } from '../support/big-state-commands.js';
import type { Compiled } from './compiled.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

export const VOTERS = ['n1', 'n2', 'n3'];
const TERM = 2;

export interface BigState {
  addresses: number;
  /** The node snapshot (ClusterApp format: members + IPAM snapshot). */
  data: Uint8Array;
  index: number;
  buildMs: number;
}

/** `addresses` owned addresses in network 'overlay' (a /8 in /22 slices): scripts/support/big-state.ts. */
export function bigState(addresses: number): BigState {
  const t = performance.now();
  const sm = buildState(addresses, true);
  const data = new ClusterApp(new IpamApp(sm)).snapshot();
  const slices = Math.ceil(addresses / 1022);
  // 3 bootstrap entries, then configureNetwork, one assignSlice per slice and one allocate per address.
  return { addresses, data, index: 3 + 1 + slices + addresses, buildMs: performance.now() - t };
}

/** `count` committed allocation entries after the snapshot, in fresh slices tail-0, tail-1, …. */
export function logTail(state: BigState, count: number): { entries: Entry[]; allocations: number } {
  const time = Date.now();
  const commands = [...tailCommands(count)];
  const entries = commands.map((command, i): Entry => ({ term: TERM, index: state.index + 1 + i, type: 'normal', data: encodeIpamEntry({ id: i + 1, command, time }) }));
  return { entries, allocations: commands.filter((c) => c.type === 'allocate').length };
}

/** Write the snapshot (and tail) into `dataDir` as node `nodeId`'s durable state. */
export async function writeNodeData(c: Compiled, dataDir: string, nodeId: string, state: BigState, tail: Entry[]): Promise<void> {
  const storage = await c.LevelStorage.open({ dir: dataDir, clusterId: 'raft-ipam', nodeId });
  try {
    await storage.persist({
      hardState: { term: TERM, vote: null, commit: state.index },
      ...c.wholeSnapshot({ meta: { index: state.index, term: TERM, conf: { voters: VOTERS, learners: [] } }, data: state.data }),
    });
    for (let i = 0; i < tail.length; i += 10_000) {
      const chunk = tail.slice(i, i + 10_000);
      await storage.persist({ hardState: { term: TERM, vote: null, commit: (chunk.at(-1) as Entry).index }, entries: chunk });
    }
  } finally {
    await storage.close();
  }
}

export interface BootWork {
  loadMs: number;
  restoreMs: number;
  replayMs: number;
}

/**
 * The same work a booting node does with the data in `dataDir`, in a fresh process on the build, before
 * any node has opened it (boot-work.ts): the CPU floor of a restart on this machine at this moment.
 */
export async function bootWork(dataDir: string, nodeId: string): Promise<BootWork> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(here, 'boot-work.ts'), dataDir, nodeId], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as BootWork;
}

/** Medians of each part over the rounds (the floor is measured once per round, beside each sample). */
export function medianBootWork(ws: BootWork[]): BootWork {
  const med = (k: keyof BootWork): number => {
    const s = ws.map((w) => w[k]).sort((a, b) => a - b);
    return Math.round(s[s.length >> 1] ?? 0);
  };
  return { loadMs: med('loadMs'), restoreMs: med('restoreMs'), replayMs: med('replayMs') };
}

export const dataDirOf = (root: string, cluster: string, id: string): string => join(root, cluster, id, 'data');
