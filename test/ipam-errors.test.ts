/**
 * Allocator errors carry a stable code for programs and a message for people that names the offending
 * value and where it was refused. This table pins both, per public operation.
 */
import { describe, expect, it } from 'vitest';
import { canonicalAddress, describe as describeValue, parseAddress, parseCidr } from '../src/ipam/address.js';
import { ApplyFailure, OverlayError, isOverlayError } from '../src/ipam/errors.js';
import { IpAllocator, firstIpFromCidr } from '../src/ipam/ip-allocator.js';
import { NodeSliceAllocator, validateNodeId } from '../src/ipam/node-slice-allocator.js';
import { failure } from './support/errors.js';


describe('address parsing refusals', () => {
  const cases: Array<[() => unknown, string, string]> = [
    [() => parseAddress(''), 'InvalidAddress', 'invalid IP address: ""'],
    [() => parseAddress(42), 'InvalidAddress', 'invalid IP address: 42'],
    [() => parseAddress(7n), 'InvalidAddress', 'invalid IP address: 7n'],
    [() => parseAddress(undefined), 'InvalidAddress', 'invalid IP address: undefined'],
    [() => parseAddress('1'.repeat(65)), 'InvalidAddress', `invalid IP address: "${'1'.repeat(65)}"`],
    [() => parseAddress('10.0.0.1/32'), 'InvalidAddress', 'invalid IP address: "10.0.0.1/32"'],
    [() => parseAddress('fe80::1%eth0'), 'InvalidAddress', 'invalid IP address: "fe80::1%eth0"'],
    [() => parseAddress(' 10.0.0.1'), 'InvalidAddress', 'invalid IP address: " 10.0.0.1"'],
    [() => parseAddress('10.0.0.256'), 'InvalidAddress', 'invalid IP address: "10.0.0.256"'],
    [() => parseAddress('1::2::3'), 'InvalidAddress', 'invalid IP address: "1::2::3"'],
    [() => parseCidr(5), 'InvalidCidr', 'invalid CIDR: 5'],
    [() => parseCidr('x'.repeat(71)), 'InvalidCidr', `invalid CIDR: "${'x'.repeat(71)}"`],
    [() => parseCidr('10.0.0.0'), 'InvalidCidr', 'invalid CIDR: "10.0.0.0" (expected address/prefix)'],
    [() => parseCidr('/8'), 'InvalidCidr', 'invalid CIDR: "/8" (expected address/prefix)'],
    [() => parseCidr('10.0.0.0/8/8'), 'InvalidCidr', 'invalid CIDR: "10.0.0.0/8/8" (expected address/prefix)'],
    [() => parseCidr('10.0.0.0/08'), 'InvalidCidr', 'invalid CIDR: "10.0.0.0/08" (bad prefix length)'],
    [() => parseCidr('10.0.0.0/1000'), 'InvalidCidr', 'invalid CIDR: "10.0.0.0/1000" (bad prefix length)'],
    [() => parseCidr('10.0.0.0/'), 'InvalidCidr', 'invalid CIDR: "10.0.0.0/" (bad prefix length)'],
    [() => parseCidr('10.0.0/8'), 'InvalidCidr', 'invalid CIDR: "10.0.0/8" (bad address)'],
    [() => parseCidr('10.0.0.0/33'), 'InvalidCidr', 'invalid CIDR: "10.0.0.0/33" (prefix /33 exceeds /32)'],
    [() => parseCidr('fd00::/129'), 'InvalidCidr', 'invalid CIDR: "fd00::/129" (prefix /129 exceeds /128)'],
  ];
  for (const [f, code, message] of cases) {
    it(message, () => {
      expect(failure(f)).toEqual({ code, message });
    });
  }

  it('accepts the limits: /0, /32, /128, long and IPv4-mapped spellings', () => {
    const long = '0000:0000:0000:0000:0000:0000:0000:0001'; // 39 characters
    expect(canonicalAddress(long)).toBe('::1');
    const padded = `0:0:0:0:0:ffff:${'1.2.3.4'}`;
    expect(canonicalAddress(padded)).toBe('::ffff:1.2.3.4');
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ prefix: 0, hostBits: 32, network: 0n, hadHostBits: false });
    expect(parseCidr('10.1.2.3/32')).toMatchObject({ prefix: 32, hostBits: 0, network: 0x0a010203n });
    expect(parseCidr('10.1.2.3/8')).toMatchObject({ prefix: 8, network: 0x0a000000n, hadHostBits: true });
    expect(parseCidr('fd00::1/128')).toMatchObject({ family: 6, prefix: 128, hostBits: 0 });
  });

  it('describe() prints any value briefly', () => {
    expect(describeValue('x'.repeat(100))).toBe(`"${'x'.repeat(80)}…"`);
    expect(describeValue({ a: 'y'.repeat(100) })).toBe(`${JSON.stringify({ a: 'y'.repeat(100) }).slice(0, 80)}…`);
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(Symbol('s'))).toBe('Symbol(s)');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe('[object Object]');
    expect(describeValue([1, 2])).toBe('[1,2]');
  });
});

