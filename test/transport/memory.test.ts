import { describe, expect, it } from 'vitest';
import { checkInbound, MemoryNetwork, PROTOCOL_VERSION, type Envelope } from '../../src/transport/index.js';
import { ping, pingAdapter, type Ping } from './support.js';

async function cluster(ids: string[], net = new MemoryNetwork({ cluster: 'c1' })) {
  const got = new Map<string, Ping[]>();
  const unreachable = new Map<string, string[]>();
  const ts = new Map(
    ids.map((id) => {
      const t = net.createTransport(id, pingAdapter);
      got.set(id, []);
      unreachable.set(id, []);
      t.onMessage((m, from) => {
        expect(from).toBe(m.from);
        got.get(id)!.push(m);
      });
      t.onPeerUnreachable((p) => unreachable.get(id)!.push(p));
      return [id, t] as const;
    }),
  );
  for (const t of ts.values()) await t.start();
  return { net, ts, got, unreachable, t: (id: string) => ts.get(id)! };
}

describe('MemoryNetwork / MemoryTransport', () => {
  it('delivers nothing until the caller drives delivery, then in send order, as copies', async () => {
    const c = await cluster(['n1', 'n2']);
    const m = ping('n1', 'n2', 1, 4);
    c.t('n1').send('n2', m);
    c.t('n1').send('n2', ping('n1', 'n2', 2));
    expect(c.got.get('n2')).toEqual([]);
    expect(c.net.pending().map((f) => [f.seq, f.from, f.to])).toEqual([[1, 'n1', 'n2'], [2, 'n1', 'n2']]);
    expect(c.net.deliverAll()).toBe(2);
    expect(c.got.get('n2')!.map((p) => p.n)).toEqual([1, 2]);
    const received = c.got.get('n2')![0]!;
    expect(received).not.toBe(m);
    expect([...received.data]).toEqual([...m.data]);
    expect(c.t('n1').stats()).toMatchObject({ framesSent: 2 });
    expect(c.t('n2').stats()).toMatchObject({ framesReceived: 2, delivered: 2 });
    expect(c.t('n1').stats().bytesSent).toBe(c.t('n2').stats().bytesReceived);
  });

  it('handlers that send during delivery are driven by the same deliverAll loop (request/response)', async () => {
    const c = await cluster(['n1', 'n2']);
    c.t('n2').onMessage((m) => c.t('n2').send(m.from, ping('n2', m.from, m.n + 100)));
    c.t('n1').send('n2', ping('n1', 'n2', 1));
    expect(c.net.deliverAll()).toBe(2);
    expect(c.got.get('n1')!.map((p) => p.n)).toEqual([101]);
  });

  it('deliver(seq) reorders and drop(seq) loses one frame', async () => {
    const c = await cluster(['n1', 'n2']);
    for (const n of [1, 2, 3]) c.t('n1').send('n2', ping('n1', 'n2', n));
    const [a, b, d] = c.net.pending();
    expect(c.net.deliver(d!.seq)).toBe(true);
    expect(c.net.drop(a!.seq)).toBe(true);
    expect(c.net.deliver(a!.seq)).toBe(false);
    c.net.deliver(b!.seq);
    expect(c.got.get('n2')!.map((p) => p.n)).toEqual([3, 2]);
    expect(c.net.stats()).toEqual({ inFlight: 0, delivered: 2, droppedByFault: 1 });
  });

  it('a cut link loses frames at delivery time and tells the sender the peer is unreachable; heal restores it', async () => {
    const c = await cluster(['n1', 'n2', 'n3']);
    c.t('n1').send('n2', ping('n1', 'n2', 1)); // in flight before the partition: lost too
    c.net.partition(['n1'], ['n2', 'n3']);
    c.t('n2').send('n1', ping('n2', 'n1', 2));
    c.t('n2').send('n3', ping('n2', 'n3', 3));
    c.net.deliverAll();
    expect(c.got.get('n2')).toEqual([]);
    expect(c.got.get('n1')).toEqual([]);
    expect(c.got.get('n3')!.map((p) => p.n)).toEqual([3]);
    expect(c.unreachable.get('n1')).toEqual(['n2']);
    expect(c.unreachable.get('n2')).toEqual(['n1']);
    c.net.heal();
    c.t('n1').send('n2', ping('n1', 'n2', 4));
    c.net.deliverAll();
    expect(c.got.get('n2')!.map((p) => p.n)).toEqual([4]);
  });

  it('a one-way cut affects only that direction', async () => {
    const c = await cluster(['n1', 'n2']);
    c.net.cut('n1', 'n2');
    c.t('n1').send('n2', ping('n1', 'n2', 1));
    c.t('n2').send('n1', ping('n2', 'n1', 2));
    c.net.deliverAll();
    expect(c.got.get('n2')).toEqual([]);
    expect(c.got.get('n1')!.map((p) => p.n)).toEqual([2]);
    c.net.restore('n1', 'n2');
    expect(c.net.isCut('n1', 'n2')).toBe(false);
  });

  it('the filter loses frames silently (no unreachable signal)', async () => {
    const c = await cluster(['n1', 'n2']);
    c.net.setFilter((f) => f.seq % 2 === 0);
    for (const n of [1, 2, 3, 4]) c.t('n1').send('n2', ping('n1', 'n2', n));
    c.net.deliverAll();
    expect(c.got.get('n2')!.map((p) => p.n)).toEqual([2, 4]);
    expect(c.unreachable.get('n1')).toEqual([]);
    expect(c.net.stats().droppedByFault).toBe(2);
  });

  it('a closed node is unreachable, sends nothing, and can be replaced by a restarted transport', async () => {
    const c = await cluster(['n1', 'n2']);
    await c.t('n2').close();
    await c.t('n2').close(); // idempotent
    c.t('n1').send('n2', ping('n1', 'n2', 1));
    c.t('n2').send('n1', ping('n2', 'n1', 2));
    expect(c.t('n2').stats().dropped.closed).toBe(1);
    c.net.deliverAll();
    expect(c.unreachable.get('n1')).toEqual(['n2']);
    expect(() => c.net.createTransport('n1', pingAdapter)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    const again = c.net.createTransport('n2', pingAdapter);
    const got: number[] = [];
    again.onMessage((m) => got.push(m.n));
    await again.start();
    c.t('n1').send('n2', ping('n1', 'n2', 3));
    c.net.deliverAll();
    expect(got).toEqual([3]);
  });

  it('send refuses caller bugs with InvalidArgument and counts an oversized frame instead of sending it', async () => {
    const net = new MemoryNetwork({ cluster: 'c1', maxFrameBytes: 256 });
    const c = await cluster(['n1', 'n2'], net);
    expect(() => c.t('n1').send('n3', ping('n1', 'n2', 1))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => c.t('n1').send('n2', ping('n3', 'n2', 1))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => c.t('n1').send('n1', ping('n1', 'n1', 1))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => c.t('n1').send('bad id!', ping('n1', 'bad id!', 1))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    c.t('n1').send('n2', ping('n1', 'n2', 1, 1000));
    expect(c.t('n1').stats().dropped.tooLarge).toBe(1);
    expect(c.net.pending()).toEqual([]);
  });

  it('refuses invalid network options and node ids', () => {
    expect(() => new MemoryNetwork({ cluster: '' })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => new MemoryNetwork({ maxFrameBytes: -1 })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => new MemoryNetwork().createTransport('', pingAdapter)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});

describe('checkInbound (the checks both transports apply)', () => {
  const ctx = { self: 'n2', cluster: 'c1', adapter: pingAdapter, isPeer: (id: string) => ['n1', 'n2', 'n3'].includes(id) };
  const env = (over: Partial<Envelope> = {}): Envelope => ({ v: PROTOCOL_VERSION, cluster: 'c1', from: 'n1', to: 'n2', payload: ping('n1', 'n2', 1), ...over });

  it('delivers a frame from a known peer of this cluster addressed to us', () => {
    expect(checkInbound(env(), ctx, 'n1')).toMatchObject({ kind: 'deliver', from: 'n1', msg: { n: 1 } });
    expect(checkInbound(env(), ctx, null)).toMatchObject({ kind: 'deliver' });
  });

  const cases: Array<[string, Envelope, string | null, string, string]> = [
    ['another cluster', env({ cluster: 'c2' }), 'n1', 'drop', 'wrongCluster'],
    ['a sender other than the authenticated identity', env({ from: 'n3', payload: ping('n3', 'n2', 1) }), 'n1', 'reject', 'identityMismatch'],
    ['an unknown sender', env({ from: 'n9', payload: ping('n9', 'n2', 1) }), null, 'drop', 'unknownSender'],
    ['ourselves as sender', env({ from: 'n2', payload: ping('n2', 'n2', 1) }), null, 'drop', 'unknownSender'],
    ['another recipient', env({ to: 'n3', payload: ping('n1', 'n3', 1) }), 'n1', 'drop', 'wrongRecipient'],
    ['a payload the validator refuses', env({ payload: { type: 'nope' } }), 'n1', 'drop', 'badPayload'],
    ['a payload speaking for a third node', env({ payload: ping('n3', 'n2', 1) }), 'n1', 'drop', 'addressMismatch'],
    ['a payload addressed elsewhere', env({ payload: ping('n1', 'n3', 1) }), 'n1', 'drop', 'addressMismatch'],
  ];
  for (const [what, e, identity, kind, reason] of cases) {
    it(`${kind}s ${what} (${reason})`, () => {
      expect(checkInbound(e, ctx, identity)).toMatchObject({ kind, reason });
    });
  }

  it('never calls the payload validator for a frame it drops earlier', () => {
    let calls = 0;
    const counting = { ...ctx, adapter: { ...pingAdapter, decode: (raw: unknown) => (calls++, pingAdapter.decode(raw)) } };
    checkInbound(env({ cluster: 'c2' }), counting, 'n1');
    checkInbound(env({ from: 'n9' }), counting, null);
    checkInbound(env({ to: 'n3' }), counting, 'n1');
    expect(calls).toBe(0);
    checkInbound(env(), counting, 'n1');
    expect(calls).toBe(1);
  });
});
