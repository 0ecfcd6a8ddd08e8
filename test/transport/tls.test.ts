import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClusterCerts, createNodeCert, encodeFrame, PROTOCOL_VERSION, TcpTransport, type ClusterCerts, type NodeTlsMaterial } from '../../src/transport/index.js';
import { mesh, node, ping, pingAdapter, waitFor, type Node } from './support.js';

let ours: ClusterCerts;
let foreign: ClusterCerts;
let n2WrongSan: NodeTlsMaterial;
const material = (c: ClusterCerts, id: string): NodeTlsMaterial => ({ ca: c.ca.cert, ...c.nodes.get(id)! });

beforeAll(async () => {
  const c = await createClusterCerts({ nodes: ['n1', 'n2', 'n3'] });
  ours = c;
  foreign = await createClusterCerts({ nodes: ['n1', 'n2'] });
  // Same CA, but the certificate only names 127.0.0.2: dialling it at 127.0.0.1 must fail the SAN check.
  n2WrongSan = { ca: c.ca.cert, ...(await createNodeCert(c.caSigner, 'n2', { ips: ['127.0.0.2'] })) };
});

const open: Node[] = [];
async function started(id: string, opts: Parameters<typeof node>[1]): Promise<Node> {
  const n = await node(id, opts);
  open.push(n);
  return n;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.t.close()));
});

/** A raw TLS client: connects, waits for secureConnect, writes `frames`, resolves when the server closes it. */
async function rawTls(port: number, opts: { ca: string; cert?: string; key?: string }, frames: Buffer[]): Promise<{ sawSecureConnect: boolean; error: string | null }> {
  let sawSecureConnect = false;
  let error: string | null = null;
  const socket = tls.connect({ host: '127.0.0.1', port, minVersion: 'TLSv1.3', ...opts });
  socket.on('error', (e) => (error = e.message));
  socket.once('secureConnect', () => {
    sawSecureConnect = true;
    for (const f of frames) socket.write(f);
  });
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { sawSecureConnect, error };
}

const frame = (from: string, to: string, cluster = 'c1') => encodeFrame({ v: PROTOCOL_VERSION, cluster, from, to, payload: ping(from, to, 1) });

