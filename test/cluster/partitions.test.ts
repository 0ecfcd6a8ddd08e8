/**
 * Network-level faults on real `raft-ipam serve` processes: every node's peer listener sits behind a
 * harness relay, and links are cut there (cluster/network.ts), never by a flag inside a node.
 * Timeouts only bound waits; every assertion is about what the cluster did, not how fast.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, type ClusterOptions } from '../../cluster/cluster.js';
import { IpamClientError } from '../../src/api/client.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cluster(options: ClusterOptions = {}): Promise<Cluster> {
  const c = await Cluster.start(options);
  cleanups.push(() => c.destroy());
  return c;
}

/** Poll an async condition until it holds; the timeout bounds the wait and fails with `what`. */
async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
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

// A bound for slow, shared machines (a cluster start alone takes seconds under load); nothing measures it.
describe('partitions at the network level', { timeout: 180_000 }, () => {
  it('an isolated leader: the majority elects a new one, the old one commits nothing and steps down; heal converges on one state', async () => {
    const c = await cluster();
    const old = await c.waitForLeader();
    const client = c.client({ session: true });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    await client.assignSlice({ network: 'pods', nodeId: 'before' });
    await c.waitForConvergence();
    const majority = c.ids().filter((id) => id !== old);

    c.partition([[old], majority]);
    expect(c.cuts()).toHaveLength(4);
    expect(c.cuts().every((cut) => (cut.from === old) !== (cut.to === old) && cut.mode === 'drop')).toBe(true);

    // A write that only the old leader is asked to make is never acknowledged: it cannot reach a quorum.
    const lonely = c.client({ endpoints: [c.node(old).clientUrl], timeoutMs: 4000 });
    const refused = await lonely.assignSlice({ network: 'pods', nodeId: 'written-to-the-old-leader' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(IpamClientError);
    expect(['unavailable', 'outcome-unknown']).toContain((refused as IpamClientError).kind);

    const next = await c.waitForLeader({ among: majority });
    expect(majority).toContain(next);
    await client.assignSlice({ network: 'pods', nodeId: 'during-partition' });
    // CheckQuorum: the old leader gives up leading, and hearing nobody, it knows no leader.
    await until(`${old} to step down`, async () => {
      const s = await c.status(old);
      return s !== undefined && s.role !== 'leader';
    });
    const isolated = await c.status(old);
    expect(isolated?.leader).toBeNull();
    expect(isolated?.stateHash).not.toBe((await c.status(next))?.stateHash);
    expect(await slicesAt(c, old)).toEqual(['before']);

    c.heal();
    expect(c.cuts()).toEqual([]);
    const converged = await c.waitForConvergence();
    expect((await c.status(old))?.stateHash).toBe(converged.stateHash);
    // The old leader now holds the majority's write, and its own unacknowledged one is gone everywhere.
    for (const id of c.ids()) expect(await slicesAt(c, id)).toEqual(['before', 'during-partition']);
  });

  it('one-way cut with mutual TLS: the old leader\'s messages reach nobody, theirs reach it, so it follows the new leader it cannot answer', async () => {
    const c = await cluster({ tls: true });
    const old = await c.waitForLeader();
    const client = c.client({ session: true });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    const others = c.ids().filter((id) => id !== old);
    for (const to of others) c.cut(old, to);
    expect(c.cuts()).toEqual(others.map((to) => ({ from: old, to, mode: 'drop' })).sort((a, b) => (a.to < b.to ? -1 : 1)));

    // The others stop hearing the leader and elect one of themselves…
    const next = await c.waitForLeader({ among: others });
    // …whose messages still cross to the old leader through its relay (TLS bytes passed through untouched):
    // it learns the higher term and follows, though nothing it says reaches anyone.
    await until(`${old} to follow ${next}`, async () => {
      const s = await c.status(old);
      return s?.role === 'follower' && s.leader?.id === next;
    });
    await client.assignSlice({ network: 'pods', nodeId: 'during-one-way-cut' });

    c.healLink(old, others[0] as string);
    c.healLink(old, others[1] as string);
    expect(c.cuts()).toEqual([]);
    const converged = await c.waitForConvergence();
    expect(converged.stateHash).toBe((await c.status(old))?.stateHash);
    expect(await slicesAt(c, old)).toEqual(['during-one-way-cut']);
  });

  it('a wiped node rejoins as a new member on the same address (mutual TLS), catches up, and can lead', async () => {
    const c = await cluster({ tls: true });
    const leader = await c.waitForLeader();
    const client = c.client({ session: true });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    for (let i = 0; i < 5; i++) await client.assignSlice({ network: 'pods', nodeId: `w${i}` });
    const victim = c.ids().find((id) => id !== leader) as string;
    const { host, dataDir } = c.node(victim);

    const fresh = await c.wipeAndRejoin(victim);
    expect(fresh).toBe(`${victim}.1`);
    expect(c.node(fresh).host).toBe(host);
    expect(existsSync(dataDir)).toBe(false);
    expect(c.ids()).not.toContain(victim);
    const members = await client.members();
    expect(members.map((m) => `${m.id}:${m.role}`).sort()).toEqual(c.ids().map((id) => `${id}:voter`).sort());
    expect(members.find((m) => m.id === fresh)?.peerUrl).toBe(c.node(fresh).peerAdvertised);

    await client.assignSlice({ network: 'pods', nodeId: 'after-rejoin' });
    const converged = await c.waitForConvergence();
    expect((await c.status(fresh))?.stateHash).toBe(converged.stateHash);
    expect(await slicesAt(c, fresh)).toEqual(['after-rejoin', 'w0', 'w1', 'w2', 'w3', 'w4']);
    // A full voter that every peer reaches (through its relay, by its new certificate for the same IP).
    expect(await c.transferLeader(fresh)).toBe(fresh);
    expect(await c.readLog(victim)).toMatch(/"harness":"launch"/);
  });

  it('pause, reset and flapping links: a paused leader is replaced and rejoins; a follower cut off by resets falls behind and catches up', async () => {
    const c = await cluster();
    const first = await c.waitForLeader();
    const client = c.client({ session: true });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });

    await c.pause(first);
    expect(c.isPaused(first)).toBe(true);
    expect(await c.status(first)).toBeUndefined();
    const second = await c.waitForLeader({ exclude: [first] });
    await client.assignSlice({ network: 'pods', nodeId: 'while-paused' });
    await c.resume(first);
    await c.waitForConvergence();

    const follower = c.ids().find((id) => id !== second) as string;
    const majority = c.ids().filter((id) => id !== follower);
    c.partition([[follower]], 'reset');
    await client.assignSlice({ network: 'pods', nodeId: 'while-reset' });
    const { applied } = await c.waitForConvergence({ among: majority });
    // Nothing reaches the follower, so it cannot have applied what was committed after the cut.
    expect((await c.status(follower))?.applied).toBeLessThan(applied);
    expect(await slicesAt(c, follower)).not.toContain('while-reset');
    c.heal();
    await c.waitForConvergence();

    const other = c.ids().find((id) => id !== second && id !== follower) as string;
    const flapper = c.flap(second, other, { downMs: 150, upMs: 150, both: true });
    for (let i = 0; i < 5; i++) await client.assignSlice({ network: 'pods', nodeId: `flap-${i}` });
    flapper.stop();
    expect(c.cuts()).toEqual([]);
    await c.waitForConvergence();
    expect(await slicesAt(c, follower)).toEqual(['flap-0', 'flap-1', 'flap-2', 'flap-3', 'flap-4', 'while-paused', 'while-reset']);
  });
});
