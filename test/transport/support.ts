/** A small payload type and its validating adapter, standing in for Raft's Message and parseMessage. */
import { addressedAdapter, type PayloadAdapter } from '../../src/transport/index.js';

export interface Ping {
  type: 'ping';
  from: string;
  to: string;
  n: number;
  data: Uint8Array;
}

export function ping(from: string, to: string, n: number, size = 0): Ping {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + n) & 0xff;
  return { type: 'ping', from, to, n, data };
}

export function parsePing(raw: unknown): Ping {
  if (typeof raw !== 'object' || raw === null) throw new Error('not an object');
  const o = raw as Record<string, unknown>;
  if (o['type'] !== 'ping') throw new Error('type must be ping');
  if (typeof o['from'] !== 'string' || typeof o['to'] !== 'string') throw new Error('from/to must be strings');
  if (typeof o['n'] !== 'number' || !Number.isInteger(o['n'])) throw new Error('n must be an integer');
  if (!(o['data'] instanceof Uint8Array)) throw new Error('data must be bytes');
  return { type: 'ping', from: o['from'], to: o['to'], n: o['n'], data: o['data'] };
}

export const pingAdapter: PayloadAdapter<Ping> = addressedAdapter(parsePing);

/** Wait for a condition driven by I/O events; the timeout is a generous failure guard, not a measurement. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

import { TcpTransport, type NodeTlsMaterial, type TcpTransportOptions, type TransportLogEvent } from '../../src/transport/index.js';

export interface Node {
  t: TcpTransport<Ping>;
  got: Ping[];
  unreachable: string[];
  logs: TransportLogEvent[];
}

/** A started transport on 127.0.0.1 with an OS-assigned port, recording what it receives and logs. */
export async function node(id: string, opts: Partial<TcpTransportOptions<Ping>> & { tls?: NodeTlsMaterial } = {}): Promise<Node> {
  const got: Ping[] = [];
  const unreachable: string[] = [];
  const logs: TransportLogEvent[] = [];
  const t = new TcpTransport<Ping>({
    id,
    cluster: 'c1',
    listen: { host: '127.0.0.1', port: 0 },
    peers: {},
    adapter: pingAdapter,
    backoff: { initialMs: 5, maxMs: 40 },
    ...(opts.tls ? {} : { insecure: true }),
    ...opts,
    log: (e) => logs.push(e),
  });
  t.onMessage((m) => got.push(m));
  t.onPeerUnreachable((p) => unreachable.push(p));
  await t.start();
  return { t, got, unreachable, logs };
}

/** Make every node a peer of every other at its listening address. */
export function mesh(...nodes: Node[]): void {
  for (const a of nodes) for (const b of nodes) if (a !== b) a.t.addPeer(b.t.id, b.t.address());
}
