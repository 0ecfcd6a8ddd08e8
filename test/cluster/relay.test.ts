/**
 * The harness's TCP relay on loopback: bytes forwarded both ways, a blocked dialer blackholed ('drop') or
 * rejected ('reset'), heal restoring the stream in order, and the dialer told by its source IP.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Relay } from '../../cluster/relay.js';
import { waitFor } from '../transport/support.js';

const A = '127.0.0.2';
const B = '127.0.0.3';
const NODE = '127.0.0.4';
const STRANGER = '127.0.0.1';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The "node": a server that records what each accepted connection sent, and can answer on it. */
interface Sink {
  server: net.Server;
  port: number;
  conns: Array<{ socket: net.Socket; got: Buffer[]; ended: boolean; closed: boolean; remote: string }>;
  text(i: number): string;
}

async function sink(): Promise<Sink> {
  const conns: Sink['conns'] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const c = { socket, got: [] as Buffer[], ended: false, closed: false, remote: socket.remoteAddress ?? '' };
    conns.push(c);
    socket.on('data', (d: Buffer) => c.got.push(d));
    socket.on('end', () => (c.ended = true));
    socket.on('error', () => {});
    socket.on('close', () => (c.closed = true));
  });
  await new Promise<void>((r) => server.listen(0, NODE, r));
  cleanups.push(() => {
    for (const c of conns) c.socket.destroy();
    return new Promise((r) => server.close(r));
  });
  return { server, port: (server.address() as net.AddressInfo).port, conns, text: (i) => Buffer.concat(conns[i]?.got ?? []).toString() };
}

async function relayTo(target: Sink, holdBytes?: number): Promise<Relay> {
  const ids = new Map([[A, 'a'], [B, 'b']]);
  const relay = await Relay.start({ listen: { host: NODE, port: 0 }, target: { host: NODE, port: target.port }, identify: (ip) => ids.get(ip), ...(holdBytes ? { holdBytes } : {}) });
  cleanups.push(() => relay.close());
  return relay;
}

/** A dialer bound to `from`, recording what comes back and how the connection ended. */
interface Dialer {
  socket: net.Socket;
  got: Buffer[];
  error: string | undefined;
  closed: boolean;
  text(): string;
}

function dial(relay: Relay, from: string): Dialer {
  const socket = net.connect({ ...relay.address(), localAddress: from });
  const d: Dialer = { socket, got: [], error: undefined, closed: false, text: () => Buffer.concat(d.got).toString() };
  socket.on('data', (b: Buffer) => d.got.push(b));
  socket.on('error', (e: NodeJS.ErrnoException) => (d.error = e.code ?? e.message));
  socket.on('close', () => (d.closed = true));
  cleanups.push(() => socket.destroy());
  return d;
}

const held = (relay: Relay, dialer: string): number => relay.connections().filter((c) => c.dialer === dialer).reduce((n, c) => n + c.heldBytes, 0);

