/**
 * parseMessage is the edge: whatever arrives, it either returns a Message that satisfies the type or
 * throws RaftError('InvalidMessage') naming the field. And the core's own guard in step() drops what
 * parseMessage would refuse, before any state changes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TERM, parseMessage } from '../../src/raft/message-parse.js';
import { RaftCore } from '../../src/raft/raft.js';
import { createRng } from '../../src/raft/rng.js';
import { RaftError, type Entry, type Message } from '../../src/raft/types.js';

const u8 = (n: number): Uint8Array => new Uint8Array(n).fill(7);

/** One valid message of every type. */
const VALID: Message[] = [
  { type: 'app', from: '1', to: '2', term: 3, prevIndex: 4, prevTerm: 2, commit: 4, entries: [
    { term: 2, index: 5, type: 'normal', data: u8(3) },
    { term: 3, index: 6, type: 'conf', change: { op: 'addLearner', node: '4' } },
  ] },
  { type: 'appResp', from: '2', to: '1', term: 3, index: 4, reject: true, hintIndex: 2, hintTerm: 1 },
  { type: 'vote', from: '1', to: '2', term: 3, lastIndex: 9, lastTerm: 2, transfer: false },
  { type: 'preVote', from: '1', to: '2', term: 3, lastIndex: 9, lastTerm: 2, transfer: true },
  { type: 'voteResp', from: '2', to: '1', term: 3, reject: false },
  { type: 'preVoteResp', from: '2', to: '1', term: 3, reject: true, reason: 'logBehind' },
  { type: 'heartbeat', from: '1', to: '2', term: 3, commit: 4, readSeq: 2, sentAt: 17 },
  { type: 'heartbeatResp', from: '2', to: '1', term: 3, readSeq: 2, sentAt: 17 },
  { type: 'snap', from: '1', to: '2', term: 3, meta: { index: 10, term: 2, conf: { voters: ['1', '2', '3'], learners: ['4'] } }, offset: 4, total: 10, chunk: u8(6) },
  { type: 'snapResp', from: '2', to: '1', term: 3, snapIndex: 10, snapTerm: 2, nextOffset: 10, done: true },
  { type: 'timeoutNow', from: '1', to: '2', term: 3 },
];

/** An independent statement of the Message type (what a well-typed message must look like). */
function satisfiesType(m: Message): boolean {
  const uint = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const termOk = (v: unknown): boolean => uint(v) && (v as number) < MAX_TERM;
  const id = (v: unknown): boolean => typeof v === 'string' && v.length > 0;
  if (!id(m.from) || !id(m.to) || !termOk(m.term)) return false;
  const keys = Object.keys(m).sort().join(',');
  switch (m.type) {
    case 'app':
      return keys === 'commit,entries,from,prevIndex,prevTerm,term,to,type' && uint(m.prevIndex) && termOk(m.prevTerm) && uint(m.commit) && Array.isArray(m.entries) &&
        m.entries.every((e: Entry, i) => e.index === m.prevIndex + 1 + i && termOk(e.term) && e.term <= m.term && (e.type === 'normal' ? e.data instanceof Uint8Array : id(e.change.node) && ['addVoter', 'addLearner', 'remove'].includes(e.change.op)));
    case 'appResp':
      return keys === 'from,hintIndex,hintTerm,index,reject,term,to,type' && uint(m.index) && uint(m.hintIndex) && termOk(m.hintTerm) && typeof m.reject === 'boolean';
    case 'vote':
    case 'preVote':
      return keys === 'from,lastIndex,lastTerm,term,to,transfer,type' && uint(m.lastIndex) && termOk(m.lastTerm) && typeof m.transfer === 'boolean';
    case 'voteResp':
    case 'preVoteResp':
      return (keys === 'from,reject,term,to,type' || keys === 'from,reason,reject,term,to,type') && typeof m.reject === 'boolean';
    case 'heartbeat':
      return keys === 'commit,from,readSeq,sentAt,term,to,type' && uint(m.commit) && uint(m.readSeq) && uint(m.sentAt);
    case 'heartbeatResp':
      return keys === 'from,readSeq,sentAt,term,to,type' && uint(m.readSeq) && uint(m.sentAt);
    case 'snap':
      return keys === 'chunk,from,meta,offset,term,to,total,type' && m.chunk instanceof Uint8Array && uint(m.offset) && uint(m.total) && m.offset + m.chunk.length <= m.total && m.meta.index >= 1 && m.meta.conf.voters.length > 0;
    case 'snapResp':
      return keys === 'done,from,nextOffset,snapIndex,snapTerm,term,to,type' && uint(m.snapIndex) && termOk(m.snapTerm) && uint(m.nextOffset) && typeof m.done === 'boolean';
    case 'timeoutNow':
      return keys === 'from,term,to,type';
  }
}