describe('TcpTransport over mutual TLS 1.3', () => {
  it('exchanges messages both ways, including a multi-megabyte one, with no rejections', async () => {
    const a = await started('n1', { tls: material(ours, 'n1') });
    const b = await started('n2', { tls: material(ours, 'n2') });
    mesh(a, b);
    a.t.send('n2', ping('n1', 'n2', 1, 10));
    a.t.send('n2', ping('n1', 'n2', 2, 2 * 1024 * 1024));
    a.t.send('n2', ping('n1', 'n2', 3, 10));
    b.t.send('n1', ping('n2', 'n1', 4, 10));
    await waitFor(() => b.got.length === 3 && a.got.length === 1, 'both directions');
    expect(b.got.map((m) => m.n)).toEqual([1, 2, 3]);
    expect(b.got[1]!.data.length).toBe(2 * 1024 * 1024);
    expect(Buffer.from(b.got[1]!.data).equals(Buffer.from(ping('n1', 'n2', 2, 2 * 1024 * 1024).data))).toBe(true);
    expect(a.got.map((m) => m.n)).toEqual([4]);
    for (const n of [a, b]) expect(Object.values(n.t.stats().rejected).every((x) => x === 0)).toBe(true);
  });

  it('refuses a peer whose certificate comes from a foreign CA; nothing it sends is delivered', async () => {
    const b = await started('n2', { tls: material(ours, 'n2') });
    const intruder = await started('n1', { tls: material(foreign, 'n1') });
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 });
    intruder.t.addPeer('n2', b.t.address());
    for (let n = 0; n < 5; n++) intruder.t.send('n2', ping('n1', 'n2', n));
    await waitFor(() => b.t.stats().rejected.tlsRejected >= 1 && intruder.unreachable.length >= 1, 'refusal on both sides');
    expect(b.got).toEqual([]);
    expect(b.t.stats().framesReceived).toBe(0);
    expect(b.logs.some((l) => l.event === 'rejected' && l.reason === 'tlsRejected' && typeof l.detail === 'string')).toBe(true);
  });

  it('logs why a client with a foreign-CA certificate was refused, and delivers none of its frames', async () => {
    const b = await started('n2', { tls: material(ours, 'n2') });
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 });
    // This client trusts our CA (so the handshake reaches the server's check) but presents a foreign cert.
    const r = await rawTls(b.t.address().port, { ca: ours.ca.cert, ...foreign.nodes.get('n1')! }, [frame('n1', 'n2')]);
    expect(r.sawSecureConnect).toBe(true); // TLS 1.3: the client thinks it is in, then gets closed
    expect(b.got).toEqual([]);
    expect(b.t.stats().rejected.tlsRejected).toBe(1);
    expect(b.logs.find((l) => l.reason === 'tlsRejected')?.detail).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/i);
  });

  it('refuses a client without a certificate and logs the reason', async () => {
    const b = await started('n2', { tls: material(ours, 'n2') });
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 });
    await rawTls(b.t.address().port, { ca: ours.ca.cert }, [frame('n1', 'n2')]);
    expect(b.got).toEqual([]);
    expect(b.t.stats().rejected.tlsRejected).toBe(1);
    expect(b.logs.find((l) => l.reason === 'tlsRejected')?.detail).toMatch(/client certificate refused/);
  });

  it('refuses a cluster-CA certificate naming a node that is not a peer', async () => {
    const b = await started('n2', { tls: material(ours, 'n2') });
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 });
    await rawTls(b.t.address().port, { ca: ours.ca.cert, ...ours.nodes.get('n3')! }, [frame('n3', 'n2')]);
    expect(b.got).toEqual([]);
    expect(b.t.stats().rejected.unknownPeer).toBe(1);
  });

  it('closes the connection when a frame claims a sender other than the certificate names', async () => {
    const b = await started('n2', { tls: material(ours, 'n2') });
    b.t.addPeer('n1', { host: '127.0.0.1', port: 9 });
    b.t.addPeer('n3', { host: '127.0.0.1', port: 9 });
    await rawTls(b.t.address().port, { ca: ours.ca.cert, ...ours.nodes.get('n1')! }, [frame('n1', 'n2'), frame('n3', 'n2')]);
    expect(b.got.map((m) => m.from)).toEqual(['n1']);
    expect(b.t.stats().rejected.identityMismatch).toBe(1);
  });

  it('drops and counts frames from a cluster-CA peer configured with another cluster id', async () => {
    const b = await started('n2', { tls: material(ours, 'n2') });
    const a = await started('n1', { tls: material(ours, 'n1'), cluster: 'c2' });
    mesh(a, b);
    for (let n = 0; n < 3; n++) a.t.send('n2', ping('n1', 'n2', n));
    await waitFor(() => b.t.stats().dropped.wrongCluster === 3, 'three wrong-cluster drops');
    expect(b.got).toEqual([]);
    expect(b.t.stats().delivered).toBe(0);
  });

  it('the client refuses a server whose certificate SAN does not cover the dialled IP', async () => {
    const b = await started('n2', { tls: n2WrongSan });
    const a = await started('n1', { tls: material(ours, 'n1') });
    mesh(a, b);
    a.t.send('n2', ping('n1', 'n2', 1));
    await waitFor(() => a.unreachable.includes('n2'), 'connect failure');
    expect(b.got).toEqual([]);
    expect(a.t.stats().framesSent).toBe(0);
    expect(a.logs.find((l) => l.event === 'connectFailed')?.detail).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
  });

  it('the client refuses a server whose certificate names another node than the peer it dialled', async () => {
    const b = await started('n2', { tls: material(ours, 'n2') });
    const a = await started('n1', { tls: material(ours, 'n1') });
    a.t.addPeer('n3', b.t.address()); // n3's address now answers as n2
    a.t.send('n3', ping('n1', 'n3', 1));
    await waitFor(() => a.unreachable.includes('n3'), 'connect failure');
    expect(a.t.stats().framesSent).toBe(0);
    expect(a.logs.find((l) => l.event === 'connectFailed')?.detail).toMatch(/server certificate names "n2", expected n3/);
  });

  it('plaintext or garbage sent to the TLS port is refused and counted; good peers keep working', async () => {
    const a = await started('n1', { tls: material(ours, 'n1') });
    const b = await started('n2', { tls: material(ours, 'n2') });
    mesh(a, b);
    const s = net.connect(b.t.address());
    s.on('error', () => {});
    s.on('connect', () => s.write(frame('n1', 'n2')));
    await new Promise<void>((r) => s.once('close', () => r()));
    expect(b.t.stats().rejected.tlsRejected).toBe(1);
    a.t.send('n2', ping('n1', 'n2', 9));
    await waitFor(() => b.got.length === 1, 'good peer');
  });

  it('reconnects over TLS after the peer restarts', async () => {
    const a = await started('n1', { tls: material(ours, 'n1') });
    let b = await started('n2', { tls: material(ours, 'n2') });
    mesh(a, b);
    const addr = b.t.address();
    a.t.send('n2', ping('n1', 'n2', 1));
    await waitFor(() => b.got.length === 1, 'first message');
    await b.t.close();
    await waitFor(() => a.unreachable.includes('n2'), 'unreachable report');
    b = await started('n2', { tls: material(ours, 'n2'), listen: addr });
    b.t.addPeer('n1', a.t.address());
    await waitFor(() => {
      a.t.send('n2', ping('n1', 'n2', 2));
      return b.got.some((m) => m.n === 2);
    }, 'delivery after restart');
    expect(a.t.stats().reconnects).toBeGreaterThanOrEqual(1);
  });

  /** n1 with a message queued for n2, whose first dial failed (nobody listened at n2's address): backing off 10 minutes. */
  async function linkInBackoff(): Promise<{ a: Node; addr: ReturnType<Node['t']['address']> }> {
    const probe = await started('n2', { tls: material(ours, 'n2') });
    const addr = probe.t.address();
    await probe.t.close();
    const a = await started('n1', { tls: material(ours, 'n1'), backoff: { initialMs: 600_000, maxMs: 600_000 } });
    a.t.addPeer('n2', addr);
    a.t.send('n2', ping('n1', 'n2', 1));
    await waitFor(() => a.unreachable.includes('n2'), 'the first dial to fail');
    return { a, addr };
  }

  it('a link waiting out its backoff retries at once when that peer connects with its certificate', async () => {
    const { a, addr } = await linkInBackoff();
    const b = await started('n2', { tls: material(ours, 'n2'), listen: addr, backoff: { initialMs: 600_000, maxMs: 600_000 } });
    b.t.addPeer('n1', a.t.address());
    b.t.send('n1', ping('n2', 'n1', 9));
    await waitFor(() => b.got.length === 1, 'n1 → n2 once n2 has connected to n1');
    expect(b.got.map((m) => m.n)).toEqual([1]);
    expect(a.t.stats().connectFailures).toBe(1);
  });

  it('a connection refused for its certificate does not cut a backoff short', async () => {
    const { a, addr } = await linkInBackoff();
    // Listening at n2's address, dialling n1 with a foreign CA's n2 certificate: refused, not a sign of n2.
    const impostor = await started('n2', { tls: material(foreign, 'n2'), listen: addr });
    impostor.t.addPeer('n1', a.t.address());
    impostor.t.send('n1', ping('n2', 'n1', 9));
    await waitFor(() => a.t.stats().rejected.tlsRejected >= 1, 'the refusal');
    expect(a.got).toEqual([]);
    expect(a.t.stats().connectFailures).toBe(1);
    expect(a.logs.filter((l) => l.event === 'connected')).toEqual([]);
  });

  it('a client refused after the TLS 1.3 handshake backs off with growing delays (secureConnect does not reset it)', async () => {
    const b = await started('n2', { tls: material(ours, 'n2') });
    // n3 holds a valid cluster certificate, but n2 does not list it as a peer: refused after the handshake.
    const c = await started('n3', { tls: material(ours, 'n3'), random: () => 0, backoff: { initialMs: 5, maxMs: 40, resetAfterMs: 60_000 } });
    c.t.addPeer('n2', b.t.address());
    // Keep something queued: a link redials only when it has something to say.
    await waitFor(() => {
      c.t.send('n2', ping('n3', 'n2', 1));
      return c.logs.filter((l) => l.event === 'connectFailed').length >= 5;
    }, 'five refusals');
    const delays = c.logs.filter((l) => l.event === 'connectFailed').slice(0, 5).map((l) => Number(/ in (\d+) ms$/.exec(l.detail ?? '')?.[1]));
    expect(delays).toEqual([3, 5, 10, 20, 20]); // ½·min(40, 5·2^k), jitter draw 0
    expect(c.logs.filter((l) => l.event === 'connectFailed').every((l) => l.reason === 'connectionLost')).toBe(true);
    expect(b.t.stats().rejected.unknownPeer).toBeGreaterThanOrEqual(5);
    expect(b.got).toEqual([]);
  });

  it('close() leaves no open handles after TLS traffic', async () => {
    const a = await started('n1', { tls: material(ours, 'n1') });
    const b = await started('n2', { tls: material(ours, 'n2') });
    mesh(a, b);
    a.t.send('n2', ping('n1', 'n2', 1));
    b.t.send('n1', ping('n2', 'n1', 1));
    await waitFor(() => a.got.length === 1 && b.got.length === 1, 'traffic');
    await a.t.close();
    await b.t.close();
    expect(a.t.hasOpenHandles() || b.t.hasOpenHandles()).toBe(false);
  });

  it('refuses TLS material that is not this node\'s (CertInvalid) and tls together with insecure', () => {
    const base = { cluster: 'c1', listen: { host: '127.0.0.1', port: 0 }, peers: {}, adapter: pingAdapter };
    expect(() => new TcpTransport({ ...base, id: 'n1', tls: material(ours, 'n2') })).toThrow(expect.objectContaining({ code: 'CertInvalid' }));
    expect(() => new TcpTransport({ ...base, id: 'n1', tls: { ...material(ours, 'n1'), ca: foreign.ca.cert } })).toThrow(expect.objectContaining({ code: 'CertInvalid' }));
    expect(() => new TcpTransport({ ...base, id: 'n1', tls: material(ours, 'n1'), insecure: true })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});
