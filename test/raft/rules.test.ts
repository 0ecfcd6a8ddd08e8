/**
 * Table tests of the Raft rules, each tied to a sentence of the paper (Ongaro & Ousterhout, "In Search of
 * an Understandable Consensus Algorithm", extended version) or of Ongaro's dissertation.
 */
import { describe, expect, it } from 'vitest';
import { RaftCore, type RaftConfig } from '../../src/raft/raft.js';
import { createRng } from '../../src/raft/rng.js';
import { logView, withTestingKnobs, type TestingKnobs } from '../../src/raft/internal.js';
import { SnapshotPolicy } from '../../src/raft/snapshot-policy.js';
import type { ConfChange, Entry, Message, NodeId, Ready } from '../../src/raft/types.js';

const enc = new TextEncoder();

function entries(terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: i + 1, type: 'normal', data: enc.encode(`e${i + 1}`) }));
}

/**
 * A node with a given persisted log (terms of entries 1…n) and term, members `voters`. The membership
 * arrives the way a real node gets it: in a snapshot, here at index 1 standing for entry 1 of `log` (a
 * snapshot at index 0 is refused, since nothing would ever replicate its membership). So every test node
 * holds at least entry 1 (term 1 when `log` is empty), committed.
 */
function node(id: NodeId, voters: NodeId[], opts: { term?: number; vote?: NodeId | null; log?: number[]; commit?: number; cfg?: Partial<RaftConfig>; knobs?: TestingKnobs } = {}): RaftCore {
  const log = entries(opts.log && opts.log.length > 0 ? opts.log : [1]);
  const first = log[0] as Entry;
  const core = new RaftCore(
    withTestingKnobs({ id, electionTick: 10, heartbeatTick: 1, rng: createRng(id.charCodeAt(0)), ...opts.cfg }, opts.knobs ?? {}),
    {
      hardState: { term: opts.term ?? 1, vote: opts.vote ?? null, commit: Math.max(1, opts.commit ?? 0) },
      entries: log.slice(1),
      snapshot: { meta: { index: 1, term: first.term, conf: { voters, learners: [] } }, size: 0 },
    },
  );
  flush(core);
  return core;
}

/** Terms of the whole log 1…last, the boot snapshot's point included. */
function logTerms(core: RaftCore): number[] {
  const v = logView(core);
  return [...(v.offset > 0 ? [v.offsetTerm] : []), ...v.entries.map((e) => e.term)];
}

function flush(core: RaftCore): Ready | undefined {
  if (!core.hasReady()) return undefined;
  const rd = core.ready();
  core.advance(rd);
  return rd;
}

function sent(core: RaftCore): Message[] {
  return flush(core)?.messages ?? [];
}

function vote(from: NodeId, to: NodeId, term: number, lastIndex: number, lastTerm: number): Message {
  return { type: 'vote', from, to, term, lastIndex, lastTerm, transfer: false };
}

function makeLeader(core: RaftCore, peers: NodeId[]): void {
  // Skip the startup lease of the peers by using transfer-style (forced) votes, then win.
  core.campaign();
  let msgs = sent(core);
  const term = core.status().term + (msgs[0]?.type === 'preVote' ? 1 : 0);
  if (msgs[0]?.type === 'preVote') {
    for (const p of peers) core.step({ type: 'preVoteResp', from: p, to: core.id, term, reject: false });
    msgs = sent(core);
  }
  for (const p of peers) core.step({ type: 'voteResp', from: p, to: core.id, term, reject: false });
  flush(core);
  expect(core.status().role).toBe('leader');
}

describe('§5.1 terms', () => {
  it('"If a server receives a request with a stale term number, it rejects the request."', () => {
    const f = node('2', ['1', '2', '3'], { term: 5, log: [1, 1] });
    f.step({ type: 'app', from: '1', to: '2', term: 3, prevIndex: 2, prevTerm: 1, entries: entries([1, 1, 3]).slice(2), commit: 2 });
    const out = sent(f);
    expect(f.status().lastIndex).toBe(2);
    // The stale leader is told the current term so it steps down.
    expect(out).toEqual([expect.objectContaining({ type: 'appResp', to: '1', term: 5 })]);
  });
  it('"If one server’s current term is smaller than the other’s, then it updates its current term to the larger value."', () => {
    const f = node('2', ['1', '2', '3'], { term: 2 });
    f.step({ type: 'heartbeat', from: '1', to: '2', term: 7, commit: 0, readSeq: 0, sentAt: 0 });
    expect(f.status()).toMatchObject({ term: 7, lead: '1', role: 'follower' });
  });
});

