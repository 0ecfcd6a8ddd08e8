import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalAddress, IpAllocator, firstIpFromCidr } from '../src/index.js';
import { code } from './support/errors.js';

describe('IpAllocator: seed test cases (IPv4)', () => {
  it('new', () => {
    const a = new IpAllocator('10.200.0.0/24');
    expect(a.cidr()).toBe('10.200.0.0/24');
    expect(a.allocatedCount()).toBe(0);
  });
  it('invalid cidr', () => {
    for (const bad of ['invalid', '10.200.0.0', '10.200.0.0/33', '10.200.0.0/-1', '10.200.0/24', '10.200.0.0/24/1', 'fd00::/129', '']) {
      expect(code(() => new IpAllocator(bad))).toBe('InvalidCidr');
    }
  });
  it('allocate sequential /30', () => {
    const a = new IpAllocator('10.200.0.0/30');
    expect(a.allocate()).toBe('10.200.0.1');
    expect(a.allocate()).toBe('10.200.0.2');
    expect(a.allocate()).toBeUndefined();
  });
  it('allocate first', () => {
    const a = new IpAllocator('10.200.0.0/24');
    expect(a.allocateFirst()).toBe('10.200.0.1');
    expect(code(() => a.allocateFirst())).toBe('IpAlreadyAllocated');
  });
  it('allocate specific', () => {
    const a = new IpAllocator('10.200.0.0/24');
    expect(a.allocateSpecific('10.200.0.50')).toBe('10.200.0.50');
    expect(a.isAllocated('10.200.0.50')).toBe(true);
    expect(code(() => a.allocateSpecific('10.200.0.50'))).toBe('IpAlreadyAllocated');
  });
  it('allocate specific out of range', () => {
    expect(code(() => new IpAllocator('10.200.0.0/24').allocateSpecific('192.168.1.1'))).toBe('IpNotInRange');
  });
  it('release and reuse', () => {
    const a = new IpAllocator('10.200.0.0/24');
    const ip = a.allocate() as string;
    expect(a.release(ip)).toBe(true);
    expect(a.isAllocated(ip)).toBe(false);
    expect(a.release(ip)).toBe(false);
    expect(a.allocate()).toBe(ip);
  });
  it('mark allocated', () => {
    const a = new IpAllocator('10.200.0.0/24');
    a.markAllocated('10.200.0.100');
    expect(a.isAllocated('10.200.0.100')).toBe(true);
    a.markAllocated('10.200.0.100'); // idempotent, as in the seed
    expect(a.allocatedCount()).toBe(1);
  });
  it('contains', () => {
    const a = new IpAllocator('10.200.0.0/24');
    expect(a.contains('10.200.0.50')).toBe(true);
    expect(a.contains('10.201.0.50')).toBe(false);
  });
  it('total hosts and available count', () => {
    expect(new IpAllocator('10.200.0.0/24').totalHosts()).toBe(254n);
    const a = new IpAllocator('10.200.0.0/30');
    expect(a.totalHosts()).toBe(2n);
    expect(a.availableCount()).toBe(2n);
    a.allocate();
    expect(a.availableCount()).toBe(1n);
    a.allocate();
    expect(a.availableCount()).toBe(0n);
  });
  it('state roundtrip', () => {
    const a = new IpAllocator('10.200.0.0/24');
    a.allocate();
    a.allocate();
    const restored = IpAllocator.fromState(JSON.parse(JSON.stringify(a.toState())));
    expect(restored.cidr()).toBe(a.cidr());
    expect(restored.allocatedIps()).toEqual(['10.200.0.1', '10.200.0.2']);
  });
  it('first ip from cidr, network, broadcast, prefix lengths', () => {
    expect(firstIpFromCidr('10.200.0.0/24')).toBe('10.200.0.1');
    const a = new IpAllocator('10.200.0.0/24');
    expect(a.networkAddr()).toBe('10.200.0.0');
    expect(a.broadcastAddr()).toBe('10.200.0.255');
    expect(a.prefixLen()).toBe(24);
    expect(a.hostPrefixLen()).toBe(32);
  });
});

