import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry, OverlayError, type IpamCommand } from '../src/index.js';
import { commandArb } from './support/ipam-workload.js';
import { runs } from './support/runs.js';

const raw = new Packr({ useRecords: false });
const command: IpamCommand = { type: 'allocate', network: 'pods', nodeId: 'n1', owner: 'c1' };

function refusal(bytes: Uint8Array): string | undefined {
  try {
    decodeEntry(bytes);
  } catch (e) {
    if (e instanceof OverlayError) return e.code;
    throw e;
  }
  return undefined;
}

const entryArb = fc.record({ id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), command: commandArb });
const safe = (min: number) => fc.integer({ min, max: Number.MAX_SAFE_INTEGER });
const sessionArb = fc
  .tuple(safe(1), safe(1), fc.option(fc.nat(), { nil: undefined }))
  .map(([id, seq, ack]) => (ack === undefined ? { id, seq } : { id, seq, ack: 1 + (ack % seq) }));
const sessionEntryArb = fc.record(
  { id: safe(1), command: commandArb, session: sessionArb, time: safe(0) },
  { requiredKeys: ['id', 'command'] },
);

describe('log entry envelope', () => {
  it('round trips every command and id', () => {
    fc.assert(
      fc.property(entryArb, (body) => {
        expect(decodeEntry(encodeEntry(body))).toEqual(body);
      }),
      { numRuns: runs(500) },
    );
  });

  it('refuses unknown fields, bad ids and bad commands with InvalidCommand', () => {
    const cases: unknown[] = [
      { id: 1, command, extra: true },
      { id: 1, command: { ...command, extra: 1 } },
      { id: 0, command },
      { id: -3, command },
      { id: 1.5, command },
      { id: '1', command },
      { id: 1 },
      { command },
      { id: 1, command: { type: 'explode' } },
      { id: 1, command: { type: 'allocate', network: '', nodeId: 'n1' } },
      [1, command],
      'allocate',
      null,
    ];
    for (const c of cases) expect(refusal(raw.pack(c))).toBe('InvalidCommand');
    expect(() => encodeEntry({ id: 0, command })).toThrow(expect.objectContaining({ code: 'InvalidCommand' }));
    expect(() => encodeEntry({ id: 1, command: { ...command, extra: 1 } as IpamCommand })).toThrow(expect.objectContaining({ code: 'InvalidCommand' }));
  });

  it('refuses every other spelling of a valid entry: key order, integer width, trailing bytes', () => {
    const good = encodeEntry({ id: 7, command });
    expect(decodeEntry(good)).toEqual({ id: 7, command });
    // Same content, keys swapped.
    expect(refusal(raw.pack({ command, id: 7 }))).toBe('InvalidCommand');
    expect(refusal(raw.pack({ id: 7, command: { network: 'pods', type: 'allocate', nodeId: 'n1', owner: 'c1' } }))).toBe('InvalidCommand');
    // id 7 as a uint32 (0xce 00 00 00 07) instead of a positive fixint: the same number, a longer spelling.
    const at = good.indexOf(0x07);
    const wide = Uint8Array.from([...good.subarray(0, at), 0xce, 0, 0, 0, 7, ...good.subarray(at + 1)]);
    expect(refusal(wide)).toBe('InvalidCommand');
    // Trailing garbage after the map.
    expect(refusal(Uint8Array.from([...good, 0xc0]))).toBe('InvalidCommand');
    // Not msgpack at all, or not bytes.
    expect(refusal(Uint8Array.from([0xc1]))).toBe('InvalidCommand');
    expect(refusal(new Uint8Array())).toBe('InvalidCommand');
    expect(() => decodeEntry('entry' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'InvalidCommand' }));
  });

  it('fuzz: random bytes and mutated entries either decode to an entry that re-encodes to the same bytes, or are InvalidCommand', () => {
    const mutated = fc
      .tuple(entryArb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'delete'))
      .map(([body, at, byte, op]) => {
        const b = [...encodeEntry(body)];
        const i = at % b.length;
        if (op === 'flip') b[i] = byte;
        else if (op === 'insert') b.splice(i, 0, byte);
        else b.splice(i, 1);
        return Uint8Array.from(b);
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => {
        let body;
        try {
          body = decodeEntry(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(OverlayError);
          expect((e as OverlayError).code).toBe('InvalidCommand');
          return;
        }
        expect(Buffer.from(encodeEntry(body)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: runs(3000) },
    );
  });
});

describe('log entry envelope: sessions and leader time', () => {
  it('round trips every combination of session (with and without ack) and time', () => {
    fc.assert(
      fc.property(sessionEntryArb, (body) => {
        expect(decodeEntry(encodeEntry(body))).toEqual(body);
      }),
      { numRuns: runs(500) },
    );
  });

  it('an entry without session or time is byte-identical to the { id, command } format the simulator writes', () => {
    fc.assert(
      fc.property(entryArb, (body) => {
        expect(Buffer.from(encodeEntry(body)).equals(Buffer.from(raw.pack({ id: body.id, command: body.command })))).toBe(true);
        expect(Buffer.from(encodeEntry({ ...body, session: undefined, time: undefined })).equals(Buffer.from(encodeEntry(body)))).toBe(true);
      }),
      { numRuns: runs(200) },
    );
  });

  it('refuses hostile session and time fields with InvalidCommand', () => {
    const s = { id: 3, seq: 5 };
    const cases: unknown[] = [
      { id: 1, command, session: { id: 3, seq: -1 } },
      { id: 1, command, session: { id: 3, seq: 0 } },
      { id: 1, command, session: { id: 3, seq: 1.5 } },
      { id: 1, command, session: { id: 0, seq: 1 } },
      { id: 1, command, session: { id: -3, seq: 1 } },
      { id: 1, command, session: { id: 2 ** 53, seq: 1 } },
      { id: 1, command, session: { id: 2n ** 64n - 1n, seq: 1 } },
      { id: 1, command, session: { id: 3, seq: 2n ** 63n } },
      { id: 1, command, session: { id: '3', seq: 1 } },
      { id: 1, command, session: { id: 3 } },
      { id: 1, command, session: { seq: 3 } },
      { id: 1, command, session: { ...s, ack: 0 } },
      { id: 1, command, session: { ...s, ack: 6 } }, // above seq
      { id: 1, command, session: { ...s, ack: 2.5 } },
      { id: 1, command, session: { ...s, extra: 1 } },
      { id: 1, command, session: { ...s, ack: null } },
      { id: 1, command, session: null },
      { id: 1, command, session: [3, 5] },
      { id: 1, command, session: 3 },
      { id: 1, command, time: -1 },
      { id: 1, command, time: 1.5 },
      { id: 1, command, time: 2 ** 53 },
      { id: 1, command, time: 1e300 },
      { id: 1, command, time: Number.NaN },
      { id: 1, command, time: '1700000000000' },
      { id: 1, command, time: null },
      { id: 1, command, time: 2n ** 64n - 1n },
      { id: 1, command: { type: 'openSession' }, session: s },
      { id: 1, command: { type: 'closeSession', session: 3 }, session: s },
      { id: 1, command: { type: 'closeSession', session: 0 } },
      { id: 1, command: { type: 'openSession', session: 3 } },
      { id: 1, command: { type: 'configureSessions', ttlMs: 10 } },
      { id: 1, command, session: s, time: 5, leader: 'n1' },
      // Other spellings of valid entries: key orders other than id, command, session, time / id, seq, ack.
      { id: 1, command, time: 5, session: s },
      { command, id: 1, session: s },
      { id: 1, command, session: { seq: 5, id: 3 } },
      { id: 1, command, session: { id: 3, ack: 2, seq: 5 } },
    ];
    for (const c of cases) expect(refusal(raw.pack(c)), JSON.stringify(c, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))).toBe('InvalidCommand');
    expect(() => encodeEntry({ id: 1, command, session: { id: 1, seq: 2, ack: 3 } })).toThrow(expect.objectContaining({ code: 'InvalidCommand' }));
    expect(() => encodeEntry({ id: 1, command, time: -5 })).toThrow(expect.objectContaining({ code: 'InvalidCommand' }));
    // A time that is an integer spelled as a float64 (the same number, a longer spelling) is refused too.
    const good = encodeEntry({ id: 1, command, time: 5 });
    expect(good.at(-1)).toBe(0x05);
    expect(refusal(Uint8Array.from([...good.subarray(0, -1), 0xcb, 0x40, 0x14, 0, 0, 0, 0, 0, 0]))).toBe('InvalidCommand');
  });

  it('fuzz: arbitrary values in the session and time fields either decode to a valid envelope or are InvalidCommand', () => {
    const hostileNumber = fc.oneof(fc.integer(), fc.double(), safe(0), fc.constantFrom(0, -0, 2 ** 53, 2 ** 64, Number.MAX_SAFE_INTEGER), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), fc.string({ maxLength: 3 }), fc.constant(null));
    const hostile = fc.record(
      {
        id: fc.oneof(safe(1), hostileNumber),
        command: fc.oneof(commandArb, fc.constant({ type: 'openSession' }), fc.anything()),
        session: fc.oneof(fc.record({ id: hostileNumber, seq: hostileNumber, ack: hostileNumber }, { requiredKeys: [] }), fc.anything()),
        time: hostileNumber,
        other: fc.anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(hostile, (value) => {
        let bytes: Uint8Array;
        try {
          bytes = raw.pack(value);
        } catch {
          return; // msgpackr cannot write it: nothing to decode
        }
        let body;
        try {
          body = decodeEntry(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(OverlayError);
          expect((e as OverlayError).code).toBe('InvalidCommand');
          return;
        }
        const positive = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;
        expect(positive(body.id)).toBe(true);
        if (body.session) {
          expect(positive(body.session.id) && positive(body.session.seq)).toBe(true);
          if (body.session.ack !== undefined) expect(positive(body.session.ack) && body.session.ack <= body.session.seq).toBe(true);
          expect(['openSession', 'closeSession']).not.toContain(body.command.type);
        }
        if (body.time !== undefined) expect(Number.isSafeInteger(body.time) && body.time >= 0).toBe(true);
        expect(Buffer.from(encodeEntry(body)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: runs(3000) },
    );
  });
});

describe('log entry envelope: refusals say what is wrong', () => {
  const message = (value: unknown): string => {
    try {
      decodeEntry(value instanceof Uint8Array ? value : raw.pack(value));
    } catch (e) {
      expect(e).toMatchObject({ code: 'InvalidCommand' });
      return (e as Error).message;
    }
    throw new Error('accepted');
  };
  it('names the field, the bound and the value', () => {
    expect(message({ id: 0, command })).toBe('log entry: id must be a positive safe integer, got 0');
    expect(message({ id: 1, command, time: -1 })).toBe('log entry: time must be a non-negative safe integer, got -1');
    expect(message({ id: 1, command, session: { id: 3, seq: 0 } })).toBe('log entry: session seq must be a positive safe integer, got 0');
    expect(message({ id: 1, command, session: { id: 0, seq: 1 } })).toBe('log entry: session id must be a positive safe integer, got 0');
    expect(message({ id: 1, command, session: { id: 3, seq: 2, ack: 0 } })).toBe('log entry: session ack must be a positive safe integer, got 0');
    expect(message({ id: 1, command, session: { id: 3, seq: 2, ack: 3 } })).toBe('log entry: session ack 3 is above seq 2: a client cannot hold the response to the request it is sending');
    expect(message({ id: 1, command: { type: 'openSession' }, session: { id: 3, seq: 2 } })).toBe('log entry: openSession cannot run inside a session');
    expect(message({ id: 1, command, session: { id: 3, seq: 2, x: 1, y: 2 } })).toBe('log entry: unknown fields "x", "y" in a session { id, seq, ack? }');
    expect(message({ id: 1, command, leader: 'n1' })).toBe('log entry: unknown fields "leader" in an { id, command, session?, time? }');
    expect(message({ id: 1, command, session: [3, 2] })).toBe('log entry: expected a session { id, seq, ack? } map, got [3,2]');
    expect(message(null)).toBe('log entry: expected an { id, command, session?, time? } map, got null');
    expect(message({ command, id: 1 })).toBe('log entry: not in canonical form (field order, integer encoding, trailing bytes or a repeated key)');
    expect(message(Uint8Array.from([0x82]))).toMatch(/^log entry: not msgpack: /);
    expect(() => decodeEntry([1, 2] as unknown as Uint8Array)).toThrow('log entry: expected bytes, got [1,2]');
  });
  it('an entry in a view at an offset of a larger buffer decodes like a copy', () => {
    const good = encodeEntry({ id: 7, command, session: { id: 2, seq: 3, ack: 3 }, time: 9 });
    const big = new Uint8Array(good.length + 9);
    big.set(good, 4);
    expect(decodeEntry(big.subarray(4, 4 + good.length))).toEqual({ id: 7, command, session: { id: 2, seq: 3, ack: 3 }, time: 9 });
    big[4 + good.length] = 0; // bytes after the view are not part of the entry
    expect(decodeEntry(big.subarray(4, 4 + good.length))).toEqual({ id: 7, command, session: { id: 2, seq: 3, ack: 3 }, time: 9 });
  });
  it('encodeEntry accepts a body without a prototype and refuses a class instance', () => {
    const bare = Object.assign(Object.create(null) as object, { id: 5, command });
    expect(decodeEntry(encodeEntry(bare as { id: number; command: IpamCommand }))).toEqual({ id: 5, command });
    class Body {
      id = 5;
      command = command;
    }
    expect(() => encodeEntry(new Body())).toThrow(expect.objectContaining({ code: 'InvalidCommand', message: expect.stringMatching(/^log entry: expected an \{ id, command, session\?, time\? \} map, got \{"id":5,/) }));
  });
});
