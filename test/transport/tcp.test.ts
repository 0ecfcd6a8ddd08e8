import net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, createClusterCerts, DEFAULT_BACKOFF, encodeFrame, PROTOCOL_VERSION, TcpTransport } from '../../src/transport/index.js';
import { sourceAddressFor } from '../../src/transport/tcp.js';
import { mesh, node, ping, pingAdapter, waitFor, type Node } from './support.js';

const open: Node[] = [];
async function started(id: string, opts: Parameters<typeof node>[1] = {}): Promise<Node> {
  const n = await node(id, opts);
  open.push(n);
  return n;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.t.close()));
});

/** A raw client socket to a transport's listening port, for speaking broken protocol at it. */
async function rawClient(port: number): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, closed };
}

/** The address of a peer that is down: a transport started and closed again, so nothing listens there. */
async function downAddress(id: string): Promise<{ host: string; port: number }> {
  const n = await started(id);
  const addr = n.t.address();
  await n.t.close();
  return addr;
}

// A backoff no test waits out (waitFor gives up after 20 s): only the peer's own dial can end it in time.
const LONG_BACKOFF = { initialMs: 600_000, maxMs: 600_000 };

/** n1 with a message for n2, which is down at `addr`: its first dial has failed and it is backing off. */
async function backingOffTowards(addr: { host: string; port: number }): Promise<Node> {
  const a = await started('n1', { backoff: LONG_BACKOFF });
  a.t.addPeer('n2', addr);
  a.t.send('n2', ping('n1', 'n2', 1));
  await waitFor(() => a.unreachable.includes('n2'), 'the first dial to fail');
  return a;
}

const frame = (over: Partial<{ cluster: string; from: string; to: string; payload: unknown }> = {}) =>
  encodeFrame({ v: PROTOCOL_VERSION, cluster: 'c1', from: 'n1', to: 'n2', payload: ping(over.from ?? 'n1', over.to ?? 'n2', 7), ...over });

