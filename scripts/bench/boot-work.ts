/**
 * The CPU floor of a node's boot, measured in a fresh process on the build: open the data directory
 * (LevelStorage.open + load: checksums, log checks, snapshot file), restore the snapshot into the node's
 * application (ClusterApp: members + IPAM state, the same decode the node runs), and apply the log tail.
 * No Raft, no peers, no HTTP. Prints {"loadMs", "restoreMs", "replayMs"} as one JSON line.
 *
 *   node --import tsx scripts/bench/boot-work.ts <data-dir> <node-id>
 */
import { loadCompiled } from './compiled.js';

const [dir, nodeId] = process.argv.slice(2);
if (!dir || !nodeId) throw new Error('usage: boot-work.ts <data-dir> <node-id>');
const c = await loadCompiled();
let t = performance.now();
const storage = await c.LevelStorage.open({ dir, clusterId: 'raft-ipam', nodeId });
const boot = await storage.load();
const loadMs = performance.now() - t;
const app = new c.ClusterApp();
t = performance.now();
if (boot.snapshot) app.restore(boot.snapshot.data);
const restoreMs = performance.now() - t;
t = performance.now();
for (const e of boot.entries) if (e.type === 'normal' && e.index > (boot.snapshot?.meta.index ?? 0)) app.apply(e);
const replayMs = performance.now() - t;
await storage.close();
console.log(JSON.stringify({ loadMs, restoreMs, replayMs }));