describe('IpAllocator: seed test cases (IPv6)', () => {
  it('new, sequential /126, exhaustion', () => {
    expect(new IpAllocator('fd00::/48').cidr()).toBe('fd00::/48');
    const a = new IpAllocator('fd00::/126');
    expect([a.allocate(), a.allocate(), a.allocate(), a.allocate()]).toEqual(['fd00::1', 'fd00::2', 'fd00::3', undefined]);
  });
  it('first, specific, out of range, release, mark', () => {
    const a = new IpAllocator('fd00::/48');
    expect(a.allocateFirst()).toBe('fd00::1');
    expect(code(() => a.allocateFirst())).toBe('IpAlreadyAllocated');
    expect(a.allocateSpecific('fd00::beef')).toBe('fd00::beef');
    expect(code(() => a.allocateSpecific('fd00::beef'))).toBe('IpAlreadyAllocated');
    expect(code(() => a.allocateSpecific('fe80::1'))).toBe('IpNotInRange');
    expect(a.release('fd00::beef')).toBe(true);
    a.markAllocated('fd00::ff');
    expect(a.isAllocated('fd00::ff')).toBe(true);
  });
  it('contains, counts, addresses', () => {
    const a = new IpAllocator('fd00::/48');
    expect(a.contains('fd00::50')).toBe(true);
    expect(a.contains('fe80::1')).toBe(false);
    expect(new IpAllocator('fd00::/126').totalHosts()).toBe(3n);
    expect(new IpAllocator('fd00::/127').totalHosts()).toBe(1n);
    expect(new IpAllocator('fd00::/128').totalHosts()).toBe(0n);
    // The seed saturated at u32::MAX; raft-ipam counts exactly.
    expect(a.totalHosts()).toBe((1n << 80n) - 1n);
    expect(new IpAllocator('fd00::/64').totalHosts()).toBe((1n << 64n) - 1n);
    expect(a.networkAddr()).toBe('fd00::');
    expect(new IpAllocator('fd00::/126').broadcastAddr()).toBe('fd00::3');
    expect(a.hostPrefixLen()).toBe(128);
    expect(firstIpFromCidr('fd00::/48')).toBe('fd00::1');
  });
  it('available count /126', () => {
    const a = new IpAllocator('fd00::/126');
    const seen = [a.availableCount()];
    for (let i = 0; i < 3; i++) {
      a.allocate();
      seen.push(a.availableCount());
    }
    expect(seen).toEqual([3n, 2n, 1n, 0n]);
  });
  it('state roundtrip keeps canonical strings', () => {
    const a = new IpAllocator('fd00::/48');
    a.allocate();
    a.allocate();
    const json = JSON.stringify(a.toState(), null, 2);
    expect(json).toContain('fd00::1');
    expect(json).toContain('fd00::2');
    expect(IpAllocator.fromState(JSON.parse(json)).allocatedCount()).toBe(2);
  });
});

describe('IpAllocator: cross-family', () => {
  it('families are independent and foreign addresses are refused', () => {
    const v4 = new IpAllocator('10.200.0.0/30');
    const v6 = new IpAllocator('fd00::/126');
    expect(v4.allocate()).toBe('10.200.0.1');
    expect(v6.allocate()).toBe('fd00::1');
    expect(v6.contains('10.200.0.1')).toBe(false);
    expect(v4.contains('fd00::1')).toBe(false);
    expect(code(() => v4.allocateSpecific('fd00::1'))).toBe('AddressFamilyMismatch');
    expect(code(() => v6.allocateSpecific('10.200.0.1'))).toBe('AddressFamilyMismatch');
  });
});

