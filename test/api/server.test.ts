import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApiServer, DEFAULT_BODY_LIMIT } from '../../src/api/server.js';
import { createMetrics } from '../../src/api/metrics.js';
import { CLUSTER_HEADER } from '../../src/api/wire.js';
import { call, get, post, postRaw } from '../support/api-inject.js';
import { TestNodeService } from '../support/test-node-service.js';

const configure = { type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 };

async function seeded(app: ReturnType<typeof createApiServer>): Promise<void> {
  expect((await post(app, '/v1/commands', configure)).status).toBe(200);
  expect((await post(app, '/v1/commands', { type: 'assignSlice', network: 'pods', nodeId: 'w1' })).status).toBe(200);
  expect((await post(app, '/v1/commands', { type: 'assignSlice', network: 'pods', nodeId: 'w2' })).status).toBe(200);
}

describe('POST /v1/commands', () => {
  let node: TestNodeService;
  let app: ReturnType<typeof createApiServer>;
  beforeEach(() => {
    node = new TestNodeService('n1');
    app = createApiServer(node);
  });

  it('answers every command type with the state machine’s typed result', async () => {
    const r1 = await post(app, '/v1/commands', configure);
    expect(r1).toMatchObject({ status: 200, body: { ok: true, value: { network: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24, created: true } } });
    const v6 = await post(app, '/v1/commands', { type: 'configureNetwork', name: 'pods6', cidr: 'fd00::/48', slicePrefix: 64, pair: 'pods' });
    expect(v6.body).toMatchObject({ ok: true, value: { pair: 'pods', created: true } });
    const assigned = await post(app, '/v1/commands', { type: 'assignSlice', network: 'pods', nodeId: 'w1' });
    expect(assigned.body.value).toEqual({ slices: { pods: node.sm.sliceOf('pods', 'w1'), pods6: node.sm.sliceOf('pods6', 'w1') } });
    const specific = await post(app, '/v1/commands', { type: 'assignSpecificSlice', network: 'pods', nodeId: 'w2', slice: '10.200.7.0/24' });
    expect(specific.body.value).toEqual({ slices: { pods: '10.200.7.0/24', pods6: node.sm.sliceOf('pods6', 'w2') } });
    const a = await post(app, '/v1/commands', { type: 'allocate', network: 'pods', nodeId: 'w2', owner: 'c1' });
    expect(a.body.value).toEqual({ network: 'pods', nodeId: 'w2', address: '10.200.7.1', generation: 1, owner: 'c1', existing: false });
    const first = await post(app, '/v1/commands', { type: 'allocateFirst', network: 'pods', nodeId: 'w1' });
    expect(first.body.value).toMatchObject({ address: node.sm.sliceOf('pods', 'w1')?.replace(/0\/24$/, '1'), existing: false });
    const spec = await post(app, '/v1/commands', { type: 'allocateSpecific', network: 'pods', nodeId: 'w2', address: '10.200.7.9', owner: 'c2' });
    expect(spec.body.value).toMatchObject({ address: '10.200.7.9', owner: 'c2', generation: 3 });
    const mark = await post(app, '/v1/commands', { type: 'mark', network: 'pods', nodeId: 'w2', address: '10.200.7.200' });
    expect(mark.body.value).toMatchObject({ address: '10.200.7.200', existing: false });
    const rel = await post(app, '/v1/commands', { type: 'release', network: 'pods', address: '10.200.7.9', generation: 3 });
    expect(rel.body.value).toEqual({ released: true, address: '10.200.7.9' });
    const owner = await post(app, '/v1/commands', { type: 'releaseOwner', owner: 'c1' });
    expect(owner.body.value).toEqual({ released: [{ network: 'pods', address: '10.200.7.1' }] });
    const slice = await post(app, '/v1/commands', { type: 'releaseSlice', network: 'pods', nodeId: 'w2' });
    expect(slice.body.value).toMatchObject({ released: { pods: '10.200.7.0/24' }, addressesReleased: 1 });
    expect(node.applied).toBe(11);
  });

  it('passes refusals through with their code’s status, changing nothing', async () => {
    await seeded(app);
    const hash = node.sm.stateHash();
    const cases: Array<[unknown, string, number]> = [
      [{ type: 'allocate', network: 'nope', nodeId: 'w1' }, 'UnknownNetwork', 404],
      [{ type: 'allocate', network: 'pods', nodeId: 'w9' }, 'NodeHasNoSlice', 404],
      [{ type: 'configureNetwork', name: 'x', cidr: '10.0.0.0/33', slicePrefix: 24 }, 'InvalidCidr', 400],
      [{ type: 'configureNetwork', name: 'pods', cidr: '10.201.0.0/16', slicePrefix: 24 }, 'NetworkExists', 409],
      [{ type: 'allocateSpecific', network: 'pods', nodeId: 'w1', address: '192.168.0.1' }, 'IpNotInRange', 400],
      [{ type: 'release', network: 'pods', address: '10.200.0.1', generation: 7 }, 'StaleGeneration', 409],
    ];
    for (const [body, code, status] of cases) {
      const r = await post(app, '/v1/commands', body);
      expect({ status: r.status, code: r.body.error?.code }).toEqual({ status, code });
    }
    expect(node.sm.stateHash()).toBe(hash);
  });

  it('maps exhaustion to 507 and a taken address to 409', async () => {
    // A /29 in /30 slices: two slices of two hosts each.
    expect((await post(app, '/v1/commands', { type: 'configureNetwork', name: 'tiny', cidr: '10.9.0.0/29', slicePrefix: 30 })).status).toBe(200);
    for (const nodeId of ['w1', 'w2']) expect((await post(app, '/v1/commands', { type: 'assignSlice', network: 'tiny', nodeId })).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await post(app, '/v1/commands', { type: 'allocate', network: 'tiny', nodeId: 'w1' })).status).toBe(200);
    const hash = node.sm.stateHash();
    const full = await post(app, '/v1/commands', { type: 'allocate', network: 'tiny', nodeId: 'w1' });
    expect({ status: full.status, code: full.body.error?.code }).toEqual({ status: 507, code: 'NoAvailableIps' });
    const slices = await post(app, '/v1/commands', { type: 'assignSlice', network: 'tiny', nodeId: 'w3' });
    expect({ status: slices.status, code: slices.body.error?.code }).toEqual({ status: 507, code: 'NoAvailableSlices' });
    const [base] = (node.sm.sliceOf('tiny', 'w1') as string).split('/') as [string];
    const firstHost = base.replace(/\d+$/, (last) => String(Number(last) + 1));
    expect(node.sm.allocationOf('tiny', firstHost)).toBeDefined();
    const taken = await post(app, '/v1/commands', { type: 'allocateSpecific', network: 'tiny', nodeId: 'w1', address: firstHost });
    expect({ status: taken.status, code: taken.body.error?.code }).toEqual({ status: 409, code: 'IpAlreadyAllocated' });
    expect(node.sm.stateHash()).toBe(hash);
  });

  it('refuses every wrong shape with 400 before the service sees it', async () => {
    await seeded(app);
    const hash = node.sm.stateHash();
    const seen = node.received.length;
    const bad: Array<[unknown, string]> = [
      [null, 'InvalidRequest'],
      [5, 'InvalidRequest'],
      ['allocate', 'InvalidRequest'],
      [[configure], 'InvalidRequest'],
      [{}, 'InvalidRequest'],
      [{ type: 7 }, 'InvalidRequest'],
      [{ type: '' }, 'InvalidRequest'],
      [{ type: 'dropTables' }, 'InvalidCommand'],
      [{ ...configure, extra: true }, 'InvalidCommand'],
      [{ type: 'allocate', network: 'pods' }, 'InvalidCommand'],
      [{ type: 'allocate', network: 'pods', nodeId: 5 }, 'InvalidCommand'],
      [{ type: 'configureNetwork', name: 'n', cidr: '10.0.0.0/8', slicePrefix: '24' }, 'InvalidCommand'],
      [{ type: 'release', network: 'pods', address: '10.200.0.1', generation: 0 }, 'InvalidCommand'],
      [{ type: 'allocate', network: 'x'.repeat(257), nodeId: 'w1' }, 'InvalidCommand'],
      [{ type: 'allocate', network: 'pods', nodeId: 'w1', session: { id: 1 } }, 'InvalidCommand'],
      [{ type: 'allocate', network: 'pods', nodeId: 'w1', session: { id: 1, seq: 0 } }, 'InvalidCommand'],
      [{ type: 'allocate', network: 'pods', nodeId: 'w1', session: { id: 1, seq: 2, ack: 3 } }, 'InvalidCommand'],
      [{ type: 'allocate', network: 'pods', nodeId: 'w1', session: { id: 1, seq: 2, extra: 1 } }, 'InvalidCommand'],
      [{ type: 'allocate', network: 'pods', nodeId: 'w1', session: 'abc' }, 'InvalidCommand'],
      [{ type: 'openSession', session: { id: 1, seq: 1 } }, 'InvalidCommand'],
      [{ type: 'closeSession', session: { id: 1, seq: 1 } }, 'InvalidCommand'],
      [{ type: 'closeSession' }, 'InvalidCommand'],
    ];
    for (const [body, code] of bad) {
      const r = await post(app, '/v1/commands', body);
      expect({ body, status: r.status, code: r.body.error?.code }).toEqual({ body, status: 400, code });
    }
    expect(node.received.length).toBe(seen);
    expect(node.sm.stateHash()).toBe(hash);
  });

  it('refuses malformed JSON, a __proto__ key, a non-JSON content type and an oversize body', async () => {
    const broken = await postRaw(app, '/v1/commands', '{"type":');
    expect({ status: broken.status, code: broken.body.error?.code }).toEqual({ status: 400, code: 'InvalidRequest' });
    const proto = await postRaw(app, '/v1/commands', '{"type":"allocate","network":"p","nodeId":"w","__proto__":{"x":1}}');
    expect({ status: proto.status, code: proto.body.error?.code }).toEqual({ status: 400, code: 'InvalidRequest' });
    const text = await call(app, { method: 'POST', url: '/v1/commands', payload: 'type=allocate', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect({ status: text.status, code: text.body.error?.code }).toEqual({ status: 415, code: 'UnsupportedMediaType' });
    const big = await postRaw(app, '/v1/commands', JSON.stringify({ type: 'allocate', network: 'p', nodeId: 'w', owner: 'x'.repeat(DEFAULT_BODY_LIMIT) }));
    expect({ status: big.status, code: big.body.error?.code }).toEqual({ status: 413, code: 'PayloadTooLarge' });
    expect(node.received).toEqual([]);
  });

  it('arbitrary JSON never yields a 5xx and changes the state only when the answer is ok', async () => {
    await seeded(app);
    const names = fc.constantFrom('pods', 'w1', 'w2', 'nope', '10.200.0.7', '', 'fd00::1');
    const field = fc.oneof(names, fc.integer({ min: -2, max: 300 }), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
    const commandLike = fc.record(
      {
        type: fc.constantFrom('configureNetwork', 'assignSlice', 'assignSpecificSlice', 'releaseSlice', 'allocate', 'allocateFirst', 'allocateSpecific', 'mark', 'release', 'releaseOwner', 'openSession', 'closeSession', 'bogus'),
        name: field,
        network: field,
        nodeId: field,
        cidr: fc.oneof(fc.constantFrom('10.201.0.0/16', '10.0.0.0/40', 'fd00::/48'), field),
        slicePrefix: field,
        address: field,
        owner: field,
        generation: field,
        slice: field,
        session: field,
        extra: field,
      },
      { requiredKeys: ['type'] },
    );
    let changed = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(commandLike, fc.jsonValue({ maxDepth: 3 })), async (body) => {
        const before = node.sm.stateHash();
        const r = await post(app, '/v1/commands', body);
        expect(r.status).toBeLessThan(500);
        expect(r.body.ok).toBe(r.status === 200);
        if (r.body.ok) changed++;
        else expect(node.sm.stateHash()).toBe(before);
      }),
      // The examples make sure both branches run whatever the seed: a valid command that changes the state, and one refused.
      { numRuns: 400, examples: [[{ type: 'allocate', network: 'pods', nodeId: 'w1' }], [{ type: 'allocate', network: 'pods', nodeId: 'w9' }]] },
    );
    expect(changed).toBeGreaterThan(0);
  });

  it('names its cluster on every answer, and refuses a session opened on another cluster before proposing anything', async () => {
    await seeded(app);
    const opened = await post(app, '/v1/commands', { type: 'openSession' });
    expect(opened.headers[CLUSTER_HEADER]).toBe('test-cluster');
    const id = (opened.body.value as { session: number }).session;
    const received = node.received.length;
    const hash = node.sm.stateHash();
    // The same session id, pinned to another cluster (a client of the cluster this one was restored from).
    const foreign = await post(app, '/v1/commands', { type: 'allocate', network: 'pods', nodeId: 'w1', owner: 'a', session: { id, seq: 1 } }, { [CLUSTER_HEADER]: 'old-cluster' });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error?.code).toBe('UnknownSession');
    expect(foreign.body.error?.message).toMatch(/opened on cluster "old-cluster", this is cluster "test-cluster"/);
    expect(foreign.headers[CLUSTER_HEADER]).toBe('test-cluster');
    expect(node.received.length).toBe(received); // never reached the node
    expect(node.sm.stateHash()).toBe(hash);
    // Pinned to this cluster, or not pinned at all (a raw HTTP client): served.
    const own = await post(app, '/v1/commands', { type: 'allocate', network: 'pods', nodeId: 'w1', owner: 'b', session: { id, seq: 1 } }, { [CLUSTER_HEADER]: 'test-cluster' });
    expect(own.body).toMatchObject({ ok: true, value: { owner: 'b' } });
    const unpinned = await post(app, '/v1/commands', { type: 'allocate', network: 'pods', nodeId: 'w1', owner: 'c', session: { id, seq: 2 } });
    expect(unpinned.body).toMatchObject({ ok: true, value: { owner: 'c' } });
    // A command without a session has nothing to collide with: the header is not checked.
    const plain = await post(app, '/v1/commands', { type: 'allocate', network: 'pods', nodeId: 'w1', owner: 'd' }, { [CLUSTER_HEADER]: 'old-cluster' });
    expect(plain.body).toMatchObject({ ok: true, value: { owner: 'd' } });
  });
});

