/**
 * A raw HTTP/1.1 JSON client for the load rows: an undici 7 Pool per origin with keep-alive and one
 * connection per concurrent client (undici 8 crashes on Node 20: DEPENDENCIES.md). The same client drives
 * raft-ipam, etcd's JSON gateway and the no-op server, so their rows differ only in the server.
 */
import { Pool } from 'undici';
import { onCleanup } from './cleanup.js';

export interface JsonAnswer {
  status: number;
  body: unknown;
}

export class JsonHttp {
  private readonly pool: Pool;
  private readonly forget: () => Promise<void>;

  constructor(readonly origin: string, connections: number) {
    // pipelining 1: one request per connection at a time, as a closed-loop client with its own socket.
    this.pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
    this.forget = onCleanup(`pool ${origin}`, () => this.pool.destroy());
  }

  async post(path: string, body: unknown, timeoutMs?: number): Promise<JsonAnswer> {
    const r = await this.pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...(timeoutMs !== undefined ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
    });
    return { status: r.statusCode, body: await r.body.json() };
  }

  async get(path: string, timeoutMs?: number): Promise<JsonAnswer> {
    const r = await this.pool.request({ path, method: 'GET', ...(timeoutMs !== undefined ? { signal: AbortSignal.timeout(timeoutMs) } : {}) });
    return { status: r.statusCode, body: await r.body.json() };
  }

  async delete(path: string, timeoutMs?: number): Promise<JsonAnswer> {
    const r = await this.pool.request({ path, method: 'DELETE', ...(timeoutMs !== undefined ? { signal: AbortSignal.timeout(timeoutMs) } : {}) });
    return { status: r.statusCode, body: await r.body.json() };
  }

  async close(): Promise<void> {
    await this.forget();
  }
}

/** raft-ipam's envelope: `{ ok: true, value }` or `{ ok: false, error: { code, message } }`. */
export function ipamValue<T>(a: JsonAnswer): T {
  const b = a.body as { ok?: boolean; value?: T; error?: { code: string; message: string } };
  if (b?.ok === true) return b.value as T;
  throw new Error(`HTTP ${a.status} [${b?.error?.code ?? '?'}] ${b?.error?.message ?? JSON.stringify(a.body).slice(0, 200)}`);
}