describe('§5.2 leader election', () => {
  it('"each server will vote for at most one candidate in a given term, on a first-come-first-served basis"', () => {
    const v = node('3', ['1', '2', '3'], { term: 1 });
    for (let i = 0; i < 10; i++) v.tick(); // past the startup lease
    flush(v);
    v.step(vote('1', '3', 2, 1, 1));
    v.step(vote('2', '3', 2, 1, 1));
    v.step(vote('1', '3', 2, 1, 1)); // a retransmission of the granted request is granted again
    const out = sent(v).filter((m) => m.type === 'voteResp');
    expect(out.map((m) => [m.to, m.type === 'voteResp' && m.reject])).toEqual([['1', false], ['2', true], ['1', false]]);
    expect(v.status().vote).toBe('1');
  });
  it('the vote is in the same Ready as the grant, so the driver persists it before the message leaves', () => {
    const v = node('3', ['1', '2', '3']);
    for (let i = 0; i < 10; i++) v.tick();
    flush(v);
    v.step(vote('1', '3', 2, 1, 1));
    const rd = v.ready();
    expect(rd.hardState).toEqual({ term: 2, vote: '1', commit: 1 }); // commit 1: the boot snapshot
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'voteResp', reject: false })]);
    v.advance(rd);
  });
  it('"If a follower receives no communication over a period of time called the election timeout … it begins an election" (randomized in [T, 2T))', () => {
    for (let seed = 0; seed < 20; seed++) {
      const f = new RaftCore({ id: '1', electionTick: 10, heartbeatTick: 1, rng: createRng(seed) }, { hardState: { term: 1, vote: null, commit: 0 }, entries: [], snapshot: { meta: { index: 1, term: 1, conf: { voters: ['1', '2', '3'], learners: [] } }, size: 0 } });
      let ticks = 0;
      while (f.status().role === 'follower' && ticks < 100) {
        f.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
    }
  });
});

describe('§5.4.1 election restriction', () => {
  // "the voter denies its vote if its own log is more up-to-date than that of the candidate … If the logs
  // have last entries with different terms, then the log with the later term is more up-to-date. If the
  // logs end with the same term, then whichever log is longer is more up-to-date."
  const cases: Array<[string, number[], number, number, boolean]> = [
    ['candidate has a later last term', [1, 1, 2], 2, 3, true],
    ['candidate has an earlier last term, longer log', [1, 1, 3], 5, 2, false],
    ['same last term, candidate longer', [1, 2], 3, 2, true],
    ['same last term, same length', [1, 2], 2, 2, true],
    ['same last term, candidate shorter', [1, 2, 2], 2, 2, false],
    ['voter log holds only the boot snapshot', [], 1, 1, true],
  ];
  for (const [name, voterLog, candLast, candLastTerm, granted] of cases) {
    it(`${name}: ${granted ? 'granted' : 'denied'}`, () => {
      const v = node('3', ['1', '2', '3'], { term: 3, log: voterLog });
      for (let i = 0; i < 10; i++) v.tick();
      flush(v);
      v.step(vote('1', '3', 4, candLast, candLastTerm));
      const resp = sent(v).find((m) => m.type === 'voteResp');
      expect(resp && resp.type === 'voteResp' && !resp.reject).toBe(granted);
    });
  }
  it('the deliberately broken variant grants regardless (what the simulator must catch)', () => {
    const v = node('3', ['1', '2', '3'], { term: 3, log: [1, 1, 3], knobs: { grantVotesWithoutLogCheck: true } });
    for (let i = 0; i < 10; i++) v.tick();
    flush(v);
    v.step(vote('1', '3', 4, 5, 2));
    expect(sent(v).find((m) => m.type === 'voteResp')).toMatchObject({ reject: false });
  });
});

