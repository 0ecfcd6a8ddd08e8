/**
 * The harness's own bookkeeping on the smallest real cluster (one node): where things live, the logs it
 * keeps and copies, and that destroy() leaves no process and no directory behind. Option checks need no
 * process at all.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeBackend, NodeExit, NodeHandle, NodeLaunchSpec } from '../../cluster/backend.js';
import { Cluster } from '../../cluster/cluster.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A stand-in backend: each "node" is an HTTP server in this process on the node's client address that
 * answers GET /healthz and never answers GET /v1/status, as a node busy hashing a large state would not
 * within a poll's timeout.
 */
class HealthOnlyBackend implements NodeBackend {
  readonly name = 'health-only';
  statusRequests = 0;

  async launch(spec: NodeLaunchSpec): Promise<NodeHandle> {
    const listen = spec.argv[spec.argv.indexOf('--listen-client') + 1] as string;
    const [host, port] = listen.split(':') as [string, string];
    const server = createServer((req, res) => {
      if (req.url === '/healthz') res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"value":{"up":true}}');
      else if (req.url === '/v1/status') this.statusRequests++; // never answered
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(Number(port), host, resolve));
    let exit: NodeExit | undefined;
    let settle: (e: NodeExit) => void = () => undefined;
    const exited = new Promise<NodeExit>((resolve) => (settle = resolve));
    const end = async (signal: string): Promise<NodeExit> => {
      if (exit === undefined) {
        exit = { code: null, signal };
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        settle(exit);
      }
      return exited;
    };
    return { id: spec.id, description: `server ${listen}`, exited, isRunning: () => exit === undefined, isPaused: () => false, kill: () => end('SIGKILL'), stop: () => end('SIGTERM'), pause: async () => undefined, resume: async () => undefined };
  }

  async close(): Promise<void> {}
}

