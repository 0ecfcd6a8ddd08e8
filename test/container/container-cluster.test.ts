/**
 * The chaos harness's scenario API (cluster/cluster.ts) on the container backend: three `raft-ipam serve`
 * nodes, each in its own container of the raft-ipam:dev image with host networking, their data directories
 * and the harness's TLS directory bind-mounted at the same host paths, every peer listener behind a harness
 * relay in this process. The faults are Docker's: `docker kill`, a new container on the same data
 * directory, `docker pause`/`unpause`; and the relays' cuts, which need the relays to identify container
 * processes by their source IP.
 *
 * Timeouts only bound waits; every assertion is about what the cluster did, not how fast.
 * Needs a Docker engine (scripts/docker-engine.sh; .ci/run runs it). Without one this test FAILS with a
 * message saying so — it never skips.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Cluster, type ClusterOptions } from '../../cluster/cluster.js';
import { ContainerBackend, HARNESS_LABEL, type ContainerHandle } from '../../cluster/container-backend.js';
import { containerState, docker, ensureImage, isContainerGone, requireDocker } from '../../cluster/docker.js';
import { IpamClientError } from '../../src/api/client.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 120_000);

beforeAll(async () => {
  await requireDocker();
  await ensureImage();
}, 600_000);

/** Containers of this test process's backends still known to the engine, running or not. */
async function ours(): Promise<string[]> {
  const { stdout } = await docker(['ps', '--all', '--quiet', '--filter', `label=${HARNESS_LABEL}`, '--filter', `label=org.raft-ipam.harness-pid=${process.pid}`]);
  return stdout.split('\n').filter(Boolean);
}

/** A container cluster that is destroyed (and its backend closed) however the test ends; a failure keeps the logs. */
async function cluster(options: ClusterOptions = {}): Promise<Cluster> {
  const backend = new ContainerBackend({ build: false });
  cleanups.push(() => backend.close());
  const c = await Cluster.start({ ...options, backend, startTimeoutMs: 60_000 });
  cleanups.push(() => c.destroy());
  onTestFailed(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'raft-ipam-container-cluster-'));
    await c.copyLogs(dir);
    console.error(`container cluster logs kept in ${dir}`);
  });
  return c;
}

/** Poll an async condition until it holds; the timeout bounds the wait and fails with `what`. */
async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The slices a node holds in its own local state (a stale read answered by that node alone). */
async function slicesAt(c: Cluster, id: string): Promise<string[]> {
  const view = await c.client({ endpoints: [c.node(id).clientUrl] }).slices('pods', { consistency: 'stale' });
  return view.slices.map((s) => s.nodeId).sort();
}

const handle = (c: Cluster, id: string): ContainerHandle => c.handle(id) as ContainerHandle;

// A bound for a slow, shared machine (three containers and a Raft election on two cores); nothing measures it.
const WAIT = { timeoutMs: 60_000 };

