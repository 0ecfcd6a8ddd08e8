/**
 * RaftCore's public contract as a driver sees it: configuration and boot-state checks, the refusals of
 * propose / conf change / transfer / read / compact (code and message), the Ready protocol, and status().
 * Rule references are to the Raft paper (§) and Ongaro's dissertation.
 */
import { describe, expect, it } from 'vitest';
import { MAX_TERM } from '../../src/raft/message-parse.js';
import { RaftCore, type RaftConfig, type RaftBootState } from '../../src/raft/raft.js';
import { createRng } from '../../src/raft/rng.js';
import { logView } from '../../src/raft/internal.js';
import { SnapshotPolicy } from '../../src/raft/snapshot-policy.js';
import type { Entry, Message } from '../../src/raft/types.js';
import { Cluster, enc } from './cluster.js';

const fresh = (voters: string[], learners: string[] = []): RaftBootState => ({ hardState: { term: 0, vote: null, commit: 0 }, entries: [], initialConf: { voters, learners } });
const cfg = (over: Partial<RaftConfig> = {}): RaftConfig => ({ id: '1', electionTick: 10, heartbeatTick: 1, rng: createRng(1), ...over });
const ents = (from: number, terms: number[]): Entry[] => terms.map((term, i) => ({ term, index: from + i, type: 'normal', data: enc.encode(`e${from + i}`) }));
const snapAt = (index: number, term: number, voters = ['1', '2', '3']) => ({ meta: { index, term, conf: { voters, learners: [] } }, size: 0 });

/** Node 1 becomes leader of a 3-node cluster whose answers to it are all cut: its no-op stays uncommitted. */
function winWithoutAcks(c: Cluster): void {
  c.cut.add('2>1').add('3>1');
  c.core('1').step({ type: 'timeoutNow', from: '2', to: '1', term: c.core('1').status().term });
  c.stabilize();
  const term = c.core('1').status().term;
  for (const p of ['2', '3']) c.core('1').step({ type: 'voteResp', from: p, to: '1', term, reject: false });
  c.flush('1');
}

function misuse(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error('no error');
}

describe('configuration checks', () => {
  it('needs 0 < heartbeatTick < electionTick', () => {
    expect(misuse(() => new RaftCore(cfg({ heartbeatTick: 0 }), fresh(['1'])))).toEqual({ code: 'Misuse', message: 'need 0 < heartbeatTick < electionTick, got 0 and 10' });
    expect(misuse(() => new RaftCore(cfg({ heartbeatTick: 10 }), fresh(['1'])))).toEqual({ code: 'Misuse', message: 'need 0 < heartbeatTick < electionTick, got 10 and 10' });
    expect(new RaftCore(cfg({ heartbeatTick: 1, electionTick: 2 }), fresh(['1'])).status().term).toBe(1);
  });

  it('every size limit must be at least 1', () => {
    for (const k of ['maxSizePerMsg', 'maxInflightMsgs', 'snapshotChunkBytes', 'maxUncommittedEntries', 'maxUncommittedBytes'] as const) {
      expect(misuse(() => new RaftCore(cfg({ [k]: 0 }), fresh(['1'])))).toEqual({ code: 'Misuse', message: `${k} must be at least 1, got 0` });
      expect(misuse(() => new RaftCore(cfg({ [k]: NaN }), fresh(['1']))).code).toBe('Misuse');
      expect(new RaftCore(cfg({ [k]: 1 }), fresh(['1'])).status().role).toBe('follower');
    }
  });

  it('lease reads need CheckQuorum', () => {
    expect(misuse(() => new RaftCore(cfg({ readOnly: 'lease', checkQuorum: false }), fresh(['1'])))).toEqual({
      code: 'Misuse',
      message: 'lease reads are only safe with checkQuorum (a leader must step down when it loses its quorum)',
    });
  });
});

