/**
 * The snapshot decoder behind the CRC: payloads that are well framed (right magic, length and checksum)
 * but inconsistent must be refused with InvalidSnapshot and change nothing; valid ones must round trip,
 * including IPv6 slice indexes and host offsets above 2^53.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeEntry, IpamStateMachine, type ApplyResult, type IpamCommand } from '../src/index.js';
import { frame, frameBytes, payloadOf } from './support/snapshot-frame.js';

function ok<T>(r: ApplyResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function build(commands: IpamCommand[]): IpamStateMachine {
  const sm = new IpamStateMachine();
  for (const c of commands) ok(sm.apply(c));
  return sm;
}

/** A small state: a paired v4/v6 network with two nodes, owned and unowned addresses in runs. */
function sample(): IpamStateMachine {
  return build([
    { type: 'configureNetwork', name: 'v4', cidr: '10.1.0.0/24', slicePrefix: 28 },
    { type: 'configureNetwork', name: 'v6', cidr: 'fd00::/62', slicePrefix: 64, pair: 'v4' },
    { type: 'assignSlice', network: 'v4', nodeId: 'a' },
    { type: 'assignSlice', network: 'v4', nodeId: 'b' },
    { type: 'allocate', network: 'v4', nodeId: 'a', owner: 'c1' },
    { type: 'allocate', network: 'v4', nodeId: 'a', owner: 'c2' },
    { type: 'allocate', network: 'v4', nodeId: 'a' },
    { type: 'allocate', network: 'v6', nodeId: 'b', owner: 'c3' },
  ]);
}

