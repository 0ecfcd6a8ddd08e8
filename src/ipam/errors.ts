/**
 * Errors raised by the allocator core and returned by the state machine.
 *
 * Every error carries a stable `code` (the variants of the seed's OverlayError plus the checks raft-ipam
 * adds). Callers and the HTTP layer switch on `code`, never on the message; the message names the
 * offending value for humans.
 *
 * `IpNotAllocated` was removed from this list: nothing raised it (releasing a free address answers
 * `released: false`, as the seed's `release()` returns false).
 */
export const ErrorCodes = [
  'InvalidCidr',
  'InvalidAddress',
  'AddressFamilyMismatch',
  'IpNotInRange',
  'ReservedAddress',
  'IpAlreadyAllocated',
  'NoAvailableIps',
  'NoAvailableSlices',
  'InvalidSlice',
  'InvalidNodeId',
  'SliceTaken',
  'InvalidState',
  'InvalidSnapshot',
  'InvalidCommand',
  'UnknownNetwork',
  'NetworkExists',
  'NodeHasNoSlice',
  'NodeHasSlice',
  'OwnerConflict',
  'StaleGeneration',
  'GenerationsExhausted',
  'IoError',
  // Client sessions (sessions.ts; Raft dissertation §6.3). Suggested HTTP statuses in brackets.
  /** The session id was issued but the session is gone (expired by log time, or closed): the request was
   *  NOT executed and never will be under this session. Open a new session and re-read state before
   *  retrying (a retry under a new session could execute a second time). [410] */
  'SessionExpired',
  /** The session id was never issued by this state. [404] */
  'UnknownSession',
  /** The request's seq is below what the client acknowledged, so its cached result was discarded (the
   *  client said it already had it). Not executed. [409] */
  'SessionSeqTooOld',
  /** The seq was already used in this session for a different command type: a client bug. Not executed,
   *  not cached. [409] */
  'SessionSeqReused',
  /** The session holds as many unacknowledged results as it may (or the state as many as it may): not
   *  executed, not cached. Retryable after acknowledging results (send `ack`). [429] */
  'SessionBusy',
  /** openSession refused: the state holds the maximum number of live sessions. Retryable once idle
   *  sessions expire or clients close theirs. [503] */
  'TooManySessions',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export class OverlayError extends Error {
  override readonly name = 'OverlayError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** Plain form for results and wire encodings: errors cross the state-machine boundary as data. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isOverlayError(e: unknown): e is OverlayError {
  return e instanceof OverlayError;
}

/**
 * The state machine could not apply a command for a reason that is not the command's fault: a bug, a
 * broken invariant, an exhausted resource inside this process. It is thrown, never returned as a result,
 * because a replica that cannot apply a committed entry must stop (applying the next entries on top would
 * diverge from the replicas that applied this one). The command's partial effects were rolled back when
 * `stateIntact` is true; when false the rollback itself failed and the in-memory state must be discarded.
 */
export class ApplyFailure extends Error {
  override readonly name = 'ApplyFailure';
  readonly code = 'Internal' as const;
  constructor(
    readonly commandType: string,
    readonly stateIntact: boolean,
    override readonly cause: unknown,
  ) {
    super(`internal error applying ${commandType}${stateIntact ? '' : ' (rollback failed: state is unusable)'}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
