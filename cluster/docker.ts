/**
 * Small helpers for running raft-ipam in containers on this machine: check that an engine answers, make
 * sure the image is built and current, and start, stop, kill, crash, pause and unpause containers, and
 * keep their logs in files. They drive the `docker` command line (the engine's own client, whatever its
 * version) rather than the engine's API, so what a test does to a container is exactly what an operator
 * would type. The container backend of the harness and the container tests build on them.
 *
 * Network rule (GUIDE §4): every container runs with host networking and listens on its own loopback
 * address; nothing is sent anywhere but 127.0.0.0/8.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The tag scripts/build-image.sh builds and docker-compose.yml runs. */
export const DEFAULT_IMAGE = process.env.RAFT_IPAM_IMAGE ?? 'raft-ipam:dev';

/** The repository root, from cluster/ in the sources or dist/cluster in a build. */
export const REPO_ROOT = ((): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, here.endsWith('/dist/cluster') ? '../..' : '..');
})();

export class DockerError extends Error {
  override readonly name = 'DockerError';
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Run a command, resolve with its output; a non-zero exit rejects with the command and its stderr. */
export function run(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((ok, fail) => {
    execFile(
      cmd,
      args,
      { env: options.env ?? process.env, cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) fail(new DockerError(`${cmd} ${args.join(' ')} failed (${error.code ?? error.signal ?? error.message}): ${stderr.trim() || stdout.trim() || error.message}`));
        else ok({ stdout, stderr });
      },
    );
  });
}

export function docker(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<RunResult> {
  return run('docker', args, options);
}

/**
 * Throw a clear error unless a Docker engine answers. The container tests call this first and fail on
 * it rather than skip: CI (.ci/run → scripts/docker-engine.sh) guarantees an engine, so a missing one is
 * a broken setup, not a reason to report green.
 */
export async function requireDocker(): Promise<void> {
  try {
    await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000 });
  } catch (e) {
    throw new DockerError(`no Docker engine answers (${(e as Error).message}). The container tests need one: run scripts/docker-engine.sh (as root; .ci/run does) and try again.`);
  }
}

/**
 * Settings testcontainers 11 needs on this machine, applied to process.env unless already set. Call it
 * before the first container starts (testcontainers reads them then, not at import).
 * - TESTCONTAINERS_RYUK_DISABLED: the reaper (Ryuk) is an image from a registry, which cannot be pulled
 *   here; whoever starts a container removes it (the tests' cleanups do).
 * - TESTCONTAINERS_HOST_OVERRIDE: inside a container (/.dockerenv exists here) testcontainers looks for
 *   the engine's host through the `bridge` network's gateway, which dockerd started with --bridge=none
 *   does not have, and then by running an alpine image, which cannot be pulled either; every container
 *   uses host networking on loopback, so the host is 127.0.0.1.
 */
export function configureTestcontainers(env: NodeJS.ProcessEnv = process.env): void {
  env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
}

const built = new Map<string, Promise<string>>();

/**
 * Make sure `tag` exists and holds the current sources: runs scripts/build-image.sh, which returns in
 * about a second when nothing changed (it compares hashes of its inputs) and rebuilds only what did, so a
 * test never runs a stale image. Once per tag per process; concurrent test files are serialised by the
 * script's own lock.
 */
export function ensureImage(tag = DEFAULT_IMAGE): Promise<string> {
  let p = built.get(tag);
  if (!p) {
    p = run('bash', [resolve(REPO_ROOT, 'scripts/build-image.sh'), tag], { cwd: REPO_ROOT, timeoutMs: 600_000 }).then(() => tag);
    built.set(tag, p);
    p.catch(() => built.delete(tag));
  }
  return p;
}

export interface ContainerState {
  status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  running: boolean;
  paused: boolean;
  /** Times the engine restarted it under its restart policy. */
  restartCount: number;
  /** The main process's pid on the host (0 when not running). */
  pid: number;
  exitCode: number;
  /** 'starting' | 'healthy' | 'unhealthy' when the container has a health check. */
  health: string | undefined;
}

