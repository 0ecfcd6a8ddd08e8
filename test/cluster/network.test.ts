/**
 * The harness network's bookkeeping (which links are cut, partitions, validation) and the loopback
 * address picker; no node processes. The relays here have no real node behind them: nothing dials them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, isLoopbackHost, pickLoopbackHosts } from '../../cluster/addresses.js';
import { Network } from '../../cluster/network.js';

const open: Network[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.close()));
});

async function network(ids: string[]): Promise<Network> {
  const n = new Network();
  open.push(n);
  const hosts = pickLoopbackHosts(ids.length);
  for (const [i, id] of ids.entries()) await n.add(id, hosts[i] as string, { host: hosts[i] as string, port: 1 });
  return n;
}

const links = (n: Network): string[] => n.cuts().map((c) => `${c.from}>${c.to}:${c.mode}`);

describe('harness network', () => {
  it('cuts are directed; cutBoth, healLink and heal do what they say', async () => {
    const n = await network(['a', 'b', 'c']);
    n.cut('a', 'b');
    expect(links(n)).toEqual(['a>b:drop']);
    n.cutBoth('b', 'c', 'reset');
    expect(links(n)).toEqual(['a>b:drop', 'b>c:reset', 'c>b:reset']);
    n.healLink('c', 'b');
    expect(links(n)).toEqual(['a>b:drop', 'b>c:reset']);
    n.heal();
    expect(n.cuts()).toEqual([]);
  });

  it('partition replaces every cut; nodes named in no group form one more group', async () => {
    const n = await network(['a', 'b', 'c', 'd']);
    n.cut('c', 'd');
    n.partition([['a', 'b']]);
    expect(links(n)).toEqual(['a>c:drop', 'a>d:drop', 'b>c:drop', 'b>d:drop', 'c>a:drop', 'c>b:drop', 'd>a:drop', 'd>b:drop']);
    n.partition([['a'], ['b'], ['c', 'd']], 'reset');
    expect(links(n)).toHaveLength(10);
    expect(n.cuts().some((c) => (c.from === 'c' && c.to === 'd') || (c.from === 'd' && c.to === 'c'))).toBe(false);
    n.isolate('d');
    expect(n.cuts().filter((c) => c.from === 'd' || c.to === 'd').map((c) => c.mode)).toEqual(Array(6).fill('drop'));
  });

  it('removing a node closes its relay and forgets every cut that involves it', async () => {
    const n = await network(['a', 'b', 'c']);
    n.isolate('a');
    n.cut('b', 'c');
    await n.remove('a');
    expect(n.ids()).toEqual(['b', 'c']);
    expect(links(n)).toEqual(['b>c:drop']);
  });

  it('flap cuts first, alternates, and stop leaves the link open; heal stops every flapper', async () => {
    const n = await network(['a', 'b']);
    const f = n.flap('a', 'b', { downMs: 20, upMs: 20, both: true });
    expect(links(n)).toEqual(['a>b:drop', 'b>a:drop']);
    let opened = false;
    const deadline = Date.now() + 20_000;
    while (!opened && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
      opened = n.cuts().length === 0;
    }
    expect(opened).toBe(true);
    f.stop();
    expect(n.cuts()).toEqual([]);
    n.flap('a', 'b', { downMs: 1000, upMs: 1000 });
    expect(links(n)).toEqual(['a>b:drop']);
    n.heal();
    expect(n.cuts()).toEqual([]);
  });

  it('refuses unknown nodes, self-links, overlapping groups, bad modes and a shared address', async () => {
    const n = await network(['a', 'b']);
    expect(() => n.cut('a', 'zz')).toThrow(/unknown node "zz"/);
    expect(() => n.cut('a', 'a')).toThrow(/two nodes/);
    expect(() => n.cut('a', 'b', 'lose' as 'drop')).toThrow(/mode/);
    expect(() => n.partition([['a'], ['a', 'b']])).toThrow(/two groups/);
    expect(() => n.partition([])).toThrow(/at least one group/);
    expect(() => n.partition([[]])).toThrow(/non-empty/);
    expect(() => n.flap('a', 'b', { downMs: 0, upMs: 5 })).toThrow(/downMs/);
    expect(n.cuts()).toEqual([]);
    const host = n.relayAddress('a').host;
    await expect(n.add('c', host, { host, port: 1 })).rejects.toThrow(/already a's address/);
    await expect(n.add('a', '127.0.0.1', { host: '127.0.0.1', port: 1 })).rejects.toThrow(/already has a relay/);
  });
});

describe('loopback addresses', () => {
  it('picks distinct 127.0.0.x addresses outside the taken ones, and refuses to pick more than exist', () => {
    const taken = Array.from({ length: 200 }, (_, i) => `127.0.0.${i + 2}`);
    const picked = pickLoopbackHosts(53, taken);
    expect(new Set(picked).size).toBe(53);
    for (const h of picked) {
      expect(isLoopbackHost(h)).toBe(true);
      expect(taken).not.toContain(h);
    }
    expect(() => pickLoopbackHosts(54, taken)).toThrow(RangeError);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
    expect(isLoopbackHost('127.0.0.0')).toBe(false);
    expect(isLoopbackHost('::1')).toBe(false);
  });

  it('finds distinct free ports on a given loopback address', async () => {
    const [host] = pickLoopbackHosts(1);
    const ports = await freePorts(4, host);
    expect(new Set(ports).size).toBe(4);
  });
});
