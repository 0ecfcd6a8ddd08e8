/** inject() helpers for the API tests: every response is checked for leaked stack traces on the way. */
import type { FastifyInstance, InjectOptions } from 'fastify';
import { expect } from 'vitest';

export interface Injected {
  status: number;
  headers: Record<string, unknown>;
  body: { ok: boolean; value?: unknown; error?: { code: string; message: string; leader?: unknown; requestId?: string } };
  raw: string;
}

/** A V8 stack frame ("    at fn (file.ts:1:2)") or a source path: neither may ever reach a client. */
const STACK = /\n\s+at\s|\.ts:\d+|node_modules|\/srv\//;

export async function call(app: FastifyInstance, options: InjectOptions): Promise<Injected> {
  const res = await app.inject(options);
  expect(res.body).not.toMatch(STACK);
  let body: Injected['body'];
  try {
    body = JSON.parse(res.body) as Injected['body'];
  } catch {
    body = { ok: false };
  }
  return { status: res.statusCode, headers: res.headers, body, raw: res.body };
}

/** POST `payload` as JSON (any JSON value, including null and numbers). */
export const post = (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}): Promise<Injected> =>
  postRaw(app, url, JSON.stringify(payload), headers);

/** POST exactly these bytes as application/json (malformed JSON, oversize bodies). */
export const postRaw = (app: FastifyInstance, url: string, payload: string, headers: Record<string, string> = {}): Promise<Injected> =>
  call(app, { method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });

export const get = (app: FastifyInstance, url: string, headers: Record<string, string> = {}): Promise<Injected> => call(app, { method: 'GET', url, headers });