describe('boot state checks', () => {
  it('a boot snapshot at index 0 is refused', () => {
    expect(misuse(() => new RaftCore(cfg(), { hardState: { term: 1, vote: null, commit: 0 }, entries: [], snapshot: snapAt(0, 0) }))).toEqual({
      code: 'Misuse',
      message: 'a boot snapshot must be at index 1 or later; give the initial membership as initialConf',
    });
  });

  it('the persisted term must be usable: 0 ≤ term < MAX_TERM, an integer', () => {
    for (const term of [-1, 1.5, MAX_TERM, NaN]) {
      expect(misuse(() => new RaftCore(cfg(), { hardState: { term, vote: null, commit: 1 }, entries: [], snapshot: snapAt(1, 1) }))).toEqual({
        code: 'Misuse',
        message: `persisted term ${term} is not a usable term (0 ≤ term < ${MAX_TERM})`,
      });
    }
    expect(new RaftCore(cfg(), { hardState: { term: MAX_TERM - 1, vote: null, commit: 1 }, entries: [], snapshot: snapAt(1, 1) }).status().term).toBe(MAX_TERM - 1);
  });

  it('entries at or below the snapshot are dropped; the rest must be contiguous after it', () => {
    const core = new RaftCore(cfg(), { hardState: { term: 2, vote: null, commit: 3 }, entries: ents(1, [1, 1, 2, 2, 2]), snapshot: snapAt(3, 2) });
    expect(logView(core).offset).toBe(3);
    expect(logView(core).entries.map((e) => e.index)).toEqual([4, 5]);
    expect(core.status().lastIndex).toBe(5);
    expect(misuse(() => new RaftCore(cfg(), { hardState: { term: 2, vote: null, commit: 3 }, entries: [...ents(4, [2]), ...ents(6, [2])], snapshot: snapAt(3, 2) }))).toEqual({
      code: 'Misuse',
      message: 'boot entries are not contiguous after 3',
    });
  });

  it('a persisted commit index beyond the log is refused', () => {
    expect(misuse(() => new RaftCore(cfg(), { hardState: { term: 2, vote: null, commit: 6 }, entries: ents(2, [2, 2]), snapshot: snapAt(1, 1) }))).toEqual({
      code: 'Misuse',
      message: 'commit 6 beyond last index 3',
    });
  });

  it('initialConf is only for a brand-new node', () => {
    expect(misuse(() => new RaftCore(cfg(), { hardState: { term: 3, vote: null, commit: 0 }, entries: [], initialConf: { voters: ['1'], learners: [] } }))).toEqual({
      code: 'Misuse',
      message: 'initialConf given to a node with persisted state',
    });
    // A node with a snapshot takes its membership from the snapshot; initialConf is not used.
    const restarted = new RaftCore(cfg(), { hardState: { term: 3, vote: null, commit: 1 }, entries: [], snapshot: snapAt(1, 1, ['1', '2']), initialConf: { voters: ['9'], learners: [] } });
    expect(restarted.status().conf).toEqual({ voters: ['1', '2'], learners: [] });
    // A node with persisted entries (no snapshot) replays them; initialConf is not used either.
    const withLog = new RaftCore(cfg(), { hardState: { term: 1, vote: null, commit: 1 }, entries: [{ term: 1, index: 1, type: 'conf', change: { op: 'addVoter', node: '1' } }], initialConf: { voters: ['9'], learners: [] } });
    expect(withLog.status().lastIndex).toBe(1);
  });

  it('bootstrap writes the membership as committed conf entries: voters then learners, sorted, once each', () => {
    const core = new RaftCore(cfg(), fresh(['3', '1', '3'], ['5', '4']));
    expect(logView(core).entries.map((e) => (e.type === 'conf' ? `${e.change.op}:${e.change.node}` : 'normal'))).toEqual(['addVoter:1', 'addVoter:3', 'addLearner:4', 'addLearner:5']);
    expect(core.status()).toMatchObject({ term: 1, commit: 4 });
    const committed: number[] = [];
    while (core.hasReady()) {
      const rd = core.ready();
      committed.push(...rd.committedEntries.map((e) => e.index));
      core.advance(rd);
    }
    expect(committed).toEqual([1, 2, 3, 4]);
    expect(core.status().conf).toEqual({ voters: ['1', '3'], learners: ['4', '5'] });
  });

  it('an initial membership without a voter is refused', () => {
    expect(misuse(() => new RaftCore(cfg(), fresh([], ['2'])))).toEqual({ code: 'Misuse', message: 'initial membership needs at least one voter' });
  });
});

