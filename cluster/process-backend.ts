/**
 * The `process` backend: each node is `raft-ipam …` in a child process of the harness, writing stdout and
 * stderr straight into its log file (the file descriptor is handed to the child, so the log keeps
 * everything even while the harness is busy or gone). Signals are POSIX: SIGKILL, SIGTERM, SIGSTOP and
 * SIGCONT. Needs nothing installed beyond Node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitWithin, type NodeBackend, type NodeExit, type NodeHandle, type NodeLaunchSpec } from './backend.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * How to run the CLI: from a build (dist/cluster next to dist/src) the compiled sibling, so the demo of an
 * installed package runs what was built; from the sources (tests) the TypeScript itself through tsx, so a
 * test never runs a stale build.
 */
export function cliCommand(): { cmd: string; args: string[] } {
  const compiled = resolve(here, '../src/cli/main.js');
  if (existsSync(compiled)) return { cmd: process.execPath, args: [compiled] };
  return { cmd: process.execPath, args: ['--import', 'tsx', resolve(here, '../src/cli/main.ts')] };
}

export interface ProcessBackendOptions {
  /** The CLI entry (default: cliCommand()). */
  command?: { cmd: string; args: string[] };
  /** The environment every node starts from (default: this process's); each spec's env is added on top. */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_GRACE_MS = 10_000;

/** Checks shared by every backend's launch: the spec is plain data with absolute paths. */
export function checkLaunchSpec(spec: NodeLaunchSpec): void {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('launch spec must be an object');
  if (typeof spec.id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(spec.id)) throw new TypeError(`id must be 1–64 of [A-Za-z0-9._-], got ${JSON.stringify(spec.id)}`);
  if (!Array.isArray(spec.argv) || spec.argv.length === 0 || !spec.argv.every((a) => typeof a === 'string')) throw new TypeError('argv must be a non-empty array of strings');
  if (typeof spec.env !== 'object' || spec.env === null || !Object.values(spec.env).every((v) => typeof v === 'string')) throw new TypeError('env must map names to strings');
  for (const [what, path] of [['logFile', spec.logFile], ['dataDir', spec.dataDir], ...(spec.readOnlyDirs ?? []).map((d) => ['readOnlyDirs', d] as const)] as const) {
    if (typeof path !== 'string' || !isAbsolute(path)) throw new TypeError(`${what} must be an absolute path, got ${JSON.stringify(path)}`);
  }
  if (!existsSync(spec.dataDir) || !statSync(spec.dataDir).isDirectory()) throw new TypeError(`dataDir ${spec.dataDir} must be an existing directory`);
}

/** The run state of a process from /proc (Linux): 'T' stopped, anything else running; undefined without /proc. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may contain spaces; the state is the first field after it.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** SIGSTOP/SIGCONT take effect asynchronously; wait until /proc shows it, so "paused" means paused. */
async function settle(pid: number, stopped: boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const s = procState(pid);
    if (s === undefined || (s === 'T' || s === 't') === stopped || s === 'Z') return;
    if (Date.now() > deadline) throw new Error(`pid ${pid} did not ${stopped ? 'stop' : 'continue'} (state ${s})`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

class ProcessHandle implements NodeHandle {
  readonly description: string;
  readonly pid: number;
  readonly exited: Promise<NodeExit>;
  private exit: NodeExit | undefined;
  private paused = false;

  constructor(
    readonly id: string,
    private readonly child: ChildProcess,
    private readonly onGone: () => void,
  ) {
    this.pid = child.pid as number;
    this.description = `pid ${this.pid}`;
    this.exited = new Promise<NodeExit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        this.paused = false;
        onGone();
        resolve(this.exit);
      });
    });
  }

  isRunning(): boolean {
    return this.exit === undefined;
  }

  isPaused(): boolean {
    return this.paused;
  }

  async kill(): Promise<NodeExit> {
    // SIGKILL works on a stopped process too: no need to continue it first.
    if (this.isRunning()) this.child.kill('SIGKILL');
    return this.exited;
  }

  async stop(graceMs = DEFAULT_GRACE_MS): Promise<NodeExit> {
    if (!Number.isFinite(graceMs) || graceMs < 0) throw new TypeError(`graceMs must be a non-negative number, got ${String(graceMs)}`);
    if (!this.isRunning()) return this.exited;
    if (this.paused) await this.resume();
    this.child.kill('SIGTERM');
    return exitWithin(this.exited, graceMs, () => this.kill());
  }

  async pause(): Promise<void> {
    if (!this.isRunning() || this.paused) return;
    this.child.kill('SIGSTOP');
    this.paused = true;
    await settle(this.pid, true);
  }

  async resume(): Promise<void> {
    if (!this.isRunning() || !this.paused) return;
    this.child.kill('SIGCONT');
    this.paused = false;
    await settle(this.pid, false);
  }
}

export class ProcessBackend implements NodeBackend {
  readonly name = 'process';
  private readonly command: { cmd: string; args: string[] };
  private readonly env: NodeJS.ProcessEnv;
  private readonly live = new Set<ChildProcess>();
  /** A harness that exits without destroy() (a crashed test worker) must not leave nodes behind. */
  private readonly killAll = (): void => {
    for (const c of this.live) c.kill('SIGKILL');
  };

  constructor(options: ProcessBackendOptions = {}) {
    this.command = options.command ?? cliCommand();
    this.env = options.env ?? process.env;
    process.once('exit', this.killAll);
  }

  async launch(spec: NodeLaunchSpec): Promise<NodeHandle> {
    checkLaunchSpec(spec);
    const fd = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      // One JSON line like the node's own (pino) lines, so a log reader sees where each run starts.
      writeSync(fd, `${JSON.stringify({ harness: 'launch', backend: this.name, id: spec.id, time: new Date().toISOString(), argv: spec.argv })}\n`);
      child = spawn(this.command.cmd, [...this.command.args, ...spec.argv], { stdio: ['ignore', fd, fd], env: { ...this.env, ...spec.env } });
    } finally {
      // The child has its own copy of the descriptor now.
      closeSync(fd);
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    this.live.add(child);
    return new ProcessHandle(spec.id, child, () => this.live.delete(child));
  }

  async close(): Promise<void> {
    process.off('exit', this.killAll);
    this.killAll();
  }
}
