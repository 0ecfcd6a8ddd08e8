import { createServer, type Server } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { backoffDelay, networkErrorText, ruleForCode, ruleForNetworkError } from '../../src/api/retry.js';

const fetchFailed = (cause: unknown): Error => Object.assign(new TypeError('fetch failed'), { cause });

describe('client retry rules', () => {
  it('re-sends anything after refusals that prove nothing was proposed', () => {
    for (const code of ['NotLeader', 'NoLeader', 'Overloaded', 'NotReady', 'TooManySessions', 'SessionBusy']) expect({ code, rule: ruleForCode(code) }).toEqual({ code, rule: 'always' });
  });

  it('re-sends only idempotent requests after an ambiguous failure', () => {
    for (const code of ['Timeout', 'ProposalDropped', 'Stopped']) expect({ code, rule: ruleForCode(code) }).toEqual({ code, rule: 'ifSafe' });
  });

  it('never re-sends after a final answer', () => {
    for (const code of ['UnknownNetwork', 'InvalidCommand', 'InvalidRequest', 'Unauthorized', 'Internal', 'SessionExpired', 'UnknownSession', 'InvalidMembership', 'SomethingNew']) {
      expect({ code, rule: ruleForCode(code) }).toEqual({ code, rule: 'never' });
    }
  });

  it('a refused connection was never sent; a reset or a timeout may have been', () => {
    expect(ruleForNetworkError(fetchFailed(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })))).toBe('always');
    expect(ruleForNetworkError(fetchFailed(new Error('bad port')))).toBe('always');
    expect(ruleForNetworkError(fetchFailed(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })))).toBe('ifSafe');
    expect(ruleForNetworkError(new DOMException('timed out', 'TimeoutError'))).toBe('ifSafe');
    expect(ruleForNetworkError(new Error('no cause'))).toBe('ifSafe');
  });

  it('describes network failures by their cause', () => {
    expect(networkErrorText(fetchFailed(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })))).toBe('ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:9)');
    expect(networkErrorText(new DOMException('x', 'TimeoutError'))).toBe('attempt timed out');
    expect(networkErrorText(fetchFailed(new DOMException('x', 'TimeoutError')))).toBe('attempt timed out');
    expect(networkErrorText(fetchFailed(new Error('bad port')))).toBe('fetch failed: bad port');
  });

  it("undici's request() (what IpamClient sends with) throws the socket's error itself: refused is certain, closed mid-request is not", async () => {
    const listen = (s: Server): Promise<number> => new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)));
    const close = (s: Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));
    // A port nobody listens on any more.
    const gone = createServer();
    const gonePort = await listen(gone);
    await close(gone);
    const refused = await request(`http://127.0.0.1:${gonePort}/v1/commands`, { method: 'POST', body: '{}' }).then(() => undefined, (e: unknown) => e);
    expect(ruleForNetworkError(refused)).toBe('always');
    expect(networkErrorText(refused)).toMatch(/^ECONNREFUSED \(/);
    // A server that reads the request and drops the connection without answering.
    const rude = createServer((socket) => socket.once('data', () => socket.destroy()));
    const rudePort = await listen(rude);
    try {
      const dropped = await request(`http://127.0.0.1:${rudePort}/v1/commands`, { method: 'POST', body: '{}' }).then(() => undefined, (e: unknown) => e);
      expect(ruleForNetworkError(dropped)).toBe('ifSafe');
      expect(networkErrorText(dropped)).toMatch(/^UND_ERR_SOCKET \(/);
    } finally {
      await close(rude);
    }
  });

  it('backoff is full jitter under a doubling, capped ceiling', () => {
    const b = { baseMs: 50, maxMs: 2_000 };
    const top = (failures: number): number => backoffDelay(failures, b, () => 0.999999);
    expect([0, 1, 2, 3, 4, 5, 6, 40].map(top)).toEqual([49, 99, 199, 399, 799, 1599, 1999, 1999]);
    expect(backoffDelay(5, b, () => 0)).toBe(0);
    expect(backoffDelay(3, b, () => 0.5)).toBe(200);
  });
});
