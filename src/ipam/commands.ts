/**
 * IPAM commands: each one is one Raft log entry. Commands are plain data (a discriminated union on `type`)
 * so they encode with msgpackr and replay identically on every replica. `parseCommand` is the boundary
 * check: anything that is not exactly one of these shapes is rejected as InvalidCommand before it can
 * touch state.
 */
import { describe } from './address.js';
import { OverlayError } from './errors.js';

export interface ConfigureNetwork {
  type: 'configureNetwork';
  name: string;
  cidr: string;
  slicePrefix: number;
  /** Name of an existing network of the other family to pair with (dual stack). */
  pair?: string;
}
export interface AssignSlice {
  type: 'assignSlice';
  network: string;
  nodeId: string;
}
/** Place a node at a given slice (seed imports; operators repairing a cluster). */
export interface AssignSpecificSlice {
  type: 'assignSpecificSlice';
  network: string;
  nodeId: string;
  slice: string;
}
export interface ReleaseSlice {
  type: 'releaseSlice';
  network: string;
  nodeId: string;
}
export interface Allocate {
  type: 'allocate';
  network: string;
  nodeId: string;
  owner?: string;
}
export interface AllocateSpecific {
  type: 'allocateSpecific';
  network: string;
  nodeId: string;
  address: string;
  owner?: string;
}
export interface AllocateFirst {
  type: 'allocateFirst';
  network: string;
  nodeId: string;
  owner?: string;
}
/** Reserve an address (gateway, imported state). Idempotent. */
export interface Mark {
  type: 'mark';
  network: string;
  nodeId: string;
  address: string;
}
export interface Release {
  type: 'release';
  network: string;
  address: string;
  /** When given, the release only happens if the address still carries this allocation generation. */
  generation?: number;
}
export interface ReleaseOwner {
  type: 'releaseOwner';
  owner: string;
  /** Limit to one network; all networks when absent. */
  network?: string;
}

/**
 * Open a client session (Raft dissertation §6.3 "RegisterClient"): the result's id comes from a counter in
 * the replicated state, so every replica hands out the same id and no id is ever reused. Never carries a
 * session itself.
 */
export interface OpenSession {
  type: 'openSession';
}
/** Drop a session and its cached results; later requests under it get SessionExpired. Never carries a session. */
export interface CloseSession {
  type: 'closeSession';
  session: number;
}
/** Set the session TTL (ms of log time): replicated, so every replica expires the same sessions. */
export interface ConfigureSessions {
  type: 'configureSessions';
  ttlMs: number;
}

export type IpamCommand =
  | ConfigureNetwork
  | AssignSlice
  | AssignSpecificSlice
  | ReleaseSlice
  | Allocate
  | AllocateSpecific
  | AllocateFirst
  | Mark
  | Release
  | ReleaseOwner
  | OpenSession
  | CloseSession
  | ConfigureSessions;

export type CommandType = IpamCommand['type'];
/** The command of one type. */
export type CommandOf<K extends CommandType> = Extract<IpamCommand, { type: K }>;

/** Session TTL bounds: at least 1 s (a shorter one would expire sessions between a client's retries), at
 *  most 24 h (Consul's session TTL range is 10 s … 24 h; beyond a day a dead client's cache is just held). */
export const MIN_SESSION_TTL_MS = 1_000;
export const MAX_SESSION_TTL_MS = 86_400_000;

type FieldKind = 'string' | 'prefix' | 'generation' | 'session' | 'ttl';
interface FieldSpec {
  kind: FieldKind;
  optional?: boolean;
}

const SHAPES: Record<CommandType, Record<string, FieldSpec>> = {
  configureNetwork: { name: { kind: 'string' }, cidr: { kind: 'string' }, slicePrefix: { kind: 'prefix' }, pair: { kind: 'string', optional: true } },
  assignSlice: { network: { kind: 'string' }, nodeId: { kind: 'string' } },
  assignSpecificSlice: { network: { kind: 'string' }, nodeId: { kind: 'string' }, slice: { kind: 'string' } },
  releaseSlice: { network: { kind: 'string' }, nodeId: { kind: 'string' } },
  allocate: { network: { kind: 'string' }, nodeId: { kind: 'string' }, owner: { kind: 'string', optional: true } },
  allocateSpecific: { network: { kind: 'string' }, nodeId: { kind: 'string' }, address: { kind: 'string' }, owner: { kind: 'string', optional: true } },
  allocateFirst: { network: { kind: 'string' }, nodeId: { kind: 'string' }, owner: { kind: 'string', optional: true } },
  mark: { network: { kind: 'string' }, nodeId: { kind: 'string' }, address: { kind: 'string' } },
  release: { network: { kind: 'string' }, address: { kind: 'string' }, generation: { kind: 'generation', optional: true } },
  releaseOwner: { owner: { kind: 'string' }, network: { kind: 'string', optional: true } },
  openSession: {},
  closeSession: { session: { kind: 'session' } },
  configureSessions: { ttlMs: { kind: 'ttl' } },
};

