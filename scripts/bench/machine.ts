/** Facts about the machine and the moment of the run, written beside the numbers they qualify. */
import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';

export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  kernel: string;
  node: string;
  /** 1, 5 and 15 minute load averages (`uptime`): above the core count, other work shared the CPU. */
  loadAverage: { start: number[]; end?: number[] };
  disk: string;
  startedAt: string;
  gitCommit: string;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

export function machineFacts(dir: string): MachineFacts {
  const c = cpus();
  let disk = 'unknown';
  try {
    disk = execFileSync('df', ['-hT', dir], { encoding: 'utf8' }).trim().split('\n').at(-1)?.split(/\s+/).slice(0, 2).join(' ') ?? disk;
  } catch {
    // df missing: leave it unknown
  }
  let gitCommit = 'unknown';
  try {
    gitCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memoryGiB: r2(totalmem() / 2 ** 30),
    freeMemoryGiB: r2(freemem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadAverage: { start: loadavg().map(r2) },
    disk,
    startedAt: new Date().toISOString(),
    gitCommit,
  };
}

export function endLoad(f: MachineFacts): void {
  f.loadAverage.end = loadavg().map(r2);
}
