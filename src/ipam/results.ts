/**
 * The typed result of every command, and the one canonical wire form of each, used where results become
 * replicated state: the client-session cache (sessions.ts) keeps every executed request's result so that a
 * retry gets exactly the first answer (Raft dissertation §6.3), and that cache is part of the snapshot.
 *
 * Wire form: one msgpack array per result, fields in declared order, optional fields as null, name-keyed
 * records as [name, value, …] sorted by name, lists in result order. An error is [code, message].
 * decodeResult validates every field (strings well formed and bounded, CIDRs and addresses in canonical
 * form, integers safe and in range, codes known) so a snapshot cannot smuggle a result no command could
 * have produced; the snapshot codec's re-encode check then refuses any other spelling.
 */
import { canonicalAddress, describe, formatCidr, parseCidr } from './address.js';
import { MAX_FIELD_LENGTH, MAX_SESSION_TTL_MS, MIN_SESSION_TTL_MS, type CommandType } from './commands.js';
import { ErrorCodes, OverlayError, type ErrorCode } from './errors.js';
import { invalidSnapshot as bad } from './snapshot-wire.js';
import { compare, MAX_GENERATION } from './state.js';

export type ApplyResult<T = CommandResult> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode; message: string } };

/** Result of allocate, allocateFirst, allocateSpecific and mark. */
export interface AllocationResult {
  network: string;
  nodeId: string;
  address: string;
  generation: number;
  owner?: string;
  /** True when the owner already held this address (or mark found it taken) and nothing changed. */
  existing: boolean;
}

export interface AllocationRecord {
  network: string;
  nodeId: string;
  address: string;
  generation: number;
  owner?: string;
}

export interface NetworkConfigured {
  network: string;
  cidr: string;
  slicePrefix: number;
  pair?: string;
  /** False when the network already existed with this configuration (the command is idempotent). */
  created: boolean;
}

/** Result of assignSlice and assignSpecificSlice: network name → slice CIDR (both networks of a pair). */
export interface SlicesAssigned {
  slices: Record<string, string>;
}

export interface SlicesReleased {
  /** Network name → the slice CIDR released there. */
  released: Record<string, string>;
  addressesReleased: number;
}

export interface AddressReleased {
  /** False when the address was not allocated (nothing changed). */
  released: boolean;
  /** The address in canonical form. */
  address: string;
}

export interface OwnerReleased {
  released: Array<{ network: string; address: string }>;
}

export interface SessionOpened {
  /** The new session's id: 1, 2, 3, … from a counter in the replicated state; never reused. */
  session: number;
}

export interface SessionClosed {
  session: number;
  /** False when the session had already expired or been closed (closing is idempotent). */
  closed: boolean;
}

export interface SessionsConfigured {
  ttlMs: number;
  previousTtlMs: number;
}

/** The result type of each command type. */
export interface CommandResults {
  configureNetwork: NetworkConfigured;
  assignSlice: SlicesAssigned;
  assignSpecificSlice: SlicesAssigned;
  releaseSlice: SlicesReleased;
  allocate: AllocationResult;
  allocateFirst: AllocationResult;
  allocateSpecific: AllocationResult;
  mark: AllocationResult;
  release: AddressReleased;
  releaseOwner: OwnerReleased;
  openSession: SessionOpened;
  closeSession: SessionClosed;
  configureSessions: SessionsConfigured;
}

export type CommandResult = CommandResults[CommandType];

/** A record whose keys are data (network names): no prototype, so `__proto__` is an ordinary key. */
export function byName(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

/** Longest error message kept in a cached result (messages quote at most a few 80-character values). */
export const MAX_MESSAGE_LENGTH = 4096;

export type WireResult = unknown[];

// --- encoding ----------------------------------------------------------------------------------------

function namedPairs(r: Record<string, string>): string[] {
  return Object.keys(r)
    .sort(compare)
    .flatMap((k) => [k, r[k] as string]);
}

/** The canonical wire form of a command's result (ok or refusal). */
export function encodeResult(type: CommandType, result: ApplyResult<CommandResult>): WireResult {
  if (!result.ok) return [result.error.code, result.error.message];
  const v = result.value;
  switch (type) {
    case 'configureNetwork': {
      const r = v as NetworkConfigured;
      return [r.network, r.cidr, r.slicePrefix, r.pair ?? null, r.created];
    }
    case 'assignSlice':
    case 'assignSpecificSlice':
      return namedPairs((v as SlicesAssigned).slices);
    case 'releaseSlice': {
      const r = v as SlicesReleased;
      return [namedPairs(r.released), r.addressesReleased];
    }
    case 'allocate':
    case 'allocateFirst':
    case 'allocateSpecific':
    case 'mark': {
      const r = v as AllocationResult;
      return [r.network, r.nodeId, r.address, r.generation, r.owner ?? null, r.existing];
    }
    case 'release': {
      const r = v as AddressReleased;
      return [r.released, r.address];
    }
    case 'releaseOwner':
      return (v as OwnerReleased).released.flatMap((x) => [x.network, x.address]);
    case 'openSession':
      return [(v as SessionOpened).session];
    case 'closeSession': {
      const r = v as SessionClosed;
      return [r.session, r.closed];
    }
    case 'configureSessions': {
      const r = v as SessionsConfigured;
      return [r.ttlMs, r.previousTtlMs];
    }
  }
}

// --- decoding (validating: the input may come from a snapshot) ---------------------------------------

function arity(w: unknown, n: number, what: string): unknown[] {
  if (!Array.isArray(w) || w.length !== n) bad(`${what} must be an array of ${n}, got ${describe(w)}`);
  return w;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_FIELD_LENGTH || !v.isWellFormed()) bad(`${what} must be a non-empty string, got ${describe(v)}`);
  return v;
}