describe('the Ready protocol', () => {
  it('advance() needs a ready(); nothing may be stepped while a Ready is outstanding', () => {
    const core = new RaftCore(cfg(), fresh(['1']));
    expect(misuse(() => core.advance({ entries: [], messages: [], committedEntries: [], readStates: [] }))).toEqual({ code: 'Misuse', message: 'advance() without ready()' });
    const rd = core.ready();
    expect(misuse(() => core.tick())).toEqual({ code: 'Misuse', message: 'call advance() before stepping the node again' });
    core.advance(rd);
    core.tick();
  });

  it('a Ready carries a hard state only when term, vote or commit changed', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.tick('1'); // a heartbeat round: messages only
    const last = (c.readies.get('1') ?? []).at(-1);
    expect(last?.messages.length).toBeGreaterThan(0);
    expect(last?.hardState).toBeUndefined();
  });

  it('a winner keeps the vote it gave itself (persisted): after a restart it cannot vote for another in that term', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    const st = c.core('1').status();
    expect(st.role).toBe('leader');
    expect(st.vote).toBe('1');
    expect(c.stored.get('1')?.hardState).toMatchObject({ term: st.term, vote: '1' });
  });
});

describe('messages not for this node', () => {
  it('a message addressed to another node, or claiming to come from this node, changes nothing', () => {
    const c = new Cluster(['1', '2', '3']);
    const core = c.core('2');
    const before = JSON.stringify(core.status());
    core.step({ type: 'heartbeat', from: '1', to: '3', term: 5, commit: 0, readSeq: 0, sentAt: 0 });
    core.step({ type: 'heartbeat', from: '2', to: '2', term: 5, commit: 0, readSeq: 0, sentAt: 0 });
    expect(JSON.stringify(core.status())).toBe(before);
    expect(core.hasReady()).toBe(false);
  });
});

describe('leader-only operations refuse on a follower, naming the leader', () => {
  it('propose, transferLeadership and readIndex', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    const f = c.core('2');
    for (const [op, message] of [
      [() => f.propose(enc.encode('x')), 'not the leader'],
      [() => f.transferLeadership('3'), 'not the leader'],
      [() => f.readIndex('r'), 'reads are served by the leader'],
      [() => f.proposeConfChange({ op: 'addLearner', node: '4' }), 'not the leader'],
    ] as const) {
      try {
        op();
        throw new Error('accepted');
      } catch (e) {
        expect(e).toMatchObject({ code: 'NotLeader', message, leaderHint: '1' });
      }
    }
  });

  it('an empty proposal batch is a misuse', () => {
    const c = new Cluster(['1']);
    c.elect('1');
    expect(misuse(() => c.core('1').proposeBatch([]))).toEqual({ code: 'Misuse', message: 'empty proposal batch' });
  });
});

