/**
 * The log entry fast reader (log-entry-reader.ts) against the general decode (msgpackr, validation,
 * re-encoding): on every input decodeEntry, which tries the fast reader first, must give what the general
 * path alone gives — the same body, or the same refusal with the same message. The inputs are envelopes of
 * every command type with hostile field values and key orders, byte-level mutations of valid entries, and
 * other spellings of valid entries. A last property checks the fast reader is really the one reading valid
 * entries, so the agreement is not vacuous.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { COMMAND_TYPES, commandLayout, MAX_FIELD_LENGTH, type IpamCommand } from '../src/ipam/commands.js';
import { decodeEntry, decodeEntryGeneral, encodeEntry, type LogEntryBody } from '../src/ipam/log-entry.js';
import { readEntryEnvelope } from '../src/ipam/log-entry-reader.js';
import { commandArb } from './support/ipam-workload.js';
import { runs } from './support/runs.js';

const raw = new Packr({ useRecords: false });

type Outcome = { body: Uint8Array } | { refused: string };

/**
 * What a decoder made of `bytes`: the re-packed body (keys in order, exact values) or the refusal. The
 * text msgpackr gives for bytes it cannot decode is cut off: it depends on what msgpackr decoded before
 * (its key cache answers reads past the end of a truncated input), so the general path alone gives
 * different texts for the same bytes on a second call. Those refusals are compared by code and prefix.
 */
function outcome(decode: (b: Uint8Array) => LogEntryBody, bytes: Uint8Array): Outcome {
  try {
    return { body: raw.pack(decode(bytes)) };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { refused: `${err.code}: ${err.message?.replace(/^(log entry: not msgpack): .*$/s, '$1')}` };
  }
}

function expectAgreement(bytes: Uint8Array): void {
  expect(outcome(decodeEntry, bytes)).toEqual(outcome(decodeEntryGeneral, bytes));
}

const safe = (min: number) => fc.integer({ min, max: Number.MAX_SAFE_INTEGER });
/** Numbers around every boundary the rules and msgpack's integer widths have, plus non-integers. */
const hostileNumber = fc.oneof(
  fc.integer({ min: -300, max: 300 }),
  safe(0),
  fc.constantFrom(0, -0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 64, -(2 ** 31), -(2 ** 31) - 1, 1_000, 86_400_000, 86_400_001, 128, 129),
  fc.double(),
);
const hostileString = fc.oneof(
  fc.constantFrom('v4', 'n1', 'c1', '10.0.0.0/8', ''),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }), // lone surrogates and astral characters
  fc.string({ minLength: MAX_FIELD_LENGTH - 2, maxLength: MAX_FIELD_LENGTH + 2 }),
  fc.string({ unit: 'grapheme', minLength: 80, maxLength: 100 }), // UTF-8 longer than 255 bytes: str16 headers
);

/** A command of any type, each field present or not, each of either kind's values. */
const anyCommand = fc.constantFrom(...COMMAND_TYPES).chain((type) => {
  const fields = Object.fromEntries((commandLayout(type) ?? []).map(([name, numeric]) => [name, fc.oneof(numeric ? hostileNumber : hostileString, fc.oneof(hostileNumber, hostileString))]));
  return fc.record({ type: fc.oneof(fc.constant(type), fc.constant('explode')), ...fields }, { requiredKeys: ['type'] });
});
const anySession = fc.record({ id: fc.oneof(safe(1), hostileNumber), seq: fc.oneof(safe(1), hostileNumber), ack: fc.oneof(fc.integer({ min: 1, max: 5 }), hostileNumber) }, { requiredKeys: [] });
const anyEnvelope = fc.record(
  {
    id: fc.oneof(safe(1), hostileNumber),
    command: fc.oneof(anyCommand, commandArb),
    session: fc.oneof(anySession, fc.constant(null)),
    time: fc.oneof(fc.constantFrom(1_700_000_000_000, 0), hostileNumber),
    extra: fc.constant(1),
  },
  { requiredKeys: [] },
);

/** The object with its keys (and its command's) in an order chosen by `seed`. */
function shuffled(value: Record<string, unknown>, seed: number): Record<string, unknown> {
  const keys = Object.keys(value);
  const order = keys.map((k, i) => [k, (seed * (i + 7) * 2654435761) >>> 0] as const).sort((a, b) => a[1] - b[1]);
  return Object.fromEntries(order.map(([k]) => [k, typeof value[k] === 'object' && value[k] !== null && seed % 3 === 0 ? shuffled(value[k] as Record<string, unknown>, seed + 1) : value[k]]));
}

