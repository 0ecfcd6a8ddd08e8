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

  it('backoff is full jitter under a doubling, capped ceiling', () => {
    const b = { baseMs: 50, maxMs: 2_000 };
    const top = (failures: number): number => backoffDelay(failures, b, () => 0.999999);
    expect([0, 1, 2, 3, 4, 5, 6, 40].map(top)).toEqual([49, 99, 199, 399, 799, 1599, 1999, 1999]);
    expect(backoffDelay(5, b, () => 0)).toBe(0);
    expect(backoffDelay(3, b, () => 0.5)).toBe(200);
  });
});
