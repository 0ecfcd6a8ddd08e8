/**
 * What an operator reads when a peer sends a bad message: parseMessage's refusal names the field and says
 * what is wrong with the value, and the limits sit exactly where they are documented (a value at the limit
 * is accepted, one past it refused). The transport logs these messages; a refusal that says only
 * "invalid" would leave a misbehaving peer undiagnosable.
 */
import { describe, expect, it } from 'vitest';
import { checkMessage, MAX_TERM, parseMessage } from '../../src/raft/message-parse.js';
import type { Message } from '../../src/raft/types.js';

const u8 = (n: number): Uint8Array => new Uint8Array(n).fill(7);

const app: Message = { type: 'app', from: '1', to: '2', term: 3, prevIndex: 4, prevTerm: 2, commit: 4, entries: [{ term: 2, index: 5, type: 'normal', data: u8(3) }] };
const vote: Message = { type: 'vote', from: '1', to: '2', term: 3, lastIndex: 9, lastTerm: 2, transfer: false };
const voteResp: Message = { type: 'voteResp', from: '2', to: '1', term: 3, reject: true };
const snap: Message = { type: 'snap', from: '1', to: '2', term: 3, meta: { index: 10, term: 2, conf: { voters: ['1', '2', '3'], learners: ['4'] } }, offset: 4, total: 10, chunk: u8(6) };
const snapMeta = (m: Record<string, unknown>): unknown => ({ ...snap, meta: { index: 10, term: 2, conf: { voters: ['1', '2'], learners: [] }, ...m } });