describe('cluster conditions', () => {
  it('NotLeader is a 307 to the same path on the leader, naming it in the body', async () => {
    const node = new TestNodeService('n2');
    const app = createApiServer(node);
    node.failAlways({ code: 'NotLeader', leader: { id: 'n1', clientUrl: 'http://127.0.0.1:8001/' } });
    const r = await post(app, '/v1/commands', configure);
    expect({ status: r.status, location: r.headers.location }).toEqual({ status: 307, location: 'http://127.0.0.1:8001/v1/commands' });
    expect(r.body.error).toEqual({ code: 'NotLeader', message: 'n2 is not the leader', leader: { id: 'n1', clientUrl: 'http://127.0.0.1:8001/' } });
    const read = await get(app, '/v1/networks?consistency=linearizable');
    expect({ status: read.status, location: read.headers.location }).toEqual({ status: 307, location: 'http://127.0.0.1:8001/v1/networks?consistency=linearizable' });
    expect(node.sm.networks()).toEqual([]);
  });

  it('NotLeader without a leader URL is a 503 with Retry-After and no Location', async () => {
    const node = new TestNodeService('n2');
    const app = createApiServer(node);
    node.failAlways({ code: 'NotLeader', leader: { id: 'n1' } });
    const r = await post(app, '/v1/commands', configure);
    expect({ status: r.status, location: r.headers.location, retryAfter: r.headers['retry-after'], leader: r.body.error?.leader }).toEqual({ status: 503, location: undefined, retryAfter: '1', leader: { id: 'n1' } });
  });

  it('transient conditions are 503 with Retry-After, a timeout is 504, a membership refusal 409', async () => {
    const node = new TestNodeService('n1');
    const app = createApiServer(node);
    for (const [code, status] of [['NoLeader', 503], ['Overloaded', 503], ['Stopped', 503]] as const) {
      node.failNext({ code });
      const r = await post(app, '/v1/commands', configure);
      expect({ status: r.status, code: r.body.error?.code, retryAfter: r.headers['retry-after'] }).toEqual({ status, code, retryAfter: '1' });
    }
    node.failNext({ code: 'Timeout' });
    const t = await post(app, '/v1/commands', configure);
    expect({ status: t.status, code: t.body.error?.code, retryAfter: t.headers['retry-after'] }).toEqual({ status: 504, code: 'Timeout', retryAfter: undefined });
    const m = await post(app, '/v1/members/ghost/promote', {});
    expect({ status: m.status, code: m.body.error?.code }).toEqual({ status: 409, code: 'InvalidMembership' });
    expect(node.applied).toBe(0);
  });

  it('a defect is a 500 "internal error" with a request id; its message and stack stay in the log', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => { lines.push(chunk.toString()); done(); } });
    const node = new TestNodeService('n1');
    const app = createApiServer(node, { logger: pino({ level: 'info' }, sink) });
    node.failNext({ code: 'Defect' });
    const r = await post(app, '/v1/commands', configure);
    expect(r.status).toBe(500);
    expect(r.body.error?.code).toBe('Internal');
    expect(r.body.error?.message).toBe(`internal error (request id ${r.body.error?.requestId})`);
    expect(r.raw).not.toContain('secret');
    node.failNext({ code: 'Defect' });
    const q = await get(app, '/v1/networks/pods/slices');
    expect(q.status).toBe(500);
    expect(q.raw).not.toContain('secret');
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const error = logged.find((l) => l.reqId === r.body.error?.requestId && l.msg === 'internal error') as { err: { message: string; stack: string } };
    expect(error.err.message).toContain('secret detail');
    expect(error.err.stack).toContain('test-node-service.ts');
    expect(logged).toContainEqual(expect.objectContaining({ reqId: r.body.error?.requestId, method: 'POST', route: '/v1/commands', status: 500, msg: 'request' }));
    expect(logged.find((l) => l.msg === 'request' && l.route === '/v1/networks/:name/slices')).toMatchObject({ status: 500, ms: expect.any(Number) });
  });
});

