/**
 * Slice geometry and host ranges: the arithmetic every placement and every address rests on, checked
 * against BigInt reference computations at the edges (number ↔ bigint index types, 48 and 64 index bits,
 * long node ids, the last slice of a cluster).
 */
import { describe, expect, it } from 'vitest';
import { parseAddress, parseCidr } from '../src/ipam/address.js';
import { fnv1a64, fnvLowBits, fnvToBigInt } from '../src/ipam/fnv.js';
import { HostRange } from '../src/ipam/host-range.js';
import { Network } from '../src/ipam/network.js';
import { SliceGeometry } from '../src/ipam/slice-geometry.js';
import { AllocationBlock } from '../src/ipam/allocation-block.js';

function refFnv(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(text)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h;
}

describe('fnv', () => {
  it('long inputs (beyond the reused scratch buffer) hash like the reference', () => {
    for (const n of [341, 342, 1000, 5000]) {
      const text = 'ab€'.repeat(n);
      expect(fnvToBigInt(fnv1a64(text))).toBe(refFnv(text));
    }
    expect(fnvToBigInt(fnv1a64('x'))).toBe(refFnv('x')); // and short ones still right after the buffer grew
  });

  it('low bits: hash mod 2^bits up to 48 bits', () => {
    const h = fnv1a64('node-7');
    const full = fnvToBigInt(h);
    for (const bits of [1, 8, 16, 31, 32, 33, 47, 48]) expect(fnvLowBits(h, bits)).toBe(Number(BigInt.asUintN(bits, full)));
  });
});

describe('SliceGeometry', () => {
  it('home slot: the low index bits of the hash, in the index type', () => {
    const small = new SliceGeometry('10.0.0.0/8', 24); // 16 index bits
    expect(small.homeIndex('n1')).toBe(Number(BigInt.asUintN(16, refFnv('n1'))));
    const at48 = new SliceGeometry('fd00::/16', 64); // 48 bits: still numbers
    expect(at48.big).toBe(false);
    expect(at48.homeIndex('n1')).toBe(Number(BigInt.asUintN(48, refFnv('n1'))));
    const at49 = new SliceGeometry('fd00::/15', 64);
    expect(at49.big).toBe(true);
    expect(at49.homeIndex('n1')).toBe(BigInt.asUintN(49, refFnv('n1')));
    const at64 = new SliceGeometry('fd00::/8', 72);
    expect(at64.homeIndex('n1')).toBe(refFnv('n1'));
    const at80 = new SliceGeometry('::/0', 80);
    expect(at80.homeIndex('n1')).toBe(refFnv('n1'));
  });

  it('capacity, last index and slice CIDRs at both ends of the cluster', () => {
    const g = new SliceGeometry('10.200.0.0/16', 24);
    expect(g.capacity()).toBe(256n);
    expect(g.lastIndex()).toBe(255);
    expect(g.sliceAt(0)).toBe('10.200.0.0/24');
    expect(g.sliceAt(255)).toBe('10.200.255.0/24');
    expect(g.sliceCidr(3)).toEqual({ family: 4, prefix: 24, network: 0x0ac80300n, hostBits: 8, hadHostBits: false });
    expect(g.sliceNetwork(255)).toBe(0x0ac8ff00n);
    const big = new SliceGeometry('fd00::/8', 64);
    expect(big.lastIndex()).toBe((1n << 56n) - 1n);
    expect(big.sliceAt((1n << 56n) - 1n)).toBe('fdff:ffff:ffff:ffff::/64');
    expect(big.toIndex(5n)).toBe(5n);
    expect(g.toIndex(5n)).toBe(5);
    const v6small = new SliceGeometry('fd00::/112', 120);
    expect(v6small.sliceAt(255)).toBe('fd00::ff00/120');
  });

  it('indexOfAddress: the slice holding an address, or undefined outside the cluster', () => {
    const g = new SliceGeometry('10.200.0.0/16', 24);
    expect(g.indexOfAddress(0x0ac80501n)).toBe(5);
    expect(g.indexOfAddress(0x0ac90501n)).toBeUndefined();
    const big = new SliceGeometry('fd00::/8', 64);
    expect(big.indexOfAddress((0xfd12n << 112n) | 7n)).toBe(0x12n << 48n);
    expect(big.indexOfSlice('fd12::/64')).toBe(0x12n << 48n);
  });
});

