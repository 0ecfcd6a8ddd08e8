/**
 * The shape of an `ok` value: a command's typed result (ResultOf<C>) or a read's view (src/api/wire.ts).
 *
 * Command results are checked by a round trip through the state machine's own canonical result codec
 * (results.ts encodeResult/decodeResult, the form the session cache replicates): a value is well formed
 * exactly when decoding its encoding gives it back. So there is no second copy of the result shapes here,
 * and addresses and CIDRs must be in canonical form, as every replica writes them.
 */
import { canonicalAddress, describe, formatCidr, parseCidr } from '../ipam/address.js';
import { MAX_FIELD_LENGTH } from '../ipam/commands.js';
import { decodeResult, encodeResult, type ApplyResult, type CommandResult } from '../ipam/results.js';
import type { Operation, ReadQuery, RecordedCommand } from './operations.js';
import { isRead } from './operations.js';

/** JSON with object keys sorted: equal values, equal text, whatever the key order or prototype. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const record = v as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

/** Why `value` is not an answer `op` could have had, or undefined when it has the right shape. */
export function valueProblem(op: Operation, value: unknown): string | undefined {
  return isRead(op) ? readValueProblem(op, value) : commandValueProblem(op, value);
}

function commandValueProblem(command: RecordedCommand, value: unknown): string | undefined {
  let back: ApplyResult<CommandResult>;
  try {
    back = decodeResult(command.type, true, encodeResult(command.type, { ok: true, value: value as CommandResult }));
  } catch (e) {
    return `not a ${command.type} result: ${(e as Error).message}`;
  }
  if (!back.ok || canonicalJson(back.value) !== canonicalJson(value)) return `not a ${command.type} result: ${describe(value)} (unexpected or missing fields)`;
  return undefined;
}

// --- read views (src/api/wire.ts) ----------------------------------------------------------------------

type Check = (v: unknown) => string | undefined;

const name: Check = (v) => (typeof v === 'string' && v.length > 0 && v.length <= MAX_FIELD_LENGTH && v.isWellFormed() ? undefined : `expected a non-empty string, got ${describe(v)}`);
const int = (min: number): Check => (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? undefined : `expected an integer ≥ ${min}, got ${describe(v)}`);
const decimal: Check = (v) => (typeof v === 'string' && /^(0|[1-9][0-9]*)$/.test(v) ? undefined : `expected a decimal string, got ${describe(v)}`);
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : `expected a boolean, got ${describe(v)}`);
const prefix: Check = (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 128 ? undefined : `expected a prefix length, got ${describe(v)}`);
const canonical = (what: string, canon: (s: string) => string): Check => (v) => {
  const bad = name(v);
  if (bad) return bad;
  try {
    return canon(v as string) === v ? undefined : `${what} ${describe(v)} is not in canonical form`;
  } catch {
    return `expected ${what === 'CIDR' ? 'a CIDR' : 'an address'}, got ${describe(v)}`;
  }
};
const cidr = canonical('CIDR', (s) => {
  const c = parseCidr(s);
  return formatCidr(c.family, c.network, c.prefix);
});
const address = canonical('address', canonicalAddress);

function object(fields: Record<string, Check>, optional: readonly string[] = []): Check {
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return `expected an object, got ${describe(v)}`;
    const record = v as Record<string, unknown>;
    for (const key of Object.keys(record)) if (!Object.hasOwn(fields, key)) return `unexpected field ${JSON.stringify(key)}`;
    for (const [key, check] of Object.entries(fields)) {
      if (record[key] === undefined) {
        if (optional.includes(key)) continue;
        return `missing field ${JSON.stringify(key)}`;
      }
      const bad = check(record[key]);
      if (bad) return `${key}: ${bad}`;
    }
    return undefined;
  };
}

function array(item: Check): Check {
  return (v) => {
    if (!Array.isArray(v)) return `expected an array, got ${describe(v)}`;
    for (let i = 0; i < v.length; i++) {
      const bad = item(v[i]);
      if (bad) return `[${i}]: ${bad}`;
    }
    return undefined;
  };
}

const networkSummary = object({ name, cidr, slicePrefix: prefix, pair: name }, ['pair']);
const sliceView = object({ nodeId: name, slice: cidr, allocated: int(0), total: decimal, available: decimal });
const allocationView = object({ network: name, nodeId: name, address, generation: int(1), owner: name }, ['owner']);

const READ_VIEWS: Record<ReadQuery['type'], Check> = {
  listNetworks: array(networkSummary),
  listSlices: object({ network: name, slices: array(sliceView) }),
  listAllocations: object({ network: name, allocations: array(allocationView), truncated: bool }),
};

function readValueProblem(read: ReadQuery, value: unknown): string | undefined {
  const bad = READ_VIEWS[read.type](value);
  return bad === undefined ? undefined : `not a ${read.type} view: ${bad}`;
}