describe('IpAllocator refusals name the address and the range', () => {
  it('each refusal', () => {
    const a = new IpAllocator('10.0.0.0/29');
    a.allocateSpecific('10.0.0.3');
    expect(failure(() => a.allocateSpecific('10.0.0.3'))).toEqual({ code: 'IpAlreadyAllocated', message: 'IP address 10.0.0.3 is already allocated' });
    expect(failure(() => a.allocateSpecific('10.0.1.3'))).toEqual({ code: 'IpNotInRange', message: 'IP address 10.0.1.3 is not in range 10.0.0.0/29' });
    expect(failure(() => a.allocateSpecific('::1'))).toEqual({ code: 'AddressFamilyMismatch', message: 'IPv6 address ::1 cannot belong to IPv4 range 10.0.0.0/29' });
    expect(failure(() => a.allocateSpecific('10.0.0.0'))).toEqual({ code: 'ReservedAddress', message: 'IP address 10.0.0.0 is the network address of range 10.0.0.0/29 and cannot be allocated' });
    expect(failure(() => a.allocateSpecific('10.0.0.7'))).toEqual({ code: 'ReservedAddress', message: 'IP address 10.0.0.7 is the broadcast address of range 10.0.0.0/29 and cannot be allocated' });
    a.allocateFirst();
    expect(failure(() => a.allocateFirst())).toEqual({ code: 'IpAlreadyAllocated', message: 'IP address 10.0.0.1 is already allocated' });
    const v6 = new IpAllocator('fd00::/128');
    expect(failure(() => v6.allocateFirst())).toEqual({ code: 'NoAvailableIps', message: 'no usable addresses in fd00::/128' });
    expect(failure(() => firstIpFromCidr('fd00::/128'))).toEqual({ code: 'NoAvailableIps', message: 'no usable addresses in fd00::/128' });
    expect(firstIpFromCidr('10.0.0.0/31')).toBe('10.0.0.0');
    expect(firstIpFromCidr('fd00::/64')).toBe('fd00::1');
  });

  it('fromState refusals', () => {
    expect(failure(() => IpAllocator.fromState([]))).toEqual({ code: 'InvalidState', message: 'allocator state must be an object, got []' });
    expect(failure(() => IpAllocator.fromState({ cidr: 5, allocated: [] }))).toEqual({ code: 'InvalidState', message: 'allocator state: "cidr" must be a string, got 5' });
    expect(failure(() => IpAllocator.fromState({ cidr: '10.0.0.0/24', allocated: {} }))).toEqual({ code: 'InvalidState', message: 'allocator state: "allocated" must be an array, got {}' });
  });

  it('release and isAllocated of an address outside the range are simply false', () => {
    const a = new IpAllocator('10.0.0.0/24');
    a.allocateSpecific('10.0.0.9');
    expect(a.release('10.0.1.9')).toBe(false);
    expect(a.isAllocated('10.0.1.9')).toBe(false);
    expect(a.isAllocated('fd00::9')).toBe(false);
    expect(a.isAllocated('10.0.0.9')).toBe(true);
    expect(a.release('10.0.0.9')).toBe(true);
    expect(a.release('10.0.0.9')).toBe(false);
  });
});

