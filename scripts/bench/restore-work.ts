/**
 * One build's restore work at a large state, in a fresh process, with the build given explicitly (so two
 * builds — before and after a change — can be measured side by side by restore-compare.ts). Plain node
 * on the compiled JavaScript of `<dist>`; nothing is compiled on the fly.
 *
 *   node --expose-gc --import tsx scripts/bench/restore-work.ts build <dist> <data-dir> <addresses> <tail>
 *     writes a data directory as big-state.ts does (owned addresses, snapshot, committed log tail), but
 *     with the snapshot encoded by `<dist>` itself: a build that changed the format reads its own.
 *   node --expose-gc --import tsx scripts/bench/restore-work.ts measure <dist> <data-dir>
 *     prints one JSON line: loadMs, restoreMs, replayMs (boot-work.ts's three parts), heapMb, arrayBuffersMb
 *     (typed-array and Buffer memory, which heapUsed leaves out: the owner arenas and index live there) and
 *     rssMb after a full GC with the restored state (tail applied) live and the snapshot bytes dropped.
 *   node --expose-gc --import tsx scripts/bench/restore-work.ts stepwise <dist> <data-dir>
 *     prints stepwiseMs: the snapshot decoded in SNAPSHOT_STEP_ADDRESSES steps, as a catching-up member
 *     installs it (the sum of the steps; the time between them is not counted).
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bigStateCommands, tailCommands } from '../support/big-state-commands.js';

type ClusterAppModule = typeof import('../../src/node/cluster-app.js');
type StorageModule = typeof import('../../src/storage/level-storage.js');
type IpamAppModule = typeof import('../../src/node/ipam-app.js');
type WholeModule = typeof import('../../src/storage/whole-snapshot.js');
type Entry = import('../../src/raft/types.js').Entry;

const [mode, distArg, dir, addressesArg, tailArg] = process.argv.slice(2);
if ((mode !== 'build' && mode !== 'measure' && mode !== 'stepwise') || !distArg || !dir) throw new Error('usage: restore-work.ts build|measure|stepwise <dist> <data-dir> [addresses tail]');
const dist = resolve(distArg);
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(dist, path)).href)) as T;
const { ClusterApp, encodeIpamEntry } = await load<ClusterAppModule>('src/node/cluster-app.js');
const { LevelStorage } = await load<StorageModule>('src/storage/level-storage.js');
const { SNAPSHOT_STEP_ADDRESSES } = await load<IpamAppModule>('src/node/ipam-app.js');
const TERM = 2;
const conf = { voters: ['n1', 'n2', 'n3'], learners: [] };

if (mode === 'build') {
  const total = Number(addressesArg);
  const tailCount = Number(tailArg ?? 0);
  // The same state as scripts/support/big-state.ts buildState(total, true), built by this build.
  const app = new ClusterApp();
  const sm = app.ipam.sm;
  let commands = 0;
  for (const command of bigStateCommands(total, true)) {
    const r = sm.apply(command);
    if (!r.ok) throw new Error(r.error.message);
    commands++;
  }
  const data = app.snapshot();
  // 3 bootstrap entries, then one entry per command.
  const index = 3 + commands;
  // The log tail of big-state.ts logTail().
  const tail = [...tailCommands(tailCount)].map((command, i): Entry => ({ term: TERM, index: index + 1 + i, type: 'normal', data: encodeIpamEntry({ id: i + 1, command, time: 1_700_000_000_000 }) }));
  const storage = await LevelStorage.open({ dir, clusterId: 'raft-ipam', nodeId: 'n1' });
  try {
    // Builds from before efd9331 took the snapshot's bytes in the install; later ones stage them first.
    const snapshot = { meta: { index, term: TERM, conf }, data };
    const whole = await load<WholeModule>('src/storage/whole-snapshot.js').then((m) => m.wholeSnapshot(snapshot), () => ({ snapshot }) as never);
    await storage.persist({ hardState: { term: TERM, vote: null, commit: index }, ...whole });
    for (let i = 0; i < tail.length; i += 10_000) {
      const chunk = tail.slice(i, i + 10_000);
      await storage.persist({ hardState: { term: TERM, vote: null, commit: (chunk.at(-1) as Entry).index }, entries: chunk });
    }
  } finally {
    await storage.close();
  }
  console.log(JSON.stringify({ built: dir, snapshotBytes: data.length, tail: tail.length }));
} else if (mode === 'stepwise') {
  const storage = await LevelStorage.open({ dir, clusterId: 'raft-ipam', nodeId: 'n1' });
  const boot = await storage.load();
  await storage.close();
  if (!boot.snapshot) throw new Error(`${dir} holds no snapshot`);
  const data = boot.snapshot.data;
  boot.entries.length = 0;
  // As a catching-up member installs it: bounded steps, summed (the time between steps is not counted).
  let stepwiseMs = 0;
  let steps = 0;
  const app = new ClusterApp();
  const task = app.beginRestore(data);
  let done = false;
  while (!done) {
    const s = performance.now();
    done = task.step();
    stepwiseMs += performance.now() - s;
    steps++;
  }
  const s = performance.now();
  task.finish();
  stepwiseMs += performance.now() - s;
  console.log(JSON.stringify({ stepwiseMs, steps }));
} else {
  let t = performance.now();
  const storage = await LevelStorage.open({ dir, clusterId: 'raft-ipam', nodeId: 'n1' });
  const boot = await storage.load();
  const loadMs = performance.now() - t;
  await storage.close();
  if (!boot.snapshot) throw new Error(`${dir} holds no snapshot`);
  let snapshot: { meta: { index: number }; data: Uint8Array } | undefined = boot.snapshot;
  const snapshotBytes = snapshot.data.length;
  const after = snapshot.meta.index;
  const entries = boot.entries.flatMap((e) => (e.type === 'normal' && e.index > after ? [e] : []));
  boot.entries.length = 0;

  const app = new ClusterApp();
  t = performance.now();
  app.restore(snapshot.data);
  const restoreMs = performance.now() - t;
  t = performance.now();
  for (const e of entries) app.apply(e);
  const replayMs = performance.now() - t;
  entries.length = 0;
  snapshot = undefined; // the state's own footprint, not the bytes it came from
  boot.snapshot = undefined;
  globalThis.gc?.();
  const mem = process.memoryUsage();
  console.log(JSON.stringify({ loadMs, restoreMs, replayMs, heapMb: mem.heapUsed / 2 ** 20, arrayBuffersMb: mem.arrayBuffers / 2 ** 20, rssMb: mem.rss / 2 ** 20, snapshotBytes, keep: app.ipam.sm.networkUsage('overlay')?.addressesAllocated }));
}
