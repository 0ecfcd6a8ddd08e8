/**
 * How the harness runs one node: a backend launches `raft-ipam <argv…>` somewhere and hands back a handle
 * to signal it. The scenario API (cluster.ts) decides everything else — addresses, ports, data
 * directories, certificates, relays — and passes it in as plain argv, env and paths, so a backend knows
 * nothing about Raft or the cluster.
 *
 * Two backends implement it (backends.ts picks one by name):
 * - `process` (process-backend.ts): a child process of the test; signals are POSIX signals.
 * - `container` (container-backend.ts): one container per run with host networking (so the node can bind
 *   its own 127.0.0.x address and the harness's relays are reachable), `dataDir` and `readOnlyDirs`
 *   bind-mounted at the same paths, stdout/stderr streamed into `logFile`; kill = `docker kill` (SIGKILL),
 *   stop = `docker kill --signal TERM` then SIGKILL after the grace, pause/resume = `docker pause`/`unpause`
 *   (the cgroup freezer: like SIGSTOP, the process cannot tell).
 *
 * Every path is a host path and the node must see it at the same path: the harness puts those paths in
 * argv (`--data-dir`, `--tls-dir`), and a backend that translated them would have to rewrite argv.
 */

export interface NodeLaunchSpec {
  /** The member id; names the process or container in logs and errors, nothing more. */
  readonly id: string;
  /** Arguments after the CLI entry point, e.g. ['serve', '--name', 'n1', …]. */
  readonly argv: readonly string[];
  /** Added to the environment the backend gives every node (RAFT_IPAM_* settings, log level). */
  readonly env: Readonly<Record<string, string>>;
  /** Host file that receives stdout and stderr, appended to (a restart continues the same file). */
  readonly logFile: string;
  /** Host directory the node writes (its --data-dir); must exist before launch. */
  readonly dataDir: string;
  /** Other host directories the node reads at the same path (the TLS directory). */
  readonly readOnlyDirs?: readonly string[];
}

/** How a node ended: an exit code, or the signal that ended it (a container reports 137 for SIGKILL). */
export interface NodeExit {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface NodeHandle {
  readonly id: string;
  /** For messages: "pid 1234", "container 3f2a…". */
  readonly description: string;
  /**
   * The node's process id on this host, when the backend runs it as a child process (the process
   * backend): for reading its resident memory from /proc or sending it a signal the handle has no method
   * for (a profiler's SIGUSR2). Undefined when the backend cannot name one (containers).
   */
  readonly pid?: number;
  /** Settles once the node is gone, however it ended (never rejects). */
  readonly exited: Promise<NodeExit>;
  /** Launched and not exited yet; a paused node is still running. */
  isRunning(): boolean;
  isPaused(): boolean;
  /** SIGKILL (no shutdown: writes not yet synced are lost); resolves when the node is gone. */
  kill(): Promise<NodeExit>;
  /**
   * SIGTERM, the graceful stop (the node settles its batch and unlocks its data directory); SIGKILL if it
   * is still there after `graceMs`. A paused node is resumed first, or it could not handle the signal.
   */
  stop(graceMs?: number): Promise<NodeExit>;
  /** Freeze the node (SIGSTOP, `docker pause`): it keeps its sockets and state but runs no code. */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export interface NodeBackend {
  /** 'process', 'container': shown in reports. */
  readonly name: string;
  /** Start one node; resolves once it has been launched (not once it serves: the cluster polls for that). */
  launch(spec: NodeLaunchSpec): Promise<NodeHandle>;
  /** Release what the backend holds for all nodes (a Docker client, a built image); nodes are gone by then. */
  close(): Promise<void>;
}

/** The tail of every backend's stop(): wait up to `graceMs` for the node to exit after SIGTERM, then kill it. */
export async function exitWithin(exited: Promise<NodeExit>, graceMs: number, kill: () => Promise<NodeExit>): Promise<NodeExit> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), graceMs)));
  const first = await Promise.race([exited, late]);
  clearTimeout(timer);
  return first === 'late' ? kill() : first;
}
