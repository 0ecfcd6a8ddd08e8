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