describe('Cluster', { timeout: 120_000 }, () => {
  it('counts a launched node as serving once it answers /healthz, without asking /v1/status (which captures and hashes the whole state)', async () => {
    const backend = new HealthOnlyBackend();
    const c = await Cluster.start({ nodes: ['a', 'b'], relays: false, backend, startTimeoutMs: 5000 });
    cleanups.push(() => c.destroy());
    expect(c.isRunning('a') && c.isRunning('b')).toBe(true);
    await c.kill('a');
    await c.restart('a');
    expect(c.isRunning('a')).toBe(true);
    expect(backend.statusRequests).toBe(0);
  });

  it('lays a node out on its own loopback address behind a relay, keeps its log, copies logs for a report, and destroy leaves nothing', async () => {
    const c = await Cluster.start({ nodes: ['solo'] });
    cleanups.push(() => c.destroy());
    const n = c.node('solo');
    expect(n.host).toMatch(/^127\.0\.0\.\d+$/);
    expect(n.peerListen.startsWith(`${n.host}:`)).toBe(true);
    expect(n.peerAdvertised.startsWith(`${n.host}:`)).toBe(true);
    expect(n.peerAdvertised).not.toBe(n.peerListen);
    expect(n.clientUrl.startsWith(`http://${n.host}:`)).toBe(true);
    expect(c.initialCluster()).toBe(`solo=${n.peerAdvertised}`);
    expect(await c.waitForLeader()).toBe('solo');
    // Its own member record names the relay: that is the address the others would dial.
    expect((await c.status('solo'))?.members).toEqual([expect.objectContaining({ id: 'solo', peerUrl: n.peerAdvertised })]);
    expect(() => c.cut('solo', 'solo')).toThrow(/two nodes/);
    expect(() => c.node('nobody')).toThrow(/unknown node "nobody"/);

    await c.kill('solo');
    expect(c.isRunning('solo')).toBe(false);
    expect(await c.status('solo')).toBeUndefined();
    await c.restart('solo');
    expect(await c.waitForLeader()).toBe('solo');
    await expect(c.restart('solo')).rejects.toThrow(/still running/);

    const report = await mkdtemp(join(tmpdir(), 'raft-ipam-report-'));
    cleanups.push(() => rm(report, { recursive: true, force: true }));
    expect((await c.copyLogs(report)).map((p) => p.slice(report.length + 1)).sort()).toEqual(['harness.log', 'solo.log']);
    const harness = await readFile(join(report, 'harness.log'), 'utf8');
    expect(harness).toMatch(/start 1 nodes .*solo@127\.0\.0\.\d+[\s\S]*kill solo[\s\S]*restart solo/);
    // Two launches, each announced in the node's log, with the node's own JSON lines after each.
    const log = await readFile(join(report, 'solo.log'), 'utf8');
    expect(log.match(/"harness":"launch"/g)).toHaveLength(2);
    expect(log).toMatch(/"msg":"serving"/);

    const pid = Number(/^pid (\d+)$/.exec(c.handle('solo')?.description ?? '')?.[1]);
    expect(alive(pid)).toBe(true);
    await c.destroy();
    expect(alive(pid)).toBe(false);
    expect(existsSync(c.root)).toBe(false);
    await c.destroy(); // idempotent
  });

  it('layout() lays nodes out without launching them; startAll({ clusterId }) starts them under that id, once', async () => {
    const c = await Cluster.layout({ nodes: ['a'], relays: false, clusterId: 'not-this-one' });
    cleanups.push(() => c.destroy());
    const a = c.node('a');
    expect(c.nodes()).toEqual([a]);
    expect(a.peerAdvertised).toBe(a.peerListen);
    expect(existsSync(a.dataDir)).toBe(true);
    expect(c.handle('a')).toBeUndefined();
    expect(c.isRunning('a')).toBe(false);
    expect(await c.status('a')).toBeUndefined();
    await expect(c.startAll({ clusterId: 'bad id' })).rejects.toThrow(/clusterId: cluster id must match/);
    // The id given to startAll (known only after the layout, as after a restore) wins over the option.
    await c.startAll({ clusterId: 'restored-1' });
    expect(await c.waitForLeader()).toBe('a');
    expect((await c.status('a'))?.clusterId).toBe('restored-1');
    await expect(c.startAll()).rejects.toThrow(/started already/);
    // A restart keeps the id: the data directory would refuse any other (StorageForeign).
    await c.kill('a');
    await c.restart('a');
    expect((await c.status('a'))?.clusterId).toBe('restored-1');
    const harness = await readFile(join(c.root, 'harness.log'), 'utf8');
    expect(harness).toMatch(/lay out 1 nodes \(plaintext, no relays, backend process\): a@127\.0\.0\.\d+\n.*start 1 nodes \(cluster id restored-1\)/);
    await c.destroy();
    expect(existsSync(c.root)).toBe(false);
  });

  it('refuses bad options before starting anything', async () => {
    const bad: Array<[Parameters<typeof Cluster.start>[0], RegExp]> = [
      [{ nodes: 0 }, /nodes must be 1..50/],
      [{ nodes: ['a', 'a'] }, /distinct/],
      [{ nodes: ['a b'] }, /node id/],
      [{ nodes: ['a', 'b'], hosts: ['127.0.0.2'] }, /one address per node/],
      [{ nodes: ['a', 'b'], hosts: ['127.0.0.2', '10.0.0.2'] }, /127.0.0.0\/8/],
      [{ nodes: ['a', 'b'], hosts: ['127.0.0.2', '127.0.0.2'] }, /distinct/],
      [{ root: 'relative' }, /absolute/],
      [{ tickMs: 0 }, /tickMs/],
      [{ clusterId: '-x' }, /clusterId: cluster id must match/],
    ];
    for (const [options, message] of bad) {
      await expect(Cluster.start(options), JSON.stringify(options)).rejects.toThrow(message);
      await expect(Cluster.layout(options), JSON.stringify(options)).rejects.toThrow(message);
    }
  });
});

