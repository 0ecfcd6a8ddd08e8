/**
 * The process backend's contract (cluster/backend.ts) on a stand-in node: a small Node script instead of
 * `raft-ipam serve`, so launching, logging and every signal are checked without a cluster.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeHandle, NodeLaunchSpec } from '../../cluster/backend.js';
import { ProcessBackend } from '../../cluster/process-backend.js';
import { waitFor } from '../transport/support.js';

// Says it is up (with its argv and one env variable), then idles; on SIGTERM says so and exits 0, unless told to ignore it.
const SCRIPT = `
if (process.env.IGNORE_TERM) process.on('SIGTERM', () => console.log('ignoring term'));
else process.on('SIGTERM', () => { console.log('term'); process.exit(0); });
console.log('up', process.argv.slice(1).join(' '), process.env.GREETING ?? '');
if (process.env.EXIT_CODE) process.exit(Number(process.env.EXIT_CODE));
setInterval(() => {}, 1000);
`;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ backend: ProcessBackend; spec: (env?: Record<string, string>) => NodeLaunchSpec; log: () => string }> {
  const dir = await mkdtemp(join(tmpdir(), 'raft-ipam-backend-'));
  const backend = new ProcessBackend({ command: { cmd: process.execPath, args: ['-e', SCRIPT] } });
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  cleanups.push(() => backend.close());
  const logFile = join(dir, 'node.log');
  return {
    backend,
    spec: (env = {}) => ({ id: 'n1', argv: ['serve', '--name', 'n1'], env, logFile, dataDir: dir }),
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
}

async function launched(s: Awaited<ReturnType<typeof setup>>, env?: Record<string, string>): Promise<NodeHandle> {
  const before = (s.log().match(/^up /gm) ?? []).length;
  const h = await s.backend.launch(s.spec(env));
  cleanups.push(() => h.kill());
  await waitFor(() => (s.log().match(/^up /gm) ?? []).length > before, 'the stand-in node to start');
  return h;
}

/** The scheduler state of a pid from /proc: 'T' when stopped. */
const procState = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
};

describe('process backend', () => {
  it('launches with argv and env, and appends a launch line and the node\'s output to its log file across launches', async () => {
    const s = await setup();
    const h = await launched(s, { GREETING: 'hello' });
    expect(h.isRunning()).toBe(true);
    expect(h.description).toMatch(/^pid \d+$/);
    // The pid names the stand-in itself: its own command line is the one launched.
    expect(h.pid).toBe(Number(h.description.slice(4)));
    expect(readFileSync(`/proc/${h.pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['serve', '--name', 'n1']));
    expect(s.log()).toMatch(/^up serve --name n1 hello$/m);
    const header = JSON.parse(s.log().split('\n')[0] as string) as Record<string, unknown>;
    expect(header).toMatchObject({ harness: 'launch', backend: 'process', id: 'n1', argv: ['serve', '--name', 'n1'] });
    await h.kill();
    await launched(s, { GREETING: 'again' });
    expect(s.log()).toMatch(/hello[\s\S]*"harness":"launch"[\s\S]*again/);
  });

  it('pause stops the process (SIGSTOP) and resume continues it; a paused node still counts as running', async () => {
    const s = await setup();
    const h = await launched(s);
    const pid = h.pid as number;
    await h.pause();
    expect(h.isPaused()).toBe(true);
    expect(h.isRunning()).toBe(true);
    expect(procState(pid)).toBe('T');
    await h.resume();
    expect(h.isPaused()).toBe(false);
    expect(procState(pid)).not.toBe('T');
  });

  it('stop is SIGTERM (the node exits on its own); kill is SIGKILL; exited reports how', async () => {
    const s = await setup();
    const a = await launched(s);
    expect(await a.stop()).toEqual({ code: 0, signal: null });
    expect(a.isRunning()).toBe(false);
    expect(s.log()).toMatch(/^term$/m);
    const b = await launched(s);
    expect(await b.kill()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await b.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Signalling a node that is gone is a no-op that reports the same exit.
    expect(await b.stop()).toEqual({ code: null, signal: 'SIGKILL' });
    await b.pause();
    expect(b.isPaused()).toBe(false);
  });

  it('stop resumes a paused node first, and falls back to SIGKILL after the grace period', async () => {
    const s = await setup();
    const paused = await launched(s);
    await paused.pause();
    expect(await paused.stop()).toEqual({ code: 0, signal: null });
    const stubborn = await launched(s, { IGNORE_TERM: '1' });
    expect(await stubborn.stop(200)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(s.log()).toMatch(/ignoring term/);
  });

  it('reports a node that exits by itself', async () => {
    const s = await setup();
    const h = await s.backend.launch(s.spec({ EXIT_CODE: '3' }));
    expect(await h.exited).toEqual({ code: 3, signal: null });
    expect(h.isRunning()).toBe(false);
  });

  it('refuses a malformed spec before launching anything', async () => {
    const s = await setup();
    const good = s.spec();
    const bad: Array<[Partial<NodeLaunchSpec>, RegExp]> = [
      [{ id: 'a b' }, /id/],
      [{ argv: [] }, /argv/],
      [{ argv: ['serve', 1 as unknown as string] }, /argv/],
      [{ env: { X: 1 as unknown as string } }, /env/],
      [{ logFile: 'relative.log' }, /logFile/],
      [{ dataDir: join(good.dataDir, 'missing') }, /dataDir/],
      [{ readOnlyDirs: ['tls'] }, /readOnlyDirs/],
    ];
    for (const [over, message] of bad) await expect(s.backend.launch({ ...good, ...over }), JSON.stringify(over)).rejects.toThrow(message);
    expect(await readFile(good.logFile, 'utf8').catch(() => 'no log')).toBe('no log');
  });
});