describe('TcpTransport over plaintext (insecure: true)', () => {
  it('exchanges messages both ways, in order, with a multi-megabyte message among them', async () => {
    const a = await started('n1');
    const b = await started('n2');
    mesh(a, b);
    for (let n = 0; n < 50; n++) a.t.send('n2', ping('n1', 'n2', n, n === 25 ? 3 * 1024 * 1024 : 10));
    for (let n = 0; n < 20; n++) b.t.send('n1', ping('n2', 'n1', 1000 + n, 100));
    await waitFor(() => b.got.length === 50 && a.got.length === 20, 'both directions');
    expect(b.got.map((m) => m.n)).toEqual([...Array(50).keys()]);
    expect(a.got.map((m) => m.n)).toEqual([...Array(20).keys()].map((n) => 1000 + n));
    const big = b.got[25]!;
    expect(big.data.length).toBe(3 * 1024 * 1024);
    expect(Buffer.from(big.data).equals(Buffer.from(ping('n1', 'n2', 25, 3 * 1024 * 1024).data))).toBe(true);
    const sa = a.t.stats();
    const sb = b.t.stats();
    expect(sa.framesSent).toBe(50);
    expect(sb.framesReceived).toBe(50);
    expect(sb.delivered).toBe(50);
    expect(sa.bytesSent).toBe(sb.bytesReceived);
    expect(sa.bytesSent).toBeGreaterThan(3 * 1024 * 1024);
    expect(a.logs.some((l) => l.event === 'connected' && l.peer === 'n2')).toBe(true);
  });

  it('reconnects after the peer restarts, reports it unreachable meanwhile, and delivers what is sent after', async () => {
    const a = await started('n1');
    let b = await started('n2');
    mesh(a, b);
    const addr = b.t.address();
    a.t.send('n2', ping('n1', 'n2', 1));
    await waitFor(() => b.got.length === 1, 'first message');
    await b.t.close();
    a.t.send('n2', ping('n1', 'n2', 2)); // written to a dead connection or queued: either way Raft retries
    await waitFor(() => a.unreachable.includes('n2'), 'unreachable report');
    // Restart on the port the OS gave the first incarnation (a peer's address does not change on restart).
    b = await started('n2', { listen: addr });
    b.t.addPeer('n1', a.t.address());
    await waitFor(() => {
      a.t.send('n2', ping('n1', 'n2', 3));
      return b.got.some((m) => m.n === 3);
    }, 'delivery after restart');
    expect(a.t.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(a.t.stats().connectFailures).toBeGreaterThanOrEqual(1);
    expect(a.logs.some((l) => l.event === 'connectFailed' && l.peer === 'n2')).toBe(true);
  });

  it('a link waiting out its backoff retries at once when that peer dials us (it is evidently up)', async () => {
    const addr = await downAddress('n2');
    const a = await backingOffTowards(addr);
    expect(a.logs.filter((l) => l.event === 'connectFailed').map((l) => l.reason)).toEqual(['connectFailed']);
    expect(a.logs.find((l) => l.event === 'connectFailed')?.detail).toMatch(/; retry in \d+ ms$/); // the ping waits queued
    a.t.send('n2', ping('n1', 'n2', 2)); // queued behind the backoff
    const b = await started('n2', { listen: addr, backoff: LONG_BACKOFF });
    b.t.addPeer('n1', a.t.address());
    expect(a.t.connectionCount().outbound).toBe(0);
    b.t.send('n1', ping('n2', 'n1', 9));
    await waitFor(() => a.got.length === 1, 'n2 → n1');
    await waitFor(() => b.got.length === 2, 'n1 → n2 once n2 has dialled n1');
    expect(b.got.map((m) => m.n)).toEqual([1, 2]);
    // The early retry is the one redial; no timer fired meanwhile.
    expect(a.t.stats().connectFailures).toBe(1);
    expect(a.t.connectionCount().outbound).toBe(1);
  });

  it('a node that starts says hello to each peer it knows, so a link backing off towards it retries at once though it has nothing to send', async () => {
    const addr = await downAddress('n2');
    const a = await backingOffTowards(addr);
    // n2 knows n1 from its configuration (as a restarted follower does) and never sends it anything.
    const b = await started('n2', { listen: addr, peers: { n1: a.t.address() }, backoff: LONG_BACKOFF });
    await waitFor(() => b.got.length === 1, 'n1 → n2 after the hello');
    expect(a.got).toEqual([]); // the hello is not a message
    expect(a.t.stats()).toMatchObject({ framesReceived: 1, delivered: 0, connectFailures: 1 });
    expect(b.t.stats().framesSent).toBe(1);
    // Announced once: a peer that is down at start is not redialled for the hello's sake.
    const c = await started('n3', { peers: { n9: await downAddress('n9') } });
    await waitFor(() => c.unreachable.includes('n9'), 'the hello dial to fail');
    await new Promise((r) => setTimeout(r, 150)); // several of the test backoff's 5–40 ms retries
    expect(c.t.stats().connectFailures).toBe(1);
    // …and its log does not promise a retry.
    expect(c.logs.find((l) => l.event === 'connectFailed')?.detail).toMatch(/; nothing queued, so no redial: the next message dials, at the earliest in \d+ ms$/);
  });

  it('a hello is checked like any frame: unknown senders and other recipients are dropped, and it binds a plaintext connection', async () => {
    const b = await started('n2');
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 });
    b.t.addPeer('n3', { host: '127.0.0.1', port: 9 });
    const c = await rawClient(b.t.address().port);
    c.socket.write(frame({ from: 'n9', payload: null }));
    c.socket.write(frame({ to: 'n3', payload: null }));
    c.socket.write(frame({ payload: null }));
    c.socket.write(frame({ from: 'n3', payload: ping('n3', 'n2', 1) }));
    await c.closed;
    expect(b.t.stats().dropped).toMatchObject({ unknownSender: 1, wrongRecipient: 1 });
    expect(b.t.stats().rejected.identityMismatch).toBe(1);
    expect(b.got).toEqual([]);
  });

  it('a peer dialling us while our link to it is idle or connected changes nothing', async () => {
    const a = await started('n1');
    const b = await started('n2');
    mesh(a, b);
    b.t.send('n1', ping('n2', 'n1', 1)); // a's link to n2 is idle: n2's dial must not make it dial
    await waitFor(() => a.got.length === 1, 'n2 → n1');
    expect(a.t.connectionCount().outbound).toBe(0);
    a.t.send('n2', ping('n1', 'n2', 2));
    await waitFor(() => b.got.length === 1, 'n1 → n2');
    expect(a.t.stats().connectFailures).toBe(0);
  });

  it('bounds the queue of a down peer by messages and bytes, evicting the oldest, and delivers the newest on return', async () => {
    const addr = await downAddress('n2');
    const a = await started('n1', { maxFrameBytes: 1024, queue: { maxMessages: 10, maxBytes: 4096 } });
    a.t.addPeer('n2', addr);
    for (let n = 0; n < 100; n++) a.t.send('n2', ping('n1', 'n2', n, 100));
    let s = a.t.stats();
    expect(s.queuedMessages).toBe(10);
    expect(s.dropped.queueFull).toBe(90);
    for (let n = 100; n < 120; n++) a.t.send('n2', ping('n1', 'n2', n, 900)); // ~950 B frames: the byte bound binds
    s = a.t.stats();
    expect(s.queuedBytes).toBeLessThanOrEqual(4096);
    expect(s.queuedMessages).toBe(4);
    expect(s.dropped.queueFull).toBe(90 + 10 + 16);
    await waitFor(() => a.unreachable.length > 0, 'connect failure');
    expect(a.t.stats().framesSent).toBe(0);
    const b = await started('n2', { listen: addr });
    b.t.addPeer('n1', a.t.address());
    await waitFor(() => b.got.length === 4, 'queued messages after the peer returns');
    expect(b.got.map((m) => m.n)).toEqual([116, 117, 118, 119]);
    expect(a.t.stats().queuedMessages).toBe(0);
  });

  it('applies backpressure: a peer that stops reading gets no more than the socket takes; the rest stays bounded', async () => {
    const stalled: net.Socket[] = [];
    const sink = net.createServer((s) => {
      s.pause(); // accept and never read
      stalled.push(s);
    });
    await new Promise<void>((r) => sink.listen({ host: '127.0.0.1', port: 0 }, r));
    try {
      const { port } = sink.address() as net.AddressInfo;
      const a = await started('n1', { queue: { maxMessages: 100_000, maxBytes: 20 * 1024 * 1024 } });
      a.t.addPeer('n2', { host: '127.0.0.1', port });
      const size = 256 * 1024;
      a.t.send('n2', ping('n1', 'n2', 0, 10));
      await waitFor(() => a.t.connectionCount().outbound === 1, 'connection to the stalled peer');
      // 200 MB offered; kernel buffers on loopback take a few MB at most, so most must wait or be evicted.
      for (let n = 1; n <= 800; n++) {
        a.t.send('n2', ping('n1', 'n2', n, size));
        if (n % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      await waitFor(() => a.t.stats().dropped.queueFull > 0, 'evictions');
      const s = a.t.stats();
      expect(s.queuedBytes).toBeLessThanOrEqual(20 * 1024 * 1024);
      expect(s.framesSent).toBeLessThan(800);
      expect(s.framesSent + s.queuedMessages + s.dropped.queueFull).toBe(801);
    } finally {
      for (const s of stalled) s.destroy();
      await new Promise<void>((r) => sink.close(() => r()));
    }
  });

  it('drops and counts a frame with the wrong cluster id, and keeps the connection for good frames', async () => {
    const b = await started('n2');
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 }); // known sender; we never dial it in this test
    const c = await rawClient(b.t.address().port);
    c.socket.write(frame({ cluster: 'other-cluster' }));
    await waitFor(() => b.t.stats().dropped.wrongCluster === 1, 'wrong-cluster drop');
    expect(b.got).toEqual([]);
    c.socket.write(frame());
    await waitFor(() => b.got.length === 1, 'good frame on the same connection');
    expect(b.t.stats().rejected.badFrame).toBe(0);
    c.socket.destroy();
  });

  it('drops frames from an unknown sender, to another recipient, or with a payload the validator refuses', async () => {
    const b = await started('n2');
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 });
    const c = await rawClient(b.t.address().port);
    c.socket.write(frame({ from: 'n9', payload: ping('n9', 'n2', 1) }));
    c.socket.write(frame({ to: 'n3', payload: ping('n1', 'n3', 1) }));
    c.socket.write(frame({ payload: { type: 'garbage' } }));
    c.socket.write(frame({ payload: ping('n3', 'n2', 1) }));
    await waitFor(() => b.t.stats().framesReceived === 4, 'four frames');
    expect(b.t.stats().dropped).toMatchObject({ unknownSender: 1, wrongRecipient: 1, badPayload: 1, addressMismatch: 1 });
    expect(b.got).toEqual([]);
    c.socket.destroy();
  });

  it('binds a plaintext connection to its first sender and closes it when a frame claims another', async () => {
    const b = await started('n2');
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 });
    b.t.addPeer('n3', { host: '127.0.0.1', port: 9 });
    const c = await rawClient(b.t.address().port);
    c.socket.write(frame());
    c.socket.write(frame({ from: 'n3', payload: ping('n3', 'n2', 1) }));
    await c.closed;
    expect(b.got.map((m) => m.from)).toEqual(['n1']);
    expect(b.t.stats().rejected.identityMismatch).toBe(1);
  });

  it('random bytes on a socket: the server closes that connection and counts why; other peers keep being served (property)', async () => {
    const a = await started('n1');
    const b = await started('n2');
    mesh(a, b);
    const max = 16 * 1024 * 1024;
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 5, maxLength: 512 }), fc.boolean(), async (bytes, plausible) => {
        // Half the time force a length prefix that fits, so the body (not only the prefix) is the garbage.
        if (plausible) bytes.set([0, 0, 0, Math.min(255, bytes.length - 4)], 0);
        const length = Buffer.from(bytes).readUInt32BE(0);
        const before = b.t.stats().rejected;
        const c = await rawClient(b.t.address().port);
        c.socket.write(bytes);
        const complete = length === 0 || length > max || 4 + length <= bytes.length;
        // A broken frame must make the SERVER close; only a still-incomplete one needs us to hang up.
        if (!complete) c.socket.end();
        await c.closed;
        const after = b.t.stats().rejected;
        if (length > max) expect(after.frameTooLarge).toBe(before.frameTooLarge + 1);
        else if (complete) expect(after.badFrame + after.unsupportedVersion).toBe(before.badFrame + before.unsupportedVersion + 1);
        else expect(after).toEqual(before);
        round++;
        a.t.send('n2', ping('n1', 'n2', round));
        await waitFor(() => b.got.some((m) => m.n === round), 'good traffic still flowing');
      }),
      { numRuns: 60 },
    );
    expect(b.t.stats().delivered).toBe(60);
    expect(b.t.stats().rejected.badFrame).toBeGreaterThan(0);
    expect(b.t.stats().rejected.frameTooLarge).toBeGreaterThan(0);
  });

  it('closes on an oversized length prefix without waiting for (or buffering) the body', async () => {
    const b = await started('n2', { maxFrameBytes: 1024 });
    const c = await rawClient(b.t.address().port);
    c.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0])); // announces ~4 GiB and sends nothing more
    await c.closed;
    expect(b.t.stats().rejected.frameTooLarge).toBe(1);
    expect(b.logs.some((l) => l.reason === 'frameTooLarge')).toBe(true);
  });

  it('a truncated frame followed by close delivers nothing and counts nothing as received', async () => {
    const b = await started('n2');
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 });
    const whole = frame();
    const c = await rawClient(b.t.address().port);
    c.socket.write(whole.subarray(0, whole.length - 3));
    c.socket.end();
    await c.closed;
    await waitFor(() => b.t.connectionCount().inbound === 0, 'server side closed');
    expect(b.got).toEqual([]);
    expect(b.t.stats()).toMatchObject({ framesReceived: 0, delivered: 0 });
    // The same bytes complete are delivered: the test can see a delivery when there is one.
    const d = await rawClient(b.t.address().port);
    d.socket.write(whole);
    await waitFor(() => b.got.length === 1, 'complete frame');
    d.socket.destroy();
  });

  it('holds at most maxInboundConnections inbound connections', async () => {
    const b = await started('n2', { maxInboundConnections: 1 });
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 });
    const first = await rawClient(b.t.address().port);
    await waitFor(() => b.t.connectionCount().inbound === 1, 'first connection accepted');
    const second = await rawClient(b.t.address().port);
    await second.closed; // closed by the server without a byte from us
    first.socket.write(frame());
    await waitFor(() => b.got.length === 1, 'the first connection still works');
    first.socket.destroy();
  });

  it('counts a send to an unknown peer and an oversized message instead of throwing', async () => {
    const a = await started('n1', { maxFrameBytes: 1024 });
    a.t.send('n7', ping('n1', 'n7', 1));
    a.t.addPeer('n2', { host: '127.0.0.1', port: 9 });
    a.t.send('n2', ping('n1', 'n2', 1, 5000));
    expect(a.t.stats().dropped).toMatchObject({ unknownPeer: 1, tooLarge: 1 });
    expect(() => a.t.send('n2', ping('n1', 'n3', 1))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('close() closes the server, every socket and timer; it is idempotent and later sends are counted', async () => {
    const a = await started('n1');
    const b = await started('n2');
    mesh(a, b);
    a.t.send('n2', ping('n1', 'n2', 1));
    b.t.send('n1', ping('n2', 'n1', 1));
    await waitFor(() => a.got.length === 1 && b.got.length === 1, 'traffic');
    expect(a.t.hasOpenHandles()).toBe(true);
    expect(a.t.connectionCount()).toEqual({ outbound: 1, inbound: 1 });
    await Promise.all([a.t.close(), a.t.close()]);
    expect(a.t.hasOpenHandles()).toBe(false);
    expect(a.t.connectionCount()).toEqual({ outbound: 0, inbound: 0 });
    expect(() => a.t.address()).toThrow(expect.objectContaining({ code: 'Closed' }));
    await expect(a.t.start()).rejects.toMatchObject({ code: 'Closed' });
    a.t.send('n2', ping('n1', 'n2', 2));
    expect(a.t.stats().dropped.closed).toBe(1);
    // b's link to a is in backoff with a timer pending; close() must clear it.
    b.t.send('n1', ping('n2', 'n1', 2));
    await waitFor(() => b.unreachable.includes('n1'), 'b notices');
    await b.t.close();
    expect(b.t.hasOpenHandles()).toBe(false);
    await a.t.close();
  });

  it('close() during start() leaves nothing listening', async () => {
    const t = new TcpTransport({ id: 'n1', cluster: 'c1', listen: { host: '127.0.0.1', port: 0 }, peers: {}, adapter: pingAdapter, insecure: true });
    const s = t.start();
    await t.close();
    await s;
    expect(t.hasOpenHandles()).toBe(false);
  });
});

describe('backoff', () => {
  it('grows by the multiplier, is capped, and jitters within [½, 1] of the base', () => {
    const b = { ...DEFAULT_BACKOFF, initialMs: 100, maxMs: 1000, multiplier: 2 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(b, n, 1 - Number.EPSILON))).toEqual([100, 200, 400, 800, 1000, 1000].map((x) => x * (1 - Number.EPSILON / 2)));
    expect(backoffDelay(b, 2, 0)).toBe(200);
    expect(backoffDelay(b, 2, 0.5)).toBe(300);
    expect(backoffDelay(b, 1e9, 0.5)).toBe(750);
  });

  it('the transport draws its jitter from the injected source', async () => {
    const draws: number[] = [];
    const addr = await downAddress('n2');
    const a = await started('n1', { random: () => (draws.push(0), 0) });
    a.t.addPeer('n2', addr);
    a.t.send('n2', ping('n1', 'n2', 1));
    await waitFor(() => a.unreachable.length >= 2, 'two failed connects');
    expect(draws.length).toBeGreaterThanOrEqual(2);
  });
});