describe('reads', () => {
  let node: TestNodeService;
  let app: ReturnType<typeof createApiServer>;
  beforeEach(async () => {
    node = new TestNodeService('n1');
    app = createApiServer(node);
    await seeded(app);
    await post(app, '/v1/commands', { type: 'allocate', network: 'pods', nodeId: 'w1', owner: 'c1' });
    await post(app, '/v1/commands', { type: 'allocate', network: 'pods', nodeId: 'w1' });
    await post(app, '/v1/commands', { type: 'allocate', network: 'pods', nodeId: 'w2', owner: 'c2' });
  });

  it('lists networks and a network’s usage, with bigints as decimal strings', async () => {
    expect((await get(app, '/v1/networks')).body).toEqual({ ok: true, value: [{ name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 }] });
    expect((await get(app, '/v1/networks/pods')).body).toEqual({
      ok: true,
      value: { name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24, slicesAssigned: 2, sliceCapacity: '256', addressesAllocated: 3 },
    });
    const missing = await get(app, '/v1/networks/nope');
    expect({ status: missing.status, code: missing.body.error?.code }).toEqual({ status: 404, code: 'UnknownNetwork' });
  });

  it('passes ?consistency through (default linearizable) and refuses other values', async () => {
    node.consistencies.length = 0;
    await get(app, '/v1/networks');
    await get(app, '/v1/networks?consistency=stale');
    await get(app, '/v1/networks/pods/slices?consistency=stale');
    await get(app, '/v1/networks/pods/allocations?consistency=linearizable');
    expect(node.consistencies).toEqual(['linearizable', 'stale', 'stale', 'linearizable']);
    const bad = await get(app, '/v1/networks?consistency=eventual');
    expect({ status: bad.status, code: bad.body.error?.code }).toEqual({ status: 400, code: 'InvalidRequest' });
    const unknown = await get(app, '/v1/networks/pods?verbose=1');
    expect({ status: unknown.status, code: unknown.body.error?.code }).toEqual({ status: 400, code: 'InvalidRequest' });
  });

  it('lists a network’s node → slice table with usage', async () => {
    const r = await get(app, '/v1/networks/pods/slices');
    const s1 = node.sm.sliceOf('pods', 'w1') as string;
    const s2 = node.sm.sliceOf('pods', 'w2') as string;
    const expected = [
      { nodeId: 'w1', slice: s1, allocated: 2, total: '254', available: '252' },
      { nodeId: 'w2', slice: s2, allocated: 1, total: '254', available: '253' },
    ].sort((a, b) => Number(a.slice.split('.')[2]) - Number(b.slice.split('.')[2]));
    expect(r.body).toEqual({ ok: true, value: { network: 'pods', slices: expected } });
    expect((await get(app, '/v1/networks/nope/slices')).status).toBe(404);
  });

  it('lists allocations, filtered by node or owner, with a limit', async () => {
    const all = await get(app, '/v1/networks/pods/allocations');
    const records = (all.body.value as { allocations: Array<{ nodeId: string; owner?: string; address: string }> }).allocations;
    expect(records.map((a) => node.sm.allocationOf('pods', a.address))).toEqual(records);
    expect(records).toHaveLength(3);
    const w1 = await get(app, '/v1/networks/pods/allocations?node=w1');
    expect((w1.body.value as { allocations: unknown[] }).allocations).toEqual(records.filter((a) => a.nodeId === 'w1'));
    const c2 = await get(app, '/v1/networks/pods/allocations?owner=c2');
    expect(c2.body.value).toEqual({ network: 'pods', allocations: node.sm.addressesOf('c2'), truncated: false });
    const mismatch = await get(app, '/v1/networks/pods/allocations?owner=c2&node=w1');
    expect(mismatch.body.value).toEqual({ network: 'pods', allocations: [], truncated: false });
    const limited = await get(app, '/v1/networks/pods/allocations?limit=2');
    expect(limited.body.value).toEqual({ network: 'pods', allocations: records.slice(0, 2), truncated: true, next: records[1]?.address });
    // The next page starts after the cursor; a cursor that is not an address of the network is refused.
    const rest = await get(app, `/v1/networks/pods/allocations?limit=2&after=${records[1]?.address}`);
    expect(rest.body.value).toEqual({ network: 'pods', allocations: records.slice(2), truncated: false });
    const owned = records.find((a) => a.owner !== undefined) as { owner: string; address: string };
    expect((await get(app, `/v1/networks/pods/allocations?owner=${owned.owner}&after=${owned.address}`)).body.value).toEqual({ network: 'pods', allocations: [], truncated: false });
    for (const [after, code] of [['10.9.0.1', 'IpNotInRange'], ['fd00::1', 'AddressFamilyMismatch'], ['nope', 'InvalidAddress']] as const) {
      const r = await get(app, `/v1/networks/pods/allocations?after=${after}`);
      expect({ after, status: r.status, code: r.body.error?.code }).toEqual({ after, status: 400, code });
    }
    for (const q of ['limit=0', 'limit=abc', 'limit=-1', 'node=', 'colour=red']) {
      const r = await get(app, `/v1/networks/pods/allocations?${q}`);
      expect({ q, status: r.status, code: r.body.error?.code }).toEqual({ q, status: 400, code: 'InvalidRequest' });
    }
    expect((await get(app, '/v1/networks/nope/allocations?owner=c1')).status).toBe(404);
    expect((await get(app, '/v1/networks/nope/allocations')).status).toBe(404);
  });
});