function parseOutcome(raw: unknown): 'ok' | 'refused' {
  try {
    const m = parseMessage(raw);
    expect(satisfiesType(m)).toBe(true);
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(RaftError);
    expect((e as RaftError).code).toBe('InvalidMessage');
    expect((e as RaftError).message).toMatch(/^message/);
    return 'refused';
  }
}

/** Values worth putting in a field: boundaries, wrong types, hostile numbers. */
const nasty = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -1, 0.5, Number.MAX_SAFE_INTEGER, MAX_TERM, MAX_TERM - 1, 2 ** 53, '', '1', null, undefined, true, [], {}, new Uint8Array(2), -0),
  fc.anything(),
);

describe('parseMessage', () => {
  it('accepts one valid message of every type and returns an equal, fresh object', () => {
    for (const m of VALID) {
      const p = parseMessage(m);
      expect(p).toEqual(m);
      expect(p).not.toBe(m);
      expect(satisfiesType(p)).toBe(true);
    }
  });

  it('drops fields that are not part of the type', () => {
    const p = parseMessage({ ...VALID[6], extra: 'x', __proto__: { evil: 1 } });
    expect(Object.keys(p)).not.toContain('extra');
  });

  it('arbitrary values: never throws anything but InvalidMessage, never returns an ill-typed message', () => {
    fc.assert(fc.property(fc.anything({ withTypedArray: true, withBigInt: true, withMap: true, withSet: true, withNullPrototype: true }), (raw) => {
      parseOutcome(raw);
    }), { numRuns: 2000 });
  });

  it('arbitrary records with a known type: never throws anything but InvalidMessage, never returns an ill-typed message', () => {
    const keys = ['type', 'from', 'to', 'term', 'prevIndex', 'prevTerm', 'entries', 'commit', 'index', 'reject', 'hintIndex', 'hintTerm', 'lastIndex', 'lastTerm', 'transfer', 'reason', 'readSeq', 'sentAt', 'meta', 'offset', 'total', 'chunk', 'snapIndex', 'snapTerm', 'nextOffset', 'done'];
    fc.assert(fc.property(fc.constantFrom(...VALID), fc.dictionary(fc.constantFrom(...keys), nasty, { maxKeys: 4 }), (base, overrides) => {
      parseOutcome({ ...base, ...overrides });
    }), { numRuns: 3000 });
  });

  it('every single-field mutation of a valid message to a hostile value is refused, naming that field', () => {
    const hostile: unknown[] = [NaN, Infinity, -1, 1.5, MAX_TERM, Number.MAX_SAFE_INTEGER, '7', null, undefined, {}];
    for (const m of VALID) {
      for (const key of Object.keys(m)) {
        if (key === 'type' || key === 'reason') continue;
        for (const bad of hostile) {
          const raw = { ...m, [key]: bad };
          // Some hostile values are fine in some fields (a big index, say): judge by the type's own rule.
          let parsed: Message | undefined;
          try {
            parsed = parseMessage(raw);
          } catch (e) {
            expect((e as RaftError).code).toBe('InvalidMessage');
            // Fields checked against each other (entries after prevIndex, chunk within total, terms under
            // the message term) may be reported at the partner field.
            const partners: Record<string, string[]> = { prevIndex: ['entries'], prevTerm: ['entries'], term: ['entries', 'lastTerm', 'meta.term'], offset: ['chunk'], total: ['chunk'] };
            const named = [key, ...(partners[key] ?? [])].some((f) => (e as Error).message.startsWith(`message.${f}`));
            expect(named, (e as Error).message).toBe(true);
            continue;
          }
          expect(satisfiesType(parsed), `${m.type}.${key} = ${String(bad)} was accepted`).toBe(true);
        }
      }
    }
  });

  const refusals: Array<[string, unknown, RegExp]> = [
    ['unknown type', { ...VALID[10], type: 'gossip' }, /message\.type/],
    ['empty sender', { ...VALID[10], from: '' }, /message\.from/],
    ['term at MAX_TERM (could not be incremented safely)', { ...VALID[10], term: MAX_TERM }, /message\.term/],
    ['term 2^53 − 1', { ...VALID[10], term: Number.MAX_SAFE_INTEGER }, /message\.term/],
    ['NaN term', { ...VALID[6], term: NaN }, /message\.term/],
    ['missing entries', (({ entries: _e, ...rest }) => rest)(VALID[0] as Extract<Message, { type: 'app' }>), /message\.entries/],
    ['entries not contiguous after prevIndex', { ...VALID[0], entries: [{ term: 2, index: 6, type: 'normal', data: u8(1) }] }, /entries\[0\]\.index/],
    ['entry term above the message term', { ...VALID[0], entries: [{ term: 4, index: 5, type: 'normal', data: u8(1) }] }, /entries\[0\]\.term/],
    ['entry terms going back', { ...VALID[0], prevTerm: 1, entries: [{ term: 3, index: 5, type: 'normal', data: u8(1) }, { term: 2, index: 6, type: 'normal', data: u8(1) }] }, /entries\[1\]\.term/],
    ['entry payload not bytes', { ...VALID[0], entries: [{ term: 2, index: 5, type: 'normal', data: [1, 2] }] }, /entries\[0\]\.data/],
    ['conf change with an unknown op', { ...VALID[0], entries: [{ term: 2, index: 5, type: 'conf', change: { op: 'demote', node: '3' } }] }, /entries\[0\]\.change\.op/],
    ['conf change without a node', { ...VALID[0], entries: [{ term: 2, index: 5, type: 'conf', change: { op: 'remove' } }] }, /entries\[0\]\.change\.node/],
    ['reject not a boolean', { ...VALID[1], reject: 1 }, /message\.reject/],
    ['reason on a grant', { ...VALID[4], reason: 'logBehind' }, /message\.reason/],
    ['snapshot at index 0', { ...VALID[8], meta: { index: 0, term: 0, conf: { voters: ['1'], learners: [] } } }, /meta\.index/],
    ['snapshot conf without voters', { ...VALID[8], meta: { index: 10, term: 2, conf: { voters: [], learners: [] } } }, /meta\.conf\.voters/],
    ['snapshot conf naming a node twice', { ...VALID[8], meta: { index: 10, term: 2, conf: { voters: ['1', '1'], learners: [] } } }, /meta\.conf\.voters/],
    ['chunk running past total', { ...VALID[8], offset: 5 }, /message\.chunk/],
  ];
  for (const [name, raw, field] of refusals) {
    it(`refuses: ${name}`, () => {
      expect(() => parseMessage(raw)).toThrow(expect.objectContaining({ code: 'InvalidMessage', message: expect.stringMatching(field) }));
    });
  }

  it('bounds sizes and senders when asked', () => {
    expect(() => parseMessage(VALID[0], { maxEntries: 1 })).toThrow(/message\.entries/);
    expect(() => parseMessage(VALID[0], { maxBytes: 2 })).toThrow(/message\.entries/);
    expect(() => parseMessage(VALID[8], { maxBytes: 5 })).toThrow(/message\.chunk/);
    expect(() => parseMessage(VALID[0], { maxIdLength: 0 })).toThrow(/message\.from/);
    expect(() => parseMessage(VALID[0], { isKnownSender: (id) => id === '9' })).toThrow(/message\.from/);
    expect(parseMessage(VALID[0], { isKnownSender: (id) => id === '1' })).toEqual(VALID[0]);
  });

  it('a hostile getter is still only an InvalidMessage', () => {
    const raw = { ...VALID[10] };
    Object.defineProperty(raw, 'term', { get: () => { throw new Error('boom'); }, enumerable: true });
    expect(() => parseMessage(raw)).toThrow(expect.objectContaining({ code: 'InvalidMessage' }));
  });
});

