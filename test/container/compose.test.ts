/**
 * docker-compose.yml as shipped: a 3-node cluster in containers (the raft-ipam:dev image, mutual TLS with
 * the certs service's CA, named volumes, host networking on loopback), run under its own project name on
 * random 127.0.0.x addresses and free ports so it collides with nothing. It allocates under concurrent load,
 * `docker kill`s the leader's container, and checks from the clients' own records that a new leader took
 * over with every acknowledged allocation and no address granted twice; brings the container back with
 * `docker-compose start` and waits for all three to hold the same state hash; then crashes a node's
 * process from the host and checks that `restart: unless-stopped` brings it back by itself.
 *
 * Needs a Docker engine and docker-compose (scripts/docker-engine.sh; .ci/run runs it). Without one this
 * test FAILS with a message saying so — it never skips.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { ComposeProject } from '../../cluster/compose.js';
import { containerState, crashContainer, docker, ensureImage, freePortOnAll, killContainer, randomLoopbackAddresses, requireDocker } from '../../cluster/docker.js';
import { nodeStatus, waitForConvergence, waitForLeader, waitForReady } from '../../cluster/endpoints.js';
import { IpamClient, IpamClientError } from '../../src/api/client.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 120_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Grant {
  address: string;
  owner: string;
  generation: number;
}

const SERVICES = ['n1', 'n2', 'n3'] as const;
type Service = (typeof SERVICES)[number];

describe('docker-compose.yml: a 3-node cluster in containers', () => {
  it('serves with mutual TLS, survives docker kill of the leader with nothing lost or doubled, converges after start, restarts a crashed node by policy', { timeout: 300_000 }, async () => {
    await requireDocker();
    const image = await ensureImage();

    const ips = randomLoopbackAddresses(3);
    const peerPort = await freePortOnAll(ips);
    let clientPort = await freePortOnAll(ips);
    while (clientPort === peerPort) clientPort = await freePortOnAll(ips);
    const project = new ComposeProject(`ripamtest${process.pid}${Math.floor(Math.random() * 1e6)}`, {
      RAFT_IPAM_IMAGE: image,
      IPAM_N1_IP: ips[0] as string,
      IPAM_N2_IP: ips[1] as string,
      IPAM_N3_IP: ips[2] as string,
      IPAM_PEER_PORT: String(peerPort),
      IPAM_CLIENT_PORT: String(clientPort),
    });
    const url: Record<Service, string> = { n1: `http://${ips[0]}:${clientPort}`, n2: `http://${ips[1]}:${clientPort}`, n3: `http://${ips[2]}:${clientPort}` };
    const endpoints = SERVICES.map((s) => url[s]);

    // Teardown runs even when the test fails or times out; a failed run keeps every service's log.
    const logDir = await mkdtemp(join(tmpdir(), 'raft-ipam-compose-'));
    let keepLogs = false;
    onTestFailed(() => {
      keepLogs = true;
    });
    cleanups.push(async () => {
      await project.saveLogs(join(logDir, 'compose.log')).catch(() => undefined);
      await project.down();
      if (keepLogs) console.error(`compose test failed: service logs kept in ${logDir}/compose.log`);
      else await rm(logDir, { recursive: true, force: true });
    });

    // The file resolves with these parameters (what `docker-compose config` validates).
    const config = await project.config();
    expect(config).toContain(`RAFT_IPAM_INITIAL_CLUSTER: n1=${ips[0]}:${peerPort},n2=${ips[1]}:${peerPort},n3=${ips[2]}:${peerPort}`);
    await project.up();
    // `up` returns once the nodes are started, which compose does only after certs exited 0.
    expect((await containerState(await project.containerId('certs'))).exitCode).toBe(0);
    await waitForReady(endpoints, 90_000);

    // The documented status command, run from the image, reaches all three over the host network.
    const { stdout } = await docker(['run', '--rm', '--network', 'host', image, '--endpoints', endpoints.join(','), '--json', 'status']);
    const rows = JSON.parse(stdout) as Array<{ endpoint: string; status?: { id: string; role: string; leader: { id: string } | null; members: unknown[] } }>;
    expect(rows.map((r) => r.status?.id)).toEqual(['n1', 'n2', 'n3']);
    expect(rows.filter((r) => r.status?.role === 'leader')).toHaveLength(1);
    expect(new Set(rows.map((r) => r.status?.leader?.id)).size).toBe(1);
    expect(rows.every((r) => r.status?.members.length === 3)).toBe(true);

    const admin = new IpamClient({ endpoints, session: true, timeoutMs: 30_000 });
    await admin.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    const workers = ['worker-1', 'worker-2', 'worker-3'];
    for (const w of workers) await admin.assignSlice({ network: 'pods', nodeId: w });

    // Concurrent clients allocate through exactly-once sessions; the leader's container is killed once a
    // third of the allocations are acknowledged, and the clients go on through the next leader.
    const clients = 3;
    const perClient = 30;
    const grants: Grant[] = [];
    const failures: string[] = [];
    let killed: { id: string; container: string } | undefined;
    const load = Array.from({ length: clients }, async (_, c) => {
      const client = new IpamClient({ endpoints, session: true, timeoutMs: 60_000 });
      for (let i = 0; i < perClient; i++) {
        const owner = `ctr-${c}-${i}`;
        try {
          const r = await client.allocate({ network: 'pods', nodeId: workers[(c + i) % workers.length] as string, owner });
          grants.push({ address: r.address, owner, generation: r.generation });
        } catch (e) {
          failures.push(`${owner}: ${e instanceof IpamClientError ? `[${e.code}] ${e.message}` : String(e)}`);
        }
      }
    });
    const kill = (async () => {
      while (grants.length < (clients * perClient) / 3 && failures.length === 0) await sleep(10);
      const leader = await waitForLeader(endpoints);
      const container = await project.containerId(leader.id);
      await killContainer(container);
      killed = { id: leader.id, container };
    })();
    await Promise.all([...load, kill]);
    expect(failures).toEqual([]);
    expect(grants).toHaveLength(clients * perClient);
    if (!killed) throw new Error('the leader was never killed');
    const down = killed;

    // docker kill is a deliberate stop: the restart policy leaves the container down.
    const afterKill = await containerState(down.container);
    expect(afterKill.running).toBe(false);
    const survivors = SERVICES.filter((s) => s !== down.id).map((s) => url[s]);
    const next = await waitForLeader(survivors, 30_000, [down.id]);
    expect(next.id).not.toBe(down.id);

    // The clients' records are the evidence: every acknowledged grant is held by the owner that was told
    // it got it, with its generation; no address was acknowledged twice; nothing else was allocated.
    const listed = await admin.allocations('pods', { consistency: 'linearizable', limit: 100_000 });
    const held = new Map(listed.allocations.map((a) => [a.address, a]));
    expect(new Set(grants.map((g) => g.address)).size).toBe(grants.length);
    expect(grants.filter((g) => held.get(g.address)?.owner !== g.owner || held.get(g.address)?.generation !== g.generation)).toEqual([]);
    expect(listed.allocations).toHaveLength(grants.length);

    // Back with `docker-compose start` on its volume: it catches up to the same state as the others.
    await project.start(down.id);
    await waitForReady(endpoints, 60_000);
    const converged = await waitForConvergence(endpoints, 60_000);
    expect(converged.statuses.map((s) => s.id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(converged.applied).toBeGreaterThan(0);

    // A crash (the process dies, no docker kill): `restart: unless-stopped` starts the container again
    // by itself, on its data, and it rejoins. A follower, so the allocations below need no new election.
    const leaderNow = await waitForLeader(endpoints);
    const victim = SERVICES.find((s) => s !== leaderNow.id) as Service;
    const victimContainer = await project.containerId(victim);
    const restartsBefore = await crashContainer(victimContainer);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await containerState(victimContainer);
      if (s.restartCount > restartsBefore && s.running) break;
      if (Date.now() > deadline) throw new Error(`${victim} was not restarted by its policy (state ${JSON.stringify(s)})`);
      await sleep(200);
    }
    const extra = await admin.allocate({ network: 'pods', nodeId: 'worker-1', owner: 'after-crash' });
    await waitForReady(endpoints, 60_000);
    const final = await waitForConvergence(endpoints, 60_000);
    expect(final.applied).toBeGreaterThan(converged.applied);
    // The restarted node holds the same state as the others, the allocation made after the crash included.
    const seen = await nodeStatus(url[victim]);
    expect(seen?.stateHash).toBe(final.stateHash);
    const relisted = await admin.allocations('pods', { consistency: 'linearizable', limit: 100_000 });
    expect(relisted.allocations).toHaveLength(grants.length + 1);
    expect(relisted.allocations.find((a) => a.address === extra.address)?.owner).toBe('after-crash');
  });
});
