/**
 * The bytes of one IPAM log entry: the envelope around a command that Raft replicates. The state
 * machine owns this format (hashicorp/raft's FSM owns its log's data), so the simulator, the node runtime
 * and the client oracle all read and write entries through these two functions and never through msgpack
 * directly.
 *
 * Envelope: msgpack map { id, command } where `id` names the request that proposed it (the proposer's
 * bookkeeping: a positive safe integer) and `command` is one IpamCommand, validated by parseCommand.
 *
 * One spelling per entry: keys in the order encodeEntry writes them (id, command; then `type` and the
 * command's fields in their declared order), integers in their shortest msgpack form, nothing after the
 * map. decodeEntry validates every field, then re-encodes what it read and refuses the entry unless the
 * bytes match: an entry that decodes is exactly the entry some encodeEntry call produced, so two replicas
 * can never read one entry two ways, and unknown fields, duplicate keys, trailing bytes, floats for
 * integers and msgpack extensions are all refused with InvalidCommand.
 */
import { Packr, Unpackr } from 'msgpackr';
import { describe } from './address.js';
import { parseCommand, type IpamCommand } from './commands.js';
import { OverlayError } from './errors.js';

export interface LogEntryBody {
  id: number;
  command: IpamCommand;
}

const packr = new Packr({ useRecords: false });
// Plain objects for maps; no records, no structured-clone extensions, 64-bit integers as bigint (a value
// the id check refuses) rather than a rounded number.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

function invalid(message: string): never {
  throw new OverlayError('InvalidCommand', `log entry: ${message}`);
}

function checkId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) invalid(`id must be a positive safe integer, got ${describe(id)}`);
  return id;
}

/** Validate an envelope object (exactly { id, command }) and return a fresh, canonical copy. */
function checkBody(raw: unknown): LogEntryBody {
  const proto: unknown = typeof raw === 'object' && raw !== null ? Object.getPrototypeOf(raw) : undefined;
  if (typeof raw !== 'object' || raw === null || (proto !== Object.prototype && proto !== null)) {
    invalid(`expected an { id, command } map, got ${describe(raw)}`);
  }
  const keys = Object.keys(raw);
  const unknown = keys.filter((k) => k !== 'id' && k !== 'command');
  if (unknown.length > 0) invalid(`unknown fields ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  const { id, command } = raw as Record<string, unknown>;
  return { id: checkId(id), command: parseCommand(command) };
}

export function encodeEntry(body: LogEntryBody): Uint8Array {
  const checked = checkBody(body);
  return packr.pack({ id: checked.id, command: checked.command });
}

/** Decode and validate; anything but a canonical, well-formed envelope is InvalidCommand. */
export function decodeEntry(bytes: Uint8Array): LogEntryBody {
  if (!(bytes instanceof Uint8Array)) invalid(`expected bytes, got ${describe(bytes)}`);
  let raw: unknown;
  try {
    raw = unpackr.unpack(bytes);
  } catch (e) {
    invalid(`not msgpack: ${e instanceof Error ? e.message : String(e)}`);
  }
  const body = checkBody(raw);
  const again = packr.pack({ id: body.id, command: body.command });
  if (again.length !== bytes.length || !Buffer.from(again).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length))) {
    invalid('not in canonical form (field order, integer encoding, trailing bytes or a repeated key)');
  }
  return body;
}
