/**
 * A raft-ipam cluster of real processes on loopback: each node is `raft-ipam serve` in its own child
 * process, with its own data directory, peer port and HTTP port, and its log in a file the harness keeps.
 * The harness starts, kills (SIGKILL), stops (SIGTERM), pauses (SIGSTOP/SIGCONT) and restarts nodes on
 * the same data, and finds the leader through each node's /v1/status. It is used by the demo, the
 * process tests and the chaos suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ProcessNode {
  id: string;
  peer: string;
  client: string;
  url: string;
  dataDir: string;
  logFile: string;
  child: ChildProcess | undefined;
  paused: boolean;
}

export interface ProcessClusterOptions {
  ids?: string[];
  /** Root for data dirs and logs (default: a new temporary directory, removed by destroy()). */
  root?: string;
  tlsDir?: string;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  snapshotEntries?: number;
  extraArgs?: string[];
  token?: string;
  /** --cluster-id of every node (default: serve's own default). */
  clusterId?: string;
}

export interface StatusBody {
  id: string;
  role: string;
  term: number;
  leader: { id: string; clientUrl?: string } | null;
  commit: number;
  applied: number;
  lastIndex: number;
  snapshotIndex: number;
  members: Array<{ id: string; role: string }>;
  stateHash: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * How to run the CLI: from a build (dist/cluster next to dist/src) the compiled sibling, so the demo of an
 * installed package runs what was built; from the sources (tests) the TypeScript itself through tsx, so a
 * test never runs a stale build.
 */
function cliCommand(): { cmd: string; args: string[] } {
  const compiled = resolve(here, '../src/cli/main.js');
  if (existsSync(compiled)) return { cmd: process.execPath, args: [compiled] };
  return { cmd: process.execPath, args: ['--import', 'tsx', resolve(here, '../src/cli/main.ts')] };
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((ok, fail) => {
      const s = createServer();
      s.once('error', fail);
      s.listen(0, '127.0.0.1', () => ok(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export class ProcessCluster {
  readonly nodes = new Map<string, ProcessNode>();
  private ownsRoot = false;
  private clusterId: string | undefined;

  private constructor(
    readonly root: string,
    private readonly options: ProcessClusterOptions,
  ) {
    this.clusterId = options.clusterId;
  }

  /** Lay out the nodes (ports, data dirs, log files) and start them all. */
  static async start(options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const c = await ProcessCluster.layout(options);
    await c.startAll();
    return c;
  }

  /**
   * Lay out the nodes (ports, data dirs, log files) without starting them, so their data directories can
   * be prepared first (a snapshot restore); then startAll().
   */
  static async layout(options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const root = options.root ?? (await mkdtemp(join(tmpdir(), 'raft-ipam-cluster-')));
    const c = new ProcessCluster(root, options);
    c.ownsRoot = options.root === undefined;
    const ids = options.ids ?? ['n1', 'n2', 'n3'];
    const ports = await freePorts(ids.length * 2);
    ids.forEach((id, i) => {
      const peer = `127.0.0.1:${ports[2 * i]}`;
      const client = `127.0.0.1:${ports[2 * i + 1]}`;
      c.nodes.set(id, { id, peer, client, url: `http://${client}`, dataDir: join(root, id, 'data'), logFile: join(root, id, 'node.log'), child: undefined, paused: false });
    });
    return c;
  }

  /** The --cluster-id of nodes started from now on (a restore derives it after the layout is made). */
  setClusterId(id: string): void {
    this.clusterId = id;
  }

  /** Start every laid-out node that is not running, as founding members (--initial-cluster-state new). */
  async startAll(): Promise<void> {
    for (const id of this.nodes.keys()) if (!this.isRunning(id)) await this.spawnNode(id, 'new');
  }

  get endpoints(): string[] {
    return [...this.nodes.values()].map((n) => n.url);
  }

  initialCluster(): string {
    return [...this.nodes.values()].map((n) => `${n.id}=${n.peer}`).join(',');
  }

  /** Lay out a node that is not a member yet (ports, dirs); start it with startJoining() after members add. */
  async prepareNode(id: string): Promise<ProcessNode> {
    const [p, q] = await freePorts(2);
    const node: ProcessNode = { id, peer: `127.0.0.1:${p}`, client: `127.0.0.1:${q}`, url: `http://127.0.0.1:${q}`, dataDir: join(this.root, id, 'data'), logFile: join(this.root, id, 'node.log'), child: undefined, paused: false };
    this.nodes.set(id, node);
    return node;
  }

  async startJoining(id: string): Promise<void> {
    await this.spawnNode(id, 'existing');
  }

  private async spawnNode(id: string, state: 'new' | 'existing'): Promise<void> {
    const node = this.node(id);
    await mkdir(node.dataDir, { recursive: true });
    const o = this.options;
    const { cmd, args } = cliCommand();
    const argv = [
      ...args,
      'serve',
      '--name', id,
      '--data-dir', node.dataDir,
      '--listen-peer', node.peer,
      '--listen-client', node.client,
      '--initial-cluster', this.initialCluster(),
      '--initial-cluster-state', state,
      ...(o.tlsDir ? ['--tls-dir', o.tlsDir] : ['--insecure']),
      '--tick-ms', String(o.tickMs ?? 50),
      '--election-ticks', String(o.electionTicks ?? 10),
      '--heartbeat-ticks', String(o.heartbeatTicks ?? 2),
      ...(o.snapshotEntries ? ['--snapshot-entries', String(o.snapshotEntries)] : []),
      ...(o.token ? ['--token', o.token] : []),
      ...(this.clusterId ? ['--cluster-id', this.clusterId] : []),
      ...(o.extraArgs ?? []),
    ];
    const log = createWriteStream(node.logFile, { flags: 'a' });
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAFT_IPAM_LOG_LEVEL: process.env.RAFT_IPAM_LOG_LEVEL ?? 'info' } });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.once('exit', () => log.end());
    node.child = child;
    node.paused = false;
  }

  node(id: string): ProcessNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** SIGKILL: no shutdown, unsynced writes lost; the data directory stays for a restart. */
  async kill(id: string): Promise<void> {
    await this.signalAndWait(id, 'SIGKILL');
  }

  /** SIGTERM: a graceful stop. */
  async stop(id: string): Promise<void> {
    await this.signalAndWait(id, 'SIGTERM');
  }

  pause(id: string): void {
    const n = this.node(id);
    n.child?.kill('SIGSTOP');
    n.paused = true;
  }

  resume(id: string): void {
    const n = this.node(id);
    n.child?.kill('SIGCONT');
    n.paused = false;
  }

  /** Start a stopped or killed node again on the same data directory. */
  async restart(id: string): Promise<void> {
    const n = this.node(id);
    if (n.child && n.child.exitCode === null && n.child.signalCode === null) throw new Error(`${id} is still running`);
    await this.spawnNode(id, 'existing');
  }

  isRunning(id: string): boolean {
    const c = this.node(id).child;
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  async status(id: string, timeoutMs = 1000): Promise<StatusBody | undefined> {
    const n = this.node(id);
    if (!this.isRunning(id) || n.paused) return undefined;
    try {
      const r = await fetch(`${n.url}/v1/status`, { signal: AbortSignal.timeout(timeoutMs), headers: this.options.token ? { authorization: `Bearer ${this.options.token}` } : {} });
      if (!r.ok) return undefined;
      const body = (await r.json()) as { ok: boolean; value?: StatusBody };
      return body.ok ? body.value : undefined;
    } catch {
      return undefined;
    }
  }

  /** The node every running member agrees leads (by its own status), within `timeoutMs`. */
  async waitForLeader(timeoutMs = 30_000, exclude: string[] = []): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const id of this.nodes.keys()) {
        if (exclude.includes(id)) continue;
        const s = await this.status(id, 500);
        if (s?.role === 'leader' && !exclude.includes(s.id)) return s.id;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no leader within ${timeoutMs} ms; logs in ${this.root}`);
  }

  /** Wait until every running node reports the same applied index and state hash. */
  async waitForConvergence(timeoutMs = 30_000): Promise<{ applied: number; stateHash: string }> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const ids = [...this.nodes.keys()].filter((id) => this.isRunning(id) && !this.node(id).paused);
      const ss = await Promise.all(ids.map((id) => this.status(id)));
      if (ss.every((s) => s !== undefined)) {
        const hashes = new Set(ss.map((s) => s?.stateHash));
        const commits = ss.map((s) => s?.commit ?? 0);
        const applied = new Set(ss.map((s) => s?.applied));
        last = JSON.stringify(ss.map((s) => [s?.id, s?.applied, s?.stateHash.slice(0, 8)]));
        if (hashes.size === 1 && applied.size === 1 && Math.max(...commits) === ss[0]?.applied) return { applied: ss[0]?.applied ?? 0, stateHash: ss[0]?.stateHash ?? '' };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nodes did not converge within ${timeoutMs} ms (last: ${last}); logs in ${this.root}`);
  }

  async log(id: string): Promise<string> {
    return readFile(this.node(id).logFile, 'utf8').catch(() => '');
  }

  /** Stop every node (SIGKILL after a grace period) and remove the root directory if we made it. */
  async destroy(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map(async (id) => {
      const n = this.node(id);
      if (n.paused) this.resume(id);
      if (this.isRunning(id)) await this.signalAndWait(id, 'SIGTERM', 3000).catch(() => this.signalAndWait(id, 'SIGKILL'));
    }));
    if (this.ownsRoot) await rm(this.root, { recursive: true, force: true });
  }

  private signalAndWait(id: string, signal: NodeJS.Signals, timeoutMs = 10_000): Promise<void> {
    const n = this.node(id);
    const child = n.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    if (n.paused && signal !== 'SIGKILL') this.resume(id);
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`${id} did not exit on ${signal} within ${timeoutMs} ms`)), timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        n.paused = false;
        ok();
      });
      child.kill(signal);
    });
  }
}
