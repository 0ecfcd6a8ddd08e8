/**
 * Errors raised by the allocator core and returned by the state machine.
 *
 * Every error carries a stable `code` (the variants of the seed's OverlayError plus the checks raft-ipam
 * adds). Callers and the HTTP layer switch on `code`, never on the message; the message names the
 * offending value for humans.
 */
export const ErrorCodes = [
  'InvalidCidr',
  'InvalidAddress',
  'AddressFamilyMismatch',
  'IpNotInRange',
  'ReservedAddress',
  'IpAlreadyAllocated',
  'IpNotAllocated',
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
