import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry, OverlayError, type IpamCommand } from '../src/index.js';
import { commandArb } from './support/ipam-workload.js';

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

describe('log entry envelope', () => {
  it('round trips every command and id', () => {
    fc.assert(
      fc.property(entryArb, (body) => {
        expect(decodeEntry(encodeEntry(body))).toEqual(body);
      }),
      { numRuns: 500 },
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
      { numRuns: 3000 },
    );
  });
});
