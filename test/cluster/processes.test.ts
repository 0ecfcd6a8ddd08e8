/**
 * Real node processes on loopback (each `raft-ipam serve` in its own child process, own 127.0.0.x, own data
 * directory), started by the harness (cluster/cluster.ts) and driven through the documented HTTP API and client.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '../../cluster/addresses.js';
import { Cluster, type ClusterOptions } from '../../cluster/cluster.js';
import { cliCommand } from '../../cluster/process-backend.js';
import { IpamClient } from '../../src/api/client.js';
import { runClusterDemo } from '../../src/cli/demo.js';
import { createClusterCerts } from '../../src/transport/cert-authority.js';
import { writeClusterCerts } from '../../src/transport/certs.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cluster(options: ClusterOptions = {}): Promise<Cluster> {
  const c = await Cluster.start(options);
  cleanups.push(() => c.destroy());
  return c;
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'raft-ipam-proc-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

describe('a cluster of real processes', { timeout: 120_000 }, () => {
  it('the demo: load through sessions, leader SIGKILL, every acknowledged allocation kept, none twice, restart converges', async () => {
    const lines: string[] = [];
    const { ok } = await runClusterDemo({ clients: 4, perClient: 25, print: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(/SIGKILL the leader/);
    expect(lines.join('\n')).toMatch(/100\/100 acknowledged allocations present with their owner, 0 duplicates, 0 lost/);
    expect(ok).toBe(true);
  });

  it('a follower that fell behind log compaction catches up by snapshot after a restart', async () => {
    const c = await cluster({ snapshotEntries: 20 });
    const leader = await c.waitForLeader();
    const client = new IpamClient({ endpoints: c.endpoints(), session: true, timeoutMs: 20_000 });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    const follower = c.ids().find((id) => id !== leader) as string;
    const behind = (await c.status(follower))?.applied ?? 0;
    await c.kill(follower);
    for (let i = 0; i < 60; i++) await client.assignSlice({ network: 'pods', nodeId: `w${i}` });
    const lead = await c.status(leader);
    // The leader has compacted past what the follower holds: only a snapshot can bring it back.
    expect(lead?.snapshotIndex).toBeGreaterThan(behind);
    await c.restart(follower);
    const converged = await c.waitForConvergence({ timeoutMs: 60_000 });
    expect(converged.stateHash).toBe((await c.status(leader))?.stateHash);
    expect((await c.status(follower))?.snapshotIndex).toBeGreaterThan(behind);
  });

  it('membership while serving: add a learner, promote it, remove a member; the cluster keeps allocating', async () => {
    const c = await cluster();
    await c.waitForLeader();
    const client = new IpamClient({ endpoints: c.endpoints(), session: true, timeoutMs: 20_000 });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    const n4 = await c.prepareNode('n4');
    await client.addMember({ id: 'n4', peerUrl: n4.peerAdvertised, clientUrl: n4.clientUrl, learner: true });
    await c.startJoining('n4');
    await c.waitForConvergence({ timeoutMs: 60_000 });
    await client.promoteMember('n4');
    expect((await client.members()).find((m) => m.id === 'n4')?.role).toBe('voter');
    const leader = await c.waitForLeader();
    const victim = ['n1', 'n2', 'n3'].find((id) => id !== leader) as string;
    await client.removeMember(victim);
    expect((await client.members()).map((m) => m.id)).not.toContain(victim);
    await c.stop(victim);
    expect(await client.assignSlice({ network: 'pods', nodeId: 'after' })).toMatchObject({ slices: { pods: expect.any(String) } });
  });

  it('refuses a peer whose certificate is not from the cluster CA, and a second process on a data directory', async () => {
    const foreign = await tempDir();
    const c = await cluster({ tls: true });
    const leader = await c.waitForLeader();
    const client = new IpamClient({ endpoints: c.endpoints(), timeoutMs: 20_000, session: true });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    // An impostor takes a follower's place (same id, same address and port) with a foreign CA's certificate,
    // valid for that address: only the CA gives it away.
    const victim = c.ids().find((id) => id !== leader) as string;
    const v = c.node(victim);
    await writeClusterCerts(foreign, await createClusterCerts({ nodes: c.ids(), ips: [v.host, '127.0.0.1'] }));
    await c.kill(victim);
    const [port] = await freePorts(1);
    const cli = cliCommand();
    const impostor = spawn(cli.cmd, [...cli.args, 'serve', '--name', victim, '--data-dir', await tempDir(), '--listen-peer', v.peerListen, '--advertise-peer', v.peerAdvertised, '--listen-client', `127.0.0.1:${port}`, '--initial-cluster', c.initialCluster(), '--tls-dir', foreign, '--tick-ms', '50'], { stdio: 'ignore' });
    cleanups.push(async () => {
      impostor.kill('SIGKILL');
    });
    // Wait until the impostor answers (a loaded machine starts a process slowly), then give it a few
    // election timeouts to try to join.
    const statusOf = (): Promise<{ value: { commit: number; leader: unknown; stateHash: string } }> => fetch(`http://127.0.0.1:${port}/v1/status`).then((r) => r.json() as Promise<{ value: { commit: number; leader: unknown; stateHash: string } }>);
    for (let waited = 0; ; waited += 100) {
      if (await statusOf().then(() => true, () => false)) break;
      if (waited > 60_000) throw new Error('the impostor never started answering HTTP');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const seen = await statusOf();
    // It never joined: it has no leader and none of the cluster's data, while the real members go on.
    expect(seen.value.leader).toBeNull();
    expect(seen.value.stateHash).not.toBe((await c.status(leader))?.stateHash);
    expect(await client.assignSlice({ network: 'pods', nodeId: 'still-serving' })).toMatchObject({ slices: { pods: expect.any(String) } });

    // A second process on a live node's data directory exits with StorageLocked and changes nothing.
    const [p2, p3] = await freePorts(2);
    const second = spawn(cli.cmd, [...cli.args, 'serve', '--name', leader, '--data-dir', c.node(leader).dataDir, '--listen-peer', `127.0.0.1:${p2}`, '--advertise-peer', c.node(leader).peerAdvertised, '--listen-client', `127.0.0.1:${p3}`, '--initial-cluster', c.initialCluster(), '--tls-dir', c.tlsDir as string], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    second.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => second.once('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/StorageLocked/);
    expect((await c.status(leader))?.role).toBe('leader');
  });
});