describe('IpAllocator: defects of the seed, fixed', () => {
  it('/31 and /32: counts agree with what allocate hands out (RFC 3021)', () => {
    const p2p = new IpAllocator('10.0.0.0/31');
    expect(p2p.totalHosts()).toBe(2n);
    expect([p2p.allocate(), p2p.allocate(), p2p.allocate()]).toEqual(['10.0.0.0', '10.0.0.1', undefined]);
    expect(p2p.availableCount()).toBe(0n);
    const host = new IpAllocator('10.0.0.7/32');
    expect(host.totalHosts()).toBe(1n);
    expect(host.allocate()).toBe('10.0.0.7');
    expect(host.allocate()).toBeUndefined();
    const v6host = new IpAllocator('fd00::5/128');
    expect(v6host.allocate()).toBeUndefined();
    expect(code(() => v6host.allocateFirst())).toBe('NoAvailableIps');
  });
  it('network and broadcast addresses are never accepted as hosts', () => {
    const a = new IpAllocator('10.200.0.0/24');
    expect(code(() => a.allocateSpecific('10.200.0.0'))).toBe('ReservedAddress');
    expect(code(() => a.allocateSpecific('10.200.0.255'))).toBe('ReservedAddress');
    expect(code(() => a.markAllocated('10.200.0.255'))).toBe('ReservedAddress');
    expect(code(() => new IpAllocator('fd00::/64').markAllocated('fd00::'))).toBe('ReservedAddress');
    expect(code(() => IpAllocator.fromState({ cidr: '10.200.0.0/24', allocated: ['10.200.0.0'] }))).toBe('ReservedAddress');
    expect(a.allocatedCount()).toBe(0);
  });
  it('full /16 hands out every host exactly once, lowest first, then nothing', () => {
    const a = new IpAllocator('10.200.0.0/16');
    let prev = -1;
    let n = 0;
    for (let ip = a.allocate(); ip !== undefined; ip = a.allocate()) {
      const v = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
      expect(v).toBeGreaterThan(prev);
      prev = v;
      n++;
    }
    expect(n).toBe(65534);
    expect(a.availableCount()).toBe(0n);
    expect(a.release('10.200.77.3')).toBe(true);
    expect(a.allocate()).toBe('10.200.77.3');
  });
});