describe('§5.3 log replication', () => {
  it('"If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it"', () => {
    const f = node('2', ['1', '2', '3'], { term: 3, log: [1, 1, 2, 2] });
    f.step({ type: 'app', from: '1', to: '2', term: 3, prevIndex: 2, prevTerm: 1, entries: [{ term: 3, index: 3, type: 'normal', data: enc.encode('new') }], commit: 0 });
    flush(f);
    expect(logTerms(f)).toEqual([1, 1, 3]);
  });
  it('"Reply false if log doesn’t contain an entry at prevLogIndex whose term matches prevLogTerm", with a hint to skip the whole term', () => {
    const f = node('2', ['1', '2', '3'], { term: 3, log: [1, 2, 2, 2, 2] });
    f.step({ type: 'app', from: '1', to: '2', term: 3, prevIndex: 5, prevTerm: 3, entries: [], commit: 0 });
    expect(sent(f)).toEqual([expect.objectContaining({ type: 'appResp', reject: true, index: 5, hintIndex: 5, hintTerm: 2 })]);
  });
  it('"If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry)"', () => {
    const f = node('2', ['1', '2', '3'], { term: 2, log: [1, 1, 1, 1, 1] });
    f.step({ type: 'app', from: '1', to: '2', term: 2, prevIndex: 2, prevTerm: 1, entries: [], commit: 5 });
    expect(f.status().commit).toBe(2); // entries 3..5 are not known to match the leader yet
    f.step({ type: 'app', from: '1', to: '2', term: 2, prevIndex: 5, prevTerm: 1, entries: [], commit: 4 });
    expect(f.status().commit).toBe(4);
  });
  it('Figure 2: committed entries reach the state machine only once persisted', () => {
    const l = node('1', ['1']);
    l.campaign();
    const rd1 = l.ready();
    expect(rd1.entries.map((e) => e.index)).toEqual([2]); // the no-op, to persist (1 is the boot snapshot)
    expect(rd1.committedEntries).toEqual([]);
    l.advance(rd1);
    const rd2 = l.ready();
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([2]);
    l.advance(rd2);
  });
});

describe('§5.4.2 committing entries from previous terms', () => {
  // "Raft never commits log entries from previous terms by counting replicas. Only log entries from the
  // leader’s current term are committed by counting replicas."
  function scenario(knobs: TestingKnobs): RaftCore {
    // Leader of term 3 holds entry 2 from term 2 (uncommitted) and its own no-op at 3.
    const l = node('1', ['1', '2', '3'], { term: 2, log: [1, 2], commit: 1, knobs });
    makeLeader(l, ['2', '3']);
    expect(logTerms(l)).toEqual([1, 2, 3]);
    // Follower 2 acknowledges up to index 2 only (the old-term entry), not the no-op.
    l.step({ type: 'appResp', from: '2', to: '1', term: 3, index: 2, reject: false, hintIndex: 0, hintTerm: 0 });
    flush(l);
    return l;
  }
  it('a majority holding an old-term entry does not commit it…', () => {
    expect(scenario({}).status().commit).toBe(1);
  });
  it('…until an entry of the current term is replicated, which commits both (Log Matching)', () => {
    const l = scenario({});
    l.step({ type: 'appResp', from: '2', to: '1', term: 3, index: 3, reject: false, hintIndex: 0, hintTerm: 0 });
    flush(l);
    expect(l.status().commit).toBe(3);
  });
  it('the deliberately broken variant commits it (Figure 8 becomes possible)', () => {
    expect(scenario({ commitEntriesOfPriorTerms: true }).status().commit).toBe(2);
  });
});

describe('§8 client interaction', () => {
  it('"having each leader commit a blank no-op entry into the log at the start of its term"', () => {
    const l = node('1', ['1', '2', '3'], { term: 1, log: [1, 1] });
    makeLeader(l, ['2', '3']);
    const last = logView(l).entries.at(-1) as Entry;
    expect(last).toMatchObject({ index: 3, term: 2, type: 'normal' });
    expect(last.type === 'normal' && last.data.length).toBe(0);
  });
  it('proposals to a follower are refused with a leader hint', () => {
    const f = node('2', ['1', '2', '3'], { term: 2 });
    f.step({ type: 'heartbeat', from: '1', to: '2', term: 2, commit: 0, readSeq: 0, sentAt: 0 });
    flush(f);
    expect(() => f.propose(enc.encode('x'))).toThrow(expect.objectContaining({ code: 'NotLeader', leaderHint: '1' }));
  });
});

