/**
 * Restore work of two builds side by side, in alternating fresh processes (restore-work.ts), so both see
 * the same machine load: a "before" build (e.g. a copy of dist/ made before a change) and dist/.
 * Each build writes its own data directory (a changed snapshot format is read by the build that wrote it).
 * Prints the median of each number per build and the ratio after/before.
 *
 *   npm run build && node --import tsx scripts/bench/restore-compare.ts <before-dist> [addresses] [tail] [rounds]
 *   (defaults: 1,000,000 owned addresses, 100,000 tail entries, 3 rounds; directories under .scratch/)
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const script = join(root, 'scripts/bench/restore-work.ts');
const [before, addresses = '1000000', tail = '100000', roundsArg = '3'] = process.argv.slice(2);
if (!before) throw new Error('usage: restore-compare.ts <before-dist> [addresses] [tail] [rounds]');
const builds = { before, after: join(root, 'dist') };
const rounds = Number(roundsArg);

async function work(...args: string[]): Promise<Record<string, number>> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Record<string, number>;
}

const dirs: Record<string, string> = {};
for (const [name, dist] of Object.entries(builds)) {
  if (!existsSync(join(dist, 'src/node/cluster-app.js'))) throw new Error(`${dist} is not a build`);
  const dir = join(root, '.scratch', `restore-${name}-${addresses}-${tail}`);
  await rm(dir, { recursive: true, force: true });
  console.log(`${name}: building ${dir}`, await work('build', dist, dir, addresses, tail));
  dirs[name] = dir;
}

const samples: Record<string, Array<Record<string, number>>> = { before: [], after: [] };
for (let i = 0; i < rounds; i++) {
  for (const [name, dist] of Object.entries(builds)) {
    const dir = dirs[name] as string;
    const m = { ...(await work('measure', dist, dir)), ...(await work('stepwise', dist, dir)) };
    (samples[name] as Array<Record<string, number>>).push(m);
    console.log(`round ${i + 1} ${name}:`, JSON.stringify(m, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v)));
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
console.log(`\nmedians of ${rounds} rounds (${Number(addresses).toLocaleString('en-US')} owned addresses, ${Number(tail).toLocaleString('en-US')}-entry tail):`);
console.log(`${'metric'.padEnd(14)}${'before'.padStart(10)}${'after'.padStart(10)}   after/before`);
for (const key of ['loadMs', 'restoreMs', 'replayMs', 'stepwiseMs', 'heapMb', 'rssMb', 'snapshotBytes']) {
  const b = median((samples.before ?? []).map((s) => s[key] as number));
  const a = median((samples.after ?? []).map((s) => s[key] as number));
  console.log(`${key.padEnd(14)}${b.toFixed(0).padStart(10)}${a.toFixed(0).padStart(10)}   ${(a / b).toFixed(2)}`);
}
