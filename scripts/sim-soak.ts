/**
 * npm run sim:soak -- --seeds 100000 [--from 1] [--steps 3000] [--jobs N] [--variant NAME]
 *
 * Runs the deterministic simulator over many seeds on every core (one `raft-ipam sim-many` process per
 * slice of the seed range, from the built dist/), then prints the failures with their replay commands
 * and one JSON summary line. This is how the long-run numbers in the issue notes were measured.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isVariant, VARIANTS } from '../src/sim/variants.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10000' },
    from: { type: 'string', default: '1' },
    steps: { type: 'string', default: '3000' },
    jobs: { type: 'string', default: String(availableParallelism()) },
    variant: { type: 'string', default: 'none' },
  },
});
const int = (name: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
};
const seeds = int('seeds', values.seeds, 1);
const from = int('from', values.from, 0);
const steps = int('steps', values.steps, 1);
const jobs = Math.min(int('jobs', values.jobs, 1), seeds);
const variant = values.variant ?? 'none';
if (!isVariant(variant)) throw new Error(`--variant must be one of ${VARIANTS.join(', ')}, got ${variant}`);
const cli = join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js');

interface Summary {
  seeds: number;
  failures: number;
  ms: number;
}

function runSlice(start: number, count: number): Promise<{ summary: Summary; failures: string[] }> {
  return new Promise((resolve, reject) => {
    const args = [cli, 'sim-many', '--from', String(start), '--seeds', String(count), '--steps', String(steps), '--variant', variant];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const lines = out.trim().split('\n');
      const last = lines.pop() ?? '';
      try {
        resolve({ summary: JSON.parse(last) as Summary, failures: lines });
      } catch {
        reject(new Error(`sim-many for seeds ${start}..${start + count - 1} printed no summary:\n${out}`));
      }
    });
  });
}

const started = Date.now();
const per = Math.ceil(seeds / jobs);
const slices = Array.from({ length: jobs }, (_, j) => [from + j * per, Math.min(per, seeds - j * per)] as const).filter(([, n]) => n > 0);
const results = await Promise.all(slices.map(([s, n]) => runSlice(s, n)));
for (const r of results) for (const line of r.failures) console.log(line);
const failures = results.reduce((n, r) => n + r.summary.failures, 0);
const ms = Date.now() - started;
console.log(JSON.stringify({ seeds, from, steps, jobs, variant, failures, wallMs: ms, seedsPerSecond: Math.round((seeds / ms) * 1000 * 10) / 10 }));
process.exitCode = failures > 0 ? 1 : 0;