describe('relay', () => {
  it('forwards bytes both ways and passes a half-close on; the node sees the dialer\'s own source IP', async () => {
    const node = await sink();
    const relay = await relayTo(node);
    const a = dial(relay, A);
    a.socket.write('ping');
    await waitFor(() => node.text(0) === 'ping', 'ping at the node');
    expect(node.conns[0]?.remote).toBe(A);
    node.conns[0]?.socket.write('pong');
    await waitFor(() => a.text() === 'pong', 'pong at the dialer');
    a.socket.end();
    await waitFor(() => node.conns[0]?.ended === true, 'the FIN at the node');
    expect(relay.stats()).toMatchObject({ accepted: 1, bytesToTarget: 4, bytesToDialers: 4, reset: 0 });
  });

  it('drop: a blocked dialer\'s bytes are held in both directions, none reach the other side; heal delivers them in order', async () => {
    const node = await sink();
    const relay = await relayTo(node);
    const a = dial(relay, A);
    a.socket.write('before;');
    await waitFor(() => node.text(0) === 'before;', 'the first bytes');
    relay.block('a', 'drop');
    a.socket.write('held-1;');
    a.socket.write('held-2;');
    node.conns[0]?.socket.write('reply');
    // Once the relay holds all 19 bytes it has read them and decided not to forward them.
    await waitFor(() => held(relay, 'a') === 19, 'the relay holding both directions');
    expect(node.text(0)).toBe('before;');
    expect(a.text()).toBe('');
    expect(relay.connections()).toEqual([{ dialer: 'a', source: A, state: 'held', heldBytes: 19 }]);
    relay.unblock('a');
    await waitFor(() => node.text(0) === 'before;held-1;held-2;' && a.text() === 'reply', 'the held bytes after heal');
    expect(node.conns).toHaveLength(1);
  });

  it('drop: a new connection from a blocked dialer is accepted but not forwarded (the node is not even dialled) until heal', async () => {
    const node = await sink();
    const relay = await relayTo(node);
    relay.block('a');
    const a = dial(relay, A);
    a.socket.write('hello');
    await waitFor(() => held(relay, 'a') === 5, 'the hello held');
    expect(node.conns).toHaveLength(0);
    relay.unblock('a');
    await waitFor(() => node.text(0) === 'hello', 'hello after heal');
  });

  it('drop: a dialer that gives up during the cut leaves no trace at the node', async () => {
    const node = await sink();
    const relay = await relayTo(node);
    relay.block('a');
    const a = dial(relay, A);
    a.socket.write('hello');
    await waitFor(() => held(relay, 'a') === 5, 'the hello held');
    a.socket.destroy();
    await waitFor(() => relay.connections().length === 0, 'the held connection forgotten');
    relay.unblock('a');
    const b = dial(relay, B);
    b.socket.write('later');
    await waitFor(() => node.conns.length === 1 && node.text(0) === 'later', 'the next connection');
  });

  it('tells dialers apart by source IP: blocking one leaves another, and an unknown source, flowing', async () => {
    const node = await sink();
    const relay = await relayTo(node);
    relay.block('a');
    const a = dial(relay, A);
    const b = dial(relay, B);
    const s = dial(relay, STRANGER);
    a.socket.write('from-a');
    b.socket.write('from-b');
    s.socket.write('from-s');
    await waitFor(() => node.conns.length === 2 && node.conns.every((_, i) => node.text(i).length === 6) && held(relay, 'a') === 6, 'b and the stranger through, a held');
    const texts = node.conns.map((_, i) => node.text(i)).sort();
    expect(texts).toEqual(['from-b', 'from-s']);
    expect(relay.connections().map((c) => `${c.dialer ?? 'unknown'}:${c.state}`).sort()).toEqual(['a:held', 'b:flowing', 'unknown:flowing']);
  });

  it('reset: open connections are reset on both sides, new ones are reset at accept; heal lets new ones through', async () => {
    const node = await sink();
    const relay = await relayTo(node);
    const a = dial(relay, A);
    a.socket.write('x');
    await waitFor(() => node.text(0) === 'x', 'the first connection up');
    relay.block('a', 'reset');
    await waitFor(() => a.closed && node.conns[0]?.closed === true, 'both sides closed');
    expect(a.error).toBe('ECONNRESET');
    const again = dial(relay, A);
    await waitFor(() => again.closed, 'the new connection reset');
    expect(again.error).toBe('ECONNRESET');
    expect(node.conns).toHaveLength(1);
    expect(relay.stats().reset).toBe(2);
    relay.unblock('a');
    const healed = dial(relay, A);
    healed.socket.write('y');
    await waitFor(() => node.text(1) === 'y', 'a connection after heal');
  });

  it('switching a drop to a reset resets what was held', async () => {
    const node = await sink();
    const relay = await relayTo(node);
    const a = dial(relay, A);
    a.socket.write('x');
    await waitFor(() => node.text(0) === 'x', 'up');
    relay.block('a', 'drop');
    a.socket.write('y');
    await waitFor(() => held(relay, 'a') === 1, 'y held');
    relay.block('a', 'reset');
    await waitFor(() => a.closed, 'reset');
    expect(a.error).toBe('ECONNRESET');
    expect(node.text(0)).toBe('x');
    expect(relay.blocks()).toEqual(new Map([['a', 'reset']]));
  });

  it('holds at most about holdBytes of a blocked stream, then stops reading; heal delivers every byte intact', async () => {
    const node = await sink();
    const holdBytes = 4096;
    const relay = await relayTo(node, holdBytes);
    const a = dial(relay, A);
    a.socket.write('0');
    await waitFor(() => node.text(0) === '0', 'up');
    relay.block('a');
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    a.socket.write(big);
    let most = 0;
    await waitFor(() => {
      most = Math.max(most, held(relay, 'a'));
      return most >= holdBytes;
    }, 'the hold filled');
    // One more read can land after the limit is reached; never more than a socket read's worth.
    for (let i = 0; i < 20; i++) {
      most = Math.max(most, held(relay, 'a'));
      await new Promise((r) => setImmediate(r));
    }
    expect(most).toBeLessThanOrEqual(holdBytes + 64 * 1024);
    expect(a.socket.writableLength).toBeGreaterThan(0); // the rest waits at the dialer, not in the relay
    relay.unblock('a');
    await waitFor(() => node.conns[0]?.got.reduce((n, b) => n + b.length, 0) === big.length + 1, 'all bytes after heal', 60_000);
    expect(Buffer.concat(node.conns[0]?.got ?? []).subarray(1).equals(big)).toBe(true);
  });

  it('a node that is down looks like a refused connection: the dialer is reset', async () => {
    const node = await sink();
    const relay = await relayTo(node);
    await new Promise((r) => node.server.close(r));
    const a = dial(relay, A);
    await waitFor(() => a.closed, 'the dialer closed');
    expect(a.error).toBe('ECONNRESET');
  });

  it('refuses bad options and modes', async () => {
    const node = await sink();
    await expect(Relay.start({ listen: { host: 'localhost', port: 0 }, target: { host: NODE, port: node.port }, identify: () => undefined })).rejects.toThrow(/listen.host/);
    await expect(Relay.start({ listen: { host: NODE, port: 0 }, target: { host: NODE, port: 0 }, identify: () => undefined })).rejects.toThrow(/target.port/);
    await expect(Relay.start({ listen: { host: NODE, port: 0 }, target: { host: NODE, port: node.port }, identify: () => undefined, holdBytes: 0 })).rejects.toThrow(/holdBytes/);
    const relay = await relayTo(node);
    expect(() => relay.block('a', 'sometimes' as 'drop')).toThrow(/mode/);
    expect(() => relay.block('')).toThrow(/dialer/);
  });
});
