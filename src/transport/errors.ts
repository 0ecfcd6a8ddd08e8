/**
 * Errors of the transport layer. Every refusal carries a stable `code`; callers, logs and tests switch on
 * the code, never on the message (GUIDE §2 example 8).
 */
export const TransportErrorCodes = [
  /** A frame's length prefix is above the configured maximum; the connection is closed before allocating. */
  'FrameTooLarge',
  /** Bytes on the wire are not a well-formed frame (length 0, bad msgpack, bad envelope). */
  'BadFrame',
  /** The frame's protocol version is one this build does not speak. */
  'UnsupportedVersion',
  /** The frame's claimed sender does not match the identity bound to the connection (TLS cert or first frame). */
  'IdentityMismatch',
  /** The TLS peer presented no certificate, or one not issued by the cluster CA. */
  'TlsRejected',
  /** A peer id that is not configured (inbound: a cluster-CA cert naming a node we do not know). */
  'UnknownPeer',
  /** Invalid configuration or argument handed to a public method. */
  'InvalidArgument',
  /** The transport is closed (or not started) and cannot do what was asked. */
  'Closed',
  /** Certificate material is missing, unreadable or inconsistent. */
  'CertInvalid',
  /** Certificate files already exist and overwriting was not asked for. */
  'CertExists',
] as const;

export type TransportErrorCode = (typeof TransportErrorCodes)[number];

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isTransportError(e: unknown): e is TransportError {
  return e instanceof TransportError;
}

/**
 * Node ids double as certificate CNs and DNS SAN names, so they are restricted to one DNS-label-like
 * spelling: a wire or config value outside it is refused before it reaches a map, a log line or a cert.
 */
const NODE_ID = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/;

export function isValidNodeId(id: unknown): id is string {
  return typeof id === 'string' && NODE_ID.test(id);
}

export function validateNodeId(id: unknown, what = 'node id'): string {
  if (!isValidNodeId(id)) {
    throw new TransportError('InvalidArgument', `${what} must match ${NODE_ID.source}, got ${JSON.stringify(id)}`);
  }
  return id;
}

/** Cluster ids go into every frame; the same short, printable spelling keeps them cheap to compare and log. */
const CLUSTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function validateClusterId(id: unknown): string {
  if (typeof id !== 'string' || !CLUSTER_ID.test(id)) {
    throw new TransportError('InvalidArgument', `cluster id must match ${CLUSTER_ID.source}, got ${JSON.stringify(id)}`);
  }
  return id;
}
