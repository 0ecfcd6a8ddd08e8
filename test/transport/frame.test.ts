import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, PROTOCOL_VERSION, type Envelope } from '../../src/transport/index.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });

function env(n: number, payload: unknown = { n }): Envelope {
  return { v: PROTOCOL_VERSION, cluster: 'c1', from: 'n1', to: 'n2', payload };
}

/** A frame with an arbitrary body: the length prefix is right, the body is whatever the test says. */
function rawFrame(body: unknown): Buffer {
  const b = packr.pack(body);
  const out = Buffer.alloc(4 + b.length);
  out.writeUInt32BE(b.length, 0);
  out.set(b, 4);
  return out;
}

function header(length: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(length, 0);
  return h;
}

// Payloads as Raft messages carry them: ints, strings, booleans, null, nested maps and arrays, byte strings.
const payloadArb = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const envelopeArb = fc.record({
  v: fc.constant(PROTOCOL_VERSION),
  cluster: fc.string({ minLength: 1, maxLength: 20 }),
  from: fc.string({ minLength: 1, maxLength: 20 }),
  to: fc.string({ minLength: 1, maxLength: 20 }),
  payload: payloadArb,
});

/** Compare byte strings by content: msgpackr gives a Buffer, or a plain Uint8Array when empty. */
function norm(x: unknown): unknown {
  if (x instanceof Uint8Array) return { bytes: [...x] };
  if (Array.isArray(x)) return x.map(norm);
  if (typeof x === 'object' && x !== null) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)]));
  return x;
}

