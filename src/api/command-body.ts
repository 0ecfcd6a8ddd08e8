/**
 * The boundary check of POST /v1/commands: split the body into the command and its session envelope and
 * validate both, so that nothing malformed reaches NodeService.submit. The command's shape is checked by
 * src/ipam's parseCommand — the same function the state machine runs — so the HTTP layer and the replicas
 * can never disagree about what a valid command is.
 */
import { parseCommand, type IpamCommand } from '../ipam/commands.js';
import { OverlayError } from '../ipam/errors.js';
import type { SessionRef } from '../node/service.js';

export interface ParsedCommandBody {
  command: IpamCommand;
  session?: SessionRef;
}

/** Session ids and seqs are positive safe integers (they come from counters; 0 never names one). */
function positiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

function invalid(message: string): never {
  throw new OverlayError('InvalidCommand', message);
}

export function parseSessionRef(v: unknown): SessionRef {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid('session must be an object {id, seq, ack?}');
  const r = v as Record<string, unknown>;
  const extra = Object.keys(r).find((k) => k !== 'id' && k !== 'seq' && k !== 'ack');
  if (extra !== undefined) invalid(`session: unexpected field ${JSON.stringify(extra)}`);
  if (!positiveInt(r.id)) invalid('session.id must be a positive integer');
  if (!positiveInt(r.seq)) invalid('session.seq must be a positive integer');
  if (r.ack !== undefined && !(positiveInt(r.ack) && r.ack <= r.seq)) invalid('session.ack must be a positive integer no larger than session.seq');
  return { id: r.id, seq: r.seq, ...(r.ack !== undefined ? { ack: r.ack as number } : {}) };
}

/**
 * Throws OverlayError('InvalidCommand') for anything that is not exactly one command plus an optional
 * session. closeSession's own `session` field (the id to close) shares its name with the envelope; session
 * management never carries an envelope, so for those two types `session` is the command's field.
 */
export function parseCommandBody(body: unknown): ParsedCommandBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) invalid('the body must be one command object');
  const record = body as Record<string, unknown>;
  // Session management never runs inside a session (an openSession tied to an old session's cache makes no
  // sense), and closeSession's own `session` field is the id to close: for these two it is the command's.
  if (record.type === 'openSession' || record.type === 'closeSession') return { command: parseCommand(record) };
  const { session, ...rest } = record;
  const command = parseCommand(rest);
  return Object.hasOwn(record, 'session') ? { command, session: parseSessionRef(session) } : { command };
}
