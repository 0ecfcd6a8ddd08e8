import { afterEach, describe, expect, it } from 'vitest';
import { IpamClient, IpamClientError } from '../../src/api/client.js';
import { deadUrl, listen, type Running } from '../support/api-servers.js';
import { TestNodeService } from '../support/test-node-service.js';

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.app.close()));
});

async function serve(service: TestNodeService, token?: string): Promise<string> {
  const r = await listen(service, token !== undefined ? { token } : {});
  running.push(r);
  return r.url;
}

/** A leader and a follower that answers NotLeader naming it (with or without its URL). */
async function pair(options: { leaderUrlKnown?: boolean } = {}): Promise<{ leader: TestNodeService; follower: TestNodeService; leaderUrl: string; followerUrl: string }> {
  const leader = new TestNodeService('n1');
  const leaderUrl = await serve(leader);
  const follower = new TestNodeService('n2');
  follower.failAlways({ code: 'NotLeader', leader: { id: 'n1', ...(options.leaderUrlKnown === false ? {} : { clientUrl: leaderUrl }) } });
  const followerUrl = await serve(follower);
  return { leader, follower, leaderUrl, followerUrl };
}

const fast = { backoff: { baseMs: 1, maxMs: 5 } };

async function thrown(p: Promise<unknown>): Promise<IpamClientError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof IpamClientError) return e;
    throw e;
  }
  throw new Error('expected an IpamClientError');
}

describe('IpamClient leader discovery', () => {
  it('follows NotLeader to the named leader and then goes there first', async () => {
    const { leader, follower, followerUrl } = await pair();
    const client = new IpamClient({ endpoints: [followerUrl], ...fast });
    const r = await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    expect(r).toEqual({ network: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24, created: true });
    expect(follower.received).toHaveLength(1);
    expect(leader.received).toHaveLength(1);
    await client.assignSlice({ network: 'pods', nodeId: 'w1' });
    const a = await client.allocate({ network: 'pods', nodeId: 'w1', owner: 'c1' });
    expect(a).toEqual({ network: 'pods', nodeId: 'w1', address: leader.sm.addressesOf('c1')[0]?.address, generation: 1, owner: 'c1', existing: false });
    // Remembered: later commands skip the follower.
    expect(follower.received).toHaveLength(1);
    expect(leader.received).toHaveLength(3);
  });

  it('moves to the next endpoint when NotLeader does not know the leader’s URL', async () => {
    const { leader, follower, followerUrl, leaderUrl } = await pair({ leaderUrlKnown: false });
    const client = new IpamClient({ endpoints: [followerUrl, leaderUrl], ...fast });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    expect([follower.received.length, leader.received.length]).toEqual([1, 1]);
  });

  it('retries a command past a refused connection (nothing was sent) and past NoLeader', async () => {
    const leader = new TestNodeService('n1');
    const url = await serve(leader);
    const client = new IpamClient({ endpoints: [await deadUrl(), url], ...fast });
    leader.failNext({ code: 'NoLeader' }, { code: 'Overloaded' });
    const r = await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    expect(r.created).toBe(true);
    // Two refusals before the proposal, then one application.
    expect(leader.received).toHaveLength(3);
    expect(leader.applied).toBe(1);
  });

  it('gives up with a coded Unavailable error once the deadline passes', async () => {
    const a = new TestNodeService('n1');
    const b = new TestNodeService('n2');
    a.failAlways({ code: 'NoLeader' });
    b.failAlways({ code: 'NoLeader' });
    const client = new IpamClient({ endpoints: [await serve(a), await serve(b)], timeoutMs: 200, retries: 1_000, ...fast });
    const e = await thrown(client.networks());
    expect({ code: e.code, kind: e.kind }).toEqual({ code: 'Unavailable', kind: 'unavailable' });
    expect(e.message).toMatch(/\[NoLeader\] injected NoLeader/);
    // How many attempts fit in 200 ms depends on the machine; that the first endpoint was asked does not.
    expect(a.consistencies.length).toBeGreaterThan(0);
  });

  it('gives up after its retry budget', async () => {
    const a = new TestNodeService('n1');
    a.failAlways({ code: 'Overloaded' });
    const client = new IpamClient({ endpoints: [await serve(a)], retries: 3, ...fast });
    const e = await thrown(client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 }));
    expect(e.code).toBe('Unavailable');
    expect(e.message).toMatch(/^gave up after 4 attempt/);
    expect(a.received).toHaveLength(4);
  });

  it('every endpoint down is Unavailable', async () => {
    const client = new IpamClient({ endpoints: [await deadUrl(), await deadUrl()], ...fast, timeoutMs: 10_000, retries: 3 });
    const e = await thrown(client.status());
    expect({ code: e.code, kind: e.kind }).toEqual({ code: 'Unavailable', kind: 'unavailable' });
    expect(e.message).toMatch(/ECONNREFUSED/);
  });
});