type Edit = (p: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The payload of `sample()`, edited by `edit`, framed with a valid CRC. */
function edited(edit: Edit): Uint8Array {
  const p = payloadOf(sample().snapshot()) as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  edit(p);
  return frame(p);
}

function expectRefused(target: IpamStateMachine, bytes: Uint8Array, message?: string): void {
  const before = target.stateHash();
  expect(() => target.restore(bytes)).toThrow(expect.objectContaining({ code: 'InvalidSnapshot', ...(message !== undefined ? { message: expect.stringMatching(new RegExp(`^invalid snapshot: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)) } : {}) }));
  expect(target.stateHash()).toBe(before);
}

const A = (p: any[]) => p[1][0][4][1]; // eslint-disable-line @typescript-eslint/no-explicit-any -- v4 node "a": runs [1,3], gens [1,1,1], owners [0,c1,1,c2]
const B = (p: any[]) => p[1][0][4][0]; // eslint-disable-line @typescript-eslint/no-explicit-any -- v4 node "b": empty, first by slice index
const V4 = (p: any[]) => p[1][0]; // eslint-disable-line @typescript-eslint/no-explicit-any
const V6 = (p: any[]) => p[1][1]; // eslint-disable-line @typescript-eslint/no-explicit-any

const refusals: Array<[string, Edit]> = [
  ['payload of the wrong arity', (p) => p.push(0)],
  ['nextGeneration 0', (p) => (p[0] = 0)],
  ['nextGeneration not an integer', (p) => (p[0] = 5.5)],
  ['nextGeneration above 2^53 - 1', (p) => (p[0] = 2 ** 53)],
  ['networks not an array', (p) => (p[1] = 'v4')],
  ['networks out of order', (p) => p[1].reverse()],
  ['a network repeated', (p) => (p[1][1] = structuredClone(p[1][0]))],
  ['an empty network name', (p) => (V4(p)[0] = '')],
  ['an over-long network name', (p) => (V4(p)[0] = 'x'.repeat(300))],
  ['a network tuple of the wrong arity', (p) => V4(p).push(null)],
  ['a CIDR with host bits (not canonical)', (p) => (V4(p)[1] = '10.1.0.7/24')],
  ['a CIDR that does not parse (InvalidCidr inside)', (p) => (V4(p)[1] = '10.1.0.0/33')],
  ['a slice prefix not below the cluster prefix', (p) => (V4(p)[2] = 24)],
  ['a one-sided pair', (p) => (V6(p)[3] = null)],
  ['a pair naming a missing network', (p) => (V4(p)[3] = 'v5')],
  ['a pair of the same family', (p) => {
    V6(p)[1] = '10.2.0.0/24';
    V6(p)[2] = 28;
  }],
  ['nodes out of slice order', (p) => V4(p)[4].reverse()],
  ['one node twice in a network', (p) => (B(p)[0] = 'a')],
  ['a slice index outside the cluster', (p) => (A(p)[1] = 16)],
  ['a negative slice index', (p) => (B(p)[1] = -1)],
  ['a fractional slice index', (p) => (B(p)[1] = 5.5)],
  ['a small slice index spelled as a string', (p) => (B(p)[1] = '5')],
  ['an empty node id', (p) => (B(p)[0] = '')],
  ['a node id over 253 UTF-8 bytes', (p) => (B(p)[0] = 'é'.repeat(127))],
  ['a node tuple of the wrong arity', (p) => B(p).push([])],
  ['an odd-length run list', (p) => (A(p)[2] = [1, 3, 5])],
  ['an empty run', (p) => (A(p)[2] = [1, 0, 2, 3])],
  ['overlapping runs', (p) => (A(p)[2] = [1, 2, 2, 1])],
  ['touching runs (one set, two spellings)', (p) => (A(p)[2] = [1, 2, 3, 1])],
  ['runs out of order', (p) => (A(p)[2] = [3, 1, 1, 2])],
  ['a run over the broadcast address', (p) => (A(p)[2] = [13, 3])],
  ['a run over the network address', (p) => (A(p)[2] = [0, 3])],
  ['more generations than addresses', (p) => (A(p)[3] = [1, 1, 1, 1])],
  ['fewer generations than addresses', (p) => (A(p)[3] = [1, 1])],
  ['generations for an empty slice', (p) => (B(p)[3] = [1])],
  ['owners for an empty slice', (p) => (B(p)[4] = [0, 'z'])],
  ['generation 0', (p) => (A(p)[3] = [0, 1, 1])],
  ['a generation not below nextGeneration', (p) => (A(p)[3] = [1, 1, 3])],
  ['a generation repeated within a slice', (p) => (A(p)[3] = [1, 0, 2])],
  ['a generation repeated across networks', (p) => (V6(p)[4][1][3] = [2])],
  ['a fractional generation delta', (p) => (A(p)[3] = [1, 0.5, 1.5])],
  ['an owner position repeated', (p) => (A(p)[4] = [0, 'c1', 0, 'c2'])],
  ['owner positions out of order', (p) => (A(p)[4] = [1, 'c2', 0, 'c1'])],
  ['an owner position past the last address', (p) => (A(p)[4] = [0, 'c1', 3, 'c2'])],
  ['a negative owner position', (p) => (A(p)[4] = [-1, 'c1', 1, 'c2'])],
  ['an owner holding two addresses in one network', (p) => (A(p)[4] = [0, 'c1', 1, 'c1'])],
  ['an empty owner', (p) => (A(p)[4] = [0, '', 1, 'c2'])],
  ['an odd-length owner list', (p) => (A(p)[4] = [0])],
];

/**
 * What each refusal above tells the operator (after "invalid snapshot: "): the field and the value at fault.
 * Checked as a prefix, since values quoted by describe() are cut at 80 characters. The lone-surrogate
 * message is refused by the re-encode check: msgpackr decodes it as U+FFFD, a different spelling.
 */
const refusalMessages: Record<string, string> = {
  "payload of the wrong arity": "payload must be an array of 3, got ",
  "nextGeneration 0": "nextGeneration must be an integer in 1..9007199254740991, got 0",
  "nextGeneration not an integer": "nextGeneration must be an integer in 1..9007199254740991, got 5.5",
  "nextGeneration above 2^53 - 1": "nextGeneration must be an integer in 1..9007199254740991, got 9007199254740992",
  "networks not an array": "networks must be an array",
  "networks out of order": "networks out of order or repeated at \"v4\"",
  "a network repeated": "networks out of order or repeated at \"v4\"",
  "an empty network name": "network name must be a non-empty string, got \"\"",
  "an over-long network name": "network name must be a non-empty string, got ",
  "a network tuple of the wrong arity": "network must be an array of 5, got ",
  "a CIDR with host bits (not canonical)": "network \"v4\": cidr \"10.1.0.7/24\" is not in canonical form",
  "a CIDR that does not parse (InvalidCidr inside)": "invalid CIDR: \"10.1.0.0/33\" (prefix /33 exceeds /32)",
  "a slice prefix not below the cluster prefix": "slice prefix /24 must be more specific than cluster prefix /24",
  "a one-sided pair": "network \"v4\" is paired with \"v6\", which does not pair back",
  "a pair naming a missing network": "network \"v4\" is paired with \"v5\", which does not pair back",
  "a pair of the same family": "paired networks \"v4\" and \"v6\" have the same family",
  "nodes out of slice order": "network \"v4\": nodes out of slice order at \"b\"",
  "one node twice in a network": "node \"a\" already holds slice 10.1.0.80/28",
  "a slice index outside the cluster": "node \"a\": slice index 16 outside 10.1.0.0/24",
  "a negative slice index": "node \"b\" slice index must be a non-negative integer, got -1",
  "a fractional slice index": "node \"b\" slice index must be a non-negative integer, got 5.5",
  "a small slice index spelled as a string": "node \"b\" slice index must be a non-negative integer, got \"5\"",
  "an empty node id": "node id must be a non-empty well-formed string of at most 253 UTF-8 bytes, got \"\"",
  "a node id over 253 UTF-8 bytes": "node id must be a non-empty well-formed string of at most 253 UTF-8 bytes, got ",
  "a node tuple of the wrong arity": "node must be an array of 5, got [\"b\",5,[],[],[],[]]",
  "an odd-length run list": "node \"a\": runs must be an even-length array",
  "an empty run": "node \"a\": empty run",
  "overlapping runs": "node \"a\": runs overlap, touch or are out of order",
  "touching runs (one set, two spellings)": "node \"a\": runs overlap, touch or are out of order",
  "runs out of order": "node \"a\": runs overlap, touch or are out of order",
  "a run over the broadcast address": "node \"a\": run 13+3 leaves the usable hosts of 10.1.0.192/28",
  "a run over the network address": "node \"a\": run 0+3 leaves the usable hosts of 10.1.0.192/28",
  "more generations than addresses": "node \"a\": 3 addresses but 4 generations",
  "fewer generations than addresses": "node \"a\": 3 addresses but 2 generations",
  "generations for an empty slice": "node \"b\": generations or owners without addresses",
  "owners for an empty slice": "node \"b\": generations or owners without addresses",
  "generation 0": "generation 0 outside 1..4",
  "a generation not below nextGeneration": "generation 5 outside 1..4",
  "a generation repeated within a slice": "generation 1 appears twice",
  "a generation repeated across networks": "generation 2 appears twice",
  "a fractional generation delta": "node \"a\": bad generation delta 0.5",
  "an owner position repeated": "node \"a\": bad owner position 0",
  "owner positions out of order": "node \"a\": bad owner position 0",
  "an owner position past the last address": "node \"a\": bad owner position 3",
  "a negative owner position": "node \"a\": bad owner position -1",
  "an owner holding two addresses in one network": "owner \"c1\" holds two addresses in network \"v4\"",
  "an empty owner": "owner must be a non-empty string, got \"\"",
  "an odd-length owner list": "node \"a\": owners must be an even-length array",
  "a payload without the sessions section": "payload must be an array of 3, got ",
  "a sessions section of the wrong arity": "sessions must be an array of 4, got 3 elements",
  "a negative logTime": "logTime must be an integer in 0..9007199254740991, got -1",
  "a fractional logTime": "logTime must be an integer in 0..9007199254740991, got 3200.5",
  "a logTime above 2^53 - 1": "logTime must be an integer in 0..9007199254740991, got 9007199254740992",
  "a TTL below 1 s": "session ttlMs must be an integer in 1000..86400000, got 999",
  "a TTL above 24 h": "session ttlMs must be an integer in 1000..86400000, got 86400001",
  "nextSessionId 0": "nextSessionId must be an integer in 1..9007199254740991, got 0",
  "a session id not below nextSessionId": "session id (below nextSessionId) must be an integer in 1..1, got 2",
  "session id 0": "session id (below nextSessionId) must be an integer in 1..3, got 0",
  "duplicate session ids": "session 1 appears twice",
  "sessions out of lastActive order": "sessions out of (lastActive, id) order at session 1",
  "equal lastActive out of id order": "sessions out of (lastActive, id) order at session 1",
  "lastActive after logTime": "session 2 lastActive (at most logTime) must be an integer in 0..3200, got 3201",
  "ackFloor 0": "session 1 ackFloor must be an integer in 1..9007199254740991, got 0",
  "a cached seq below the ack floor": "session 2: cached seq 2 is below the ack floor 3",
  "cached seqs out of order": "session 2: cached seqs out of order or repeated at 2",
  "a cached seq repeated": "session 2: cached seqs out of order or repeated at 2",
  "cached seq 0": "session 1 cached seq must be an integer in 1..9007199254740991, got 0",
  "results not an array": "session 2: results must be an array",
  "more cached results than a session may hold": "session 1: 1025 cached results exceed the bound of 1024",
  "a cached result of an unknown command type": "session 1 seq 1: unknown command type \"explode\"",
  "a cached result whose ok is not a boolean": "session 1 seq 1: ok must be a boolean",
  "a cached result for the wrong command type": "release must be an array of 2, got [\"v6\",\"c\",\"fd00:0:0:2::1\",5,\"o6\",false]",
  "a cached allocation with a non-canonical address": "address \"FD00:0:0:2::1\" is not in canonical form",
  "a cached allocation with generation 0": "generation must be an integer in 1..9007199254740990, got 0",
  "a cached allocation with a missing field": "allocate must be an array of 6, got [\"v6\",\"c\",\"fd00:0:0:2::1\",5,\"o6\"]",
  "a cached allocation with a float generation": "generation must be an integer in 1..9007199254740990, got 5.5",
  "a cached slice with host bits": "assignSpecificSlice slice \"10.9.0.33/28\" is not in canonical form",
  "cached slices out of name order": "assignSlice: networks out of order or repeated at \"v4\"",
  "cached releaseOwner networks repeated": "releaseOwner: networks out of order or repeated at \"v6\"",
  "a cached TTL out of range": "ttlMs must be an integer in 1000..86400000, got 5",
  "a cached refusal with an unknown code": "allocate refusal: unknown error code \"Oops\"",
  "a cached refusal without a message": "allocate refusal must be an array of 2, got [\"UnknownNetwork\"]",
  "a cached refusal whose message is not well formed": "not in canonical form (an integer not in its shortest encoding, or a value of the wrong msgpack type)",
};

describe('snapshot decoder: well-framed, CRC-valid, inconsistent payloads', () => {
  it('the unedited sample payload, reframed by the helper, is accepted (the helper frames like the codec)', () => {
    const source = sample();
    const target = new IpamStateMachine();
    target.restore(edited(() => undefined));
    expect(target.stateHash()).toBe(source.stateHash());
  });

  it.each(refusals)('refuses %s with InvalidSnapshot and leaves the state unchanged', (name, edit) => {
    const target = sample();
    ok(target.apply({ type: 'allocate', network: 'v4', nodeId: 'b', owner: 'keep' }));
    expectRefused(target, edited(edit), refusalMessages[name]);
    expect(target.ownerOf('v4', target.addressesOf('keep')[0]?.address as string)).toBe('keep');
  });

  it('refuses a payload that is not msgpack, a payload with trailing bytes, and an unknown version', () => {
    const target = sample();
    const body = new Packr({ useRecords: false, variableMapSize: true }).pack(payloadOf(sample().snapshot()));
    expectRefused(target, frameBytes(Uint8Array.from([0xc1])));
    expectRefused(target, frameBytes(Uint8Array.from([...body, 0x00])));
    expectRefused(target, frameBytes(body, 3));
  });

  it('refuses integers that are not in their shortest msgpack encoding, so restore(x) then snapshot() gives x', () => {
    const bytes = sample().snapshot();
    const body = bytes.subarray(16);
    expect(body[0]).toBe(0x93); // [nextGeneration, networks, sessions]
    expect(body[1]).toBe(0x05); // nextGeneration 5 as a positive fixint
    const spell = (...five: number[]) => frameBytes(Uint8Array.from([0x93, ...five, ...body.subarray(2)]));
    const target = new IpamStateMachine();
    for (const longer of [spell(0xcc, 5), spell(0xcd, 0, 5), spell(0xce, 0, 0, 0, 5), spell(0xcf, 0, 0, 0, 0, 0, 0, 0, 5), spell(0xd0, 5), spell(0xcb, 0x40, 0x14, 0, 0, 0, 0, 0, 0)]) {
      expectRefused(target, longer);
    }
    target.restore(bytes);
    expect(Buffer.from(target.snapshot()).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('snapshot round trip of a wide IPv6 cluster (slice indexes and host offsets above 2^53)', () => {
  it('fd00::/8 with /64 slices: every node keeps its slice and every address its record', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'];
    const sm = build([
      { type: 'configureNetwork', name: 'wide', cidr: 'fd00::/8', slicePrefix: 64 },
      ...nodes.map((nodeId): IpamCommand => ({ type: 'assignSlice', network: 'wide', nodeId })),
    ]);
    const slices = nodes.map((n) => sm.sliceOf('wide', n) as string);
    // Slice indexes are 56-bit hashes: at least one of seven lies above 2^53 (each does with probability 7/8).
    const indexes = slices.map((s) => BigInt(`0x${s.split('/')[0]!.split(':').map((g) => g.padStart(4, '0')).join('').padEnd(16, '0')}`) >> 8n);
    expect(indexes.some((i) => i > BigInt(Number.MAX_SAFE_INTEGER))).toBe(true);
    const high: string[] = [];
    for (const [i, n] of nodes.entries()) {
      const base = (slices[i] as string).replace('::/64', '');
      const address = `${base}:ffff:ffff:ffff:fff${i}`; // host offset ≈ 2^64, far above 2^53
      high.push(ok(sm.apply({ type: 'allocateSpecific', network: 'wide', nodeId: n, address, owner: `o${i}` })).address);
      ok(sm.apply({ type: 'allocate', network: 'wide', nodeId: n }));
    }
    const restored = new IpamStateMachine();
    restored.restore(sm.snapshot());
    expect(nodes.map((n) => restored.sliceOf('wide', n))).toEqual(slices);
    for (const [i, address] of high.entries()) expect(restored.allocationOf('wide', address)).toEqual(sm.allocationOf('wide', address));
    expect(high.every((a, i) => restored.ownerOf('wide', a) === `o${i}`)).toBe(true);
    expect(restored.stateHash()).toBe(sm.stateHash());
  });
});

/** sample() plus client sessions whose caches hold a result of every command type a session can run. */
function sessionSample(): { sm: IpamStateMachine; entries: Uint8Array[] } {
  const sm = sample();
  const entries: Uint8Array[] = [];
  let n = 0;
  const send = (command: IpamCommand, session?: { id: number; seq: number; ack?: number }, time?: number) => {
    const bytes = encodeEntry({ id: ++n, command, ...(session ? { session } : {}), ...(time !== undefined ? { time } : {}) });
    entries.push(bytes);
    return sm.applyEntry(bytes);
  };
  send({ type: 'openSession' }, undefined, 1_000);
  send({ type: 'openSession' }, undefined, 2_000);
  send({ type: 'openSession' }, undefined, 2_000);
  const s1: IpamCommand[] = [
    { type: 'configureNetwork', name: 'x4', cidr: '10.9.0.0/24', slicePrefix: 28 },
    { type: 'assignSlice', network: 'v4', nodeId: 'c' },
    { type: 'assignSpecificSlice', network: 'x4', nodeId: 'c', slice: '10.9.0.32/28' },
    { type: 'allocate', network: 'v6', nodeId: 'c', owner: 'o6' },
    { type: 'allocateFirst', network: 'x4', nodeId: 'c' },
    { type: 'allocateSpecific', network: 'x4', nodeId: 'c', address: '10.9.0.40', owner: 'o4' },
    { type: 'mark', network: 'x4', nodeId: 'c', address: '10.9.0.41' },
    { type: 'release', network: 'x4', address: '10.9.0.41' },
    { type: 'releaseOwner', owner: 'o6' },
    { type: 'releaseSlice', network: 'v6', nodeId: 'c' },
    { type: 'configureSessions', ttlMs: 900_000 },
    { type: 'allocate', network: 'nope', nodeId: 'c' }, // a cached refusal
  ];
  s1.forEach((c, i) => send(c, { id: 1, seq: i + 1 }, 3_000 + i));
  send({ type: 'release', network: 'v4', address: '10.1.0.1' }, { id: 2, seq: 1 }, 3_000);
  send({ type: 'release', network: 'v4', address: '10.1.0.2' }, { id: 2, seq: 2 }, 3_100);
  send({ type: 'release', network: 'v4', address: '10.1.0.3' }, { id: 2, seq: 3, ack: 2 }, 3_100);
  send({ type: 'closeSession', session: 3 }, undefined, 3_200);
  return { sm, entries };
}

const SESSIONS = (p: any[]) => p[2]; // eslint-disable-line @typescript-eslint/no-explicit-any -- [logTime, ttlMs, nextSessionId, sessions]
// Sessions sorted by (lastActive, id): session 1 (last used at 3,011, ack floor 1, seqs 1–12, one result of
// every command type, seq 12 a refusal) comes before session 2 (3,100, ack floor 2, seqs 2 and 3).
const S1 = (p: any[]) => p[2][3][0]; // eslint-disable-line @typescript-eslint/no-explicit-any -- [id, lastActive, ackFloor, results]
const S2 = (p: any[]) => p[2][3][1]; // eslint-disable-line @typescript-eslint/no-explicit-any
const R1 = (p: any[], seq: number) => p[2][3][0][3][seq - 1]; // eslint-disable-line @typescript-eslint/no-explicit-any -- [seq, type, ok, wire]

function sessionEdited(edit: Edit): Uint8Array {
  const p = payloadOf(sessionSample().sm.snapshot()) as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  edit(p);
  return frame(p);
}

const sessionRefusals: Array<[string, Edit]> = [
  ['a payload without the sessions section', (p) => p.pop()],
  ['a sessions section of the wrong arity', (p) => SESSIONS(p).pop()],
  ['a negative logTime', (p) => (SESSIONS(p)[0] = -1)],
  ['a fractional logTime', (p) => (SESSIONS(p)[0] = 3_200.5)],
  ['a logTime above 2^53 - 1', (p) => (SESSIONS(p)[0] = 2 ** 53)],
  ['a TTL below 1 s', (p) => (SESSIONS(p)[1] = 999)],
  ['a TTL above 24 h', (p) => (SESSIONS(p)[1] = 86_400_001)],
  ['nextSessionId 0', (p) => (SESSIONS(p)[2] = 0)],
  ['a session id not below nextSessionId', (p) => (SESSIONS(p)[2] = 2)],
  ['session id 0', (p) => (S1(p)[0] = 0)],
  ['duplicate session ids', (p) => (SESSIONS(p)[3][1] = structuredClone(S1(p)))],
  ['sessions out of lastActive order', (p) => SESSIONS(p)[3].reverse()],
  ['equal lastActive out of id order', (p) => {
    S2(p)[1] = S1(p)[1];
    S1(p)[0] = 2;
    S2(p)[0] = 1;
  }],
  ['lastActive after logTime', (p) => (S2(p)[1] = SESSIONS(p)[0] + 1)],
  ['ackFloor 0', (p) => (S1(p)[2] = 0)],
  ['a cached seq below the ack floor', (p) => (S2(p)[2] = 3)],
  ['cached seqs out of order', (p) => S2(p)[3].reverse()],
  ['a cached seq repeated', (p) => (S2(p)[3][1][0] = 2)],
  ['cached seq 0', (p) => (R1(p, 1)[0] = 0)],
  ['results not an array', (p) => (S2(p)[3] = {})],
  ['more cached results than a session may hold', (p) => (S1(p)[3] = Array.from({ length: 1025 }, (_, i) => [i + 1, 'release', true, [false, '10.1.0.9']]))],
  ['a cached result of an unknown command type', (p) => (R1(p, 1)[1] = 'explode')],
  ['a cached result whose ok is not a boolean', (p) => (R1(p, 1)[2] = 1)],
  ['a cached result for the wrong command type', (p) => (R1(p, 4)[1] = 'release')],
  ['a cached allocation with a non-canonical address', (p) => (R1(p, 4)[3][2] = R1(p, 4)[3][2].toUpperCase())],
  ['a cached allocation with generation 0', (p) => (R1(p, 4)[3][3] = 0)],
  ['a cached allocation with a missing field', (p) => R1(p, 4)[3].pop()],
  ['a cached allocation with a float generation', (p) => (R1(p, 4)[3][3] = 5.5)],
  ['a cached slice with host bits', (p) => (R1(p, 3)[3][1] = '10.9.0.33/28')],
  ['cached slices out of name order', (p) => (R1(p, 2)[3] = [...R1(p, 2)[3].slice(2), ...R1(p, 2)[3].slice(0, 2)])],
  ['cached releaseOwner networks repeated', (p) => (R1(p, 9)[3] = [...R1(p, 9)[3], ...R1(p, 9)[3]])],
  ['a cached TTL out of range', (p) => (R1(p, 11)[3][0] = 5)],
  ['a cached refusal with an unknown code', (p) => (R1(p, 12)[3][0] = 'Oops')],
  ['a cached refusal without a message', (p) => R1(p, 12)[3].pop()],
  ['a cached refusal whose message is not well formed', (p) => (R1(p, 12)[3][1] = '\udc00')],
];

describe('snapshot decoder: client sessions (format version 2)', () => {
  it('round trips sessions, their caches (every command type, a refusal), log time, TTL and the id counter; replays answer as before', () => {
    const { sm, entries } = sessionSample();
    const target = new IpamStateMachine();
    target.restore(sm.snapshot());
    expect(target.stateHash()).toBe(sm.stateHash());
    expect([target.logTime(), target.sessionTtlMs(), target.sessionCount()]).toEqual([3_200, 900_000, 2]);
    expect(target.sessionInfo(2)).toEqual({ id: 2, lastActive: 3_100, ackFloor: 2, cachedSeqs: [2, 3] });
    expect(target.sessionInfo(3)).toBeUndefined();
    // Every sessioned entry again, on the original and on the restored replica: identical cached answers.
    for (const bytes of entries.slice(3, 15)) {
      const a = sm.applyEntry(bytes);
      const b = target.applyEntry(bytes);
      expect(a).toMatchObject({ kind: 'applied', replayed: true });
      expect(b).toEqual(a);
    }
    expect(target.stateHash()).toBe(sm.stateHash());
    expect(target.applyEntry(encodeEntry({ id: 99, command: { type: 'openSession' } }))).toMatchObject({ result: { ok: true, value: { session: 4 } } });
  });

  it('the unedited session payload, reframed by the helper, is accepted', () => {
    const target = new IpamStateMachine();
    target.restore(sessionEdited(() => undefined));
    expect(target.stateHash()).toBe(sessionSample().sm.stateHash());
  });

  it.each(sessionRefusals)('refuses %s with InvalidSnapshot and leaves the state unchanged', (name, edit) => {
    const target = sessionSample().sm;
    target.applyEntry(encodeEntry({ id: 1, command: { type: 'openSession' }, time: 5_000 }));
    expectRefused(target, sessionEdited(edit), refusalMessages[name]);
    expect(target.sessionCount()).toBe(3);
  });

  it('refuses a version 1 snapshot (before sessions) with a message that says so', () => {
    const v1 = frameBytes(new Packr({ useRecords: false, variableMapSize: true }).pack(payloadOf(sample().snapshot()).slice(0, 2)), 1);
    const target = sample();
    expectRefused(target, v1);
    expect(() => target.restore(v1)).toThrow(/format version 1 \(written before client sessions\) is not supported/);
  });
});

/**
 * Every field of every cached result kind, checked one at a time: a snapshot is a peer's word, and a result
 * no command could have produced would be handed to a client as the answer to its retry. The cached wire
 * form is stored as read (the re-encode check cannot see inside it), so decodeResult is the only guard.
 */
describe('snapshot decoder: every field of a cached result is validated', () => {
  type Wire = unknown[];
  const str = ['', 'x'.repeat(257), '\udc00', 5, null, true];
  const optStr = ['', 'x'.repeat(257), '\udc00', 5, true];
  const cidr = [...str, '10.0.0.7/24', 'nope', '10.0.0.0/33'];
  const address = [...str, 'FD00::1', 'fd00:0::1', '10.0.0.0/24', 'nope'];
  const bool = [0, 1, null, 'true'];
  const tooBig = Number.MAX_SAFE_INTEGER;
  // [type, ok, a valid wire form, per field: the bad values, and the boundary values that are valid]
  const kinds: Array<[string, boolean, Wire, Array<{ bad: unknown[]; good?: unknown[] }>, Wire[]?]> = [
    ['configureNetwork', true, ['n', '10.0.0.0/8', 24, null, true], [
      { bad: str, good: ['x'.repeat(256)] }, { bad: cidr, good: ['fd00::/8'] }, { bad: [-1, 129, 1.5, '24', null], good: [0, 128] }, { bad: optStr, good: ['p'] }, { bad: bool, good: [false] },
    ]],
    ['assignSlice', true, ['a', '10.0.0.0/24'], [{ bad: str }, { bad: cidr }], [[], ['a', '10.0.0.0/24', 'b', 'fd00::/64', 'c', '10.1.0.0/24']]],
    ['assignSpecificSlice', true, ['a', '10.0.0.0/24', 'b', 'fd00::/64'], [{ bad: [...str, 'c'] }, { bad: cidr }, { bad: [...str, 'a'] }, { bad: cidr }]],
    ['releaseSlice', true, [['a', '10.0.0.0/24'], 3], [{ bad: [['a'], ['b', '10.0.0.0/24', 'a', '10.1.0.0/24'], ['a', '10.0.0.7/24'], ['a', '10.0.0.0/24', 'b', 'fd00::/64', 'c', '10.1.0.0/24'], 'a', null], good: [[], ['a', '10.0.0.0/24', 'b', 'fd00::/64']] }, { bad: [-1, 1.5, tooBig + 1, '3'], good: [0, tooBig] }]],
    ['allocate', true, ['a', 'n1', '10.0.0.1', 1, null, false], [
      { bad: str }, { bad: str }, { bad: address, good: ['fd00::1'] }, { bad: [0, -1, 1.5, tooBig, '1', null], good: [tooBig - 1] }, { bad: optStr, good: ['o'] }, { bad: bool, good: [true] },
    ]],
    ['allocateFirst', true, ['a', 'n1', '10.0.0.1', 1, 'o', true], [{ bad: str }, { bad: str }, { bad: address }, { bad: [0] }, { bad: optStr }, { bad: bool }]],
    ['allocateSpecific', true, ['a', 'n1', '10.0.0.1', 1, 'o', true], [{ bad: str }, { bad: str }, { bad: address }, { bad: [0] }, { bad: optStr }, { bad: bool }]],
    ['mark', true, ['a', 'n1', '10.0.0.1', 1, null, true], [{ bad: str }, { bad: str }, { bad: address }, { bad: [0] }, { bad: optStr }, { bad: bool }]],
    ['release', true, [true, '10.0.0.1'], [{ bad: bool, good: [false] }, { bad: address }]],
    ['releaseOwner', true, ['a', '10.0.0.1', 'b', 'fd00::1'], [{ bad: [...str, 'b', 'c'] }, { bad: address }, { bad: [...str, 'a'] }, { bad: address }], [['a', '10.0.0.1', 'a', '10.0.0.2']]],
    ['openSession', true, [1], [{ bad: [0, -1, 1.5, tooBig, '1', null], good: [tooBig - 1] }]],
    ['closeSession', true, [1, true], [{ bad: [0, 1.5, tooBig, null], good: [tooBig - 1] }, { bad: bool, good: [false] }]],
    ['configureSessions', true, [1_000, 86_400_000], [{ bad: [999, 86_400_001, 1.5, null] }, { bad: [999, 86_400_001, 1.5, null] }]],
    ['allocate', false, ['NoAvailableIps', 'no free address'], [{ bad: ['Oops', '', 5, null, 'Internal'], good: ['UnknownNetwork'] }, { bad: ['x'.repeat(4097), '\udc00', 5, null], good: ['', 'x'.repeat(4096)] }]],
  ];

  let base: unknown[] | undefined;
  /** sessionSample() with seq 1 of session 1 replaced by [1, type, ok, wire]. */
  function withResult(type: string, ok: boolean, wire: Wire): Uint8Array {
    const p = structuredClone((base ??= payloadOf(sessionSample().sm.snapshot()))) as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    R1(p, 1).splice(0, 4, 1, type, ok, wire);
    return frame(p);
  }

  it.each(kinds.map(([type, isOk, wire, fields, wholeBad = []]) => [`${type}${isOk ? '' : ' refusal'}`, type, isOk, wire, fields, wholeBad] as const))('%s: the valid form and its boundary values restore; every bad field is refused', (_label, type, isOk, wire, fields, wholeBad) => {
    new IpamStateMachine().restore(withResult(type, isOk, wire));
    const target = sessionSample().sm;
    const before = target.stateHash();
    fields.forEach(({ bad, good = [] }, i) => {
      for (const v of bad) {
        const edited = [...wire];
        edited[i] = v;
        expect(() => target.restore(withResult(type, isOk, edited)), `${type} field ${i} = ${JSON.stringify(v)}`).toThrow(expect.objectContaining({ code: 'InvalidSnapshot' }));
      }
      for (const v of good) {
        const edited = [...wire];
        edited[i] = v;
        expect(() => new IpamStateMachine().restore(withResult(type, isOk, edited)), `${type} field ${i} = ${JSON.stringify(v)}`).not.toThrow();
      }
    });
    for (const arity of [wire.slice(0, -1), [...wire, null], ...wholeBad]) expect(() => target.restore(withResult(type, isOk, arity))).toThrow(expect.objectContaining({ code: 'InvalidSnapshot' }));
    expect(() => target.restore(withResult(type, isOk, 'wire' as unknown as Wire))).toThrow(expect.objectContaining({ code: 'InvalidSnapshot' }));
    expect(target.stateHash()).toBe(before);
  });

  it('a restored cached result is replayed exactly as it was written, boundary values included', () => {
    const restoredWith = (type: string, ok: boolean, wire: Wire) => {
      const sm = new IpamStateMachine();
      sm.restore(withResult(type, ok, wire));
      return sm;
    };
    const replay = (sm: IpamStateMachine, command: IpamCommand) => sm.applyEntry(encodeEntry({ id: 9, command, session: { id: 1, seq: 1 } }));
    expect(replay(restoredWith('allocate', true, ['a', 'n1', 'fd00::1', Number.MAX_SAFE_INTEGER - 1, 'o', true]), { type: 'allocate', network: 'x', nodeId: 'y' })).toMatchObject({
      replayed: true,
      result: { ok: true, value: { network: 'a', nodeId: 'n1', address: 'fd00::1', generation: Number.MAX_SAFE_INTEGER - 1, owner: 'o', existing: true } },
    });
    const unowned = replay(restoredWith('mark', true, ['a', 'n1', '10.0.0.1', 1, null, false]), { type: 'mark', network: 'x', nodeId: 'y', address: '10.0.0.2' });
    expect(unowned.kind === 'applied' && unowned.result.ok && unowned.result.value).toStrictEqual({ network: 'a', nodeId: 'n1', address: '10.0.0.1', generation: 1, existing: false });
    const configured = replay(restoredWith('configureNetwork', true, ['n', 'fd00::/8', 128, null, false]), { type: 'configureNetwork', name: 'x', cidr: '10.0.0.0/8', slicePrefix: 24 });
    expect(configured.kind === 'applied' && configured.result.ok && configured.result.value).toStrictEqual({ network: 'n', cidr: 'fd00::/8', slicePrefix: 128, created: false });
    expect(replay(restoredWith('configureNetwork', true, ['n', '10.0.0.0/8', 0, 'p', true]), { type: 'configureNetwork', name: 'x', cidr: '10.0.0.0/8', slicePrefix: 24 })).toMatchObject({ result: { ok: true, value: { slicePrefix: 0, pair: 'p', created: true } } });
    expect(replay(restoredWith('releaseSlice', true, [['a', '10.0.0.0/24', 'b', 'fd00::/64'], Number.MAX_SAFE_INTEGER]), { type: 'releaseSlice', network: 'x', nodeId: 'y' })).toMatchObject({
      result: { ok: true, value: { released: { a: '10.0.0.0/24', b: 'fd00::/64' }, addressesReleased: Number.MAX_SAFE_INTEGER } },
    });
    expect(replay(restoredWith('release', true, [false, 'fd00::1']), { type: 'release', network: 'x', address: '10.0.0.1' })).toMatchObject({ result: { ok: true, value: { released: false, address: 'fd00::1' } } });
    expect(replay(restoredWith('releaseOwner', true, []), { type: 'releaseOwner', owner: 'o' })).toMatchObject({ result: { ok: true, value: { released: [] } } });
    expect(replay(restoredWith('configureSessions', true, [86_400_000, 1_000]), { type: 'configureSessions', ttlMs: 5_000 })).toMatchObject({ result: { ok: true, value: { ttlMs: 86_400_000, previousTtlMs: 1_000 } } });
    const message = 'x'.repeat(4096);
    expect(replay(restoredWith('allocate', false, ['UnknownNetwork', message]), { type: 'allocate', network: 'x', nodeId: 'y' })).toMatchObject({ result: { ok: false, error: { code: 'UnknownNetwork', message } } });
  });
});

describe('snapshot decoder: each header and framing refusal says what is wrong', () => {
  const refusedWith = (bytes: unknown, message: string | RegExp) => {
    const target = sample();
    const before = target.stateHash();
    expect(() => target.restore(bytes as Uint8Array)).toThrow(expect.objectContaining({ code: 'InvalidSnapshot', message: typeof message === 'string' ? `invalid snapshot: ${message}` : expect.stringMatching(message) }));
    expect(target.stateHash()).toBe(before);
  };
  const good = () => sample().snapshot();
  const withByte = (i: number, v: number) => {
    const b = Uint8Array.from(good());
    b[i] = v;
    return b;
  };

  it('not bytes, a short header, a bad magic, a version, reserved bytes, a length, a checksum', () => {
    refusedWith('RIPM', 'expected bytes, got "RIPM"');
    refusedWith(good().subarray(0, 15), 'truncated header (15 bytes)');
    for (const i of [0, 1, 2, 3]) refusedWith(withByte(i, 0x00), 'bad magic (not a raft-ipam snapshot)');
    refusedWith(withByte(4, 3), 'unsupported version 3');
    refusedWith(withByte(4, 0), 'unsupported version 0');
    for (const i of [5, 6, 7]) refusedWith(withByte(i, 1), 'reserved header bytes are not zero');
    const bytes = good();
    refusedWith(Uint8Array.from([...bytes, 0]), `payload length ${bytes.length - 16} does not match ${bytes.length - 15} bytes present (truncated or padded)`);
    refusedWith(bytes.subarray(0, bytes.length - 1), `payload length ${bytes.length - 16} does not match ${bytes.length - 17} bytes present (truncated or padded)`);
    refusedWith(withByte(bytes.length - 1, bytes[bytes.length - 1]! ^ 1), 'checksum mismatch (corrupt payload)');
    refusedWith(frameBytes(Uint8Array.from([0x93, 0x01])), 'truncated before networks'); // an array of 3 that ends after 1
    refusedWith(frameBytes(Uint8Array.from([0x93, 0x01, 0x90, 0x94, 0x00, 0xcd])), /^invalid snapshot: session ttlMs does not decode: /); // a uint16 cut after its type byte
    refusedWith(frameBytes(Uint8Array.from([0x83, 0x01, 0x01, 0x01])), 'payload must be an array'); // a map where the payload array belongs
    refusedWith(frameBytes(Uint8Array.from([0xdc, 0x00, 0x03, 0x01, 0x90, 0x94, 0x00, 0xcd, 0x03, 0x84, 0x01, 0x90])), /not in canonical form/); // an array of 3 written in the 16-bit form
  });

  it('a snapshot in a view at an offset of a larger buffer decodes like a copy', () => {
    const bytes = good();
    const big = new Uint8Array(bytes.length + 7);
    big.set(bytes, 5);
    const target = new IpamStateMachine();
    target.restore(big.subarray(5, 5 + bytes.length));
    expect(target.stateHash()).toBe(sample().stateHash());
  });

  it('a live-rule refusal inside the payload (a bad CIDR, a node twice) comes back as InvalidSnapshot with its reason', () => {
    refusedWith(edited((p) => (V4(p)[1] = '10.1.0.0/33')), /^invalid snapshot: .*10\.1\.0\.0\/33/);
    refusedWith(edited((p) => (B(p)[0] = 'a')), /^invalid snapshot: /);
    refusedWith(edited((p) => (p[0] = 0)), 'nextGeneration must be an integer in 1..9007199254740991, got 0');
    refusedWith(edited((p) => V4(p)[4].reverse()), /^invalid snapshot: network "v4": nodes out of slice order at "[ab]"$/);
    refusedWith(edited((p) => p[1].reverse()), 'networks out of order or repeated at "v4"');
    refusedWith(edited((p) => (V6(p)[3] = null)), 'network "v4" is paired with "v6", which does not pair back');
    refusedWith(edited((p) => (A(p)[3] = [1, 0, 2])), /^invalid snapshot: .*generation 1 appears twice/);
    refusedWith(edited((p) => (A(p)[3] = [0, 1, 1])), /^invalid snapshot: .*generation 0 outside 1\.\.4/);
  });
});

describe('snapshot decoder: offsets above 2^53 have one spelling, a decimal string', () => {
  /** sample() with v6 node "b"'s one address (owner c3) moved to host offset `start` of its /64 slice. */
  const at = (start: unknown) => edited((p) => (V6(p)[4].find((n: unknown[]) => n[0] === 'b')[2][0] = start));
  it('a host offset above 2^53 written as a string restores to that address', () => {
    const target = new IpamStateMachine();
    target.restore(at('9007199254740993'));
    const [record] = target.addressesOf('c3');
    expect(record?.address).toMatch(/:20:0:0:1$/); // 2^53 + 1 = 0x0020_0000_0000_0001
    expect(Buffer.from(target.snapshot()).equals(Buffer.from(at('9007199254740993')))).toBe(true);
    target.restore(at('18446744073709551614')); // 2^64 - 2: the last usable host of a /64
    expect(target.addressesOf('c3')[0]?.address).toMatch(/:ffff:ffff:ffff:fffe$/);
  });
  it.each([
    ['a safe offset spelled as a string', '9007199254740991'],
    ['a leading zero', '09007199254740993'],
    ['a sign', '+9007199254740993'],
    ['a 40-digit string', '1'.repeat(40)],
    ['a string below 16 digits', '900719925474099'],
    ['a hex string', '0x20000000000001'],
    ['a trailing character', '9007199254740993x'],
    ['a trailing space', '9007199254740993 '],
    ['an unsafe number', 2 ** 53 + 2],
  ])('refuses %s', (_name, start) => {
    expectRefused(sample(), at(start), 'run start must be a non-negative integer, got ');
  });
});

describe('snapshot round trip at the edge of exact doubles', () => {
  it('host offsets 2^53 - 1 (the last one written as a number) and 2^53 (the first written as a string) restore to the same records', () => {
    const sm = build([
      { type: 'configureNetwork', name: 'w', cidr: 'fd00::/48', slicePrefix: 64 },
      { type: 'assignSlice', network: 'w', nodeId: 'n1' },
    ]);
    const base = (sm.sliceOf('w', 'n1') as string).replace('::/64', '');
    const addresses = [`${base}:1f:ffff:ffff:ffff`, `${base}:20::`, `${base}:1f:ffff:ffff:fffe`];
    for (const [i, address] of addresses.entries()) ok(sm.apply({ type: 'allocateSpecific', network: 'w', nodeId: 'n1', address, owner: `o${i}` }));
    const bytes = sm.snapshot();
    const runs = (payloadOf(bytes) as any[])[1][0][4][0][2]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(runs).toEqual([Number.MAX_SAFE_INTEGER - 1, 3]); // one run of three, its start a number
    const restored = new IpamStateMachine();
    restored.restore(bytes);
    for (const [i, address] of addresses.entries()) expect(restored.allocationOf('w', address)).toEqual(sm.allocationOf('w', address));
    expect(restored.ownerOf('w', addresses[1] as string)).toBe('o1');
    ok(restored.apply({ type: 'release', network: 'w', address: addresses[2] as string }));
    const split = new IpamStateMachine(); // now the run starts at 2^53 - 1 exactly, still a number
    split.restore(restored.snapshot());
    expect((payloadOf(restored.snapshot()) as any[])[1][0][4][0][2]).toEqual([Number.MAX_SAFE_INTEGER, 2]); // eslint-disable-line @typescript-eslint/no-explicit-any
    ok(split.apply({ type: 'release', network: 'w', address: addresses[0] as string }));
    expect((payloadOf(split.snapshot()) as any[])[1][0][4][0][2]).toEqual(['9007199254740992', 1]); // eslint-disable-line @typescript-eslint/no-explicit-any
    const last = new IpamStateMachine();
    last.restore(split.snapshot());
    expect(last.ownerOf('w', addresses[1] as string)).toBe('o1');
  });
});

/**
 * Node elements are read by a fast path (snapshot-block-reader.ts) that accepts only msgpackr's own
 * spelling and otherwise hands the element to the general reader. Each respelling below decodes to the
 * same values, so only the canonical-form rule can refuse it: the fast path must not accept it.
 */
describe('snapshot decoder: a node element in any spelling but the canonical one is refused', () => {
  /** The sample's bytes with the first occurrence of `from` (inside node "a" of v4) replaced by `to`. */
  function respelled(from: number[], to: number[]): Uint8Array {
    const bytes = sample().snapshot();
    const body = Buffer.from(bytes.subarray(16));
    const at = body.indexOf(Buffer.from(from));
    expect(at).toBeGreaterThan(0);
    return frameBytes(Uint8Array.from([...body.subarray(0, at), ...to, ...body.subarray(at + from.length)]));
  }
  const c1 = [0x63, 0x31]; // "c1"
  const cases: Array<[string, number[], number[], string?]> = [
    ['an owner string with a str8 header', [0xa2, ...c1], [0xd9, 0x02, ...c1]],
    ['an owner string with a str16 header', [0xa2, ...c1], [0xda, 0x00, 0x02, ...c1]],
    ['an owner as binary', [0xa2, ...c1], [0xc4, 0x02, ...c1], 'owner must be a non-empty string'],
    ['a generation list with a 16-bit array header', [0x93, 0x01, 0x01, 0x01], [0xdc, 0x00, 0x03, 0x01, 0x01, 0x01]],
    ['a generation delta as uint8', [0x93, 0x01, 0x01, 0x01], [0x93, 0xcc, 0x01, 0x01, 0x01]],
    ['a generation delta as int8', [0x93, 0x01, 0x01, 0x01], [0x93, 0xd0, 0x01, 0x01, 0x01]],
    ['a generation delta as float64', [0x93, 0x01, 0x01, 0x01], [0x93, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x01, 0x01]],
  ];
  it.each(cases)('%s', (_name, from, to, message = 'not in canonical form') => {
    const target = sample();
    expectRefused(target, respelled(from, to), message);
  });

  it('an owner in valid multi-byte UTF-8 (and one spelling U+FFFD itself) round trips through the fast path', () => {
    const sm = build([
      { type: 'configureNetwork', name: 'v4', cidr: '10.1.0.0/24', slicePrefix: 28 },
      { type: 'assignSlice', network: 'v4', nodeId: 'nœud' },
      { type: 'allocate', network: 'v4', nodeId: 'nœud', owner: 'conteneur-é-😀' },
      { type: 'allocate', network: 'v4', nodeId: 'nœud', owner: 'replacement-\uFFFD' },
      { type: 'allocate', network: 'v4', nodeId: 'nœud', owner: '\uFEFFbom-first' },
    ]);
    const bytes = sm.snapshot();
    const target = new IpamStateMachine();
    target.restore(bytes);
    expect(target.stateHash()).toBe(sm.stateHash());
    expect(target.addressesOf('\uFEFFbom-first')).toHaveLength(1);
    expect(Buffer.from(target.snapshot()).equals(Buffer.from(bytes))).toBe(true);
  });

  it('an owner in malformed UTF-8 is refused', () => {
    // "c1" → 0xc3 0x28: a two-byte lead followed by a non-continuation byte.
    expectRefused(sample(), respelled([0xa2, ...c1], [0xa2, 0xc3, 0x28]));
  });
});