export async function containerState(id: string): Promise<ContainerState> {
  const { stdout } = await docker(['inspect', '--format', '{{json .State}}|{{.RestartCount}}', id]);
  const [json, restarts] = stdout.trim().split('|');
  const s = JSON.parse(json ?? '{}') as { Status: ContainerState['status']; Running: boolean; Paused: boolean; Pid: number; ExitCode: number; Health?: { Status: string } };
  return { status: s.Status, running: s.Running, paused: s.Paused, restartCount: Number(restarts), pid: s.Pid, exitCode: s.ExitCode, health: s.Health?.Status };
}

/** `docker kill`: the engine counts it as a deliberate stop, so a restart policy does NOT bring it back. */
export async function killContainer(id: string, signal = 'KILL'): Promise<void> {
  await docker(['kill', '--signal', signal, id]);
}

/**
 * SIGKILL the container's main process from the host: to the engine this is a crash (no `docker kill`
 * recorded), so `restart: unless-stopped` / `on-failure` brings the container back on its own. Needs the
 * rights to signal the process (root here, as in CI). Returns the restart count before the crash.
 */
export async function crashContainer(id: string): Promise<number> {
  const s = await containerState(id);
  if (!s.running || s.pid <= 0) throw new DockerError(`${id} is not running (${s.status})`);
  process.kill(s.pid, 'SIGKILL');
  return s.restartCount;
}

export async function stopContainer(id: string, timeoutS = 10): Promise<void> {
  await docker(['stop', '--time', String(timeoutS), id], { timeoutMs: (timeoutS + 30) * 1000 });
}

export async function startContainer(id: string): Promise<void> {
  await docker(['start', id]);
}

/** Freeze every process of the container (cgroup freezer): the node stops answering but keeps its sockets. */
export async function pauseContainer(id: string): Promise<void> {
  await docker(['pause', id]);
}

export async function unpauseContainer(id: string): Promise<void> {
  await docker(['unpause', id]);
}

/** Remove a container (forced) and its anonymous volumes; a container already gone is not an error. */
export async function removeContainer(id: string): Promise<void> {
  try {
    await docker(['rm', '--force', '--volumes', id]);
  } catch (e) {
    if (!/No such container/i.test((e as Error).message)) throw e;
  }
}

/** True when the engine no longer knows the container (removed). */
export async function isContainerGone(id: string): Promise<boolean> {
  try {
    await docker(['inspect', '--format', '{{.Id}}', id]);
    return false;
  } catch (e) {
    if (/No such (object|container)/i.test((e as Error).message)) return true;
    throw e;
  }
}

/** Write the container's whole log (stdout and stderr, with timestamps) to `file`. */
export async function saveContainerLogs(id: string, file: string): Promise<void> {
  const { stdout, stderr } = await docker(['logs', '--timestamps', id]);
  await writeFile(file, stdout + stderr);
}

/**
 * A port on `host` that nothing listens on right now, from the kernel's ephemeral range. Bound on the
 * exact loopback address the node will use, so it is checked where it matters (a port free on 127.0.0.1
 * says nothing about 127.0.0.57 and vice versa, unless someone binds the wildcard).
 */
export async function freePortOn(host: string): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, host, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}

/** One port free on every one of `hosts` (compose gives all nodes the same port, each on its own address). */
export async function freePortOnAll(hosts: readonly string[], attempts = 20): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const port = await freePortOn(hosts[0] ?? '127.0.0.1');
    const others = await Promise.all(hosts.slice(1).map((h) => portFree(h, port)));
    if (others.every(Boolean)) return port;
  }
  throw new DockerError(`no port free on all of ${hosts.join(', ')} after ${attempts} attempts`);
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen(port, host, () => s.close(() => ok(true)));
  });
}

/**
 * `count` distinct loopback addresses 127.0.0.x with x drawn at random from 20..250: tests that run a
 * cluster on fixed-looking addresses (compose) each get their own, away from docker-compose.yml's
 * defaults (.11–.13) that a developer may have running.
 */
export function randomLoopbackAddresses(count: number, random: () => number = Math.random): string[] {
  const picked = new Set<number>();
  while (picked.size < count) picked.add(20 + Math.floor(random() * 231));
  return [...picked].map((x) => `127.0.0.${x}`);
}
