import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/index.js';
import { ApiErrorCodes, retryAfterFor, statusForCode, statusTable, UNMAPPED_STATUS } from '../../src/api/status-codes.js';
import { NodeErrorCodes } from '../../src/node/service.js';

describe('code → HTTP status table', () => {
  it('no state-machine refusal is a 500, and each has an explicit entry', () => {
    const table = new Map(statusTable());
    // IoError is the file helper's code (allocator-file.ts), never an apply() answer: it takes the default.
    for (const code of ErrorCodes.filter((c) => c !== 'IoError')) {
      expect({ code, mapped: table.has(code) }).toEqual({ code, mapped: true });
      expect(statusForCode(code)).not.toBe(500);
      // Session refusals add 410 (expired: open a new session), 429 (busy) and 503 (too many sessions).
      expect([400, 404, 409, 410, 429, 503, 507]).toContain(statusForCode(code));
    }
  });

  it('every NodeError and API code has an entry; only Internal is a 500', () => {
    const table = new Map(statusTable());
    for (const code of [...NodeErrorCodes, ...ApiErrorCodes]) expect({ code, mapped: table.has(code) }).toEqual({ code, mapped: true });
    expect(statusTable().filter(([, status]) => status === 500).map(([code]) => code)).toEqual(['Internal']);
  });

  it('pins the operator-facing choices', () => {
    expect(
      Object.fromEntries(
        ['InvalidCommand', 'UnknownNetwork', 'NodeHasNoSlice', 'OwnerConflict', 'StaleGeneration', 'NoAvailableIps', 'NoAvailableSlices', 'GenerationsExhausted', 'NotLeader', 'NoLeader', 'Overloaded', 'ProposalDropped', 'Stopped', 'Timeout', 'InvalidMembership', 'SessionExpired', 'UnknownSession', 'SessionSeqTooOld', 'SessionSeqReused', 'SessionBusy', 'TooManySessions', 'Unauthorized', 'PayloadTooLarge'].map((c) => [c, statusForCode(c)]),
      ),
    ).toEqual({
      InvalidCommand: 400, UnknownNetwork: 404, NodeHasNoSlice: 404, OwnerConflict: 409, StaleGeneration: 409,
      NoAvailableIps: 507, NoAvailableSlices: 507, GenerationsExhausted: 507, NotLeader: 307, NoLeader: 503,
      Overloaded: 503, ProposalDropped: 503, Stopped: 503, Timeout: 504, InvalidMembership: 409, SessionExpired: 410,
      UnknownSession: 404, SessionSeqTooOld: 409, SessionSeqReused: 409, SessionBusy: 429, TooManySessions: 503,
      Unauthorized: 401, PayloadTooLarge: 413,
    });
  });

  it('an unknown code is a 409 refusal, never a 500; lookups do not reach the prototype', () => {
    expect(UNMAPPED_STATUS).toBe(409);
    for (const code of ['SomethingNew', 'toString', '__proto__', 'constructor', '']) expect(statusForCode(code)).toBe(409);
  });

  it('Retry-After only for conditions that pass on their own', () => {
    expect(['NoLeader', 'NotLeader', 'Overloaded', 'ProposalDropped', 'Stopped', 'NotReady', 'SessionBusy'].map(retryAfterFor)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(retryAfterFor('TooManySessions')).toBe(5);
    for (const code of ['Timeout', 'InvalidCommand', 'NoAvailableIps', 'toString']) expect(retryAfterFor(code)).toBeUndefined();
  });
});
