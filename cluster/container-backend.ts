/**
 * The `container` backend: each node is `raft-ipam …` in its own container of the raft-ipam image, started
 * through testcontainers 11 against this machine's Docker engine.
 *
 * - Host networking: the node binds its own 127.0.0.x like a child process would, so the harness's relays
 *   (which run in the test process) see the node's own source IP and partitions work unchanged; nothing
 *   leaves loopback (GUIDE §4).
 * - The data directory (read-write) and every `readOnlyDirs` entry (read-only: the TLS directory) are
 *   bind-mounted at the SAME path, because the harness names host paths in argv.
 * - Runs as the invoking uid:gid (root here), not the image's user 1000: the node must write the data
 *   directory the harness made and read the TLS key it wrote with mode 0600.
 * - stdout/stderr stream (testcontainers' log consumer: `docker logs --follow` over the engine API) into
 *   the spec's log file; `exited` settles only once that stream has drained, so a reader sees the last line.
 * - Faults go through the `docker` command line (cluster/docker.ts), what an operator would type:
 *   kill = `docker kill` (SIGKILL), stop = `docker kill --signal TERM`, then SIGKILL after the grace,
 *   pause/resume = `docker pause`/`unpause` (the cgroup freezer).
 * - A container is used once: a restart is a NEW container on the same data directory (Cluster.restart
 *   launches again), and each container is removed as soon as it has exited and its log is drained, so a
 *   long chaos run does not pile up stopped containers. close() removes whatever is left; a harness that
 *   exits without close() removes its containers synchronously on the way out.
 *
 * The engine reports only an exit status: a SIGKILLed node exits with code 137 (128 + 9) and signal null.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { exitWithin, type NodeBackend, type NodeExit, type NodeHandle, type NodeLaunchSpec } from './backend.js';
import { configureTestcontainers, DEFAULT_IMAGE, ensureImage, killContainer, pauseContainer, unpauseContainer } from './docker.js';
import { checkLaunchSpec } from './process-backend.js';

export interface ContainerBackendOptions {
  /** Image to run (default DEFAULT_IMAGE: RAFT_IPAM_IMAGE or raft-ipam:dev). */
  image?: string;
  /** Bring the image up to date with scripts/build-image.sh before the first launch (default true). */
  build?: boolean;
  /** Replace the image's entrypoint (a stand-in node for tests); argv still follows it. */
  entrypoint?: readonly string[];
  /**
   * The environment every node starts from; each spec's env goes on top. Default: nothing. The harness's
   * own environment is NOT passed (unlike the process backend): PATH, HOME, NODE_OPTIONS (tsx!) of the
   * host mean nothing, or something wrong, inside the image.
   */
  env?: Readonly<Record<string, string>>;
  /** `user[:group]` inside the container (default: this process's uid:gid). */
  user?: string;
}

const DEFAULT_GRACE_MS = 10_000;
/** How long `exited` waits for the log stream to drain after the container stopped. */
const LOG_DRAIN_MS = 5_000;
/** Labels that mark the containers of this harness (`docker ps --filter label=…` finds leftovers). */
export const HARNESS_LABEL = 'org.raft-ipam.harness';

/** The engine's "already gone" answers: the node exited between our decision and the command. */
const NOT_RUNNING = /is not running|No such container|is not paused|removal .* in progress/i;

/**
 * GenericContainer with the image's HEALTHCHECK switched off: it probes RAFT_IPAM_LISTEN_CLIENT, which a
 * node configured through argv does not set, so it would only spawn a second node process every 5 s per
 * container (CPU that 2 shared cores lack) to report "unhealthy". The harness polls /v1/status itself.
 * testcontainers' typed withHealthCheck cannot express Docker's `NONE`.
 */
