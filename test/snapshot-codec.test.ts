/**
 * The snapshot decoder behind the CRC: payloads that are well framed (right magic, length and checksum)
 * but inconsistent must be refused with InvalidSnapshot and change nothing; valid ones must round trip,
 * including IPv6 slice indexes and host offsets above 2^53.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { IpamStateMachine, type ApplyResult, type IpamCommand } from '../src/index.js';
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

function expectRefused(target: IpamStateMachine, bytes: Uint8Array): void {
  const before = target.stateHash();
  expect(() => target.restore(bytes)).toThrow(expect.objectContaining({ code: 'InvalidSnapshot' }));
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

describe('snapshot decoder: well-framed, CRC-valid, inconsistent payloads', () => {
  it('the unedited sample payload, reframed by the helper, is accepted (the helper frames like the codec)', () => {
    const source = sample();
    const target = new IpamStateMachine();
    target.restore(edited(() => undefined));
    expect(target.stateHash()).toBe(source.stateHash());
  });

  it.each(refusals)('refuses %s with InvalidSnapshot and leaves the state unchanged', (_name, edit) => {
    const target = sample();
    ok(target.apply({ type: 'allocate', network: 'v4', nodeId: 'b', owner: 'keep' }));
    expectRefused(target, edited(edit));
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
