/**
 * The transport seam between the node runtime and the network (GUIDE §1, §2 example 6).
 *
 * The transport is generic over its payload: it never looks inside a message except through a
 * `PayloadAdapter` (addressing), and it hands nothing to the runtime that the injected `decode` validator
 * (Raft's `parseMessage`) has not accepted (GUIDE §2 example 16).
 */
export type NodeId = string;

/** How the transport reads addressing out of a payload, and validates what arrives off the wire. */
export interface PayloadAdapter<T> {
  /** Validate a decoded msgpack value and return a typed message; throw to refuse it. */
  decode(raw: unknown): T;
  /** The recipient named inside the message (checked against the frame's `to` and the send target). */
  to(msg: T): NodeId;
  /** The sender named inside the message (checked against the authenticated sender of the frame). */
  from(msg: T): NodeId;
}

/** Why a message was not sent or not delivered. Every drop is counted under one of these. */
export const DropReasons = [
  /** Outbound: the peer's queue was full (messages or bytes) and the oldest queued message was evicted. */
  'queueFull',
  /** Outbound: `send` to a node id that is not a configured peer. */
  'unknownPeer',
  /** Outbound: `send` after `close()`, or frames still queued when the transport closed. */
  'closed',
  /** Outbound: the encoded frame is above the maximum frame size, so no peer would accept it. */
  'tooLarge',
  /** Inbound: the frame names another cluster id. */
  'wrongCluster',
  /** Inbound: the frame's sender is not a configured peer (or is this node itself). */
  'unknownSender',
  /** Inbound: the frame is addressed to another node. */
  'wrongRecipient',
  /** Inbound: `decode` refused the payload. */
  'badPayload',
  /** Inbound: the payload's own `from`/`to` disagree with the frame's envelope. */
  'addressMismatch',
  /** Memory transport: a fault hook (cut link, filter, explicit drop) or a missing/closed recipient. */
  'fault',
] as const;
export type DropReason = (typeof DropReasons)[number];

/** Why a connection was closed by us. Every such close is counted under one of these. */
export const RejectReasons = [
  'frameTooLarge',
  'badFrame',
  'unsupportedVersion',
  'identityMismatch',
  /** TLS peer without a certificate, or with one the cluster CA did not issue. */
  'tlsRejected',
  /** TLS peer whose cluster-CA certificate names a node that is not a configured peer. */
  'unknownPeer',
] as const;
export type RejectReason = (typeof RejectReasons)[number];

export interface TransportStats {
  /** Frames handed to the wire (TCP: written to a socket; memory: put in flight). */
  framesSent: number;
  bytesSent: number;
  /** Well-formed frames read off the wire, before the cluster/sender/payload checks. */
  framesReceived: number;
  bytesReceived: number;
  /** Messages handed to the `onMessage` handler. */
  delivered: number;
  dropped: Record<DropReason, number>;
  /** Connections this node closed because the peer broke the protocol or failed authentication. */
  rejected: Record<RejectReason, number>;
  /** Outbound connections established after the first one to the same peer. */
  reconnects: number;
  /** Outbound connection attempts that failed or connections that were lost. */
  connectFailures: number;
  /** Messages and bytes waiting in the per-peer send queues right now. */
  queuedMessages: number;
  queuedBytes: number;
}

export type MessageHandler<T> = (msg: T, from: NodeId) => void;
export type UnreachableHandler = (peer: NodeId) => void;

export interface Transport<T> {
  /** This node's id. */
  readonly id: NodeId;
  /** Start listening (TCP) or joining the network (memory). Must be called before messages arrive. */
  start(): Promise<void>;
  /**
   * Queue `msg` for `to`. Never blocks and never throws for an unreachable or slow peer: the message is
   * queued (bounded) or dropped and counted. Throws `InvalidArgument` only for a caller bug (the message
   * names another recipient or sender than this call and this node).
   */
  send(to: NodeId, msg: T): void;
  /** Set the handler for validated inbound messages (one handler; a later call replaces it). */
  onMessage(handler: MessageHandler<T>): void;
  /**
   * Set the handler told when a peer could not be reached (connect failed, connection lost), so the
   * runtime can call RaftCore.reportUnreachable. Never called from inside `send`.
   */
  onPeerUnreachable(handler: UnreachableHandler): void;
  stats(): TransportStats;
  /** Close sockets, servers and timers; drop what is queued. Idempotent. */
  close(): Promise<void>;
}

export function emptyStats(): TransportStats {
  return {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    delivered: 0,
    dropped: Object.fromEntries(DropReasons.map((r) => [r, 0])) as Record<DropReason, number>,
    rejected: Object.fromEntries(RejectReasons.map((r) => [r, 0])) as Record<RejectReason, number>,
    reconnects: 0,
    connectFailures: 0,
    queuedMessages: 0,
    queuedBytes: 0,
  };
}

export function copyStats(s: TransportStats): TransportStats {
  return { ...s, dropped: { ...s.dropped }, rejected: { ...s.rejected } };
}

/**
 * The adapter for payloads that carry their addressing as `from`/`to` fields, as Raft's `Message` does:
 * `addressedAdapter(parseMessage)` is all the node runtime needs to hand a transport.
 */
export function addressedAdapter<T extends { from: NodeId; to: NodeId }>(decode: (raw: unknown) => T): PayloadAdapter<T> {
  return { decode, to: (m) => m.to, from: (m) => m.from };
}