const session = fc.tuple(safe(1), safe(1), fc.option(fc.nat(), { nil: undefined })).map(([id, seq, ack]) => (ack === undefined ? { id, seq } : { id, seq, ack: 1 + (ack % seq) }));
const validBody: fc.Arbitrary<LogEntryBody> = fc.record({ id: safe(1), command: commandArb, session, time: safe(0) }, { requiredKeys: ['id', 'command'] }).map((b) => {
  // A session-management command never carries a session (checkBody refuses it).
  if (b.command.type === 'openSession' || b.command.type === 'closeSession') delete b.session;
  return b;
});
/** Valid entries of the types commandArb leaves out, with names and owners of any characters. */
const otherValid = fc.oneof(
  fc.record({ type: fc.constant('configureNetwork' as const), name: fc.string({ minLength: 1, maxLength: 20 }), cidr: fc.constant('10.0.0.0/8'), slicePrefix: fc.integer({ min: 0, max: 128 }), pair: fc.option(fc.constant('v6'), { nil: undefined }) }),
  fc.record({ type: fc.constant('assignSpecificSlice' as const), network: fc.string({ minLength: 1, maxLength: 5 }), nodeId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 5 }), slice: fc.constant('10.0.0.0/24') }),
  fc.constant({ type: 'openSession' as const }),
  fc.record({ type: fc.constant('closeSession' as const), session: safe(1) }),
  fc.record({ type: fc.constant('configureSessions' as const), ttlMs: fc.integer({ min: 1_000, max: 86_400_000 }) }),
  fc.record({ type: fc.constant('allocate' as const), network: fc.constant('v4'), nodeId: fc.constant('n1'), owner: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) }),
).map((c) => JSON.parse(JSON.stringify(c)) as IpamCommand);
const anyValid = fc.oneof(validBody, fc.record({ id: safe(1), command: otherValid, time: safe(0) }, { requiredKeys: ['id', 'command'] }));