describe('membership changes (§4.1 of the dissertation)', () => {
  function leaderOf3(): Cluster {
    const c = new Cluster(['1', '2', '3'], {}, { voters: ['1', '2', '3'], learners: ['4'] });
    c.addEmpty('4');
    c.elect('1');
    return c;
  }

  it('refuses changes that make no sense, each with its reason', () => {
    const c = leaderOf3();
    const l = c.core('1');
    const cases: Array<[Parameters<RaftCore['proposeConfChange']>[0], string]> = [
      [{ op: 'addVoter', node: '2' }, '2 is already a voter'],
      [{ op: 'addLearner', node: '2' }, '2 is already a voter (demotion is not supported)'],
      [{ op: 'addLearner', node: '4' }, '4 is already a learner'],
      [{ op: 'remove', node: '9' }, '9 is not a member'],
    ];
    for (const [change, message] of cases) expect(misuse(() => l.proposeConfChange(change))).toEqual({ code: 'InvalidConfChange', message });
    // Sensible changes are accepted: promote the learner, remove a voter, add a new learner.
    expect(l.proposeConfChange({ op: 'addVoter', node: '4' }).index).toBeGreaterThan(0);
  });

  it('removing a learner, or a voter of several, is fine; removing the last voter is not', () => {
    const c = leaderOf3();
    c.core('1').proposeConfChange({ op: 'remove', node: '4' });
    c.stabilize();
    expect(c.core('1').status().conf).toEqual({ voters: ['1', '2', '3'], learners: [] });
    c.core('1').proposeConfChange({ op: 'remove', node: '3' });
    c.stabilize();
    expect(c.core('1').status().conf).toEqual({ voters: ['1', '2'], learners: [] });

    const solo = new Cluster(['1']);
    solo.elect('1');
    expect(misuse(() => solo.core('1').proposeConfChange({ op: 'remove', node: '1' }))).toEqual({ code: 'InvalidConfChange', message: 'cannot remove the last voter' });
  });

  it('refused until the leader has committed an entry of its own term, and while an earlier change is unapplied', () => {
    const c = new Cluster(['1', '2', '3']);
    c.cut.add('2>1').add('3>1'); // the leader's no-op is never acknowledged
    winWithoutAcks(c);
    const l = c.core('1');
    expect(l.status().role).toBe('leader');
    expect(misuse(() => l.proposeConfChange({ op: 'addLearner', node: '4' }))).toEqual({ code: 'ConfChangePending', message: 'leader has not committed an entry of its term yet' });
    c.heal();
    c.tick('1');
    c.stabilize();
    const r = l.proposeConfChange({ op: 'addLearner', node: '4' });
    expect(misuse(() => l.proposeConfChange({ op: 'addLearner', node: '5' }))).toEqual({ code: 'ConfChangePending', message: `conf change at index ${r.index} is not applied yet` });
    c.stabilize();
    expect(l.proposeConfChange({ op: 'addLearner', node: '5' }).index).toBe(r.index + 1);
  });

  it('a new member gets entries from the leader as soon as the change is in the leader\'s log (§4.1)', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.propose('1', 'a');
    c.stabilize();
    c.addEmpty('4');
    c.core('1').proposeConfChange({ op: 'addLearner', node: '4' });
    c.stabilize();
    expect(c.applied.get('4')).toEqual(['a']);
    // It holds the whole log, its own addLearner entry included (the commit of that entry reaches it with the next heartbeat).
    expect(c.core('4').status().lastIndex).toBe(c.core('1').status().lastIndex);
    expect(c.core('1').status().progress?.['4']).toMatchObject({ match: c.core('1').status().lastIndex });
  });

  it('a removed leader steps down and the rest elect a new one', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.core('1').proposeConfChange({ op: 'remove', node: '1' });
    c.stabilize();
    expect(c.core('1').status().role).toBe('follower');
    expect(c.core('2').status().conf.voters).toEqual(['2', '3']);
    c.elect('2');
    expect(c.core('2').status().role).toBe('leader');
  });
});

describe('leadership transfer (§3.10 of the dissertation)', () => {
  it('to itself is a no-op; to a non-voter is refused', () => {
    const c = new Cluster(['1', '2', '3'], {}, { voters: ['1', '2', '3'], learners: ['4'] });
    c.elect('1');
    c.clearSent();
    c.core('1').transferLeadership('1');
    c.flush('1');
    expect(c.sentBy('1', 'timeoutNow')).toEqual([]);
    expect(c.core('1').propose(enc.encode('still leading')).index).toBeGreaterThan(0);
    expect(misuse(() => c.core('1').transferLeadership('4'))).toEqual({ code: 'InvalidConfChange', message: '4 is not a voter' });
    expect(misuse(() => c.core('1').transferLeadership('9'))).toEqual({ code: 'InvalidConfChange', message: '9 is not a voter' });
  });

  it('an up-to-date target is told to campaign at once; proposals are refused meanwhile', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.clearSent();
    c.core('1').transferLeadership('2');
    c.flush('1');
    expect(c.sentBy('1', 'timeoutNow').map((m) => m.to)).toEqual(['2']);
    try {
      c.core('1').propose(enc.encode('x'));
      throw new Error('accepted');
    } catch (e) {
      expect(e).toMatchObject({ code: 'ProposalDropped', message: 'leadership is moving to 2', leaderHint: '2' });
    }
    c.stabilize();
    expect(c.core('2').status().role).toBe('leader');
  });

  it('a lagging target first catches up, then gets TimeoutNow', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.cut.add('1>3');
    c.propose('1', 'a');
    c.stabilize();
    c.heal();
    c.clearSent();
    c.core('1').transferLeadership('3');
    c.flush('1');
    expect(c.sentBy('1', 'timeoutNow')).toEqual([]);
    expect(c.sentBy('1', 'app').map((m) => m.to)).toContain('3');
    c.stabilize();
    expect(c.sentBy('1', 'timeoutNow').map((m) => m.to)).toEqual(['3']);
    expect(c.core('3').status().role).toBe('leader');
  });

  it('a transfer that does not finish within an election timeout is abandoned: proposals flow again', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.cut.add('1>2');
    c.core('1').transferLeadership('2');
    c.stabilize();
    expect(() => c.core('1').propose(enc.encode('x'))).toThrow(/leadership is moving/);
    for (let i = 0; i < 10; i++) {
      c.tick('1');
      c.stabilize();
    }
    expect(c.core('1').status().role).toBe('leader');
    expect(c.core('1').propose(enc.encode('y')).index).toBeGreaterThan(0);
  });
});