describe('NodeSliceAllocator refusals', () => {
  it('geometry refusals', () => {
    expect(failure(() => new NodeSliceAllocator('10.0.0.0/16', 16.5))).toEqual({ code: 'InvalidCidr', message: 'slice prefix must be an integer, got 16.5' });
    expect(failure(() => new NodeSliceAllocator('10.0.0.0/16', 16))).toEqual({ code: 'InvalidCidr', message: 'slice prefix /16 must be more specific than cluster prefix /16' });
    expect(failure(() => new NodeSliceAllocator('10.0.0.0/16', 33))).toEqual({ code: 'InvalidCidr', message: 'slice prefix /33 exceeds address family max /32' });
    expect(new NodeSliceAllocator('10.0.0.0/16', 32).capacity()).toBe(65536n);
    expect(new NodeSliceAllocator('10.0.0.0/16', 17).capacity()).toBe(2n);
  });

  it('placement refusals name the slice and the holder', () => {
    const s = new NodeSliceAllocator('10.0.0.0/16', 24);
    s.assignSpecific('a', '10.0.5.0/24');
    expect(failure(() => s.assignSpecific('b', '10.0.5.0/24'))).toEqual({ code: 'SliceTaken', message: 'slice 10.0.5.0/24 is already assigned to node "a"' });
    expect(failure(() => s.assignSpecific('a', '10.0.6.0/24'))).toEqual({ code: 'NodeHasSlice', message: 'node "a" already holds slice 10.0.5.0/24' });
    expect(s.assignSpecific('a', '10.0.5.0/24')).toBe('10.0.5.0/24'); // idempotent
    expect(failure(() => s.assignSpecific('b', 'fd00::/120'))).toEqual({ code: 'InvalidCidr', message: 'slice fd00::/120 is IPv6, cluster 10.0.0.0/16 is IPv4' });
    expect(failure(() => s.assignSpecific('b', '10.0.7.0/25'))).toEqual({ code: 'InvalidCidr', message: 'assigned slice 10.0.7.0/25 does not match configured prefix /24' });
    expect(failure(() => s.assignSpecific('b', '10.0.7.1/24'))).toEqual({ code: 'InvalidCidr', message: 'assigned slice 10.0.7.1/24 is not aligned to a /24 boundary' });
    expect(failure(() => s.assignSpecific('b', '10.1.7.0/24'))).toEqual({ code: 'InvalidCidr', message: 'assigned slice 10.1.7.0/24 is not contained in cluster CIDR 10.0.0.0/16' });
    const full = new NodeSliceAllocator('10.0.0.0/30', 31);
    full.assign('x');
    full.assign('y');
    expect(failure(() => full.assign('z'))).toEqual({ code: 'NoAvailableSlices', message: 'all 2 /31 slices of 10.0.0.0/30 are assigned' });
  });

  it('restore refusals', () => {
    expect(failure(() => NodeSliceAllocator.restore('x'))).toEqual({ code: 'InvalidState', message: 'slice snapshot must be an object, got "x"' });
    expect(failure(() => NodeSliceAllocator.restore({ cluster_cidr: 1, slice_prefix: 24, assigned: [] }))).toEqual({ code: 'InvalidState', message: 'slice snapshot: "cluster_cidr" must be a string' });
    expect(failure(() => NodeSliceAllocator.restore({ cluster_cidr: '10.0.0.0/16', slice_prefix: '24', assigned: [] }))).toEqual({ code: 'InvalidState', message: 'slice snapshot: "slice_prefix" must be a number' });
    expect(failure(() => NodeSliceAllocator.restore({ cluster_cidr: '10.0.0.0/16', slice_prefix: 24, assigned: {} }))).toEqual({ code: 'InvalidState', message: 'slice snapshot: "assigned" must be an array' });
    for (const entry of [['a'], ['a', '10.0.1.0/24', 'x'], ['a', 5], 'a'])
      expect(failure(() => NodeSliceAllocator.restore({ cluster_cidr: '10.0.0.0/16', slice_prefix: 24, assigned: [entry] }))).toEqual({ code: 'InvalidState', message: `slice snapshot: each assignment must be [nodeId, cidr], got ${JSON.stringify(entry)}` });
    expect(failure(() => NodeSliceAllocator.restore({ cluster_cidr: '10.0.0.0/16', slice_prefix: 24, assigned: [['a', '10.0.1.0/24'], ['a', '10.0.2.0/24']] }))).toEqual({ code: 'InvalidState', message: 'slice snapshot: node "a" appears twice' });
    expect(failure(() => NodeSliceAllocator.restore({ cluster_cidr: '10.0.0.0/16', slice_prefix: 24, assigned: [[5, '10.0.2.0/24']] })).code).toBe('InvalidNodeId');
  });

  it('node ids: at most 253 UTF-8 bytes, well formed, non-empty', () => {
    expect(validateNodeId('a'.repeat(253))).toBe('a'.repeat(253));
    expect(validateNodeId('é'.repeat(126))).toBe('é'.repeat(126)); // 252 bytes
    for (const bad of ['', 'a'.repeat(254), 'é'.repeat(127), '\ud800', 5]) {
      expect(failure(() => validateNodeId(bad)).code).toBe('InvalidNodeId');
    }
    expect(failure(() => validateNodeId('')).message).toBe('node id must be a non-empty well-formed string of at most 253 UTF-8 bytes, got ""');
  });
});

describe('error values', () => {
  it('OverlayError serialises to its code and message; ApplyFailure says what failed and whether state is intact', () => {
    const e = new OverlayError('SliceTaken', 'taken');
    expect(e.name).toBe('OverlayError');
    expect(isOverlayError(e)).toBe(true);
    expect(isOverlayError(new Error('x'))).toBe(false);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'SliceTaken', message: 'taken' });
    const intact = new ApplyFailure('mark', true, new Error('boom'));
    expect(intact).toMatchObject({ name: 'ApplyFailure', code: 'Internal', commandType: 'mark', stateIntact: true, message: 'internal error applying mark: boom' });
    const broken = new ApplyFailure('release', false, 'weird');
    expect(broken.message).toBe('internal error applying release (rollback failed: state is unusable): weird');
  });
});