describe('IpamClient exactly-once sessions', () => {
  it('re-sends a command whose reply was lost with the same session and seq; the node applies it once', async () => {
    const { leader, followerUrl } = await pair();
    const client = new IpamClient({ endpoints: [followerUrl], session: true, ...fast });
    const id = await client.openSession();
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    await client.assignSlice({ network: 'pods', nodeId: 'w1' });
    const applied = leader.applied;
    leader.failNext({ code: 'Timeout', afterApply: true });
    const r = await client.allocate({ network: 'pods', nodeId: 'w1' });
    const tries = leader.received.slice(-2);
    expect(tries.map((t) => t.session)).toEqual([{ id, seq: 3, ack: 3 }, { id, seq: 3, ack: 3 }]);
    expect(tries[0]?.command).toEqual(tries[1]?.command);
    expect(leader.applied).toBe(applied + 1);
    expect(leader.sm.allocationOf('pods', r.address)).toMatchObject({ generation: r.generation });
    expect(leader.sm.networkUsage('pods')?.addressesAllocated).toBe(1);
  });

  it('opens the session on first use, numbers commands 1, 2, … and acknowledges answered ones', async () => {
    const leader = new TestNodeService('n1');
    const client = new IpamClient({ endpoints: [await serve(leader)], session: true, ...fast });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    await client.assignSlice({ network: 'pods', nodeId: 'w1' });
    expect(leader.received.map((r) => [(r.command as { type: string }).type, r.session])).toEqual([
      ['openSession', undefined],
      ['configureNetwork', { id: 1, seq: 1, ack: 1 }],
      ['assignSlice', { id: 1, seq: 2, ack: 2 }],
    ]);
    expect(await client.sessionId()).toBe(1);
    expect(await client.closeSession()).toEqual({ session: 1, closed: true });
    expect(await client.sessionId()).toBeUndefined();
  });

  it('concurrent commands hold the ack at the lowest unanswered seq', async () => {
    const leader = new TestNodeService('n1');
    const client = new IpamClient({ endpoints: [await serve(leader)], session: true, ...fast });
    await client.openSession();
    await Promise.all([
      client.configureNetwork({ name: 'a', cidr: '10.1.0.0/16', slicePrefix: 24 }),
      client.configureNetwork({ name: 'b', cidr: '10.2.0.0/16', slicePrefix: 24 }),
      client.configureNetwork({ name: 'c', cidr: '10.3.0.0/16', slicePrefix: 24 }),
    ]);
    const sent = leader.received.slice(1).map((r) => r.session).sort((x, y) => (x?.seq ?? 0) - (y?.seq ?? 0));
    expect(sent).toEqual([{ id: 1, seq: 1, ack: 1 }, { id: 1, seq: 2, ack: 1 }, { id: 1, seq: 3, ack: 1 }]);
  });

  it('a command refused because its session is gone (expired, closed) was not applied: it is sent once more under a new session', async () => {
    const leader = new TestNodeService('n1');
    const client = new IpamClient({ endpoints: [await serve(leader)], session: true, ...fast });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    leader.sm.apply({ type: 'closeSession', session: 1 }); // e.g. expired while the client was idle
    const applied = leader.applied;
    const r = await client.assignSlice({ network: 'pods', nodeId: 'w1' });
    expect(r.slices).toHaveProperty('pods');
    expect(leader.received.slice(2).map((x) => [(x.command as { type: string }).type, x.session])).toEqual([
      ['assignSlice', { id: 1, seq: 2, ack: 2 }],
      ['openSession', undefined],
      ['assignSlice', { id: 2, seq: 1, ack: 1 }],
    ]);
    expect(leader.applied).toBe(applied + 2); // openSession and assignSlice, once
    expect(await client.sessionId()).toBe(2);
  });

  it('a session opened on one cluster is never used on another (a cluster restored from a backup issues the same ids again): it opens a new one there', async () => {
    const old = new TestNodeService('n1', { clusterId: 'old' });
    const restored = new TestNodeService('n1', { clusterId: 'restored' });
    const client = new IpamClient({ endpoints: [await serve(old), await serve(restored)], session: true, ...fast });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 }); // session 1 of "old"
    // On the restored cluster another client was given session 1 too, and has answers cached under it.
    const other = new IpamClient({ endpoints: [await serve(restored)], session: true, ...fast });
    await other.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    const othersSlice = (await other.assignSlice({ network: 'pods', nodeId: 'w1' })).slices.pods; // its seq 2
    expect(await other.sessionId()).toBe(1);
    old.failAlways({ code: 'NoLeader' }); // the client moves on to the restored cluster's node
    // The client's next command is its seq 2 under session 1: served from the other client's session it
    // would be answered with w1's slice. Refused as another cluster's session, it runs under a new one.
    const r = await client.assignSlice({ network: 'pods', nodeId: 'w2' });
    expect(r.slices.pods).toBe(restored.sm.sliceOf('pods', 'w2'));
    expect(r.slices.pods).not.toBe(othersSlice);
    expect(await client.sessionId()).toBe(2);
    expect(restored.received.filter((x) => x.session?.id === 1 && (x.command as { type: string }).type === 'assignSlice').map((x) => (x.command as { nodeId: string }).nodeId)).toEqual(['w1']);
  });

  it('a session gone after an attempt with an unknown outcome is OutcomeUnknown: that attempt may have been applied, so it is not re-sent', async () => {
    const leader = new TestNodeService('n1');
    const client = new IpamClient({ endpoints: [await serve(leader)], session: true, ...fast });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    await client.assignSlice({ network: 'pods', nodeId: 'w1' });
    // Applied, reply lost; the session is gone before the retry arrives (its cached answer with it).
    leader.failNext({ code: 'Timeout', afterApply: true, then: () => leader.sm.apply({ type: 'closeSession', session: 1 }) });
    const applied = leader.applied;
    const e = await thrown(client.allocate({ network: 'pods', nodeId: 'w1' }));
    expect({ code: e.code, kind: e.kind }).toEqual({ code: 'OutcomeUnknown', kind: 'outcome-unknown' });
    expect(e.message).toMatch(/\[Timeout\].*\[SessionExpired\]/);
    expect(leader.applied).toBe(applied + 1);
    expect(leader.sm.networkUsage('pods')?.addressesAllocated).toBe(1);
    // Nothing was sent after the refusal; the next command opens a new session.
    expect(leader.received.slice(-2).map((x) => [(x.command as { type: string }).type, x.session?.id])).toEqual([
      ['allocate', 1],
      ['allocate', 1],
    ]);
    await client.allocate({ network: 'pods', nodeId: 'w1' });
    expect(await client.sessionId()).toBe(2);
  });

  it('without a session, an ambiguous failure is OutcomeUnknown and the command is not re-sent', async () => {
    const leader = new TestNodeService('n1');
    const client = new IpamClient({ endpoints: [await serve(leader)], ...fast });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    await client.assignSlice({ network: 'pods', nodeId: 'w1' });
    leader.failNext({ code: 'Timeout', afterApply: true });
    const e = await thrown(client.allocate({ network: 'pods', nodeId: 'w1' }));
    expect({ code: e.code, kind: e.kind }).toEqual({ code: 'OutcomeUnknown', kind: 'outcome-unknown' });
    expect(e.message).toMatch(/\[Timeout\]/);
    expect(leader.received).toHaveLength(3);
  });
});

