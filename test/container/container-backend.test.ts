/**
 * The container backend's contract (cluster/backend.ts), the same cases the process backend passes, on the
 * real raft-ipam:dev image (its node binary and libraries) with a stand-in node: a small script as the
 * entrypoint instead of the CLI, so launching, the bind mounts, the user, logging and every Docker
 * operation are checked without a cluster. The 3-node cluster on this backend is in container-cluster.test.ts.
 *
 * Needs a Docker engine (scripts/docker-engine.sh; .ci/run runs it). Without one this test FAILS with a
 * message saying so — it never skips.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NodeLaunchSpec } from '../../cluster/backend.js';
import { backendFromName } from '../../cluster/backends.js';
import { ContainerBackend, HARNESS_LABEL, type ContainerHandle } from '../../cluster/container-backend.js';
import { containerState, docker, ensureImage, isContainerGone, REPO_ROOT, requireDocker } from '../../cluster/docker.js';
import { ProcessBackend } from '../../cluster/process-backend.js';
import { waitFor } from '../transport/support.js';

// Says it is up (argv, one env variable, its uid), proves the mounts (writes into the data directory at its
// host path, reads the read-only directory and fails to write there), then idles. On SIGTERM it says so
// and exits 0, unless told to ignore it — as PID 1 of the container, a node without a handler would
// ignore SIGTERM altogether, so the handler is what makes stop graceful (raft-ipam serve has one).
const SCRIPT = `
const fs = require('node:fs');
const [dataDir, roDir] = [process.env.DATA_DIR, process.env.RO_DIR];
if (process.env.IGNORE_TERM) process.on('SIGTERM', () => console.log('ignoring term'));
else process.on('SIGTERM', () => { console.log('term'); process.exit(0); });
console.log('up', process.argv.slice(1).join(' '), process.env.GREETING ?? '', 'uid=' + process.getuid());
if (dataDir) fs.writeFileSync(dataDir + '/written-inside', 'hello from the container');
if (roDir) {
  console.log('read-only says', fs.readFileSync(roDir + '/ca.pem', 'utf8'));
  try { fs.writeFileSync(roDir + '/nope', 'x'); console.log('ro write succeeded'); } catch (e) { console.log('ro write refused', e.code); }
}
if (process.env.EXIT_CODE) { console.error('leaving with', process.env.EXIT_CODE); process.exit(Number(process.env.EXIT_CODE)); }
setInterval(() => {}, 1000);
`;
const STAND_IN = ['/usr/local/bin/node', '-e', SCRIPT];

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 120_000);

beforeAll(async () => {
  await requireDocker();
  await ensureImage();
}, 600_000);

interface Setup {
  backend: ContainerBackend;
  dir: string;
  spec: (env?: Record<string, string>, over?: Partial<NodeLaunchSpec>) => NodeLaunchSpec;
  log: () => string;
}

async function setup(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'raft-ipam-cbackend-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  const backend = new ContainerBackend({ entrypoint: STAND_IN, build: false });
  cleanups.push(() => backend.close());
  const logFile = join(dir, 'node.log');
  return {
    backend,
    dir,
    spec: (env = {}, over = {}) => ({ id: 'n1', argv: ['serve', '--name', 'n1'], env: { DATA_DIR: dataDir, ...env }, logFile, dataDir, ...over }),
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
}

async function launched(s: Setup, env?: Record<string, string>, over?: Partial<NodeLaunchSpec>): Promise<ContainerHandle> {
  const before = (s.log().match(/^up /gm) ?? []).length;
  const h = (await s.backend.launch(s.spec(env, over))) as ContainerHandle;
  cleanups.push(() => h.kill());
  await waitFor(() => (s.log().match(/^up /gm) ?? []).length > before, 'the stand-in node to start', 60_000);
  return h;
}

/** Containers carrying the harness label whose harness is this process. */
async function ours(): Promise<string[]> {
  const { stdout } = await docker(['ps', '--all', '--quiet', '--filter', `label=${HARNESS_LABEL}`, '--filter', `label=org.raft-ipam.harness-pid=${process.pid}`]);
  return stdout.split('\n').filter(Boolean);
}