describe('status, membership, probes and metrics', () => {
  it('status and members come from the service', async () => {
    const node = new TestNodeService('n1', { clientUrl: 'http://127.0.0.1:1' });
    const app = createApiServer(node);
    const s = await get(app, '/v1/status');
    expect(s.body).toEqual({ ok: true, value: await node.status() });
    expect((await get(app, '/v1/members')).body).toEqual({ ok: true, value: [{ id: 'n1', role: 'voter', clientUrl: 'http://127.0.0.1:1' }] });
  });

  it('adds, promotes and removes a member; transfers leadership with and without a target', async () => {
    const node = new TestNodeService('n1');
    const app = createApiServer(node);
    const add = await post(app, '/v1/members', { id: 'n2', peerUrl: '127.0.0.1:7002', clientUrl: 'http://127.0.0.1:8002', learner: true });
    expect(add.body).toEqual({ ok: true, value: { id: 'n2' } });
    expect(node.members[1]).toEqual({ id: 'n2', role: 'learner', peerUrl: '127.0.0.1:7002', clientUrl: 'http://127.0.0.1:8002' });
    expect((await post(app, '/v1/members/n2/promote', {})).status).toBe(200);
    expect(node.members[1]?.role).toBe('voter');
    const moved = await post(app, '/v1/transfer-leader', { to: 'n2' });
    expect(moved.body).toEqual({ ok: true, value: { leader: { id: 'n2', clientUrl: 'http://127.0.0.1:8002' } } });
    const bare = await call(app, { method: 'POST', url: '/v1/transfer-leader' });
    expect(bare.status).toBe(200);
    const removed = await call(app, { method: 'DELETE', url: '/v1/members/n2' });
    expect(removed.body).toEqual({ ok: true, value: { id: 'n2' } });
    expect(node.members.map((m) => m.id)).toEqual(['n1']);
  });

  it('refuses malformed membership requests with 400 and unknown fields are not stripped', async () => {
    const node = new TestNodeService('n1');
    const app = createApiServer(node);
    const bad: unknown[] = [
      { id: 'n2' },
      { id: 'n2', peerUrl: '127.0.0.1:7002', role: 'voter' },
      { id: 'n 2', peerUrl: '127.0.0.1:7002' },
      { id: 'n2', peerUrl: 'not a url' },
      { id: 'n2', peerUrl: '127.0.0.1:7002', learner: 'yes' },
      { id: 'n2', peerUrl: '127.0.0.1:7002', clientUrl: 5 },
    ];
    for (const body of bad) {
      const r = await post(app, '/v1/members', body);
      expect({ body, status: r.status, code: r.body.error?.code }).toEqual({ body, status: 400, code: 'InvalidRequest' });
    }
    expect((await post(app, '/v1/transfer-leader', { to: 'n2', force: true })).status).toBe(400);
    expect((await post(app, '/v1/members/bad%20id/promote', {})).status).toBe(400);
    expect(node.members).toHaveLength(1);
  });

  it('healthz is always up; readyz follows isReady()', async () => {
    const node = new TestNodeService('n1');
    const app = createApiServer(node);
    expect((await get(app, '/healthz')).body).toEqual({ ok: true, value: { up: true } });
    expect((await get(app, '/readyz')).body).toEqual({ ok: true, value: { ready: true } });
    node.ready = false;
    const r = await get(app, '/readyz');
    expect({ status: r.status, code: r.body.error?.code, retryAfter: r.headers['retry-after'] }).toEqual({ status: 503, code: 'NotReady', retryAfter: '1' });
    expect((await get(app, '/healthz')).status).toBe(200);
  });

  it('unknown routes are a coded 404', async () => {
    const app = createApiServer(new TestNodeService('n1'));
    const r = await get(app, '/v2/everything');
    expect({ status: r.status, code: r.body.error?.code }).toEqual({ status: 404, code: 'NotFound' });
  });

  it('/metrics serves the HTTP counter and histogram by route template, plus metrics the runtime registers', async () => {
    const metrics = createMetrics();
    const { Gauge } = await import('prom-client');
    new Gauge({ name: 'raft_ipam_raft_term', help: 'current term', registers: [metrics.registry], collect() { this.set(7); } });
    const app = createApiServer(new TestNodeService('n1'), { metrics: metrics.registry });
    await post(app, '/v1/commands', configure);
    await get(app, '/v1/networks/pods');
    await get(app, '/v1/networks/nope');
    const r = await app.inject({ method: 'GET', url: '/metrics' });
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.body).toContain('raft_ipam_http_requests_total{method="POST",route="/v1/commands",status="200"} 1');
    expect(r.body).toContain('raft_ipam_http_requests_total{method="GET",route="/v1/networks/:name",status="200"} 1');
    expect(r.body).toContain('raft_ipam_http_requests_total{method="GET",route="/v1/networks/:name",status="404"} 1');
    expect(r.body).toMatch(/raft_ipam_http_request_duration_seconds_count\{method="POST",route="\/v1\/commands",status="200"\} 1/);
    expect(r.body).toContain('raft_ipam_raft_term 7');
    expect(r.body).toContain('raft_ipam_process_cpu_user_seconds_total');
  });

  it('two servers can share one Registry', async () => {
    const registry = new Registry();
    const a = createApiServer(new TestNodeService('n1'), { metrics: registry });
    const b = createApiServer(new TestNodeService('n2'), { metrics: registry });
    await get(a, '/healthz');
    await get(b, '/healthz');
    expect(await registry.metrics()).toContain('raft_ipam_http_requests_total{method="GET",route="/healthz",status="200"} 2');
  });
});

