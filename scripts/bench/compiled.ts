/**
 * The benchmark runs raft-ipam from the build (dist/), never from the sources through tsx: the nodes it
 * starts are the program users run, and a node's start-up time (measured by the restart and catch-up
 * rows) must not include compiling TypeScript on the fly. Types come from the sources; the modules are
 * loaded from dist at run time, so `npm test`'s type check works before anything is built.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(repoRoot, 'dist');

export interface Compiled {
  /** The cluster harness (cluster/cluster.ts); its process backend runs dist/src/cli/main.js. */
  Cluster: (typeof import('../../cluster/cluster.js'))['Cluster'];
  freePorts: (typeof import('../../cluster/addresses.js'))['freePorts'];
  IpamNode: (typeof import('../../src/node/ipam-node.js'))['IpamNode'];
  IpamClient: (typeof import('../../src/api/client.js'))['IpamClient'];
  LevelStorage: (typeof import('../../src/storage/level-storage.js'))['LevelStorage'];
  wholeSnapshot: (typeof import('../../src/storage/whole-snapshot.js'))['wholeSnapshot'];
  ClusterApp: (typeof import('../../src/node/cluster-app.js'))['ClusterApp'];
  /** The CLI entry the node processes run. */
  cliMain: string;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export async function loadCompiled(): Promise<Compiled> {
  const cliMain = join(dist, 'src/cli/main.js');
  if (!existsSync(cliMain)) throw new Error('dist/ is missing: run `npm run build` first (`npm run bench` does)');
  if (newestMtime(join(repoRoot, 'src')) > statSync(cliMain).mtimeMs) console.warn('warning: src/ is newer than dist/; `npm run bench` rebuilds first');
  const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(dist, path)).href)) as T;
  const cluster = await load<typeof import('../../cluster/cluster.js')>('cluster/cluster.js');
  const addresses = await load<typeof import('../../cluster/addresses.js')>('cluster/addresses.js');
  const node = await load<typeof import('../../src/node/ipam-node.js')>('src/node/ipam-node.js');
  const client = await load<typeof import('../../src/api/client.js')>('src/api/client.js');
  const storage = await load<typeof import('../../src/storage/level-storage.js')>('src/storage/level-storage.js');
  const whole = await load<typeof import('../../src/storage/whole-snapshot.js')>('src/storage/whole-snapshot.js');
  const app = await load<typeof import('../../src/node/cluster-app.js')>('src/node/cluster-app.js');
  return {
    ClusterApp: app.ClusterApp,
    Cluster: cluster.Cluster,
    freePorts: addresses.freePorts,
    IpamNode: node.IpamNode,
    IpamClient: client.IpamClient,
    LevelStorage: storage.LevelStorage,
    wholeSnapshot: whole.wholeSnapshot,
    cliMain,
  };
}