describe('container backend', { timeout: 180_000 }, () => {
  it('launches the image with argv and env as the invoking uid, the data directory writable and the TLS directory read-only at their host paths, and appends to one log across containers', async () => {
    const s = await setup();
    const ro = join(s.dir, 'tls');
    await mkdir(ro);
    await writeFile(join(ro, 'ca.pem'), 'the CA');
    const h = await launched(s, { GREETING: 'hello', RO_DIR: ro }, { readOnlyDirs: [ro] });
    expect(h.isRunning()).toBe(true);
    expect(h.isPaused()).toBe(false);
    expect(h.description).toMatch(/^container [0-9a-f]{12}$/);
    expect(h.containerId.startsWith(h.description.slice('container '.length))).toBe(true);
    const state = await containerState(h.containerId);
    expect(state).toMatchObject({ status: 'running', running: true, health: undefined });
    const { stdout: mode } = await docker(['inspect', '--format', '{{.HostConfig.NetworkMode}} {{.Config.User}}', h.containerId]);
    expect(mode.trim()).toBe(`host ${process.getuid?.()}:${process.getgid?.()}`);

    await waitFor(() => /ro write (refused|succeeded)/.test(s.log()), 'the stand-in to try the read-only mount', 30_000);
    expect(s.log()).toMatch(new RegExp(`^up serve --name n1 hello uid=${process.getuid?.()}$`, 'm'));
    expect(s.log()).toMatch(/^read-only says the CA$/m);
    expect(s.log()).toMatch(/^ro write refused EROFS$/m);
    expect(await readFile(join(s.spec().dataDir, 'written-inside'), 'utf8')).toBe('hello from the container');
    const header = JSON.parse(s.log().split('\n')[0] as string) as Record<string, unknown>;
    expect(header).toMatchObject({ harness: 'launch', backend: 'container', id: 'n1', argv: ['serve', '--name', 'n1'], container: expect.stringMatching(/^raft-ipam-n1-/) });

    await h.kill();
    // A second launch is a new container; the same file goes on.
    const again = await launched(s, { GREETING: 'again' });
    expect(again.containerId).not.toBe(h.containerId);
    expect(s.log()).toMatch(/hello[\s\S]*"harness":"launch"[\s\S]*again/);
  });

  it('pause freezes the container (docker pause) and resume thaws it; a paused node still counts as running', async () => {
    const s = await setup();
    const h = await launched(s);
    await h.pause();
    expect(h.isPaused()).toBe(true);
    expect(h.isRunning()).toBe(true);
    expect(await containerState(h.containerId)).toMatchObject({ status: 'paused', paused: true });
    // Pausing twice is a no-op, not an engine error.
    await h.pause();
    await h.resume();
    expect(h.isPaused()).toBe(false);
    expect(await containerState(h.containerId)).toMatchObject({ status: 'running', paused: false });
  });

  it('stop is SIGTERM (the node exits on its own, code 0); kill is SIGKILL (137); exited reports it and the container is removed', async () => {
    const s = await setup();
    const a = await launched(s);
    expect(await a.stop()).toEqual({ code: 0, signal: null });
    expect(a.isRunning()).toBe(false);
    // exited settles after the log has drained: the node's last line is there.
    expect(s.log()).toMatch(/^term$/m);
    expect(await isContainerGone(a.containerId)).toBe(true);

    const b = await launched(s);
    expect(await b.kill()).toEqual({ code: 137, signal: null });
    expect(await b.exited).toEqual({ code: 137, signal: null });
    expect(await isContainerGone(b.containerId)).toBe(true);
    // Signalling a node that is gone is a no-op that reports the same exit.
    expect(await b.stop()).toEqual({ code: 137, signal: null });
    await b.pause();
    expect(b.isPaused()).toBe(false);
  });

  it('kills a paused node; stop resumes a paused node first, and falls back to SIGKILL after the grace period', async () => {
    const s = await setup();
    const frozen = await launched(s);
    await frozen.pause();
    expect(await frozen.kill()).toEqual({ code: 137, signal: null });
    expect(frozen.isPaused()).toBe(false);

    const paused = await launched(s);
    await paused.pause();
    expect(await paused.stop()).toEqual({ code: 0, signal: null });

    const stubborn = await launched(s, { IGNORE_TERM: '1' });
    expect(await stubborn.stop(500)).toEqual({ code: 137, signal: null });
    expect(s.log()).toMatch(/ignoring term/);
  });

  it('reports a node that exits by itself, with its last words (stderr) in the log', async () => {
    const s = await setup();
    const h = (await s.backend.launch(s.spec({ EXIT_CODE: '3' }))) as ContainerHandle;
    expect(await h.exited).toEqual({ code: 3, signal: null });
    expect(h.isRunning()).toBe(false);
    expect(s.log()).toMatch(/^leaving with 3$/m);
    expect(await isContainerGone(h.containerId)).toBe(true);
  });

  it('refuses a malformed spec before creating anything', async () => {
    const s = await setup();
    const good = s.spec();
    const bad: Array<[Partial<NodeLaunchSpec>, RegExp]> = [
      [{ id: 'a b' }, /id/],
      [{ argv: [] }, /argv/],
      [{ env: { X: 1 as unknown as string } }, /env/],
      [{ logFile: 'relative.log' }, /logFile/],
      [{ dataDir: join(good.dataDir, 'missing') }, /dataDir/],
      [{ readOnlyDirs: ['tls'] }, /readOnlyDirs/],
    ];
    for (const [over, message] of bad) await expect(s.backend.launch({ ...good, ...over }), JSON.stringify(over)).rejects.toThrow(message);
    expect(await readFile(good.logFile, 'utf8').catch(() => 'no log')).toBe('no log');
    expect(await ours()).toEqual([]);
  });

  it('close() kills and removes every container it made, running or paused, and refuses later launches', async () => {
    const s = await setup();
    const running = await launched(s);
    const paused = await launched(s);
    await paused.pause();
    expect((await ours()).length).toBe(2);
    expect(s.backend.containers()).toHaveLength(2);
    await s.backend.close();
    expect(await running.exited).toEqual({ code: 137, signal: null });
    expect(await paused.exited).toEqual({ code: 137, signal: null });
    expect(await ours()).toEqual([]);
    expect(s.backend.containers()).toEqual([]);
    await expect(s.backend.launch(s.spec())).rejects.toThrow(/closed/);
  });

  it('a harness that exits without close() still removes its containers on the way out', async () => {
    const s = await setup();
    // A separate harness process: it launches a node, prints the container's name, and exits at once.
    const program = `
      import { ContainerBackend } from ${JSON.stringify(join(REPO_ROOT, 'cluster/container-backend.ts'))};
      const b = new ContainerBackend({ entrypoint: ${JSON.stringify(STAND_IN)}, build: false });
      await b.launch(${JSON.stringify(s.spec())});
      console.log(JSON.stringify(b.containers()));
      process.exit(0);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, err).toBe(0);
    const names = JSON.parse(out.trim()) as string[];
    expect(names).toHaveLength(1);
    expect(await isContainerGone(names[0] as string)).toBe(true);
  });

  it('backendFromName picks either backend by name and refuses others', async () => {
    const c = await backendFromName('container', { container: { build: false } });
    cleanups.push(() => c.close());
    expect(c).toBeInstanceOf(ContainerBackend);
    expect(c.name).toBe('container');
    const p = await backendFromName('process');
    cleanups.push(() => p.close());
    expect(p).toBeInstanceOf(ProcessBackend);
    await expect(backendFromName('vm')).rejects.toThrow(/process, container/);
  });
});