describe('TcpTransport options', () => {
  const base = { id: 'n1', cluster: 'c1', listen: { host: '127.0.0.1', port: 0 }, peers: {}, adapter: pingAdapter };
  const bad: Array<[string, object, string]> = [
    ['no tls and no insecure flag', {}, 'InvalidArgument'],
    ['insecure not a boolean', { insecure: 'yes' }, 'InvalidArgument'],
    ['an invalid id', { id: 'a b', insecure: true }, 'InvalidArgument'],
    ['an invalid cluster', { cluster: '', insecure: true }, 'InvalidArgument'],
    ['a listen port out of range', { listen: { host: '127.0.0.1', port: 70000 }, insecure: true }, 'InvalidArgument'],
    ['itself as a peer', { peers: { n1: { host: '127.0.0.1', port: 1 } }, insecure: true }, 'InvalidArgument'],
    ['a peer with port 0', { peers: { n2: { host: '127.0.0.1', port: 0 } }, insecure: true }, 'InvalidArgument'],
    ['a queue byte bound below one frame', { maxFrameBytes: 1024, queue: { maxBytes: 1000 }, insecure: true }, 'InvalidArgument'],
    ['a zero message bound', { queue: { maxMessages: 0 }, insecure: true }, 'InvalidArgument'],
    ['a zero inbound connection cap', { maxInboundConnections: 0, insecure: true }, 'InvalidArgument'],
    ['a backoff cap below its start', { backoff: { initialMs: 100, maxMs: 10 }, insecure: true }, 'InvalidArgument'],
    ['an adapter without decode', { adapter: { to: () => 'x', from: () => 'y' }, insecure: true }, 'InvalidArgument'],
    ['a localAddress that is a host name', { localAddress: 'localhost', insecure: true }, 'InvalidArgument'],
    ['an unspecified IPv4 localAddress', { localAddress: '0.0.0.0', insecure: true }, 'InvalidArgument'],
    ['an unspecified IPv6 localAddress', { localAddress: '::', insecure: true }, 'InvalidArgument'],
  ];
  for (const [what, over, code] of bad) {
    it(`refuses ${what} (${code})`, () => {
      expect(() => new TcpTransport({ ...base, ...over } as ConstructorParameters<typeof TcpTransport>[0])).toThrow(expect.objectContaining({ code }));
    });
  }

  it('refuses to listen on an address in use (InvalidArgument) without leaking the server', async () => {
    const a = await started('n1');
    const t = new TcpTransport({ ...base, id: 'n2', listen: a.t.address(), insecure: true });
    await expect(t.start()).rejects.toMatchObject({ code: 'InvalidArgument' });
    await t.close();
    expect(t.hasOpenHandles()).toBe(false);
  });
});