describe('HostRange', () => {
  it('usable bounds per family and width', () => {
    const r = (c: string): [unknown, unknown, bigint] => {
      const h = HostRange.create(parseCidr(c));
      return [h.lo, h.hi, h.total()];
    };
    expect(r('10.0.0.0/24')).toEqual([1, 254, 254n]);
    expect(r('10.0.0.0/30')).toEqual([1, 2, 2n]);
    expect(r('10.0.0.0/31')).toEqual([0, 1, 2n]);
    expect(r('10.0.0.7/32')).toEqual([0, 0, 1n]);
    expect(r('fd00::/120')).toEqual([1, 255, 255n]);
    expect(r('fd00::/80')).toEqual([1, 2 ** 48 - 1, 2n ** 48n - 1n]);
    expect(r('fd00::/79')).toEqual([1n, 2n ** 49n - 1n, 2n ** 49n - 1n]);
    expect(r('fd00::/128')).toEqual([1, 0, 0n]);
  });

  it('offsets and formatting agree in all three offset types', () => {
    for (const [cidr, addr] of [['10.1.2.0/24', '10.1.2.77'], ['fd00::/112', 'fd00::4d'], ['fd00::/64', 'fd00::ffff:4d']] as const) {
      const h = HostRange.create(parseCidr(cidr));
      const offset = h.usableOffset(addr, () => cidr);
      expect(h.format(offset)).toBe(addr);
      expect(h.isUsable(offset)).toBe(true);
      expect(h.contains(h.family, parseAddress(addr).value)).toBe(true);
      const set = h.newSet();
      set.add(offset);
      expect(h.lowestFree(set)).toBe(h.first());
    }
    const v4 = HostRange.create(parseCidr('10.1.2.0/24'));
    expect(v4.contains(6, 1n)).toBe(false);
    expect(v4.isUsable(0)).toBe(false);
    expect(v4.isUsable(255)).toBe(false);
    expect(HostRange.create(parseCidr('fd00::/128')).first()).toBeUndefined();
  });
});

describe('Network owner index', () => {
  it('attach refuses a block whose owners already hold an address here, or that repeats an owner, and changes nothing', () => {
    const net = new Network('pods', '10.0.0.0/16', 24);
    const a = net.addBlock('a', 1);
    net.take(a, 5, 1, 'pod-1');
    expect(net.holding('pod-1')).toEqual({ block: a, offset: 5 });
    const b = new AllocationBlock(net.geometry, 'b', 2);
    b.take(7, 2, 'pod-1');
    expect(() => net.attach(b)).toThrow(expect.objectContaining({ code: 'OwnerConflict', message: 'owner "pod-1" holds two addresses in network "pods"' }));
    expect(net.block('b')).toBeUndefined();
    const c = new AllocationBlock(net.geometry, 'c', 3);
    c.take(7, 3, 'x');
    c.take(8, 4, 'x');
    expect(() => net.attach(c)).toThrow(expect.objectContaining({ code: 'OwnerConflict' }));
    expect(net.slicesAssigned()).toBe(1);
    const d = new AllocationBlock(net.geometry, 'd', 4);
    d.take(9, 5, 'pod-9');
    d.take(10, 6, undefined);
    net.attach(d);
    expect(net.holding('pod-9')).toEqual({ block: d, offset: 9 });
    expect(net.addressesAllocated()).toBe(3);
    expect(net.detach('d')).toBe(d);
    expect(net.holding('pod-9')).toBeUndefined();
    expect(net.detach('d')).toBeUndefined();
  });

  it('locate: only an address of this family, inside an assigned slice', () => {
    const net = new Network('pods', '10.0.0.0/16', 24);
    const a = net.addBlock('a', 1);
    expect(net.locate(4, 0x0a000105n)).toEqual({ block: a, offset: 5 });
    expect(net.locate(4, 0x0a000205n)).toBeUndefined();
    expect(net.locate(4, 0x0b000105n)).toBeUndefined();
    expect(net.locate(6, 0x0a000105n)).toBeUndefined();
    expect(() => net.take(a, 6, 2, 'p')).not.toThrow();
    expect(() => net.take(a, 7, 3, 'p')).toThrow('owner "p" indexed twice in "pods"');
    expect(a.generationOf(7)).toBeUndefined(); // the refused take left the block as it was
    expect(net.addressesAllocated()).toBe(1);
    expect(net.free(a, 6)).toEqual({ offset: 6, generation: 2, owner: 'p' });
    expect(net.holding('p')).toBeUndefined();
    expect(net.free(a, 6)).toBeUndefined();
  });
});

describe('Network owner index: both spellings of where an owner lives', () => {
  it('a refused attach takes out the owners it indexed before the conflict', () => {
    const net = new Network('pods', '10.0.0.0/16', 24);
    const c = new AllocationBlock(net.geometry, 'c', 3);
    c.take(6, 1, 'first');
    c.take(7, 2, 'x');
    c.take(8, 3, 'x');
    expect(() => net.attach(c)).toThrow(expect.objectContaining({ code: 'OwnerConflict', message: 'owner "x" holds two addresses in network "pods"' }));
    expect(net.holding('first')).toBeUndefined();
    expect(net.holding('x')).toBeUndefined();
    const d = new AllocationBlock(net.geometry, 'd', 3);
    d.take(6, 4, 'first');
    net.attach(d); // the same owner and slice go in once the conflicting block is gone
    expect(net.holding('first')).toEqual({ block: d, offset: 6 });
  });

  it('an IPv4 /0 network at the top slice, and a wide IPv6 network with offsets above 2^53, find their owners', () => {
    const v4 = new Network('all', '0.0.0.0/0', 24);
    const top = v4.addBlock('top', 2 ** 24 - 1);
    v4.take(top, 254, 1, 'last');
    expect(v4.holding('last')).toEqual({ block: top, offset: 254 });
    const v6 = new Network('wide', 'fd00::/8', 64);
    const index = (1n << 56n) - 1n;
    const b = v6.addBlock('n', index);
    const high = (1n << 64n) - 1n;
    v6.take(b, high, 2, 'o');
    expect(v6.holding('o')).toEqual({ block: b, offset: high });
    expect(v6.free(b, high)).toEqual({ offset: high, generation: 2, owner: 'o' });
    expect(v6.holding('o')).toBeUndefined();
  });
});
