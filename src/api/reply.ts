/** Writing envelopes: every error answer goes through sendError so status, Retry-After and body agree. */
import type { FastifyReply } from 'fastify';
import { OverlayError } from '../ipam/errors.js';
import { NodeError } from '../node/service.js';
import { retryAfterFor, statusForCode } from './status-codes.js';
import type { WireError } from './wire.js';

export function sendError(reply: FastifyReply, error: WireError): FastifyReply {
  if (error.code === 'NotLeader') {
    const leaderUrl = error.leader?.clientUrl;
    if (leaderUrl !== undefined) {
      // The same path and query on the leader; the body names it for clients that read bodies.
      return reply.code(statusForCode('NotLeader')).header('location', `${leaderUrl.replace(/\/+$/, '')}${reply.request.url}`).send({ ok: false, error });
    }
    // No leader URL to send the client to: to the client this is the same as no leader (try elsewhere, later).
    return reply.code(503).header('retry-after', String(retryAfterFor('NotLeader'))).send({ ok: false, error });
  }
  const retryAfter = retryAfterFor(error.code);
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  return reply.code(statusForCode(error.code)).send({ ok: false, error });
}

export function sendValue(reply: FastifyReply, value: unknown): FastifyReply {
  return reply.code(200).send({ ok: true, value });
}

/**
 * The wire form of an error this layer knows how to explain: a NodeError (cluster condition, with the
 * leader on NotLeader) or an OverlayError (a refusal). Undefined for anything else, which is a defect.
 */
export function knownError(e: unknown): WireError | undefined {
  if (e instanceof NodeError) return e.toJSON();
  if (e instanceof OverlayError) return e.toJSON();
  return undefined;
}
