/**
 * Allocator edges at exact boundaries: single-address ranges, the last usable host, values of the other
 * family that happen to share bits, message truncation at exactly 80 characters, the NodeSliceAllocator
 * lookups, and file descriptors across many saves.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describe as describeValue, parseAddress, parseCidr } from '../src/ipam/address.js';
import { saveAllocatorState, writeFileAtomic } from '../src/ipam/allocator-file.js';
import { HostRange } from '../src/ipam/host-range.js';
import { IpAllocator, firstIpFromCidr } from '../src/ipam/ip-allocator.js';
import { NodeSliceAllocator } from '../src/ipam/node-slice-allocator.js';
import { importSeedState } from '../src/ipam/seed-import.js';

describe('single-address ranges', () => {
  it('a /32 hands out its one address, first and only', () => {
    const a = new IpAllocator('10.0.0.7/32');
    expect(a.allocateFirst()).toBe('10.0.0.7');
    expect(firstIpFromCidr('10.0.0.7/32')).toBe('10.0.0.7');
    const h = HostRange.create(parseCidr('10.0.0.7/32'));
    expect(h.first()).toBe(0);
  });

  it('the last usable host is usable; the broadcast address is not', () => {
    const h = HostRange.create(parseCidr('10.1.2.0/24'));
    expect(h.isUsable(254)).toBe(true);
    expect(h.isUsable(255)).toBe(false);
    expect(h.isUsable(1)).toBe(true);
  });

  it('an IPv6 value whose bits match an IPv4 range is still not in it', () => {
    const h = HostRange.create(parseCidr('10.1.2.0/24'));
    expect(h.contains(6, 0x0a010203n)).toBe(false);
    expect(h.contains(4, 0x0a010203n)).toBe(true);
    expect(new IpAllocator('10.1.2.0/24').contains('::a01:203')).toBe(false);
  });
});

describe('input checks', () => {
  it('fromState and importSeedState refuse a string with the object message', () => {
    expect(() => IpAllocator.fromState('x')).toThrow(expect.objectContaining({ code: 'InvalidState', message: 'allocator state must be an object, got "x"' }));
    expect(() => importSeedState('x' as never)).toThrow(expect.objectContaining({ code: 'InvalidState', message: 'seed import: input must be an object, got "x"' }));
  });

  it('an over-long address is quoted briefly; a trailing newline is refused', () => {
    const long = '1'.repeat(100);
    expect(() => parseAddress(long)).toThrow(expect.objectContaining({ code: 'InvalidAddress', message: `invalid IP address: "${'1'.repeat(80)}…"` }));
    expect(() => parseAddress('10.0.0.1\n')).toThrow(expect.objectContaining({ code: 'InvalidAddress' }));
    expect(() => parseAddress('10.0.0.1 ')).toThrow(expect.objectContaining({ code: 'InvalidAddress' }));
  });

  it('describe() keeps exactly 80 characters whole and cuts the 81st', () => {
    expect(describeValue('x'.repeat(80))).toBe(`"${'x'.repeat(80)}"`);
    expect(describeValue('x'.repeat(81))).toBe(`"${'x'.repeat(80)}…"`);
    const arr80 = JSON.parse(`[${'1,'.repeat(38)}11]`) as number[]; // JSON text of exactly 80 characters
    expect(JSON.stringify(arr80)).toHaveLength(80);
    expect(describeValue(arr80)).toBe(JSON.stringify(arr80));
    expect(describeValue([...arr80, 1])).toBe(`${JSON.stringify([...arr80, 1]).slice(0, 80)}…`);
  });
});

describe('NodeSliceAllocator lookups', () => {
  it('cluster, index bits, home slot, slice and address lookups, and who holds a slot', () => {
    const s = new NodeSliceAllocator('10.200.0.0/16', 24);
    expect(s.cluster).toMatchObject({ family: 4, prefix: 16, network: 0x0ac80000n });
    expect(s.indexBits).toBe(8);
    const home = s.homeIndex('node-a');
    expect(s.assignIndex('node-a')).toBe(home); // an empty cluster places a node at its home slot
    expect(s.nodeAt(home)).toBe('node-a');
    expect(s.nodeAt((home as number) ^ 1)).toBeUndefined();
    expect(s.indexOfSlice(s.sliceAt(home))).toBe(home);
    expect(s.indexOfAddress(s.sliceNetwork(home) + 9n)).toBe(home);
    expect(s.indexOfAddress(0x0ac90000n)).toBeUndefined();
  });
});

describe('allocator file descriptors', () => {
  it.runIf(process.platform === 'linux')('many saves leave no file descriptor open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alloc-fd-'));
    try {
      const fds = (): number => readdirSync('/proc/self/fd').length;
      await writeFileAtomic(join(dir, 'warm'), 'x');
      const before = fds();
      for (let i = 0; i < 25; i++) await saveAllocatorState(join(dir, 's.json'), { cidr: '10.0.0.0/24', allocated: [] });
      expect(fds()).toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