describe('a 3-node cluster on the container backend', { timeout: 300_000 }, () => {
  it('mutual TLS: docker kill of the leader → a new leader; a new container on the same data directory keeps its state and catches up; docker pause of the leader → replaced, and it follows after unpause', async () => {
    const c = await cluster({ tls: true });
    expect(c.backend.name).toBe('container');
    for (const id of c.ids()) {
      const h = handle(c, id);
      expect(h.description).toMatch(/^container /);
      // The node's files are the harness's, at the host paths argv names (the image's VOLUME gets an
      // anonymous volume too, unused, removed with the container).
      const { stdout } = await docker(['inspect', '--format', '{{range .Mounts}}{{if eq .Type "bind"}}{{.Source}}={{.Destination}}:{{.RW}} {{end}}{{end}}', h.containerId]);
      expect(stdout.trim().split(' ').sort()).toEqual([`${c.node(id).dataDir}=${c.node(id).dataDir}:true`, `${c.tlsDir}=${c.tlsDir}:false`].sort());
    }
    const first = await c.waitForLeader(WAIT);
    const client = c.client({ session: true });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    await client.assignSlice({ network: 'pods', nodeId: 'before' });
    await c.waitForConvergence(WAIT);

    // docker kill: SIGKILL, the engine's 137, and the container is gone (a restart will be a new one).
    const killed = handle(c, first);
    await c.kill(first);
    expect(await killed.exited).toEqual({ code: 137, signal: null });
    expect(c.isRunning(first)).toBe(false);
    expect(await isContainerGone(killed.containerId)).toBe(true);
    const second = await c.waitForLeader({ ...WAIT, exclude: [first] });
    await client.assignSlice({ network: 'pods', nodeId: 'while-down' });

    // Restart cut off from its peers: whatever it then holds came from its own data directory.
    c.isolate(first);
    await c.restart(first);
    const restarted = handle(c, first);
    expect(restarted.containerId).not.toBe(killed.containerId);
    // (Polled: a restarted node may apply its committed entries after it starts answering.)
    await until(`${first} to hold what it had on disk`, async () => JSON.stringify(await slicesAt(c, first).catch(() => [])) === '["before"]');
    expect(await slicesAt(c, first)).toEqual(['before']);
    c.heal();
    await c.waitForConvergence(WAIT);
    expect(await slicesAt(c, first)).toEqual(['before', 'while-down']);

    // docker pause of the leader: it keeps its sockets but answers nothing; the others elect a leader.
    const leader = await c.waitForLeader(WAIT);
    await c.pause(leader);
    expect(c.isPaused(leader)).toBe(true);
    expect(await containerState(handle(c, leader).containerId)).toMatchObject({ status: 'paused' });
    expect(await c.status(leader)).toBeUndefined();
    const third = await c.waitForLeader({ ...WAIT, exclude: [leader] });
    expect(third).not.toBe(leader);
    await client.assignSlice({ network: 'pods', nodeId: 'while-paused' });
    await c.resume(leader);
    expect(c.isPaused(leader)).toBe(false);
    const converged = await c.waitForConvergence(WAIT);
    // Thawed, the old leader learns the higher term and follows (the cluster agrees on one leader again).
    await until(`${leader} to follow`, async () => (await c.status(leader))?.role === 'follower');
    expect(await c.waitForLeader(WAIT)).not.toBe(leader);
    for (const id of c.ids()) {
      expect((await c.status(id))?.stateHash).toBe(converged.stateHash);
      expect(await slicesAt(c, id)).toEqual(['before', 'while-down', 'while-paused']);
    }
    expect(second).not.toBe(first);
    // The killed run's launch line and the restarted run's both in one log file.
    expect((await c.readLog(first)).match(/"harness":"launch","backend":"container"/g)).toHaveLength(2);
  });

  it('an isolated leader (relays identify container processes by source IP): the majority elects, the old one commits nothing and steps down; heal → one state hash; destroy leaves no container', async () => {
    const c = await cluster();
    const old = await c.waitForLeader(WAIT);
    const client = c.client({ session: true });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    await client.assignSlice({ network: 'pods', nodeId: 'before' });
    await c.waitForConvergence(WAIT);
    const network = c.network;
    if (!network) throw new Error('the cluster was started with relays');
    // Every peer connection through a relay came from another member's own 127.0.0.x: a container with
    // host networking dials from the address it was told to, so cuts can tell the nodes apart.
    const hostOf = new Map(c.ids().map((id) => [c.node(id).host, id]));
    for (const id of c.ids()) {
      const conns = network.connections(id);
      expect(conns.length, `connections through ${id}'s relay`).toBeGreaterThan(0);
      for (const conn of conns) {
        expect(conn.dialer).not.toBeNull();
        expect(conn.dialer).not.toBe(id);
        expect(hostOf.get(conn.source)).toBe(conn.dialer);
      }
    }

    const majority = c.ids().filter((id) => id !== old);
    c.partition([[old], majority]);
    // A write only the old leader is asked to make is never acknowledged: it cannot reach a quorum.
    const lonely = c.client({ endpoints: [c.node(old).clientUrl], timeoutMs: 4000 });
    const refused = await lonely.assignSlice({ network: 'pods', nodeId: 'written-to-the-old-leader' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(IpamClientError);
    expect(['unavailable', 'outcome-unknown']).toContain((refused as IpamClientError).kind);

    const next = await c.waitForLeader({ ...WAIT, among: majority });
    expect(majority).toContain(next);
    await client.assignSlice({ network: 'pods', nodeId: 'during-partition' });
    // CheckQuorum: hearing from nobody, the old leader gives up leading and knows no leader.
    await until(`${old} to step down`, async () => {
      const s = await c.status(old);
      return s !== undefined && s.role !== 'leader' && s.leader === null;
    });
    expect(await slicesAt(c, old)).toEqual(['before']);

    c.heal();
    const converged = await c.waitForConvergence(WAIT);
    for (const id of c.ids()) {
      expect((await c.status(id))?.stateHash).toBe(converged.stateHash);
      expect(await slicesAt(c, id)).toEqual(['before', 'during-partition']);
    }

    const names = c.ids().map((id) => handle(c, id).containerId);
    expect((await ours()).length).toBeGreaterThanOrEqual(3);
    await c.destroy();
    await c.backend.close();
    for (const name of names) expect(await isContainerGone(name)).toBe(true);
    expect(await ours()).toEqual([]);
  });
});