function int(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad(`${what} must be an integer in ${min}..${max}, got ${describe(v)}`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') bad(`${what} must be a boolean, got ${describe(v)}`);
  return v;
}

function cidr(v: unknown, what: string): string {
  const text = str(v, what);
  let canonical: string;
  try {
    const c = parseCidr(text);
    canonical = formatCidr(c.family, c.network, c.prefix);
  } catch {
    bad(`${what} is not a CIDR: ${describe(text)}`);
  }
  if (canonical !== text) bad(`${what} ${describe(text)} is not in canonical form`);
  return text;
}

function address(v: unknown, what: string): string {
  const text = str(v, what);
  let canonical: string;
  try {
    canonical = canonicalAddress(text);
  } catch {
    bad(`${what} is not an address: ${describe(text)}`);
  }
  if (canonical !== text) bad(`${what} ${describe(text)} is not in canonical form`);
  return text;
}

/** [name, cidr, …] strictly ascending by name → a null-prototype record. */
function named(v: unknown, what: string): Record<string, string> {
  if (!Array.isArray(v) || v.length % 2 !== 0 || v.length > 4) bad(`${what} must be [name, cidr] pairs, got ${describe(v)}`);
  const out = byName();
  let prev: string | undefined;
  for (let i = 0; i < v.length; i += 2) {
    const k = str(v[i], `${what} network`);
    if (prev !== undefined && compare(prev, k) >= 0) bad(`${what}: networks out of order or repeated at ${describe(k)}`);
    prev = k;
    out[k] = cidr(v[i + 1], `${what} slice`);
  }
  return out;
}

const MAX_COUNT = Number.MAX_SAFE_INTEGER;
const codes: ReadonlySet<string> = new Set(ErrorCodes);

/** Inverse of encodeResult; refuses (InvalidSnapshot) anything encodeResult could not have written. */
export function decodeResult(type: CommandType, ok: boolean, w: unknown): ApplyResult<CommandResult> {
  if (!ok) {
    const [code, message] = arity(w, 2, `${type} refusal`);
    if (typeof code !== 'string' || !codes.has(code)) bad(`${type} refusal: unknown error code ${describe(code)}`);
    if (typeof message !== 'string' || message.length > MAX_MESSAGE_LENGTH || !message.isWellFormed()) bad(`${type} refusal: bad message ${describe(message)}`);
    return { ok: false, error: new OverlayError(code as ErrorCode, message).toJSON() };
  }
  return { ok: true, value: decodeValue(type, w) };
}

function decodeValue(type: CommandType, w: unknown): CommandResult {
  switch (type) {
    case 'configureNetwork': {
      const [network, c, slicePrefix, pair, created] = arity(w, 5, type);
      return {
        network: str(network, 'network'),
        cidr: cidr(c, 'cidr'),
        slicePrefix: int(slicePrefix, 0, 128, 'slicePrefix'),
        ...(pair !== null ? { pair: str(pair, 'pair') } : {}),
        created: bool(created, 'created'),
      };
    }
    case 'assignSlice':
    case 'assignSpecificSlice': {
      const slices = named(w, type);
      if (Object.keys(slices).length === 0) bad(`${type}: no slice`);
      return { slices };
    }
    case 'releaseSlice': {
      const [released, n] = arity(w, 2, type);
      return { released: named(released, type), addressesReleased: int(n, 0, MAX_COUNT, 'addressesReleased') };
    }
    case 'allocate':
    case 'allocateFirst':
    case 'allocateSpecific':
    case 'mark': {
      const [network, nodeId, a, generation, owner, existing] = arity(w, 6, type);
      return {
        network: str(network, 'network'),
        nodeId: str(nodeId, 'nodeId'),
        address: address(a, 'address'),
        generation: int(generation, 1, MAX_GENERATION - 1, 'generation'),
        ...(owner !== null ? { owner: str(owner, 'owner') } : {}),
        existing: bool(existing, 'existing'),
      };
    }
    case 'release': {
      const [released, a] = arity(w, 2, type);
      return { released: bool(released, 'released'), address: address(a, 'address') };
    }
    case 'releaseOwner': {
      if (!Array.isArray(w) || w.length % 2 !== 0) bad(`releaseOwner must be [network, address] pairs, got ${describe(w)}`);
      const released: Array<{ network: string; address: string }> = [];
      for (let i = 0; i < w.length; i += 2) {
        const network = str(w[i], 'network');
        const prev = released.at(-1);
        if (prev !== undefined && compare(prev.network, network) >= 0) bad(`releaseOwner: networks out of order or repeated at ${describe(network)}`);
        released.push({ network, address: address(w[i + 1], 'address') });
      }
      return { released };
    }
    case 'openSession': {
      const [session] = arity(w, 1, type);
      return { session: int(session, 1, MAX_COUNT - 1, 'session') };
    }
    case 'closeSession': {
      const [session, closed] = arity(w, 2, type);
      return { session: int(session, 1, MAX_COUNT - 1, 'session'), closed: bool(closed, 'closed') };
    }
    case 'configureSessions': {
      const [ttlMs, previousTtlMs] = arity(w, 2, type);
      return { ttlMs: int(ttlMs, MIN_SESSION_TTL_MS, MAX_SESSION_TTL_MS, 'ttlMs'), previousTtlMs: int(previousTtlMs, MIN_SESSION_TTL_MS, MAX_SESSION_TTL_MS, 'previousTtlMs') };
    }
  }
}
