/**
 * The one table from an error code to an HTTP status. Codes come from three places: the state machine's
 * refusals (src/ipam/errors.ts, plus the session codes being added there), the node's cluster conditions
 * (NodeError in src/node/service.ts), and this layer's own (ApiErrorCode below). The table is by code
 * string, so a code added later still gets a sensible status without a change here: any unmapped code is
 * a refusal of the request against the current state (409), never a 500 — a 500 is reserved for a defect
 * of this server.
 *
 * Choices an operator would care about:
 * - Exhaustion (NoAvailableIps, NoAvailableSlices, GenerationsExhausted) is 507 Insufficient Storage: the
 *   request was fine, the pool is full, and someone has to add capacity. It lands in 5xx dashboards, which
 *   is where a full pool belongs, but no proxy or generic client retries a 507 (they retry 502/503/504).
 * - NotLeader is 307 Temporary Redirect with `Location` at the same path on the leader (Vault's standby
 *   nodes answer the same way) and the leader in the body. 307 keeps the method and body, so `curl -L`
 *   works; IpamClient does not let fetch follow it (redirect: 'manual') but reads the body and re-sends
 *   the request itself with the same session and seq. When the node does not know the leader's client
 *   URL there is nowhere to redirect to: that NotLeader is a 503 with Retry-After, and the client tries
 *   another endpoint. (421 Misdirected Request was the first choice and was dropped: the Fetch standard
 *   has fetch re-send a 421 by itself on a new connection, and Node 20's undici then fails the re-send
 *   with a content-length mismatch.)
 * - Conditions that pass on their own (no leader yet, overloaded, proposal dropped, stopping) are 503 with
 *   Retry-After; Timeout is 504 (the outcome is unknown unless the request carried a session).
 */
export const ApiErrorCodes = [
  /** The request is malformed at the HTTP boundary: bad JSON, wrong shape, unknown field, bad query. */
  'InvalidRequest',
  /** Missing or wrong bearer token. */
  'Unauthorized',
  /** No such route. */
  'NotFound',
  /** The body is larger than the server accepts. */
  'PayloadTooLarge',
  /** The body is not JSON. */
  'UnsupportedMediaType',
  /** GET /readyz: the node has no leader yet or has not caught up with the log it booted with. */
  'NotReady',
  /** A defect of this server; the response names a request id to find the log line by. */
  'Internal',
] as const;
export type ApiErrorCode = (typeof ApiErrorCodes)[number];

const STATUS: Readonly<Record<string, number>> = {
  // Malformed requests and values the state machine refuses on sight.
  InvalidRequest: 400,
  InvalidCommand: 400,
  InvalidCidr: 400,
  InvalidAddress: 400,
  AddressFamilyMismatch: 400,
  IpNotInRange: 400,
  ReservedAddress: 400,
  InvalidSlice: 400,
  InvalidNodeId: 400,
  InvalidState: 400,
  InvalidSnapshot: 400,
  Unauthorized: 401,
  // Something named does not exist.
  NotFound: 404,
  UnknownNetwork: 404,
  NodeHasNoSlice: 404,
  UnknownSession: 404,
  // The request conflicts with the current state.
  IpAlreadyAllocated: 409,
  SliceTaken: 409,
  OwnerConflict: 409,
  NetworkExists: 409,
  StaleGeneration: 409,
  NodeHasSlice: 409,
  SessionSeqTooOld: 409,
  SessionSeqReused: 409,
  InvalidMembership: 409,
  // The session is gone for good: the request was not executed and never will be under it.
  SessionExpired: 410,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  NotLeader: 307,
  // Too many unacknowledged results in this session: acknowledge (send ack) and retry.
  SessionBusy: 429,
  Internal: 500,
  NoLeader: 503,
  Overloaded: 503,
  ProposalDropped: 503,
  Stopped: 503,
  NotReady: 503,
  TooManySessions: 503,
  Timeout: 504,
  NoAvailableIps: 507,
  NoAvailableSlices: 507,
  GenerationsExhausted: 507,
};

/** Default for a refusal whose code this table does not know yet (see the module comment). */
export const UNMAPPED_STATUS = 409;

export function statusForCode(code: string): number {
  return Object.hasOwn(STATUS, code) ? (STATUS[code] as number) : UNMAPPED_STATUS;
}

/** Seconds a client should wait before retrying, for the codes that pass on their own. */
const RETRY_AFTER: Readonly<Record<string, number>> = {
  NoLeader: 1,
  /** Only sent when NotLeader has no leader URL to redirect to (reply.ts). */
  NotLeader: 1,
  Overloaded: 1,
  ProposalDropped: 1,
  Stopped: 1,
  NotReady: 1,
  TooManySessions: 5,
  SessionBusy: 1,
};

export function retryAfterFor(code: string): number | undefined {
  return Object.hasOwn(RETRY_AFTER, code) ? RETRY_AFTER[code] : undefined;
}

/** The whole table, for the README and the tests. */
export function statusTable(): ReadonlyArray<[code: string, status: number]> {
  return Object.entries(STATUS);
}