describe('misuse is refused', () => {
  it('stepping between ready() and advance()', () => {
    const l = node('1', ['1']);
    l.campaign();
    const rd = l.ready();
    expect(() => l.tick()).toThrow(expect.objectContaining({ code: 'Misuse' }));
    l.advance(rd);
  });
  it('lease reads without CheckQuorum', () => {
    expect(() => node('1', ['1'], { cfg: { readOnly: 'lease', checkQuorum: false } })).toThrow(expect.objectContaining({ code: 'Misuse' }));
  });
});

describe('snapshot policy (entries or bytes, whichever first)', () => {
  it('is due after the entry threshold or the byte threshold and starts over after reset', () => {
    const p = new SnapshotPolicy({ entries: 3, bytes: 1000, keepTrailing: 2 });
    p.applied(entries([1, 1]));
    expect(p.due()).toBe(false);
    p.applied(entries([1]));
    expect(p.due()).toBe(true);
    p.reset();
    expect(p.due()).toBe(false);
    p.applied([{ term: 1, index: 9, type: 'normal', data: new Uint8Array(2000) }]);
    expect(p.due()).toBe(true);
    expect(() => new SnapshotPolicy({ entries: 0, bytes: 1, keepTrailing: 0 })).toThrow(RangeError);
  });

  it('with logToSnapshot, the entry count also waits for that multiple of the last snapshot in log bytes; the byte cap does not', () => {
    const p = new SnapshotPolicy({ entries: 3, bytes: 100_000, keepTrailing: 2, logToSnapshot: 0.5 });
    const entry = (n: number) => ({ term: 1, index: n, type: 'normal' as const, data: new Uint8Array(84) }); // 100 bytes each (entrySize)
    p.reset(1000); // a snapshot of 1,000 bytes: 500 bytes of log wanted besides 3 entries
    for (let i = 1; i <= 4; i++) p.appliedEntry(entry(i));
    expect(p.due()).toBe(false); // 4 entries, 400 bytes
    p.appliedEntry(entry(5));
    expect(p.due()).toBe(true); // 500 bytes
    p.reset(0); // an empty snapshot: the entry count alone
    for (let i = 1; i <= 3; i++) p.appliedEntry(entry(i));
    expect(p.due()).toBe(true);
    p.reset(10_000_000); // 5 MB wanted, but the 100,000-byte cap still holds
    for (let i = 1; i <= 1000; i++) p.appliedEntry(entry(i));
    expect(p.due()).toBe(true);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new SnapshotPolicy({ entries: 1, bytes: 1, keepTrailing: 0, logToSnapshot: bad })).toThrow(RangeError);
  });
});

describe('batched proposals', () => {
  it('proposeBatch appends consecutive entries and replicates them in one append per follower', () => {
    const l = node('1', ['1', '2', '3']);
    makeLeader(l, ['2', '3']);
    for (const p of ['2', '3']) l.step({ type: 'appResp', from: p, to: '1', term: 2, index: 2, reject: false, hintIndex: 0, hintTerm: 0 });
    flush(l);
    const r = l.proposeBatch(['a', 'b', 'c'].map((x) => enc.encode(x)));
    expect(r).toEqual({ index: 3, term: 2 }); // after the boot snapshot (1) and the no-op (2)
    const apps = sent(l).filter((m) => m.type === 'app');
    expect(apps.map((m) => m.to)).toEqual(['2', '3']);
    expect(apps.map((m) => (m.type === 'app' ? m.entries.map((e) => e.index) : []))).toEqual([[3, 4, 5], [3, 4, 5]]);
  });
});