function refusal(raw: unknown, limits?: Parameters<typeof parseMessage>[1]): string {
  try {
    parseMessage(raw, limits);
  } catch (e) {
    expect((e as { code?: string }).code).toBe('InvalidMessage');
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('parseMessage refusals name the field and the problem', () => {
  const table: Array<[string, unknown, string]> = [
    ['not an object', 'hello', 'message.(message) must be an object'],
    ['a byte array is not a message', u8(3), 'message.(message) must be an object'],
    ['type of the wrong kind', { ...vote, type: 5 }, 'message.type is not a known message type: number'],
    ['unknown type', { ...vote, type: 'gossip' }, 'message.type is not a known message type: gossip'],
    ['term as a string', { ...vote, term: '7' }, 'message.term must be a non-negative safe integer, got string'],
    ['negative term', { ...vote, term: -1 }, 'message.term must be a non-negative safe integer, got -1'],
    ['term at MAX_TERM', { ...vote, term: MAX_TERM }, `message.term must be below ${MAX_TERM}, got ${MAX_TERM}`],
    ['transfer not a boolean', { ...vote, transfer: 1 }, 'message.transfer must be a boolean, got number'],
    ['empty sender', { ...vote, from: '' }, 'message.from must be a non-empty string'],
    ['vote claiming a last term above its own term', { ...vote, lastTerm: 4 }, 'message.lastTerm is above the message term 3'],
    ['entries not an array', { ...app, entries: 'x' }, 'message.entries must be an array'],
    ['entry not an object', { ...app, entries: [7] }, 'message.entries[0] must be an object'],
    ['entry term not an integer', { ...app, entries: [{ term: 1.5, index: 5, type: 'normal', data: u8(1) }] }, 'message.entries[0].term must be a non-negative safe integer, got 1.5'],
    ['entry index missing', { ...app, entries: [{ term: 2, type: 'normal', data: u8(1) }] }, 'message.entries[0].index must be a non-negative safe integer, got undefined'],
    ['entry of an unknown type, even with a conf change attached', { ...app, entries: [{ term: 2, index: 5, type: 'bogus', change: { op: 'remove', node: '3' } }] }, "message.entries[0].type must be 'normal' or 'conf'"],
    ['entry payload not bytes', { ...app, entries: [{ term: 2, index: 5, type: 'normal', data: [1] }] }, 'message.entries[0].data must be a Uint8Array'],
    ['conf change with an unknown op', { ...app, entries: [{ term: 2, index: 5, type: 'conf', change: { op: 'demote', node: '3' } }] }, 'message.entries[0].change.op must be one of addVoter, addLearner, remove'],
    ['conf change node empty', { ...app, entries: [{ term: 2, index: 5, type: 'conf', change: { op: 'remove', node: '' } }] }, 'message.entries[0].change.node must be a non-empty string'],
    ['second entry not contiguous', { ...app, entries: [{ term: 2, index: 5, type: 'normal', data: u8(1) }, { term: 2, index: 7, type: 'normal', data: u8(1) }] }, 'message.entries[1].index must be 6 (contiguous after prevIndex 4)'],
    ['entry terms going back', { ...app, prevTerm: 1, entries: [{ term: 3, index: 5, type: 'normal', data: u8(1) }, { term: 2, index: 6, type: 'normal', data: u8(1) }] }, 'message.entries[1].term goes back from 3 to 2'],
    ['entry term below prevTerm', { ...app, entries: [{ term: 1, index: 5, type: 'normal', data: u8(1) }] }, 'message.entries[0].term goes back from 2 to 1'],
    ['entry term above the message term', { ...app, entries: [{ term: 4, index: 5, type: 'normal', data: u8(1) }] }, 'message.entries[0].term is above the message term 3'],
    ['entries running past the largest safe index', { ...app, prevIndex: Number.MAX_SAFE_INTEGER, entries: [{ term: 2, index: 1, type: 'normal', data: u8(1) }] }, 'message.entries run past the largest safe index'],
    ['reason not a string', { ...voteResp, reason: 5 }, 'message.reason must be one of staleTerm, alreadyVoted, logBehind'],
    ['reason unknown', { ...voteResp, reason: 'tired' }, 'message.reason must be one of staleTerm, alreadyVoted, logBehind'],
    ['reason on a grant', { ...voteResp, reject: false, reason: 'staleTerm' }, 'message.reason is only given with a refusal'],
    ['snapshot meta not an object', { ...snap, meta: null }, 'message.meta must be an object'],
    ['snapshot index 0', snapMeta({ index: 0 }), 'message.meta.index must be at least 1 (a snapshot covers at least one entry)'],
    ['snapshot conf not an object', snapMeta({ conf: [] }), 'message.meta.conf must be an object'],
    ['snapshot voters not a list', snapMeta({ conf: { voters: 'x', learners: [] } }), 'message.meta.conf.voters must be an array'],
    ['snapshot learners not a list', snapMeta({ conf: { voters: ['1'], learners: 'y' } }), 'message.meta.conf.learners must be an array'],
    ['snapshot voter id empty', snapMeta({ conf: { voters: ['1', ''], learners: [] } }), 'message.meta.conf.voters[1] must be a non-empty string'],
    ['snapshot voter listed twice', snapMeta({ conf: { voters: ['1', '1'], learners: [] } }), 'message.meta.conf.voters lists a node twice'],
    ['snapshot without voters', snapMeta({ conf: { voters: [], learners: [] } }), 'message.meta.conf.voters must name at least one voter'],
    ['snapshot learner who is a voter', snapMeta({ conf: { voters: ['1', '2'], learners: ['3', '2'] } }), 'message.meta.conf.learners names a voter'],
    ['snapshot term not an integer', snapMeta({ term: 'x' }), 'message.meta.term must be a non-negative safe integer, got string'],
    ['snapshot term above the message term', snapMeta({ term: 4 }), 'message.meta.term is above the message term 3'],
    ['chunk not bytes', { ...snap, chunk: [1] }, 'message.chunk must be a Uint8Array'],
    ['chunk running past total', { ...snap, offset: 5 }, 'message.chunk runs past total (5 + 6 > 10)'],
  ];
  for (const [name, raw, message] of table) {
    it(`${name}: "${message}"`, () => {
      expect(refusal(raw)).toBe(message);
    });
  }

  it('a getter that throws is reported as unreadable, with what it threw', () => {
    const raw = { ...vote };
    Object.defineProperty(raw, 'term', { get: () => { throw new Error('boom'); }, enumerable: true });
    expect(refusal(raw)).toBe('message could not be read: boom');
    const raw2 = { ...vote };
    Object.defineProperty(raw2, 'term', { get: () => { throw 'plain'; }, enumerable: true });
    expect(refusal(raw2)).toBe('message could not be read: plain');
  });

  it('a thrown value that cannot even be printed is still only an InvalidMessage', () => {
    const raw = { ...vote };
    const unprintable = { toString: () => { throw new Error('no'); } };
    Object.defineProperty(raw, 'term', { get: () => { throw unprintable; }, enumerable: true });
    expect(refusal(raw)).toBe('message could not be read: an unprintable value was thrown');
  });
});

describe('parseMessage limits sit exactly where documented', () => {
  it('every vote refusal reason is accepted on a refusal', () => {
    for (const reason of ['staleTerm', 'alreadyVoted', 'logBehind'] as const) {
      expect(parseMessage({ ...voteResp, reason })).toEqual({ ...voteResp, reason });
    }
  });

  it('a vote whose last term equals its term is fine (the candidate has entries of its own term)', () => {
    expect(parseMessage({ ...vote, lastTerm: 3 })).toEqual({ ...vote, lastTerm: 3 });
  });

  it('a snapshot at index 1 is fine; a snapshot whose term equals the message term is fine', () => {
    const m = snapMeta({ index: 1, term: 3 }) as Message;
    expect(parseMessage(m)).toEqual(m);
  });

  it('entries may end exactly at the largest safe index', () => {
    const m = { ...app, prevIndex: Number.MAX_SAFE_INTEGER - 1, entries: [{ term: 2, index: Number.MAX_SAFE_INTEGER, type: 'normal', data: u8(1) }] } as Message;
    expect(parseMessage(m)).toEqual(m);
  });

  it('node ids: 256 characters by default, longer refused; a custom limit replaces it', () => {
    const id256 = 'n'.repeat(256);
    expect(parseMessage({ ...vote, from: id256 })).toMatchObject({ from: id256 });
    expect(refusal({ ...vote, from: `${id256}x` })).toBe('message.from is longer than 256 characters');
    expect(refusal({ ...vote, from: `${id256}x` }, { maxBytes: 10 })).toBe('message.from is longer than 256 characters');
    expect(parseMessage({ ...vote, from: 'abc' }, { maxIdLength: 3 })).toMatchObject({ from: 'abc' });
    expect(refusal({ ...vote, to: 'abcd' }, { maxIdLength: 3 })).toBe('message.to is longer than 3 characters');
  });

  it('entry count: exactly maxEntries is accepted, one more refused', () => {
    const two = { ...app, entries: [{ term: 2, index: 5, type: 'normal', data: u8(1) }, { term: 2, index: 6, type: 'normal', data: u8(1) }] } as Message;
    expect(parseMessage(two, { maxEntries: 2 })).toEqual(two);
    expect(refusal(two, { maxEntries: 1 })).toBe('message.entries holds more than 1 entries');
  });

  it('payload bytes: exactly maxBytes is accepted, one more refused (entries and chunks)', () => {
    expect(parseMessage(app, { maxBytes: 3 })).toEqual(app);
    expect(refusal(app, { maxBytes: 2 })).toBe('message.entries carry more than 2 bytes');
    expect(parseMessage(snap, { maxBytes: 6 })).toEqual(snap);
    expect(refusal(snap, { maxBytes: 5 })).toBe('message.chunk is longer than 5 bytes');
  });

  it('the default byte limit is 64 MiB: a 1 MiB entry passes, a chunk of 64 MiB + 1 does not', () => {
    const big = { ...app, entries: [{ term: 2, index: 5, type: 'normal', data: u8(1 << 20) }] } as Message;
    expect((parseMessage(big) as Extract<Message, { type: 'app' }>).entries.map((e) => e.index)).toEqual([5]);
    const limit = 64 * 1024 * 1024;
    expect((parseMessage({ ...snap, offset: 0, total: limit, chunk: new Uint8Array(limit) }) as Extract<Message, { type: 'snap' }>).total).toBe(limit);
    expect(refusal({ ...snap, offset: 0, total: limit + 1, chunk: new Uint8Array(limit + 1) })).toBe(`message.chunk is longer than ${limit} bytes`);
  });

  it('an unknown sender is refused by name', () => {
    expect(refusal(vote, { isKnownSender: (id) => id === '9' })).toBe('message.from is not a known node: 1');
  });

  it("the core's guard (checkMessage) applies no size limits, only well-formedness", () => {
    const longId = 'n'.repeat(1000);
    expect(checkMessage({ ...vote, from: longId })).toBeUndefined();
    const many = { ...app, entries: Array.from({ length: 3 }, (_, i) => ({ term: 2, index: 5 + i, type: 'normal', data: u8(1) })) };
    expect(checkMessage(many)).toBeUndefined();
    expect(checkMessage({ ...vote, lastTerm: 4 })).toBe('message.lastTerm is above the message term 3');
  });
});