class NodeContainer extends GenericContainer {
  withoutHealthCheck(): this {
    this.createOpts.Healthcheck = { Test: ['NONE'] };
    return this;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ContainerHandle implements NodeHandle {
  readonly description: string;
  readonly exited: Promise<NodeExit>;
  private exit: NodeExit | undefined;
  private paused = false;

  constructor(
    readonly id: string,
    /** The engine's id of this run's container. */
    readonly containerId: string,
    /** Settles with the container's exit status once it is no longer running. */
    stopped: Promise<number | null>,
    /** Settles once the log stream into the log file has ended (or was given up on). */
    logDrained: () => Promise<void>,
    onGone: () => Promise<void>,
  ) {
    this.description = `container ${containerId.slice(0, 12)}`;
    this.exited = (async () => {
      const code = await stopped;
      await logDrained();
      this.exit = { code, signal: null };
      this.paused = false;
      await onGone();
      return this.exit;
    })();
  }

  isRunning(): boolean {
    return this.exit === undefined;
  }

  isPaused(): boolean {
    return this.paused;
  }

  async kill(): Promise<NodeExit> {
    // `docker kill` works on a paused container too (the engine thaws it after queueing SIGKILL).
    if (this.isRunning()) await this.signal('KILL');
    return this.exited;
  }

  async stop(graceMs = DEFAULT_GRACE_MS): Promise<NodeExit> {
    if (!Number.isFinite(graceMs) || graceMs < 0) throw new TypeError(`graceMs must be a non-negative number, got ${String(graceMs)}`);
    if (!this.isRunning()) return this.exited;
    if (this.paused) await this.resume();
    // Not `docker stop -t`: its grace is in whole seconds, and this keeps kill and stop on one path.
    await this.signal('TERM');
    return exitWithin(this.exited, graceMs, () => this.kill());
  }

  async pause(): Promise<void> {
    if (!this.isRunning() || this.paused) return;
    // `docker pause` returns once the freezer reports FROZEN: paused means paused.
    await this.tolerateGone(() => pauseContainer(this.containerId));
    if (this.isRunning()) this.paused = true;
  }

  async resume(): Promise<void> {
    if (!this.isRunning() || !this.paused) return;
    await this.tolerateGone(() => unpauseContainer(this.containerId));
    this.paused = false;
  }

  private async signal(signal: 'KILL' | 'TERM'): Promise<void> {
    await this.tolerateGone(() => killContainer(this.containerId, signal));
  }

  /** A command that fails because the container already stopped is no error: the caller wanted less of it. */
  private async tolerateGone(command: () => Promise<void>): Promise<void> {
    try {
      await command();
    } catch (e) {
      if (!NOT_RUNNING.test((e as Error).message)) throw e;
      // Let the wait API catch up, so isRunning() is false when we return.
      await Promise.race([this.exited, sleep(LOG_DRAIN_MS)]);
    }
  }
}

export class ContainerBackend implements NodeBackend {
  readonly name = 'container';
  private readonly image: string;
  private readonly build: boolean;
  private readonly entrypoint: readonly string[] | undefined;
  private readonly env: Readonly<Record<string, string>>;
  private readonly user: string;
  /** Every container this backend made and has not removed yet, by name → engine id (once known). */
  private readonly made = new Map<string, string | undefined>();
  private readonly handles = new Set<ContainerHandle>();
  private closed = false;
  /**
   * A harness that exits without close() (a crashed test worker) must not leave nodes running on the
   * shared engine. An 'exit' listener cannot await, so this one runs the docker CLI synchronously.
   */
  private readonly removeAllSync = (): void => {
    const names = [...this.made.keys()];
    if (names.length > 0) spawnSync('docker', ['rm', '--force', '--volumes', ...names], { stdio: 'ignore', timeout: 30_000 });
    this.made.clear();
  };

  constructor(options: ContainerBackendOptions = {}) {
    // No reaper, engine host on loopback: what testcontainers needs on this machine (see there).
    configureTestcontainers();
    this.image = options.image ?? DEFAULT_IMAGE;
    this.build = options.build ?? true;
    this.entrypoint = options.entrypoint;
    this.env = options.env ?? {};
    this.user = options.user ?? `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
    process.once('exit', this.removeAllSync);
  }

  /** Names of the containers this backend made that are not removed yet (for tests and reports). */
  containers(): string[] {
    return [...this.made.keys()];
  }

  async launch(spec: NodeLaunchSpec): Promise<NodeHandle> {
    if (this.closed) throw new Error('container backend is closed');
    checkLaunchSpec(spec);
    if (this.build) await ensureImage(this.image);
    // Unique per run: a restart is a new container while the engine may still be removing the old one.
    const name = `raft-ipam-${spec.id}-${randomBytes(4).toString('hex')}`;
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    const logClosed = new Promise<void>((resolve) => {
      log.once('close', resolve);
      // A log that cannot be written must not crash the harness (nor a late chunk after a forced end).
      log.on('error', () => resolve());
    });
    // One JSON line like the node's own (pino) lines, so a log reader sees where each run starts and in what.
    log.write(`${JSON.stringify({ harness: 'launch', backend: this.name, id: spec.id, time: new Date().toISOString(), container: name, image: this.image, argv: spec.argv })}\n`);

    const mounts = [
      { source: spec.dataDir, target: spec.dataDir, mode: 'rw' as const },
      ...(spec.readOnlyDirs ?? []).map((d) => ({ source: d, target: d, mode: 'ro' as const })),
    ];
    let builder = new NodeContainer(this.image)
      .withName(name)
      .withNetworkMode('host')
      .withUser(this.user)
      .withBindMounts(mounts)
      .withEnvironment({ ...this.env, ...spec.env })
      .withLabels({ [HARNESS_LABEL]: 'container-backend', 'org.raft-ipam.node': spec.id, 'org.raft-ipam.harness-pid': String(process.pid) })
      .withCommand([...spec.argv])
      .withoutHealthCheck()
      .withLogConsumer((stream) => {
        stream.pipe(log);
        stream.once('error', () => log.end());
      });
    if (this.entrypoint) builder = builder.withEntrypoint([...this.entrypoint]);

    this.made.set(name, undefined);
    let started: StartedTestContainer;
    try {
      started = await builder.start();
    } catch (e) {
      // Created but not started, or started and the wait failed: it must not outlive this error.
      await this.remove(name);
      if (!log.closed) log.end();
      throw e;
    }
    const containerId = started.getId();
    this.made.set(name, containerId);
    const handle = new ContainerHandle(
      spec.id,
      containerId,
      this.waitForExit(containerId),
      () => Promise.race([logClosed, sleep(LOG_DRAIN_MS)]).then(() => {
        // A stream that did not end by itself (engine trouble): close the file anyway.
        if (!log.closed) log.end();
      }),
      async () => {
        this.handles.delete(handle);
        await this.remove(name);
      },
    );
    this.handles.add(handle);
    return handle;
  }

  /** Kill every node still running and remove every container this backend made. */
  async close(): Promise<void> {
    this.closed = true;
    process.off('exit', this.removeAllSync);
    await Promise.all([...this.handles].map((h) => h.kill().catch(() => undefined)));
    await Promise.all([...this.made.keys()].map((name) => this.remove(name)));
  }

  /**
   * The container's exit status from the engine's wait API (a long poll, no child process); should the
   * connection fail, by polling inspect instead. Resolves null when the container vanished unseen.
   */
  private async waitForExit(containerId: string): Promise<number | null> {
    const client = await getContainerRuntimeClient();
    const container = client.container.getById(containerId);
    try {
      const r = (await container.wait({ condition: 'not-running' })) as { StatusCode?: number };
      return typeof r.StatusCode === 'number' ? r.StatusCode : null;
    } catch {
      for (;;) {
        try {
          const s = await container.inspect();
          if (!s.State.Running) return s.State.ExitCode;
        } catch {
          return null;
        }
        await sleep(200);
      }
    }
  }

  private async remove(name: string): Promise<void> {
    try {
      const client = await getContainerRuntimeClient();
      await client.container.getById(this.made.get(name) ?? name).remove({ force: true, v: true });
    } catch (e) {
      // Gone already is what we wanted; anything else is kept for the synchronous sweep at exit.
      if (!/no such container|404|removal .* in progress/i.test((e as Error).message)) return;
    }
    this.made.delete(name);
  }
}
