/**
 * The bytes of one IPAM log entry: the envelope around a command that Raft replicates. The state
 * machine owns this format (hashicorp/raft's FSM owns its log's data), so the simulator, the node runtime
 * and the client oracle all read and write entries through these two functions and never through msgpack
 * directly.
 *
 * Envelope: msgpack map { id, command, session?, time? }:
 * - `id` names the request that proposed it (the proposer's bookkeeping: a positive safe integer);
 * - `command` is one IpamCommand, validated by parseCommand;
 * - `session` { id, seq, ack? } runs the command exactly once in a client session (sessions.ts, Raft
 *   dissertation §6.3): id and seq positive safe integers, ack (the client holds every response with
 *   seq < ack) a positive safe integer ≤ seq, since the client cannot hold the answer to the request it
 *   is sending. openSession and closeSession never carry one: they manage sessions, they are not
 *   sequenced in one (closeSession is idempotent instead);
 * - `time` is the proposing leader's clock in ms (a non-negative safe integer): the state machine's log
 *   time, which expires sessions the same way on every replica (§6.3). Absent: log time does not move.
 * Absent optional fields are not written, so { id, command } entries are byte-identical to the format
 * before sessions.
 *
 * One spelling per entry: keys in the order encodeEntry writes them (id, command, session, time; `type`
 * and the command's fields in their declared order; the session's id, seq, ack), integers in their
 * shortest msgpack form, nothing after the map. decodeEntry validates every field, then re-encodes what it
 * read and refuses the entry unless the bytes match (bytes that log-entry-reader.ts accepts are that
 * spelling by construction and skip the re-encoding): an entry that decodes is exactly the entry some
 * encodeEntry call produced, so two replicas can never read one entry two ways, and unknown fields,
 * duplicate keys, trailing bytes, floats for integers and msgpack extensions are all refused with
 * InvalidCommand.
 */
import { Packr, Unpackr } from 'msgpackr';
import { describe } from './address.js';
import { parseCommand, SESSION_MANAGEMENT, type IpamCommand } from './commands.js';
import { OverlayError } from './errors.js';
import { readEntryEnvelope } from './log-entry-reader.js';

/** A request's place in its client session (Raft dissertation §6.3). */
export interface SessionTag {
  /** The session id openSession returned. */
  id: number;
  /** The request's sequence number in the session: 1, 2, 3, …; a retry repeats it. */
  seq: number;
  /** The client has received every response with seq < ack (≤ seq); their cached results can go. */
  ack?: number;
}

export interface LogEntryBody {
  id: number;
  command: IpamCommand;
  session?: SessionTag;
  /** The proposing leader's clock, ms. */
  time?: number;
}

const packr = new Packr({ useRecords: false });
// Plain objects for maps; no records, no structured-clone extensions, 64-bit integers as bigint (a value
// the id check refuses) rather than a rounded number.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

function invalid(message: string): never {
  throw new OverlayError('InvalidCommand', `log entry: ${message}`);
}

function checkInt(v: unknown, min: number, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) invalid(`${what} must be a ${min === 0 ? 'non-negative' : 'positive'} safe integer, got ${describe(v)}`);
  return v;
}

function plainMap(raw: unknown, allowed: readonly string[], what: string): Record<string, unknown> {
  const proto: unknown = typeof raw === 'object' && raw !== null ? Object.getPrototypeOf(raw) : undefined;
  if (typeof raw !== 'object' || raw === null || (proto !== Object.prototype && proto !== null)) {
    invalid(`expected ${what} map, got ${describe(raw)}`);
  }
  const unknown = Object.keys(raw).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) invalid(`unknown fields ${unknown.map((k) => JSON.stringify(k)).join(', ')} in ${what}`);
  return raw as Record<string, unknown>;
}

function checkSession(raw: unknown): SessionTag {
  const { id, seq, ack } = plainMap(raw, ['id', 'seq', 'ack'], 'a session { id, seq, ack? }');
  const tag: SessionTag = { id: checkId(id, 'session id'), seq: checkInt(seq, 1, 'session seq') };
  if (ack !== undefined) {
    tag.ack = checkInt(ack, 1, 'session ack');
    if (tag.ack > tag.seq) invalid(`session ack ${tag.ack} is above seq ${tag.seq}: a client cannot hold the response to the request it is sending`);
  }
  return tag;
}

function checkId(id: unknown, what = 'id'): number {
  return checkInt(id, 1, what);
}

/** Validate an envelope object and return a fresh, canonical copy (fields in the canonical order). */
function checkBody(raw: unknown): LogEntryBody {
  const { id, command, session, time } = plainMap(raw, ['id', 'command', 'session', 'time'], 'an { id, command, session?, time? }');
  const body: LogEntryBody = { id: checkId(id), command: parseCommand(command) };
  if (session !== undefined) {
    if (SESSION_MANAGEMENT.has(body.command.type)) invalid(`${body.command.type} cannot run inside a session`);
    body.session = checkSession(session);
  }
  if (time !== undefined) body.time = checkInt(time, 0, 'time');
  return body;
}

export function encodeEntry(body: LogEntryBody): Uint8Array {
  return packr.pack(checkBody(body));
}

/** Decode and validate; anything but a canonical, well-formed envelope is InvalidCommand. */
export function decodeEntry(bytes: Uint8Array): LogEntryBody {
  if (!(bytes instanceof Uint8Array)) invalid(`expected bytes, got ${describe(bytes)}`);
  // Canonical bytes read directly (log-entry-reader.ts) need no re-encoding; anything the fast reader
  // does not take, or that fails validation, is decoded below, which names the refusal.
  const envelope = readEntryEnvelope(bytes);
  if (envelope !== undefined) {
    try {
      return checkBody(envelope);
    } catch (e) {
      if (!(e instanceof OverlayError)) throw e;
    }
  }
  return decodeEntryGeneral(bytes);
}

/** @internal decodeEntry without the fast reader: msgpackr, validation, re-encoding (exported for its tests). */
export function decodeEntryGeneral(bytes: Uint8Array): LogEntryBody {
  let raw: unknown;
  try {
    raw = unpackr.unpack(bytes);
  } catch (e) {
    invalid(`not msgpack: ${e instanceof Error ? e.message : String(e)}`);
  }
  const body = checkBody(raw);
  const again = packr.pack(body);
  if (!sameBytes(again, bytes)) invalid('not in canonical form (field order, integer encoding, trailing bytes or a repeated key)');
  return body;
}

/** Byte equality without copying either side (an entry is tens of bytes: a loop beats a native call). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
