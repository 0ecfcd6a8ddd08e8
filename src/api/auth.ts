/**
 * Optional bearer token. The comparison runs over SHA-256 digests of both sides so it takes the same time
 * whatever the length or the first differing byte of the presented token (timingSafeEqual alone needs
 * equal lengths, and an early length check would leak the token's length).
 *
 * Open routes: /healthz and /readyz (load balancers and orchestrators probe them without credentials;
 * they reveal only up/ready). /metrics is protected like everything else: its labels name networks and
 * routes, and Prometheus sends a bearer token natively (`authorization: { credentials_file: … }`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function tokenChecker(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    if (authorization === undefined) return false;
    const match = /^Bearer ([^\s]+)$/.exec(authorization);
    // Compare even when the header is malformed, so a malformed header costs the same as a wrong token.
    const ok = timingSafeEqual(digest(match?.[1] ?? ''), expected);
    return ok && match !== null;
  };
}