/** Split `bytes` at the given cut points (sorted, deduplicated, inside the buffer). */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('frame encoder and streaming decoder', () => {
  it('round-trips one frame, payload bytes included, and reports its wire size', () => {
    const e = env(1, { data: Uint8Array.of(1, 2, 3), s: 'x' });
    const f = encodeFrame(e);
    expect(f.readUInt32BE(0)).toBe(f.length - 4);
    const r = new FrameDecoder().push(f);
    expect(r.error).toBeNull();
    expect(r.frames).toEqual([{ envelope: e, bytes: f.length }]);
  });

  it('fed one byte at a time, emits each frame exactly when its last byte arrives', () => {
    const envs = [env(1), env(2, { big: new Uint8Array(1000).fill(7) }), env(3, [1, 'two', null])];
    const frames = envs.map((e) => encodeFrame(e));
    const stream = Buffer.concat(frames);
    const ends = frames.map((_, i) => frames.slice(0, i + 1).reduce((s, f) => s + f.length, 0));
    const d = new FrameDecoder();
    const got: Envelope[] = [];
    for (let i = 0; i < stream.length; i++) {
      const r = d.push(stream.subarray(i, i + 1));
      expect(r.error).toBeNull();
      got.push(...r.frames.map((f) => f.envelope));
      // After byte i, exactly the frames ending at or before i+1 have come out.
      expect(got.length).toBe(ends.filter((end) => end <= i + 1).length);
    }
    expect(got).toEqual(envs);
    expect(d.pendingBytes).toBe(0);
  });

  it('any chunking of a frame stream yields the same frames in order (property)', () => {
    fc.assert(
      fc.property(fc.array(envelopeArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 30 }), (envs, cuts) => {
        const stream = Buffer.concat(envs.map((e) => encodeFrame(e)));
        const d = new FrameDecoder();
        const got: Envelope[] = [];
        for (const c of chunk(stream, cuts)) {
          const r = d.push(c);
          expect(r.error).toBeNull();
          got.push(...r.frames.map((f) => f.envelope));
        }
        expect(norm(got)).toEqual(norm(envs));
      }),
      { numRuns: 300 },
    );
  });

  it('a truncated stream emits only the complete frames, keeps the rest pending, and does not throw (property)', () => {
    fc.assert(
      fc.property(fc.array(envelopeArb, { minLength: 1, maxLength: 4 }), fc.nat(), (envs, cutSeed) => {
        const frames = envs.map((e) => encodeFrame(e));
        const stream = Buffer.concat(frames);
        const cut = cutSeed % stream.length; // strictly shorter than the whole stream
        const r = new FrameDecoder().push(stream.subarray(0, cut));
        let complete = 0;
        let end = 0;
        for (const f of frames) {
          if (end + f.length > cut) break;
          end += f.length;
          complete++;
        }
        expect(r.error).toBeNull();
        expect(norm(r.frames.map((f) => f.envelope))).toEqual(norm(envs.slice(0, complete)));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes never throw: they give frames or a coded error, and a failed decoder stays failed (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const d = new FrameDecoder({ maxFrameBytes: 1024 });
        for (const c of chunks) {
          const r = d.push(c);
          if (r.error) {
            expect(['BadFrame', 'FrameTooLarge', 'UnsupportedVersion']).toContain(r.error.code);
            expect(d.push(Buffer.from(encodeFrame(env(1)))).frames).toEqual([]);
            return;
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a well-sized frame with a random body is BadFrame, never an exception (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (body) => {
        const r = new FrameDecoder().push(Buffer.concat([header(body.length), body]));
        // A random body is a valid five-key envelope with v=1 with negligible probability; anything else
        // must come back as a coded refusal.
        if (r.frames.length === 0) expect(['BadFrame', 'UnsupportedVersion']).toContain(r.error?.code);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses an oversized length prefix as soon as the 4 header bytes arrive, buffering nothing', () => {
    const d = new FrameDecoder({ maxFrameBytes: 1024 });
    expect(d.push(header(0xffff_ffff).subarray(0, 3))).toEqual({ frames: [], error: null });
    const r = d.push(header(0xffff_ffff).subarray(3));
    expect(r.error?.code).toBe('FrameTooLarge');
    expect(d.pendingBytes).toBe(0);
    // The boundary: exactly the maximum is a length we accept (and wait for), one more is not.
    const atMax = new FrameDecoder({ maxFrameBytes: 1024 });
    expect(atMax.push(header(1024)).error).toBeNull();
    expect(new FrameDecoder({ maxFrameBytes: 1024 }).push(header(1025)).error?.code).toBe('FrameTooLarge');
  });

  it('returns the frames that precede a bad one in the same chunk', () => {
    const r = new FrameDecoder().push(Buffer.concat([encodeFrame(env(1)), encodeFrame(env(2)), header(0)]));
    expect(r.frames.map((f) => f.envelope)).toEqual([env(1), env(2)]);
    expect(r.error?.code).toBe('BadFrame');
  });

  const good = { v: PROTOCOL_VERSION, cluster: 'c1', from: 'n1', to: 'n2', payload: 1 };
  const bad: Array<[string, unknown, string]> = [
    ['an array body', [1, 'c1', 'n1', 'n2', 1], 'BadFrame'],
    ['a string body', 'hello', 'BadFrame'],
    ['a missing payload key', { v: 1, cluster: 'c1', from: 'n1', to: 'n2' }, 'BadFrame'],
    ['an extra key', { ...good, extra: true }, 'BadFrame'],
    ['v as a string', { ...good, v: '1' }, 'BadFrame'],
    ['v negative', { ...good, v: -1 }, 'BadFrame'],
    ['v fractional', { ...good, v: 1.5 }, 'BadFrame'],
    ['another version', { ...good, v: PROTOCOL_VERSION + 1 }, 'UnsupportedVersion'],
    ['an empty sender', { ...good, from: '' }, 'BadFrame'],
    ['a numeric recipient', { ...good, to: 2 }, 'BadFrame'],
    ['a 257-character cluster id', { ...good, cluster: 'c'.repeat(257) }, 'BadFrame'],
  ];
  for (const [what, body, code] of bad) {
    it(`refuses a frame with ${what} (${code})`, () => {
      expect(new FrameDecoder().push(rawFrame(body)).error?.code).toBe(code);
    });
  }

  it('refuses a zero length and a body with trailing bytes after the map', () => {
    expect(new FrameDecoder().push(header(0)).error?.code).toBe('BadFrame');
    const body = Buffer.concat([packr.pack(good), Buffer.from([0x01])]);
    expect(new FrameDecoder().push(Buffer.concat([header(body.length), body])).error?.code).toBe('BadFrame');
    expect(new FrameDecoder().push(rawFrame(good)).frames).toHaveLength(1);
  });

  it('decoded byte strings are copies, not views into the receive buffer', () => {
    const wire = encodeFrame(env(1, { data: Buffer.from([9, 9, 9]) }));
    const r = new FrameDecoder().push(wire);
    wire.fill(0);
    expect([...(r.frames[0]!.envelope.payload as { data: Uint8Array }).data]).toEqual([9, 9, 9]);
  });

  it('the encoder refuses a body above the maximum (FrameTooLarge) and an unencodable payload (BadFrame)', () => {
    expect(() => encodeFrame(env(1, { data: Buffer.alloc(2000) }), 1024)).toThrow(expect.objectContaining({ code: 'FrameTooLarge' }));
    expect(() => encodeFrame(env(1, { n: 2n ** 70n }))).toThrow(expect.objectContaining({ code: 'BadFrame' }));
  });

  it('refuses an invalid maximum frame size', () => {
    for (const m of [0, 15, 1.5, 2 ** 32, Number.NaN]) {
      expect(() => new FrameDecoder({ maxFrameBytes: m })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
  });
});
