/** Child processes the benchmark starts itself (the no-op server, etcd members): started, tracked, killed. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { onCleanup } from './cleanup.js';

export interface Child {
  proc: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  running(): boolean;
}

/** Start `cmd`, its output appended to `logFile`; the cleanup registry kills it if the run ends first. */
export function startChild(name: string, cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Child {
  const log = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  proc.stdout?.pipe(log, { end: false });
  proc.stderr?.pipe(log, { end: false });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  void exited.then(() => log.end());
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (running()) proc.kill(signal);
    await exited;
  };
  const forget = onCleanup(name, () => kill('SIGKILL'));
  void exited.then(() => forget());
  return { proc, exited, kill, running };
}

/** Wait for the first stdout line that parses as JSON (a child announcing its port). */
export function firstJsonLine<T>(child: Child, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no announcement within ${timeoutMs} ms`)), timeoutMs);
    child.proc.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (const line of buffer.split('\n')) {
        try {
          const v = JSON.parse(line) as T;
          clearTimeout(timer);
          resolve(v);
          return;
        } catch {
          // not the announcement yet
        }
      }
    });
    void child.exited.then(() => reject(new Error('exited before announcing')));
  });
}

/** Resident set size of a process in MB (VmRSS from /proc), or undefined if it is gone. */
export async function rssMb(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
