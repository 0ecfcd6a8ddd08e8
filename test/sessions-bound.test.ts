/**
 * The bound on cached session results across all sessions (MAX_CACHED_RESULTS, src/ipam/sessions.ts) at a
 * small scale. The real bound is 1,048,576 results; test/sessions.test.ts reaches it through a snapshot
 * (≈ 17 s). Here the state machine sees a bound of 6, so the rule itself — at the bound a new request is
 * SessionBusy, not executed, not cached, while replays and acks still work — is checked in milliseconds,
 * exactly at the boundary. Only the constant the state machine reads is replaced; the table, the cache and
 * the commands are the real ones.
 */
import { describe, expect, it, vi } from 'vitest';
import { encodeEntry, IpamStateMachine, type EntryOutcome, type IpamCommand, type SessionTag } from '../src/index.js';
import { setupCommands } from './support/ipam-workload.js';

const BOUND = 6;
vi.mock('../src/ipam/sessions.js', async (importOriginal) => ({ ...(await importOriginal<typeof import('../src/ipam/sessions.js')>()), MAX_CACHED_RESULTS: 6 }));

let entryIds = 0;
function entry(command: IpamCommand, session?: SessionTag): Uint8Array {
  return encodeEntry({ id: ++entryIds, command, ...(session !== undefined ? { session } : {}), time: 1_000 });
}
function kind(o: EntryOutcome): string {
  if (o.kind === 'applied') return o.replayed ? 'replayed' : o.result.ok ? 'executed' : `executed:${o.result.error.code}`;
  return o.error.code;
}

describe(`sessions: the bound on cached results in all sessions (scaled down to ${BOUND})`, () => {
  it('one result below the bound a request executes; at the bound it is SessionBusy and changes nothing; any ack makes room', () => {
    const sm = new IpamStateMachine();
    for (const c of setupCommands) expect(sm.apply(c).ok).toBe(true);
    const [a, b, c] = [1, 2, 3].map(() => {
      const o = sm.applyEntry(entry({ type: 'openSession' }));
      if (o.kind !== 'applied' || o.type !== 'openSession' || !o.result.ok) throw new Error('openSession failed');
      return o.result.value.session;
    }) as [number, number, number];
    const alloc = (owner: string): IpamCommand => ({ type: 'allocate', network: 'v4', nodeId: 'n1', owner });
    for (let seq = 1; seq <= 4; seq++) expect(kind(sm.applyEntry(entry(alloc(`a${seq}`), { id: a, seq })))).toBe('executed');
    expect(kind(sm.applyEntry(entry(alloc('b1'), { id: b, seq: 1 })))).toBe('executed'); // 5 cached: still below
    expect(kind(sm.applyEntry(entry(alloc('b2'), { id: b, seq: 2 })))).toBe('executed'); // 6 cached: at the bound

    const before = sm.stateHash();
    const busy = sm.applyEntry(entry(alloc('c1'), { id: c, seq: 1 }));
    expect(busy).toMatchObject({ kind: 'sessionRefused', error: { code: 'SessionBusy', message: `the state holds ${BOUND} unacknowledged session results; acknowledge received results (ack) and retry` } });
    expect(sm.stateHash()).toBe(before);
    expect(sm.addressesOf('c1')).toEqual([]);
    expect(sm.sessionInfo(c)?.cachedSeqs).toEqual([]);
    // A repeated, cached request is still answered from the cache while the table is full.
    expect(kind(sm.applyEntry(entry(alloc('a2'), { id: a, seq: 2 })))).toBe('replayed');

    // Session a acknowledges seqs 1–3 with its next request: 3 results go, 1 is added (4 cached)…
    expect(kind(sm.applyEntry(entry(alloc('a5'), { id: a, seq: 5, ack: 4 })))).toBe('executed');
    expect(sm.sessionInfo(a)?.cachedSeqs).toEqual([4, 5]);
    // …so the refused request, retried unchanged, now executes: the refusal was not cached.
    expect(kind(sm.applyEntry(entry(alloc('c1'), { id: c, seq: 1 })))).toBe('executed');
    expect(sm.addressesOf('c1')).toHaveLength(1);
    expect(kind(sm.applyEntry(entry(alloc('c2'), { id: c, seq: 2 })))).toBe('executed'); // 6 again
    expect(kind(sm.applyEntry(entry(alloc('c3'), { id: c, seq: 3 })))).toBe('SessionBusy');
  });
});
