/** A small payload type and its validating adapter, standing in for Raft's Message and parseMessage. */
import type { PayloadAdapter } from '../../src/transport/index.js';

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

export const pingAdapter: PayloadAdapter<Ping> = { decode: parsePing, to: (m) => m.to, from: (m) => m.from };

/** Wait for a condition driven by I/O events; the timeout is a generous failure guard, not a measurement. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