describe('the core drops malformed messages before any state change', () => {
  function follower(): RaftCore {
    const core = new RaftCore({ id: '2', electionTick: 10, heartbeatTick: 1, rng: createRng(2) }, {
      hardState: { term: 3, vote: null, commit: 1 },
      entries: [{ term: 2, index: 2, type: 'normal', data: u8(1) }],
      snapshot: { meta: { index: 1, term: 1, conf: { voters: ['1', '2', '3'], learners: [] } }, size: 0 },
    });
    core.advance(core.ready());
    return core;
  }
  function fingerprint(core: RaftCore): string {
    return JSON.stringify({ status: core.status(), hasReady: core.hasReady() });
  }
  it('every message parseMessage refuses leaves a follower exactly as it was', () => {
    const good: Message = { type: 'app', from: '1', to: '2', term: 5, prevIndex: 2, prevTerm: 2, commit: 2, entries: [{ term: 5, index: 3, type: 'normal', data: u8(1) }] };
    const keys = ['term', 'prevIndex', 'prevTerm', 'entries', 'commit', 'from', 'to', 'type'];
    fc.assert(fc.property(fc.constantFrom(...keys), nasty, (key, bad) => {
      const raw = { ...good, [key]: bad };
      let refused = false;
      try {
        parseMessage(raw);
      } catch {
        refused = true;
      }
      fc.pre(refused);
      const core = follower();
      const before = fingerprint(core);
      core.step(raw as Message);
      expect(fingerprint(core)).toBe(before);
    }), { numRuns: 500 });
  });
});