describe('§4.1 membership: "a server always uses the latest configuration in its log, regardless of whether the entry is committed"', () => {
  const conf = (index: number, term: number, change: ConfChange): Entry => ({ term, index, type: 'conf', change });

  it('a follower counts a conf entry as soon as it is appended, before it is committed or applied', () => {
    const f = node('2', ['1', '2', '3'], { term: 2 });
    f.step({ type: 'app', from: '1', to: '2', term: 2, prevIndex: 1, prevTerm: 1, entries: [conf(2, 2, { op: 'remove', node: '3' })], commit: 1 });
    flush(f);
    expect(f.status()).toMatchObject({ commit: 1, applied: 1, conf: { voters: ['1', '2'], learners: [] } });
  });

  it('"a log entry for a configuration change can be removed (if leadership changes)": the server falls back to the previous configuration', () => {
    const f = node('2', ['1', '2', '3'], { term: 2 });
    f.step({ type: 'app', from: '1', to: '2', term: 2, prevIndex: 1, prevTerm: 1, entries: [conf(2, 2, { op: 'addLearner', node: '4' }), { term: 2, index: 3, type: 'normal', data: enc.encode('x') }], commit: 1 });
    flush(f);
    expect(f.status().conf).toEqual({ voters: ['1', '2', '3'], learners: ['4'] });
    // A leader of term 3 that never had entry 2 overwrites it with an ordinary entry.
    f.step({ type: 'app', from: '3', to: '2', term: 3, prevIndex: 1, prevTerm: 1, entries: [{ term: 3, index: 2, type: 'normal', data: new Uint8Array(0) }], commit: 1 });
    flush(f);
    expect(logTerms(f)).toEqual([1, 3]);
    expect(f.status().conf).toEqual({ voters: ['1', '2', '3'], learners: [] });
  });

  it('a restart counts the latest configuration in the log; applying older conf entries again does not bring back what a later one changed', () => {
    const snapshot = { meta: { index: 1, term: 1, conf: { voters: ['1', '2', '3'], learners: [] } }, size: 0 };
    const log = [conf(2, 1, { op: 'addLearner', node: '4' }), conf(3, 1, { op: 'remove', node: '4' })];
    const c = new RaftCore({ id: '1', electionTick: 10, heartbeatTick: 1, rng: createRng(1) }, { hardState: { term: 1, vote: null, commit: 3 }, entries: log, snapshot });
    expect(c.status().conf).toEqual({ voters: ['1', '2', '3'], learners: [] });
    const rd = flush(c);
    expect(rd?.committedEntries.map((e) => e.index)).toEqual([2, 3]);
    expect(c.status().conf).toEqual({ voters: ['1', '2', '3'], learners: [] });
  });

  it('a snapshot carries the configuration at its own index, not a later uncommitted one', () => {
    const l = node('1', ['1', '2', '3']);
    makeLeader(l, ['2', '3']);
    const noop = l.status().lastIndex;
    for (const p of ['2', '3']) l.step({ type: 'appResp', from: p, to: '1', term: l.status().term, index: noop, reject: false, hintIndex: 0, hintTerm: 0 });
    flush(l);
    flush(l);
    expect(l.status().applied).toBe(noop);
    l.proposeConfChange({ op: 'addLearner', node: '4' });
    flush(l);
    expect(l.status().conf.learners).toEqual(['4']); // the leader counts it now…
    const { snapshot } = l.compact(noop, 0, 0);
    expect(snapshot.meta.conf).toEqual({ voters: ['1', '2', '3'], learners: [] }); // …but not at index `noop`
  });

  it('a leader appending its own removal stops counting itself (§4.2.2) and refuses proposals until the removal commits, then steps down', () => {
    const l = node('1', ['1', '2', '3']);
    makeLeader(l, ['2', '3']);
    const term = l.status().term;
    const noop = l.status().lastIndex;
    for (const p of ['2', '3']) l.step({ type: 'appResp', from: p, to: '1', term, index: noop, reject: false, hintIndex: 0, hintTerm: 0 });
    flush(l);
    flush(l);
    const { index } = l.proposeConfChange({ op: 'remove', node: '1' });
    flush(l);
    expect(() => l.propose(enc.encode('x'))).toThrow(/not a voter/);
    // Its own durable copy does not count: one of {2,3} is not a majority of {2,3}.
    l.step({ type: 'appResp', from: '2', to: '1', term, index, reject: false, hintIndex: 0, hintTerm: 0 });
    flush(l);
    expect(l.status()).toMatchObject({ role: 'leader', commit: noop });
    l.step({ type: 'appResp', from: '3', to: '1', term, index, reject: false, hintIndex: 0, hintTerm: 0 });
    flush(l);
    flush(l);
    expect(l.status()).toMatchObject({ role: 'follower', commit: index, applied: index, conf: { voters: ['2', '3'], learners: [] } });
  });

  it('a server removed by an uncommitted entry still campaigns if it was a voter, asking only the new voters; once it knows the removal committed it never does', () => {
    const f = node('1', ['1', '2', '3', '4'], { term: 2 });
    f.step({ type: 'app', from: '2', to: '1', term: 2, prevIndex: 1, prevTerm: 1, entries: [conf(2, 2, { op: 'remove', node: '1' })], commit: 1 });
    flush(f);
    f.campaign();
    const asked = sent(f).filter((m) => m.type === 'preVote').map((m) => m.to);
    expect(asked).toEqual(['2', '3', '4']);
    expect(f.status().role).toBe('preCandidate');

    const g = node('1', ['1', '2', '3', '4'], { term: 2 });
    g.step({ type: 'app', from: '2', to: '1', term: 2, prevIndex: 1, prevTerm: 1, entries: [conf(2, 2, { op: 'remove', node: '1' })], commit: 2 });
    flush(g);
    g.campaign();
    expect(sent(g)).toEqual([]);
    expect(g.status().role).toBe('follower');
  });

  it('a learner campaigns only as a last resort: never on campaign(), and only after three election timeouts without a leader', () => {
    const f = node('5', ['1', '2', '3'], { term: 2 });
    f.step({ type: 'app', from: '2', to: '5', term: 2, prevIndex: 1, prevTerm: 1, entries: [conf(2, 2, { op: 'addLearner', node: '5' })], commit: 2 });
    flush(f);
    f.campaign();
    expect(sent(f)).toEqual([]);
    // Voters wait one randomized timeout in [10, 20) ticks; a learner three.
    for (let i = 0; i < 29; i++) f.tick();
    expect(sent(f).filter((m) => m.type === 'preVote')).toEqual([]);
    // A word from the leader starts the wait over.
    f.step({ type: 'heartbeat', from: '2', to: '5', term: 2, commit: 2, readSeq: 0, sentAt: 0 });
    flush(f);
    let waited = 0;
    while (f.status().role === 'follower' && waited < 100) {
      f.tick();
      waited++;
    }
    expect(waited).toBeGreaterThanOrEqual(30);
    expect(waited).toBeLessThan(60);
    // It asks the voters of its latest configuration; its own vote does not count.
    expect(sent(f).filter((m) => m.type === 'preVote').map((m) => m.to)).toEqual(['1', '2', '3']);
  });

  it('a learner’s last resort needs CheckQuorum (voters in a lease then ignore it) and always starts with a pre-vote', () => {
    const learner = (cfg: Partial<RaftConfig>): RaftCore => {
      const f = node('5', ['1', '2', '3'], { term: 2, cfg });
      f.step({ type: 'app', from: '2', to: '5', term: 2, prevIndex: 1, prevTerm: 1, entries: [conf(2, 2, { op: 'addLearner', node: '5' })], commit: 2 });
      flush(f);
      return f;
    };
    const withoutCheckQuorum = learner({ checkQuorum: false });
    for (let i = 0; i < 200; i++) withoutCheckQuorum.tick();
    expect(withoutCheckQuorum.status()).toMatchObject({ role: 'follower', term: 2 });
    expect(sent(withoutCheckQuorum).filter((m) => m.type === 'preVote' || m.type === 'vote')).toEqual([]);
    const withoutPreVote = learner({ preVote: false });
    for (let i = 0; i < 60 && withoutPreVote.status().role === 'follower'; i++) withoutPreVote.tick();
    // A pre-vote for term 3, not a real campaign: its term stays 2 until a majority would grant.
    expect(withoutPreVote.status()).toMatchObject({ role: 'preCandidate', term: 2 });
    expect(sent(withoutPreVote).filter((m) => m.type === 'preVote' || m.type === 'vote').map((m) => [m.type, m.term])).toEqual([
      ['preVote', 3],
      ['preVote', 3],
      ['preVote', 3],
    ]);
  });

  it('a learner removed by an uncommitted entry does not campaign (it never had a vote)', () => {
    const f = node('5', ['1', '2', '3'], { term: 2 });
    f.step({ type: 'app', from: '2', to: '5', term: 2, prevIndex: 1, prevTerm: 1, entries: [conf(2, 2, { op: 'addLearner', node: '5' }), conf(3, 2, { op: 'remove', node: '5' })], commit: 1 });
    flush(f);
    f.campaign();
    expect(sent(f)).toEqual([]);
    expect(f.status().role).toBe('follower');
  });
});
