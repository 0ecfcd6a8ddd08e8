/**
 * The checks every transport applies to a message, in one place so the memory transport (simulator)
 * refuses exactly what the TCP transport refuses.
 */
import { isValidNodeId, TransportError } from './errors.js';
import type { Envelope } from './frame.js';
import type { DropReason, NodeId, PayloadAdapter, RejectReason } from './types.js';

export type InboundVerdict<T> =
  | { kind: 'deliver'; msg: T; from: NodeId }
  /** A hello (payload null): the sender announces it is up; nothing to deliver (see frame.ts). */
  | { kind: 'hello'; from: NodeId }
  /** Not delivered, counted; the connection stays up (a stray frame is not proof of a hostile peer). */
  | { kind: 'drop'; reason: DropReason; detail: string }
  /** Not delivered, counted, and the connection must be closed: nothing else it carries can be trusted. */
  | { kind: 'reject'; reason: RejectReason; detail: string };

export interface InboundContext<T> {
  self: NodeId;
  cluster: string;
  adapter: PayloadAdapter<T>;
  isPeer(id: NodeId): boolean;
}

/**
 * Decide what happens to one well-formed frame. `identity` is who the connection is authenticated as
 * (the TLS certificate's CN, or in insecure mode the sender of its first accepted frame), or null when
 * nothing is bound yet. The payload validator runs last: it only ever sees frames from a known peer of
 * this cluster, addressed to us.
 */
export function checkInbound<T>(env: Envelope, ctx: InboundContext<T>, identity: NodeId | null): InboundVerdict<T> {
  if (env.cluster !== ctx.cluster) return { kind: 'drop', reason: 'wrongCluster', detail: `frame for cluster ${JSON.stringify(env.cluster)}` };
  if (identity !== null && env.from !== identity) {
    return { kind: 'reject', reason: 'identityMismatch', detail: `connection authenticated as ${identity} sent a frame claiming ${JSON.stringify(env.from)}` };
  }
  if (env.from === ctx.self || !ctx.isPeer(env.from)) return { kind: 'drop', reason: 'unknownSender', detail: `frame from ${JSON.stringify(env.from)}` };
  if (env.to !== ctx.self) return { kind: 'drop', reason: 'wrongRecipient', detail: `frame for ${JSON.stringify(env.to)}` };
  if (env.payload === null) return { kind: 'hello', from: env.from };
  let msg: T;
  try {
    msg = ctx.adapter.decode(env.payload);
  } catch (e) {
    return { kind: 'drop', reason: 'badPayload', detail: `payload refused: ${(e as Error)?.message ?? String(e)}` };
  }
  // A payload naming another sender than the authenticated one would let a peer speak for a third node
  // inside Raft (e.g. cast its vote), so the adapter's view must agree with the envelope.
  let from: unknown;
  let to: unknown;
  try {
    from = ctx.adapter.from(msg);
    to = ctx.adapter.to(msg);
  } catch (e) {
    return { kind: 'drop', reason: 'addressMismatch', detail: `payload addressing unreadable: ${(e as Error)?.message ?? String(e)}` };
  }
  if (from !== env.from || to !== env.to) {
    return { kind: 'drop', reason: 'addressMismatch', detail: `payload says ${String(from)}→${String(to)}, frame says ${env.from}→${env.to}` };
  }
  return { kind: 'deliver', msg, from: env.from };
}

/** Handlers are stored and called from I/O events later; refuse a non-function now, not then. */
export function checkHandler(handler: unknown, what: string): void {
  if (typeof handler !== 'function') throw new TransportError('InvalidArgument', `${what} handler must be a function`);
}

/** Caller-bug checks on `send`: these throw, unlike an unreachable peer which is only counted. */
export function checkOutbound<T>(adapter: PayloadAdapter<T>, self: NodeId, to: NodeId, msg: T): void {
  if (!isValidNodeId(to)) throw new TransportError('InvalidArgument', `send: invalid recipient ${JSON.stringify(to)}`);
  if (to === self) throw new TransportError('InvalidArgument', 'send: a node does not send to itself');
  let msgTo: unknown;
  let msgFrom: unknown;
  try {
    msgTo = adapter.to(msg);
    msgFrom = adapter.from(msg);
  } catch (e) {
    throw new TransportError('InvalidArgument', `send: message addressing unreadable: ${(e as Error)?.message ?? String(e)}`);
  }
  if (msgTo !== to) throw new TransportError('InvalidArgument', `send: message is addressed to ${String(msgTo)}, not ${to}`);
  if (msgFrom !== self) throw new TransportError('InvalidArgument', `send: message claims sender ${String(msgFrom)}, this node is ${self}`);
}
