/**
 * How IpamClient decides what to do after a failed attempt. Pure (no I/O, randomness injected) so the
 * rules are testable one by one.
 *
 * The question behind every rule: could the failed attempt have changed the state? A command may be
 * re-sent after an ambiguous failure only when it carries a session, because the node then answers the
 * repeat from its cache instead of applying it again (Raft dissertation §6.3). Without a session, only
 * failures that prove the command was never proposed are retried.
 */

/** never: the answer is final. always: the request did not take effect, any request may be re-sent. ifSafe: the outcome is unknown; re-send only idempotent requests (reads, commands with a session). */
export type RetryRule = 'never' | 'always' | 'ifSafe';

/** Node/API codes for which the node refused before proposing anything. */
const NOT_PROPOSED = new Set(['NotLeader', 'NoLeader', 'Overloaded', 'NotReady', 'TooManySessions', 'SessionBusy']);
/** Codes after which the command may or may not have been (or be about to be) applied. */
const AMBIGUOUS = new Set(['Timeout', 'ProposalDropped', 'Stopped']);

export function ruleForCode(code: string): RetryRule {
  if (NOT_PROPOSED.has(code)) return 'always';
  if (AMBIGUOUS.has(code)) return 'ifSafe';
  return 'never';
}

/** Socket errors raised before a request could be written: nothing reached the server. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/** An error's own code (undici's request() throws the socket's error) or its cause's (fetch wraps it). */
function errorCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof err?.code === 'string') return err.code;
  return typeof err?.cause?.code === 'string' ? err.cause.code : undefined;
}

/** A request that threw: connection refused is certain; a reset, a timeout or an abort mid-request is not. */
export function ruleForNetworkError(e: unknown): RetryRule {
  const cause = (e as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = errorCode(e);
  if (code !== undefined && NOT_SENT.has(code)) return 'always';
  // fetch refuses the Fetch standard's blocked ports (1, 22, 25, …) before connecting.
  return (cause as { message?: unknown } | undefined)?.message === 'bad port' ? 'always' : 'ifSafe';
}

export function networkErrorText(e: unknown): string {
  const err = e as { name?: string; message?: string; code?: unknown; cause?: { name?: unknown; code?: unknown; message?: unknown } };
  const cause = err?.cause;
  // The abort can surface as the error itself or as the cause of fetch's "fetch failed" TypeError.
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || cause?.name === 'TimeoutError' || cause?.name === 'AbortError') return 'attempt timed out';
  // undici's request() throws the socket's error itself (ECONNREFUSED, UND_ERR_SOCKET, …).
  if (typeof err?.code === 'string') return `${err.code}${typeof err.message === 'string' ? ` (${err.message})` : ''}`;
  if (cause && typeof cause.code === 'string') return `${cause.code}${typeof cause.message === 'string' ? ` (${cause.message})` : ''}`;
  if (cause && typeof cause.message === 'string') return `${err?.message ?? 'failed'}: ${cause.message}`;
  return err?.message ?? String(e);
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/**
 * Capped at 500 ms: an election takes one election timeout (250–500 ms by default, src/node/timing.ts), so
 * a client waiting longer between attempts only finds the new leader later than it could.
 */
export const DEFAULT_BACKOFF: Backoff = { baseMs: 50, maxMs: 500 };

/**
 * "Full jitter" (AWS architecture blog, Exponential Backoff And Jitter): a uniform wait in
 * [0, min(max, base·2^failures)). Clients that lost the same leader at the same moment spread out instead
 * of arriving at the new one in lockstep.
 */
export function backoffDelay(failures: number, backoff: Backoff, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(failures, 30));
  return Math.floor(random() * ceiling);
}