describe('IpAllocator: input handling', () => {
  it('accepts any spelling and answers canonically (RFC 5952)', () => {
    const a = new IpAllocator('FD00:0:0::/64');
    expect(a.cidr()).toBe('fd00::/64');
    expect(a.allocateSpecific('FD00:0000::00AB')).toBe('fd00::ab');
    expect(a.isAllocated('fd00:0::ab')).toBe(true);
    // RFC 5952 §4.2.3: the longest run of zero groups is compressed; on a tie, the first.
    expect(new IpAllocator('2001:db8:0:0:1:0:0:0/96').cidr()).toBe('2001:db8:0:0:1::/96');
    const b = new IpAllocator('2001:db8::/64');
    expect(b.allocateSpecific('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(b.allocateSpecific('2001:0db8:0000:0000:0000:ffff:0a00:0001')).toBe('2001:db8::ffff:a00:1');
  });
  it('prints IPv4-mapped and IPv4-translated addresses in mixed notation (RFC 5952 §5), others in hex', () => {
    // ::ffff:0:0/96 (RFC 4291 §2.5.5.2) and ::ffff:0:0:0/96 (RFC 2765 §2.1): the prefix alone says an IPv4
    // address is embedded, so its last 32 bits print in dotted decimal after the §4 hex part.
    expect(canonicalAddress('::ffff:a00:1')).toBe('::ffff:10.0.0.1');
    expect(canonicalAddress('0:0:0:0:0:FFFF:0A00:0001')).toBe('::ffff:10.0.0.1');
    expect(canonicalAddress('::ffff:0:0')).toBe('::ffff:0.0.0.0');
    expect(canonicalAddress('::ffff:255.255.255.255')).toBe('::ffff:255.255.255.255');
    expect(canonicalAddress('::ffff:0:c000:201')).toBe('::ffff:0:192.0.2.1');
    // Not those prefixes: ::/96 (deprecated IPv4-compatible, indistinguishable from ::1), a different
    // group before ffff, 64:ff9b::/96 (defined after RFC 5952).
    expect(canonicalAddress('::1')).toBe('::1');
    expect(canonicalAddress('::c000:201')).toBe('::c000:201');
    expect(canonicalAddress('::1:ffff:a00:1')).toBe('::1:ffff:a00:1');
    expect(canonicalAddress('64:ff9b::c000:201')).toBe('64:ff9b::c000:201');
    expect(canonicalAddress('::fffe:a00:1')).toBe('::fffe:a00:1');
    // The allocator answers in the same form, and reads it back.
    const m = new IpAllocator('::ffff:10.0.0.0/120');
    expect(m.cidr()).toBe('::ffff:10.0.0.0/120');
    expect(m.allocate()).toBe('::ffff:10.0.0.1');
    expect(m.isAllocated('::ffff:a00:1')).toBe(true);
  });
  it('normalises host bits in a CIDR to the network address', () => {
    const a = new IpAllocator('10.200.0.5/24');
    expect(a.cidr()).toBe('10.200.0.0/24');
    expect(a.allocate()).toBe('10.200.0.1');
  });
  it('malformed addresses get InvalidAddress and change nothing', () => {
    const a = new IpAllocator('10.200.0.0/24');
    a.allocate();
    for (const bad of ['10.200.0', '10.200.0.1/32', '010.200.0.1', ' 10.200.0.1', 'fd00::1%eth0', 'x', '']) {
      expect(code(() => a.allocateSpecific(bad))).toBe('InvalidAddress');
      expect(code(() => a.release(bad))).toBe('InvalidAddress');
    }
    expect(code(() => a.allocateSpecific(42 as unknown as string))).toBe('InvalidAddress');
    expect(a.allocatedIps()).toEqual(['10.200.0.1']);
  });
  it('fromState validates its input', () => {
    expect(code(() => IpAllocator.fromState(null))).toBe('InvalidState');
    expect(code(() => IpAllocator.fromState({ cidr: 1, allocated: [] }))).toBe('InvalidState');
    expect(code(() => IpAllocator.fromState({ cidr: '10.0.0.0/24', allocated: 'x' }))).toBe('InvalidState');
    expect(code(() => IpAllocator.fromState({ cidr: '10.0.0.0/24', allocated: ['10.0.1.1'] }))).toBe('IpNotInRange');
  });
});

describe('IpAllocator: save/load', () => {
  it('saves atomically and loads back; a corrupt file is refused and the old one survives', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ripam-'));
    const path = join(dir, 'alloc.json');
    const a = new IpAllocator('fd00::/64');
    a.allocate();
    a.allocateSpecific('fd00::42');
    await a.save(path);
    const loaded = await IpAllocator.load(path);
    expect(loaded.allocatedIps()).toEqual(['fd00::1', 'fd00::42']);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    a.allocate();
    await a.save(path);
    expect(JSON.parse(await readFile(path, 'utf8')).allocated).toEqual(['fd00::1', 'fd00::2', 'fd00::42']);
    await writeFile(join(dir, 'bad.json'), '{"cidr": "fd00::/64", "alloc');
    await expect(IpAllocator.load(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'InvalidState' });
    await expect(IpAllocator.load(join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'IoError' });
    await expect(a.save(join(dir, 'alloc.json', 'nested'))).rejects.toMatchObject({ code: 'IoError' });
    expect((await IpAllocator.load(path)).allocatedCount()).toBe(3);
  });

  it('many concurrent saves to one path leave one complete file from one of them, and no temp files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ripam-'));
    const path = join(dir, 'alloc.json');
    const writers = Array.from({ length: 64 }, (_, i) => {
      const a = new IpAllocator('10.9.0.0/16');
      for (let k = 0; k <= i; k++) a.allocate(); // writer i saves i + 1 addresses: every file differs
      return a;
    });
    for (let round = 0; round < 3; round++) {
      await Promise.all(writers.map((a) => a.save(path)));
      const loaded = await IpAllocator.load(path); // parses: no two saves wrote into one temp file
      expect(loaded.allocatedIps()).toEqual(writers[loaded.allocatedCount() - 1]?.allocatedIps());
      expect((await readdir(dir)).filter((f) => f !== 'alloc.json')).toEqual([]);
    }
  });
});
