/**
 * A raw HTTP/1.1 JSON client for the load rows: an undici 7 Pool per origin with keep-alive and one
 * connection per concurrent client (undici 8 crashes on Node 20: DEPENDENCIES.md). The same client drives
 * raft-ipam, etcd's JSON gateway and the no-op server, so their rows differ only in the server.
 */
import { Pool, type Dispatcher } from 'undici';
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
    // Its headers and body timeouts are the default deadline of every request (DEFAULT_TIMEOUT_MS).
    this.pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: DEFAULT_TIMEOUT_MS, bodyTimeout: DEFAULT_TIMEOUT_MS });
    this.forget = onCleanup(`pool ${origin}`, () => this.pool.destroy());
  }

  post(path: string, body: unknown, timeoutMs?: number): Promise<JsonAnswer> {
    return this.request('POST', path, JSON.stringify(body), timeoutMs);
  }

  get(path: string, timeoutMs?: number): Promise<JsonAnswer> {
    return this.request('GET', path, undefined, timeoutMs);
  }

  delete(path: string, timeoutMs?: number): Promise<JsonAnswer> {
    return this.request('DELETE', path, undefined, timeoutMs);
  }

  /**
   * undici's dispatch with a bare handler, not request(): no body stream, no promise per chunk, and no
   * abort signal (a timer) per request unless a deadline shorter than the pool's own is asked for. The
   * generator shares 2 cores with the system it measures, so what it spends per request is taken from
   * that system: with request() and a signal per request the generator spent 70–90 µs of CPU per
   * request in the 256-client row, with this 47–58 µs (see README, "The load generator").
   */
  private request(method: 'POST' | 'GET' | 'DELETE', path: string, body: string | undefined, timeoutMs: number | undefined): Promise<JsonAnswer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let status = 0;
      const signal = timeoutMs !== undefined && timeoutMs < DEFAULT_TIMEOUT_MS ? AbortSignal.timeout(timeoutMs) : undefined;
      // The callback form of the handler: this undici's Pool asserts onConnect, which the newer
      // controller form (onResponseStart, …) does not have.
      const handler: Dispatcher.DispatchHandler = {
        onConnect: () => undefined,
        onHeaders: (statusCode) => {
          status = statusCode;
          return true;
        },
        onData: (chunk) => {
          chunks.push(chunk);
          return true;
        },
        onComplete: () => {
          const text = chunks.length === 1 ? (chunks[0] as Buffer).toString() : Buffer.concat(chunks).toString();
          try {
            resolve({ status, body: JSON.parse(text) as unknown });
          } catch {
            reject(new Error(`${method} ${this.origin}${path}: HTTP ${status}, not JSON: ${text.slice(0, 200)}`));
          }
        },
        onError: reject,
      };
      this.pool.dispatch({ method, path, ...(body !== undefined ? { body, headers: JSON_HEADERS } : {}), ...(signal ? { signal } : {}) }, handler);
    });
  }

  async close(): Promise<void> {
    await this.forget();
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const JSON_HEADERS = { 'content-type': 'application/json' };

/** raft-ipam's envelope: `{ ok: true, value }` or `{ ok: false, error: { code, message } }`. */
export function ipamValue<T>(a: JsonAnswer): T {
  const b = a.body as { ok?: boolean; value?: T; error?: { code: string; message: string } };
  if (b?.ok === true) return b.value as T;
  throw new Error(`HTTP ${a.status} [${b?.error?.code ?? '?'}] ${b?.error?.message ?? JSON.stringify(a.body).slice(0, 200)}`);
}
