/**
 * The bytes of one IPAM log entry: the envelope around a command that Raft replicates. The state
 * machine owns this format (hashicorp/raft's FSM owns its log's data), so the simulator, the node runtime
 * and the client oracle all read and write entries through these two functions and never through msgpack
 * directly.
 *
 * Envelope: msgpack map { id, command } where `id` names the request that proposed it (the proposer's
 * bookkeeping: a positive safe integer) and `command` is one IpamCommand, validated by parseCommand.
 */
import { Packr } from 'msgpackr';
import { parseCommand, type IpamCommand } from './commands.js';
import { OverlayError } from './errors.js';

export interface LogEntryBody {
  id: number;
  command: IpamCommand;
}

const packr = new Packr({ useRecords: false });

export function encodeEntry(body: LogEntryBody): Uint8Array {
  if (!Number.isSafeInteger(body.id) || body.id < 1) throw new OverlayError('InvalidCommand', `entry id must be a positive safe integer, got ${String(body.id)}`);
  return packr.pack({ id: body.id, command: parseCommand(body.command) });
}

/** Decode and validate; anything but a well-formed envelope is InvalidCommand. */
export function decodeEntry(bytes: Uint8Array): LogEntryBody {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (e) {
    throw new OverlayError('InvalidCommand', `log entry is not msgpack: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new OverlayError('InvalidCommand', 'log entry is not an { id, command } envelope');
  const { id, command, ...rest } = raw as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new OverlayError('InvalidCommand', `log entry has unknown fields: ${Object.keys(rest).join(', ')}`);
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new OverlayError('InvalidCommand', `log entry id must be a positive safe integer, got ${String(id)}`);
  return { id, command: parseCommand(command) };
}
