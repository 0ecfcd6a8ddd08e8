/**
 * What an error code says about whether the operation took effect. Three kinds:
 *
 * - refusal: the state machine's own answer (src/ipam/errors.ts, session codes aside). The command WAS
 *   applied — at one point of the log between invoke and completion — and changed nothing. That answer is
 *   evidence about the state at that point (NoAvailableIps says the slice was full, IpAlreadyAllocated
 *   that the address was taken), so the checker holds the model to it, like an ok value. UnknownNetwork
 *   on a read is the same kind of evidence.
 * - not-applied: the request provably never reached the log or was refused before executing: session
 *   refusals (the state machine refuses them before running the command), the API boundary (400-level
 *   shape errors, authentication), and the node's "not proposed" answers (retry.ts NOT_PROPOSED). The
 *   operation is dropped from the search: it never happened.
 * - ambiguous: the command may have been applied, or may still be (retry.ts AMBIGUOUS, an Unavailable
 *   after such attempts, OutcomeUnknown, a 500). Only `info` can record it.
 */
import { IpamClientError } from '../api/client.js';
import { ErrorCodes } from '../ipam/errors.js';
import type { Outcome } from './history.js';

export type FailureKind = 'refusal' | 'not-applied' | 'ambiguous';

const SESSION_REFUSALS = ['SessionExpired', 'UnknownSession', 'SessionSeqTooOld', 'SessionSeqReused', 'SessionBusy', 'TooManySessions'];

const NOT_APPLIED: ReadonlySet<string> = new Set([
  ...SESSION_REFUSALS,
  // API boundary (src/api/status-codes.ts ApiErrorCodes) and the CLI's own argument check.
  'InvalidRequest',
  'Unauthorized',
  'NotFound',
  'PayloadTooLarge',
  'UnsupportedMediaType',
  'InvalidArgument',
  // The node refused before proposing (src/api/retry.ts NOT_PROPOSED), or a membership refusal.
  'NotLeader',
  'NoLeader',
  'Overloaded',
  'NotReady',
  'InvalidMembership',
]);

const AMBIGUOUS: ReadonlySet<string> = new Set(['Timeout', 'ProposalDropped', 'Stopped', 'Unavailable', 'OutcomeUnknown', 'Internal', 'BadResponse']);

const REFUSALS: ReadonlySet<string> = new Set(ErrorCodes.filter((c) => !SESSION_REFUSALS.includes(c)));

/** The kind of a failure code, or undefined for a code no layer of raft-ipam produces. */
export function failureKind(code: string): FailureKind | undefined {
  if (REFUSALS.has(code)) return 'refusal';
  if (NOT_APPLIED.has(code)) return 'not-applied';
  if (AMBIGUOUS.has(code)) return 'ambiguous';
  return undefined;
}

/**
 * The outcome to record for an error an IpamClient call threw: a definite refusal or non-application is
 * `fail`; anything that leaves the effect open (unavailable, outcome unknown, a 500, or an error that is
 * not the client's own — a bug, a reset socket) is `info`, which assumes nothing.
 */
export function outcomeOfError(e: unknown): Outcome {
  if (e instanceof IpamClientError) {
    const kind = e.kind === 'unavailable' || e.kind === 'outcome-unknown' ? 'ambiguous' : failureKind(e.code);
    if (kind === 'refusal' || kind === 'not-applied') return { type: 'fail', code: e.code, message: e.message };
    return { type: 'info', reason: `${e.code}: ${e.message}` };
  }
  return { type: 'info', reason: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}

/** The outcome to record for an answer `{ ok: false, error }` (IpamClient.submit returns refusals as data). */
export function outcomeOfRefusal(error: { code: string; message: string }): Outcome {
  const kind = failureKind(error.code);
  if (kind === 'refusal' || kind === 'not-applied') return { type: 'fail', code: error.code, message: error.message };
  return { type: 'info', reason: `${error.code}: ${error.message}` };
}