describe('reads (§6.4)', () => {
  it('a read asked before the leader committed an entry of its term waits, is counted as pending, then is served', () => {
    const c = new Cluster(['1', '2', '3']);
    c.cut.add('2>1').add('3>1');
    winWithoutAcks(c);
    const l = c.core('1');
    expect(l.status().role).toBe('leader');
    l.readIndex('early');
    expect(l.status().pendingReads).toBe(1);
    c.stabilize();
    expect(c.reads.get('1')).toEqual([]);
    c.heal();
    c.tick('1');
    c.stabilize();
    expect(c.reads.get('1')).toEqual([{ index: l.status().commit, ctx: 'early' }]);
    expect(l.status().pendingReads).toBe(0);
  });

  it('a single-voter cluster answers a read at once', () => {
    const c = new Cluster(['1']);
    c.elect('1');
    c.core('1').readIndex('r');
    c.flush('1');
    expect(c.reads.get('1')).toEqual([{ index: c.core('1').status().commit, ctx: 'r' }]);
  });

  it('status shows progress and pending reads only on a leader', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    const f = c.core('2').status();
    expect(f.progress).toBeUndefined();
    expect(f.pendingReads).toBeUndefined();
    const l = c.core('1').status();
    expect(Object.keys(l.progress ?? {})).toEqual(['1', '2', '3']);
    expect(l.pendingReads).toBe(0);
  });
});

describe('compact', () => {
  it('refuses a point beyond the applied index, an empty state, an old point and a bad window', () => {
    const c = new Cluster(['1']);
    c.elect('1');
    c.propose('1', 'a');
    c.flush('1');
    const core = c.core('1');
    const applied = core.status().applied;
    expect(misuse(() => core.compact(applied + 1, 0, 0))).toEqual({ code: 'Misuse', message: `compact at ${applied + 1} but applied is ${applied}` });
    for (const bad of [-1, 1.5]) expect(misuse(() => core.compact(applied, 0, bad))).toEqual({ code: 'Misuse', message: `keepTrailing must be a non-negative integer, got ${bad}` });
    const { snapshot, compactedTo } = core.compact(applied, 1, 1);
    expect(snapshot.meta.index).toBe(applied);
    expect(compactedTo).toBe(applied - 1);
    expect(misuse(() => core.compact(applied, 0, 0))).toEqual({ code: 'SnapshotOutOfDate', message: `snapshot at ${applied} is not older than ${applied}` });
    const policy = new SnapshotPolicy({ entries: 1, bytes: 1, keepTrailing: 0 });
    c.propose('1', 'b');
    c.flush('1');
    policy.applied([{ term: 1, index: 1, type: 'normal', data: new Uint8Array() }]);
    expect(policy.due()).toBe(true);
    expect(core.compact(core.status().applied, 0, policy).compactedTo).toBe(core.status().applied);
    expect(policy.due()).toBe(false);
  });

  it('a node that has applied nothing has nothing to snapshot', () => {
    const core = new RaftCore(cfg({ id: '4' }), { hardState: { term: 0, vote: null, commit: 0 }, entries: [] });
    expect(misuse(() => core.compact(0, 0, 0))).toEqual({ code: 'Misuse', message: 'nothing is applied yet: there is nothing to snapshot' });
  });
});

