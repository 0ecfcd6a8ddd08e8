/**
 * What a recorded operation can be: one IPAM command (the IpamCommand JSON the HTTP API takes) or one of
 * the reads the HTTP API offers (GET /v1/networks, /v1/networks/:name/slices, /v1/networks/:name/allocations).
 *
 * Session management (openSession, closeSession, configureSessions) is not recorded: it is client plumbing
 * whose answers (session ids) come from a counter no IPAM operation observes, and what sessions promise
 * (each command applied once) shows up in the IPAM answers themselves — a command applied twice grants a
 * second address. Reads are linearizable reads (the API's default consistency); a stale read
 * (?consistency=stale) promises nothing a checker could hold it to and must not be recorded.
 */
import { describe } from '../ipam/address.js';
import { MAX_FIELD_LENGTH, parseCommand, type IpamCommand, type OpenSession, type CloseSession, type ConfigureSessions } from '../ipam/commands.js';
import { OverlayError } from '../ipam/errors.js';
import { HistoryError } from './errors.js';

/** The IPAM commands a history holds. */
export type RecordedCommand = Exclude<IpamCommand, OpenSession | CloseSession | ConfigureSessions>;

export interface ListNetworks {
  type: 'listNetworks';
}
export interface ListSlices {
  type: 'listSlices';
  network: string;
}
export interface ListAllocations {
  type: 'listAllocations';
  network: string;
  node?: string;
  owner?: string;
  /** The `limit` query parameter; absent means the server's default (DEFAULT_LIST_LIMIT). */
  limit?: number;
}
export type ReadQuery = ListNetworks | ListSlices | ListAllocations;
export type ReadType = ReadQuery['type'];

export type Operation = RecordedCommand | ReadQuery;

const READ_TYPES: ReadonlySet<string> = new Set<ReadType>(['listNetworks', 'listSlices', 'listAllocations']);
const UNRECORDED: ReadonlySet<string> = new Set(['openSession', 'closeSession', 'configureSessions']);

/** The largest `limit` the API's schema accepts (pattern ^[1-9][0-9]{0,5}$). */
export const MAX_READ_LIMIT = 999_999;

export function isRead(op: Operation): op is ReadQuery {
  return READ_TYPES.has(op.type);
}

/** Validate an untrusted operation. Throws HistoryError('InvalidOperation'). */
export function parseOperation(input: unknown): Operation {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new HistoryError('InvalidOperation', `operation must be an object, got ${describe(input)}`);
  }
  const type = (input as { type?: unknown }).type;
  if (typeof type === 'string' && READ_TYPES.has(type)) return parseRead(input as Record<string, unknown>, type as ReadType);
  if (typeof type === 'string' && UNRECORDED.has(type)) {
    throw new HistoryError('InvalidOperation', `${type} is session plumbing and is not recorded in a history (see src/check/operations.ts)`);
  }
  try {
    return parseCommand(input) as RecordedCommand;
  } catch (e) {
    if (e instanceof OverlayError) throw new HistoryError('InvalidOperation', e.message);
    throw e;
  }
}

const READ_FIELDS: Record<ReadType, Record<string, 'string' | 'limit'>> = {
  listNetworks: {},
  listSlices: { network: 'string' },
  listAllocations: { network: 'string', node: 'string', owner: 'string', limit: 'limit' },
};
const REQUIRED: Record<ReadType, readonly string[]> = { listNetworks: [], listSlices: ['network'], listAllocations: ['network'] };

function parseRead(record: Record<string, unknown>, type: ReadType): ReadQuery {
  const fields = READ_FIELDS[type];
  for (const key of Object.keys(record)) {
    if (key !== 'type' && !Object.hasOwn(fields, key)) throw new HistoryError('InvalidOperation', `${type}: unexpected field ${JSON.stringify(key)}`);
  }
  const out: Record<string, unknown> = { type };
  for (const [key, kind] of Object.entries(fields)) {
    const value = record[key];
    if (value === undefined) {
      if (REQUIRED[type].includes(key)) throw new HistoryError('InvalidOperation', `${type}: missing field ${JSON.stringify(key)}`);
      continue;
    }
    if (kind === 'string' && (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD_LENGTH || !value.isWellFormed())) {
      throw new HistoryError('InvalidOperation', `${type}: field ${JSON.stringify(key)} must be a non-empty string of at most ${MAX_FIELD_LENGTH} characters, got ${describe(value)}`);
    }
    if (kind === 'limit' && (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_READ_LIMIT)) {
      throw new HistoryError('InvalidOperation', `${type}: field "limit" must be an integer in 1..${MAX_READ_LIMIT}, got ${describe(value)}`);
    }
    out[key] = value;
  }
  return out as unknown as ReadQuery;
}