describe('log entry fast reader agrees with the general decode', () => {
  it('on envelopes of every command type with hostile values, in canonical and shuffled key orders', () => {
    fc.assert(
      fc.property(anyEnvelope, fc.nat(), fc.boolean(), (value, seed, shuffle) => {
        let bytes: Uint8Array;
        try {
          bytes = raw.pack(shuffle ? shuffled(value, seed) : value);
        } catch {
          return; // msgpackr cannot write it: nothing to decode
        }
        expectAgreement(bytes);
      }),
      { numRuns: runs(3000) },
    );
  });

  it('on byte-level mutations of valid entries: flips, inserts, deletes, truncations, several at once', () => {
    const op = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'xor-bit', 'insert', 'delete', 'truncate'));
    fc.assert(
      fc.property(anyValid, fc.array(op, { minLength: 1, maxLength: 3 }), (body, ops) => {
        const b = [...encodeEntry(body)];
        for (const [at, byte, kind] of ops) {
          if (b.length === 0) break;
          const i = at % b.length;
          if (kind === 'flip') b[i] = byte;
          else if (kind === 'xor-bit') b[i] = (b[i] as number) ^ (1 << (byte % 8));
          else if (kind === 'insert') b.splice(i, 0, byte);
          else if (kind === 'delete') b.splice(i, 1);
          else b.length = i;
        }
        expectAgreement(Uint8Array.from(b));
      }),
      { numRuns: runs(3000) },
    );
  });

  it('valid entries are read by the fast reader (so the agreement above is not vacuous) and round trip', () => {
    fc.assert(
      fc.property(anyValid, (body) => {
        const bytes = encodeEntry(body);
        expect(readEntryEnvelope(bytes)).toBeDefined();
        expect(decodeEntry(bytes)).toEqual(decodeEntryGeneral(bytes));
        expect(Buffer.from(encodeEntry(decodeEntry(bytes))).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: runs(1000) },
    );
  });

  /** `good` with the first occurrence of `from` after the map header replaced by `to`. */
  function respelled(good: Uint8Array, from: number[], to: number[]): Uint8Array {
    const at = Buffer.from(good).indexOf(Buffer.from(from), 3);
    expect(at).toBeGreaterThan(0);
    return Uint8Array.from([...good.subarray(0, at), ...to, ...good.subarray(at + from.length)]);
  }
  const command: IpamCommand = { type: 'allocate', network: 'v4', nodeId: 'n1', owner: 'c1' };
  const good = encodeEntry({ id: 7, command, session: { id: 3, seq: 9, ack: 2 }, time: 1_700_000_000_000 });
  const v4 = [0xa2, 0x76, 0x34];
  const cases: Array<[string, Uint8Array]> = [
    ['the envelope as a fixmap (msgpackr writes every object as map16)', Uint8Array.from([0x84, ...good.subarray(3)])],
    ['the command as a map32', respelled(good, [0xde, 0x00, 0x04, 0xa4], [0xdf, 0x00, 0x00, 0x00, 0x04, 0xa4])],
    ['a string with a str8 header', respelled(good, v4, [0xd9, 0x02, 0x76, 0x34])],
    ['a string as binary', respelled(good, v4, [0xc4, 0x02, 0x76, 0x34])],
    ['the id as uint8', respelled(good, [0xa2, 0x69, 0x64, 0x07], [0xa2, 0x69, 0x64, 0xcc, 0x07])],
    ['the session seq as int8', respelled(good, [0xa3, 0x73, 0x65, 0x71, 0x09], [0xa3, 0x73, 0x65, 0x71, 0xd0, 0x09])],
    ['the time as uint64', respelled(good, [0xcb, 0x42, 0x78, 0xbc, 0xfe, 0x56, 0x80, 0x00, 0x00], [0xcf, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00])],
    ['a key in malformed UTF-8', respelled(good, [0xa3, 0x61, 0x63, 0x6b], [0xa3, 0x61, 0xc3, 0x28])],
    ['a value in malformed UTF-8', respelled(good, v4, [0xa2, 0xc3, 0x28])],
    ['trailing bytes', Uint8Array.from([...good, 0xc0])],
    ['one byte short', good.subarray(0, -1)],
  ];
  /** Every msgpack integer form that can hold `v`, as bytes (the shortest one included). */
  function integerForms(v: number): number[][] {
    const be = (n: number, bytes: number): number[] => Array.from({ length: bytes }, (_, i) => Number((BigInt.asUintN(64, BigInt(n)) >> BigInt(8 * (bytes - 1 - i))) & 0xffn));
    const forms: number[][] = [];
    if (v >= 0 && v < 0x80) forms.push([v]);
    if (v >= -32 && v < 0) forms.push([v & 0xff]);
    if (v >= 0 && v < 2 ** 8) forms.push([0xcc, ...be(v, 1)]);
    if (v >= 0 && v < 2 ** 16) forms.push([0xcd, ...be(v, 2)]);
    if (v >= 0 && v < 2 ** 32) forms.push([0xce, ...be(v, 4)]);
    if (v >= 0) forms.push([0xcf, ...be(v, 8)]);
    if (v >= -(2 ** 7) && v < 2 ** 7) forms.push([0xd0, ...be(v, 1)]);
    if (v >= -(2 ** 15) && v < 2 ** 15) forms.push([0xd1, ...be(v, 2)]);
    if (v >= -(2 ** 31) && v < 2 ** 31) forms.push([0xd2, ...be(v, 4)]);
    forms.push([0xd3, ...be(v, 8)]);
    const f = Buffer.alloc(8);
    f.writeDoubleBE(v);
    forms.push([0xcb, ...f]);
    return forms;
  }
  it('an integer is read only in the form msgpackr writes it; every wider form is refused, as the general path refuses it', () => {
    const values = [1, 0x10, 0x1f, 0x20, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
    for (const v of values) {
      const canonical = encodeEntry({ id: v, command });
      const head = [...canonical.subarray(0, 6)]; // map16 header, "id"
      const tail = [...canonical.subarray(6 + raw.pack(v).length)];
      let accepted = 0;
      for (const form of integerForms(v)) {
        const bytes = Uint8Array.from([...head, ...form, ...tail]);
        expectAgreement(bytes);
        if (Buffer.from(bytes).equals(Buffer.from(canonical))) {
          accepted++;
          expect(readEntryEnvelope(bytes)).toBeDefined();
        } else {
          expect(readEntryEnvelope(bytes), `${v} as ${Buffer.from(form).toString('hex')}`).toBeUndefined();
          expect(() => decodeEntry(bytes)).toThrow(expect.objectContaining({ code: 'InvalidCommand' }));
        }
      }
      expect(accepted).toBe(1);
    }
  });

  it.each(cases)('other spellings of a valid entry: %s', (_name, bytes) => {
    expect(readEntryEnvelope(bytes)).toBeUndefined();
    expect(() => decodeEntry(bytes)).toThrow(expect.objectContaining({ code: 'InvalidCommand' }));
    expectAgreement(bytes);
  });
});