/** Each shape's fields in declared order, computed once: parseCommand runs for every replayed entry. */
const FIELDS = Object.fromEntries(Object.entries(SHAPES).map(([type, shape]) => [type, Object.entries(shape)])) as unknown as Record<CommandType, ReadonlyArray<readonly [string, FieldSpec]>>;

/**
 * The field names of command `type` in declared order with whether each is numeric (else a string), or
 * undefined for an unknown type: the layout log-entry-reader.ts reads an entry's command in.
 */
export function commandLayout(type: string): ReadonlyArray<readonly [name: string, numeric: boolean]> | undefined {
  return Object.hasOwn(LAYOUTS, type) ? LAYOUTS[type as CommandType] : undefined;
}
const LAYOUTS = Object.fromEntries(Object.entries(FIELDS).map(([type, fields]) => [type, fields.map(([name, spec]) => [name, spec.kind !== 'string'] as const)])) as unknown as Record<
  CommandType,
  ReadonlyArray<readonly [string, boolean]>
>;

/** Commands that manage sessions and therefore never run inside one (see log-entry.ts). */
export const SESSION_MANAGEMENT: ReadonlySet<CommandType> = new Set(['openSession', 'closeSession']);

export const COMMAND_TYPES = Object.keys(SHAPES) as CommandType[];

/** Longest string field accepted in a command (names, ids, owners, addresses, CIDRs). */
export const MAX_FIELD_LENGTH = 256;

/** Validate the shape of an untrusted command. Semantic checks (does the network exist, …) happen in apply. */
export function parseCommand(input: unknown): IpamCommand {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new OverlayError('InvalidCommand', `command must be an object, got ${describe(input)}`);
  }
  const record = input as Record<string, unknown>;
  const type = record.type;
  if (typeof type !== 'string' || !Object.hasOwn(SHAPES, type)) {
    throw new OverlayError('InvalidCommand', `unknown command type ${describe(type)}`);
  }
  const shape = SHAPES[type as CommandType];
  for (const key of Object.keys(record)) {
    if (key !== 'type' && !Object.hasOwn(shape, key)) {
      throw new OverlayError('InvalidCommand', `${type}: unexpected field ${JSON.stringify(key)}`);
    }
  }
  const out: Record<string, unknown> = { type };
  for (const [key, spec] of FIELDS[type as CommandType]) {
    const value = record[key];
    if (value === undefined) {
      if (spec.optional) continue;
      throw new OverlayError('InvalidCommand', `${type}: missing field ${JSON.stringify(key)}`);
    }
    checkField(type, key, spec.kind, value);
    out[key] = value;
  }
  return out as unknown as IpamCommand;
}

function checkField(type: string, key: string, kind: FieldKind, value: unknown): void {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD_LENGTH || !value.isWellFormed()) {
        throw new OverlayError('InvalidCommand', `${type}: field ${JSON.stringify(key)} must be a non-empty string of at most ${MAX_FIELD_LENGTH} characters, got ${describe(value)}`);
      }
      return;
    case 'prefix':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 128) {
        throw new OverlayError('InvalidCommand', `${type}: field ${JSON.stringify(key)} must be an integer prefix length 0..128, got ${describe(value)}`);
      }
      return;
    case 'generation':
    case 'session':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
        throw new OverlayError('InvalidCommand', `${type}: field ${JSON.stringify(key)} must be a positive integer, got ${describe(value)}`);
      }
      return;
    case 'ttl':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < MIN_SESSION_TTL_MS || value > MAX_SESSION_TTL_MS) {
        throw new OverlayError('InvalidCommand', `${type}: field ${JSON.stringify(key)} must be an integer number of milliseconds in ${MIN_SESSION_TTL_MS}..${MAX_SESSION_TTL_MS}, got ${describe(value)}`);
      }
      return;
  }
}