describe('IpamClient answers', () => {
  it('refusals: submit returns them as data, the typed methods throw kind "refused"', async () => {
    const leader = new TestNodeService('n1');
    const client = new IpamClient({ endpoints: [await serve(leader)], ...fast });
    const r = await client.submit({ type: 'allocate', network: 'nope', nodeId: 'w1' });
    expect(r).toEqual({ ok: false, error: { code: 'UnknownNetwork', message: 'no network named "nope"' } });
    const e = await thrown(client.releaseOwner({ owner: 'c1', network: 'nope' }));
    expect({ code: e.code, kind: e.kind }).toEqual({ code: 'UnknownNetwork', kind: 'refused' });
    expect(leader.received).toHaveLength(2);
  });

  it('checks commands before sending them', async () => {
    const leader = new TestNodeService('n1');
    const client = new IpamClient({ endpoints: [await serve(leader)], ...fast });
    const e = await thrown(client.allocate({ network: 'pods', nodeId: '' }));
    expect({ code: e.code, kind: e.kind }).toEqual({ code: 'InvalidCommand', kind: 'invalid' });
    expect(leader.received).toEqual([]);
    expect(() => new IpamClient({ endpoints: [] })).toThrow(IpamClientError);
    expect(() => new IpamClient({ endpoints: ['ftp://127.0.0.1:1'] })).toThrow(/http/);
  });

  it('a wrong token is kind "unauthorized" and is not retried', async () => {
    const leader = new TestNodeService('n1');
    const url = await serve(leader, 'right');
    const e = await thrown(new IpamClient({ endpoints: [url], token: 'wrong', ...fast }).networks());
    expect({ code: e.code, kind: e.kind, status: e.status }).toEqual({ code: 'Unauthorized', kind: 'unauthorized', status: 401 });
    expect(leader.consistencies).toEqual([]);
    expect(await new IpamClient({ endpoints: [url], token: 'right' }).networks()).toEqual([]);
  });

  it('reads, status and membership', async () => {
    const leader = new TestNodeService('n1', { clientUrl: 'http://127.0.0.1:1' });
    const client = new IpamClient({ endpoints: [await serve(leader)], ...fast });
    await client.configureNetwork({ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 });
    const { slices } = await client.assignSpecificSlice({ network: 'pods', nodeId: 'w1', slice: '10.200.3.0/24' });
    expect(slices).toEqual({ pods: '10.200.3.0/24' });
    await client.allocateFirst({ network: 'pods', nodeId: 'w1', owner: 'c1' });
    await client.allocateSpecific({ network: 'pods', nodeId: 'w1', address: '10.200.3.7' });
    expect(await client.mark({ network: 'pods', nodeId: 'w1', address: '10.200.3.7' })).toMatchObject({ existing: true });
    expect(await client.networks({ consistency: 'stale' })).toEqual([{ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 }]);
    expect(await client.network('pods')).toMatchObject({ slicesAssigned: 1, addressesAllocated: 2, sliceCapacity: '256' });
    expect((await client.slices('pods')).slices).toEqual([{ nodeId: 'w1', slice: '10.200.3.0/24', allocated: 2, total: '254', available: '252' }]);
    expect((await client.allocations('pods', { owner: 'c1' })).allocations).toEqual([{ network: 'pods', nodeId: 'w1', address: '10.200.3.1', generation: 1, owner: 'c1' }]);
    expect((await client.allocations('pods', { node: 'w1', limit: 1 })).truncated).toBe(true);
    expect(leader.consistencies).toContain('stale');
    expect(await client.release({ network: 'pods', address: '10.200.3.7' })).toEqual({ released: true, address: '10.200.3.7' });
    expect(await client.releaseSlice({ network: 'pods', nodeId: 'w1' })).toEqual({ released: { pods: '10.200.3.0/24' }, addressesReleased: 1 });
    expect((await client.status()).stateHash).toBe(leader.sm.stateHash());
    await client.addMember({ id: 'n2', peerUrl: '127.0.0.1:7002', clientUrl: 'http://127.0.0.1:2', learner: true });
    await client.promoteMember('n2');
    expect(await client.transferLeader('n2')).toEqual({ leader: { id: 'n2', clientUrl: 'http://127.0.0.1:2' } });
    expect((await client.members()).map((m) => [m.id, m.role])).toEqual([['n1', 'voter'], ['n2', 'voter']]);
    await client.removeMember('n2');
    expect((await client.members()).map((m) => m.id)).toEqual(['n1']);
    const refused = await thrown(client.removeMember('n1'));
    expect({ code: refused.code, kind: refused.kind, status: refused.status }).toEqual({ code: 'InvalidMembership', kind: 'refused', status: 409 });
  });

  it('status of one endpoint does not fall back to another', async () => {
    const up = new TestNodeService('n1');
    const client = new IpamClient({ endpoints: [await serve(up)], ...fast });
    const e = await thrown(client.status({ endpoint: await deadUrl() }));
    expect(e.code).toBe('Unavailable');
    expect((await client.status()).id).toBe('n1');
  });
});