describe('bearer token', () => {
  const node = new TestNodeService('n1');
  const app = createApiServer(node, { token: 's3cret-token' });

  it('refuses a missing, wrong or malformed token with 401 before reading the body', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: 'Bearer s3cret-token-longer' }, { authorization: 's3cret-token' }, { authorization: 'Basic s3cret-token' }, { authorization: 'Bearer  s3cret-token' }]) {
      const r = await post(app, '/v1/commands', configure, headers);
      expect({ headers, status: r.status, code: r.body.error?.code, challenge: r.headers['www-authenticate'] }).toEqual({ headers, status: 401, code: 'Unauthorized', challenge: 'Bearer' });
    }
    expect((await get(app, '/metrics')).status).toBe(401);
    expect((await get(app, '/v1/status')).status).toBe(401);
    expect(node.received).toEqual([]);
  });

  it('accepts the right token; probes stay open', async () => {
    const ok = await post(app, '/v1/commands', configure, { authorization: 'Bearer s3cret-token' });
    expect(ok.status).toBe(200);
    expect((await get(app, '/metrics', { authorization: 'Bearer s3cret-token' })).status).toBe(200);
    expect((await get(app, '/healthz')).status).toBe(200);
    expect((await get(app, '/readyz')).status).toBe(200);
  });
});
