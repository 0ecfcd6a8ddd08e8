/**
 * The container stack the harness's container backend builds on, proven piece by piece on this machine:
 * the raft-ipam:dev image (scripts/build-image.sh), a Docker engine, testcontainers 11 on Node 20 with host
 * networking, and cluster/docker.ts pausing, unpausing and reading the logs of a container from Node.
 *
 * Needs a Docker engine (scripts/docker-engine.sh; .ci/run runs it). Without one this test FAILS with a
 * message saying so — it never skips.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { afterEach, describe, expect, it } from 'vitest';
import { configureTestcontainers, containerState, ensureImage, freePortOnAll, isContainerGone, pauseContainer, randomLoopbackAddresses, removeContainer, requireDocker, saveContainerLogs, unpauseContainer } from '../../cluster/docker.js';
import { isReady, nodeStatus, waitForReady } from '../../cluster/endpoints.js';
import { IpamClient } from '../../src/api/client.js';

// No reaper (its image would come from a registry) and the engine's host given as loopback: see there.
configureTestcontainers();

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 120_000);

describe('testcontainers 11 with the raft-ipam:dev image', () => {
  it('starts a one-node cluster with host networking, waits for its health check, pauses and unpauses it, keeps its log, stops and removes it', { timeout: 180_000 }, async () => {
    await requireDocker();
    const image = await ensureImage();
    const [ip] = randomLoopbackAddresses(1) as [string];
    const peerPort = await freePortOnAll([ip]);
    let clientPort = await freePortOnAll([ip]);
    while (clientPort === peerPort) clientPort = await freePortOnAll([ip]);
    const url = `http://${ip}:${clientPort}`;

    let container: StartedTestContainer | undefined;
    cleanups.push(async () => {
      if (!container) return;
      const id = container.getId();
      // A paused container cannot be stopped gracefully; removeContainer forces whatever is left.
      await unpauseContainer(id).catch(() => undefined);
      await container.stop({ timeout: 5_000, remove: true, removeVolumes: true }).catch(() => undefined);
      await removeContainer(id);
    });
    container = await new GenericContainer(image)
      .withNetworkMode('host')
      .withCommand(['serve'])
      .withEnvironment({
        RAFT_IPAM_NAME: 'solo',
        RAFT_IPAM_DATA_DIR: '/var/lib/raft-ipam',
        RAFT_IPAM_INITIAL_CLUSTER: `solo=${ip}:${peerPort}`,
        RAFT_IPAM_LISTEN_CLIENT: `${ip}:${clientPort}`,
        RAFT_IPAM_INSECURE: 'true',
      })
      // The image's HEALTHCHECK probes /readyz at RAFT_IPAM_LISTEN_CLIENT: healthy = ready to serve.
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(90_000)
      .start();
    const id = container.getId();
    expect((await containerState(id)).health).toBe('healthy');
    expect(await isReady(url)).toBe(true);

    const client = new IpamClient({ endpoints: [url], session: true, timeoutMs: 20_000 });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    await client.assignSlice({ network: 'pods', nodeId: 'w1' });
    const granted = await client.allocate({ network: 'pods', nodeId: 'w1', owner: 'c1' });
    const before = await nodeStatus(url);
    expect(before).toMatchObject({ id: 'solo', role: 'leader', applied: expect.any(Number) });

    // Paused (cgroup freezer): the process keeps its sockets but cannot answer.
    await pauseContainer(id);
    expect((await containerState(id)).paused).toBe(true);
    expect(await isReady(url, 1000)).toBe(false);
    await unpauseContainer(id);
    expect((await containerState(id)).paused).toBe(false);
    await waitForReady([url], 30_000);
    // Nothing was lost or changed by the pause.
    expect((await nodeStatus(url))?.stateHash).toBe(before?.stateHash);
    const listed = await client.allocations('pods', { consistency: 'linearizable' });
    expect(listed.allocations.map((a) => [a.address, a.owner])).toEqual([[granted.address, 'c1']]);

    const logDir = await mkdtemp(join(tmpdir(), 'raft-ipam-tc-'));
    cleanups.push(() => rm(logDir, { recursive: true, force: true }));
    await saveContainerLogs(id, join(logDir, 'solo.log'));
    expect(await readFile(join(logDir, 'solo.log'), 'utf8')).toMatch(/"msg":"serving"/);

    await container.stop({ timeout: 5_000, remove: true, removeVolumes: true });
    container = undefined;
    expect(await isContainerGone(id)).toBe(true);
    expect(await isReady(url, 500)).toBe(false);
  });
});