describe('source address of outbound connections (localAddress)', () => {
  /** A bare TCP server on a loopback address that records the source IP of every connection it accepts. */
  async function sourceRecorder(host: string): Promise<{ server: net.Server; sources: string[]; port: number }> {
    const sources: string[] = [];
    const server = net.createServer((s) => {
      sources.push(s.remoteAddress ?? '');
      s.on('error', () => {});
      s.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return { server, sources, port: (server.address() as net.AddressInfo).port };
  }

  for (const mode of ['plaintext', 'TLS'] as const) {
    it(`a ${mode} dial leaves from localAddress, so the peer can tell who dialled by the source IP`, async () => {
      const r = await sourceRecorder('127.0.0.3');
      try {
        const tls = mode === 'TLS' ? (await createClusterCerts({ nodes: ['n1'] })) : undefined;
        const a = await started('n1', {
          localAddress: '127.0.0.2',
          ...(tls ? { tls: { ca: tls.ca.cert, ...(tls.nodes.get('n1') as { cert: string; key: string }) }, insecure: false } : {}),
        });
        a.t.addPeer('n2', { host: '127.0.0.3', port: r.port });
        a.t.send('n2', ping('n1', 'n2', 1));
        await waitFor(() => r.sources.length > 0, 'a connection at the recorder');
        expect(r.sources[0]).toBe('127.0.0.2');
      } finally {
        r.server.close();
      }
    });
  }

  it('is applied only where it can reach the peer: same family, loopback only towards loopback, IP literals only', () => {
    expect(sourceAddressFor('127.0.0.2', '127.0.0.3')).toBe('127.0.0.2');
    expect(sourceAddressFor('10.0.0.2', '10.0.0.3')).toBe('10.0.0.2');
    expect(sourceAddressFor('10.0.0.2', '127.0.0.1')).toBe('10.0.0.2');
    expect(sourceAddressFor('::1', '::1')).toBe('::1');
    expect(sourceAddressFor(null, '127.0.0.3')).toBeUndefined();
    expect(sourceAddressFor('127.0.0.2', '10.0.0.3')).toBeUndefined();
    expect(sourceAddressFor('127.0.0.2', '::1')).toBeUndefined();
    expect(sourceAddressFor('::1', '127.0.0.1')).toBeUndefined();
    expect(sourceAddressFor('127.0.0.2', 'localhost')).toBeUndefined();
  });
});
