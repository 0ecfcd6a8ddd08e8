/**
 * Errors of the history checker's boundary. A malformed history (a file, or a recorder used wrongly) is
 * refused with a stable `code`, so the CLI and the chaos suite can tell bad input from a violation.
 */
export const HistoryErrorCodes = [
  /** A line of a JSON-lines history is not JSON. */
  'MalformedLine',
  /** A record is not an object of the history's shape (fields, types). */
  'InvalidRecord',
  /** The operation is neither a recordable IPAM command nor a read the API offers. */
  'InvalidOperation',
  /** The outcome is not {type: ok|fail|info} of the right shape. */
  'InvalidOutcome',
  /** An `ok` value does not have the shape of the operation's answer. */
  'InvalidValue',
  /** A `fail` carries a code after which the operation may have been applied (Timeout, …): record it as info. */
  'AmbiguousFailure',
  /** A `fail` carries a code no layer of raft-ipam produces. */
  'UnknownErrorCode',
  /** Two records share an op id. */
  'DuplicateOpId',
  /** Times are not finite numbers, or an operation completes before it is invoked. */
  'TimeOrder',
  /** One process has two operations in flight at once (a process is one sequential client lane). */
  'ProcessOverlap',
  /** The recorder was called out of order (unknown op id, completed twice, process busy). */
  'RecorderMisuse',
  /** Checker input other than the history (final state, node states, options) is malformed. */
  'InvalidInput',
] as const;

export type HistoryErrorCode = (typeof HistoryErrorCodes)[number];

export class HistoryError extends Error {
  override readonly name = 'HistoryError';
  constructor(
    readonly code: HistoryErrorCode,
    message: string,
    /** 1-based line of the JSON-lines input, when the error is about one. */
    readonly line?: number,
  ) {
    super(line !== undefined ? `line ${line}: ${message}` : message);
  }
}