describe('elections', () => {
  it('a single voter wins its own election: one term up, leader at once', () => {
    const core = new RaftCore(cfg(), fresh(['1']));
    while (core.hasReady()) core.advance(core.ready());
    core.campaign();
    expect(core.status()).toMatchObject({ role: 'leader', term: 2, vote: '1' });
  });

  it('campaign() on a leader, or on a node that is not a voter, does nothing', () => {
    const c = new Cluster(['1', '2', '3'], {}, { voters: ['1', '2', '3'], learners: ['4'] });
    c.addEmpty('4');
    c.elect('1');
    const term = c.core('1').status().term;
    c.core('1').campaign();
    c.stabilize();
    expect(c.core('1').status()).toMatchObject({ role: 'leader', term });
    c.core('4').campaign();
    c.stabilize();
    expect(c.core('4').status().role).toBe('follower');
    expect(c.core('1').status()).toMatchObject({ role: 'leader', term });
  });

  it('a deposed leader campaigns again after an election timeout as a follower', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.elect('2');
    expect(c.core('1').status().role).toBe('follower');
    c.isolate('2');
    const term = c.core('1').status().term;
    for (let i = 0; i < 30 && c.core('1').status().term === term; i++) c.tick('1');
    expect(c.core('1').status().role).not.toBe('follower');
  });

  it('a candidate refused by a majority goes back to follower', () => {
    const c = new Cluster(['1', '2', '3'], { preVote: false, checkQuorum: false });
    c.elect('2');
    c.propose('2', 'x');
    c.cut.add('2>1');
    c.stabilize();
    c.heal();
    // 1 is behind: its vote request is refused by 2 and 3 (§5.4.1).
    c.core('1').campaign();
    c.stabilize();
    expect(c.core('1').status().role).toBe('follower');
  });

  it('a node at a newer term tells a stale pre-candidate its term', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    const f = c.core('2');
    const term = f.status().term;
    c.clearSent();
    f.step({ type: 'preVote', from: '3', to: '2', term: term - 1, lastIndex: 1, lastTerm: 1, transfer: false });
    c.flush('2');
    expect(c.sentBy('2')).toEqual([{ type: 'preVoteResp', from: '2', to: '3', term, reject: true, reason: 'staleTerm' }]);
  });

  it('without PreVote and CheckQuorum a stale leader gets no answer from a newer-term node', () => {
    const c = new Cluster(['1', '2', '3'], { preVote: false, checkQuorum: false });
    c.elect('1');
    c.elect('2');
    c.clearSent();
    const m: Message = { type: 'heartbeat', from: '1', to: '3', term: c.core('3').status().term - 1, commit: 0, readSeq: 0, sentAt: 0 };
    c.core('3').step(m);
    c.flush('3');
    expect(c.sentBy('3')).toEqual([]);
  });

  it('with PreVote only (no CheckQuorum) a stale leader is still told the newer term', () => {
    const c = new Cluster(['1', '2', '3'], { checkQuorum: false });
    c.elect('1');
    c.elect('2');
    c.clearSent();
    const term = c.core('3').status().term;
    c.core('3').step({ type: 'app', from: '1', to: '3', term: term - 1, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 });
    c.flush('3');
    expect(c.sentBy('3').map((m) => [m.type, m.term])).toEqual([['appResp', term]]);
  });

  it('without CheckQuorum an isolated leader keeps leading (it has no way to know)', () => {
    const c = new Cluster(['1', '2', '3'], { checkQuorum: false });
    c.elect('1');
    c.isolate('1');
    c.tick('1', 50);
    expect(c.core('1').status().role).toBe('leader');
  });

  it('with CheckQuorum an isolated leader steps down after an election timeout', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.isolate('1');
    c.tick('1', 25);
    expect(c.core('1').status().role).not.toBe('leader');
  });
});
