/**
 * ProgressTracker: membership and the leader's quorum questions (§5.2 votes, §5.3 commit, §6.2
 * CheckQuorum, §6.4.1 lease), answered over voters only, with learners and strangers never counted.
 */
import { describe, expect, it } from 'vitest';
import { ProgressTracker } from '../../src/raft/tracker.js';

const tracker = (voters: string[], learners: string[] = []): ProgressTracker => new ProgressTracker({ voters, learners }, 4, 0);

describe('ProgressTracker membership', () => {
  it('reports its configuration sorted, and a node listed as voter and learner is a voter only', () => {
    const t = tracker(['3', '1', '2'], ['5', '2', '4']);
    expect(t.confState()).toEqual({ voters: ['1', '2', '3'], learners: ['4', '5'] });
    expect(t.voters()).toEqual(['1', '2', '3']);
    expect(t.voterCount).toBe(3);
    expect(t.isVoter('2')).toBe(true);
    expect(t.isLearner('2')).toBe(false);
    expect(t.isLearner('4')).toBe(true);
    expect(t.isVoter('4')).toBe(false);
    expect(t.isLearner('9')).toBe(false);
  });

  it('setConf replaces the whole membership', () => {
    const t = tracker(['1', '2', '3'], ['4']);
    t.setConf({ voters: ['7'], learners: ['8'] });
    expect(t.confState()).toEqual({ voters: ['7'], learners: ['8'] });
    expect(t.voterCount).toBe(1);
  });

  it('addLearner never demotes a voter; addVoter promotes a learner', () => {
    const t = tracker(['1', '2'], ['3']);
    t.applyConfChange({ op: 'addLearner', node: '2' }, undefined);
    expect(t.confState()).toEqual({ voters: ['1', '2'], learners: ['3'] });
    t.applyConfChange({ op: 'addVoter', node: '3' }, undefined);
    expect(t.confState()).toEqual({ voters: ['1', '2', '3'], learners: [] });
    t.applyConfChange({ op: 'remove', node: '1' }, undefined);
    expect(t.confState()).toEqual({ voters: ['2', '3'], learners: [] });
  });

  it('a leader gets a Progress for a new member (active for the next CheckQuorum round); a follower does not', () => {
    const follower = tracker(['1', '2']);
    expect(follower.applyConfChange({ op: 'addVoter', node: '3' }, undefined)).toBeUndefined();
    expect(follower.progress('3')).toBeUndefined();

    const leader = tracker(['1', '2']);
    leader.resetProgress('1', 10, 10);
    const pr = leader.applyConfChange({ op: 'addLearner', node: '3' }, 11);
    expect(pr).toBeDefined();
    expect(leader.progress('3')).toBe(pr);
    expect(pr?.next).toBe(11);
    expect(pr?.recentActive).toBe(true);
  });

  it('a promoted learner keeps the progress it has made', () => {
    const t = tracker(['1', '2'], ['3']);
    t.resetProgress('1', 10, 10);
    const before = t.progress('3');
    before?.maybeUpdate(7);
    expect(t.applyConfChange({ op: 'addVoter', node: '3' }, 11)).toBeUndefined();
    expect(t.progress('3')).toBe(before);
    expect(t.progress('3')?.match).toBe(7);
  });

  it('a removed member no longer counts at once, and loses its Progress only when dropped (after the removal commits)', () => {
    const t = tracker(['1', '2', '3']);
    t.resetProgress('1', 5, 5);
    t.applyConfChange({ op: 'remove', node: '3' }, 6);
    expect(t.confState()).toEqual({ voters: ['1', '2'], learners: [] });
    // Still tracked: the leader keeps replicating to it until the removal is committed, so it learns it is out.
    expect(t.progress('3')).toBeDefined();
    t.dropProgress('3');
    expect(t.progress('3')).toBeUndefined();
    expect(t.peers('1')).toEqual(['2']);
  });
});

describe('ProgressTracker progress', () => {
  it('resetProgress: the leader matches what it has persisted; everyone else probes after the last index', () => {
    const t = tracker(['2', '1', '3'], ['4']);
    t.resetProgress('1', 10, 8);
    expect(t.progress('1')).toMatchObject({ match: 8, next: 9, state: 'replicate' });
    for (const id of ['2', '3', '4']) expect(t.progress(id)).toMatchObject({ match: 0, next: 11, state: 'probe' });
    expect(t.peers('1')).toEqual(['2', '3', '4']);
    expect(t.entries().map(([id]) => id)).toEqual(['1', '2', '3', '4']);
  });

  it('peers and entries come out in id order whatever the insertion order', () => {
    const t = tracker(['b', 'd', 'a'], ['c']);
    t.resetProgress('d', 1, 1);
    t.applyConfChange({ op: 'addLearner', node: '0' }, 2);
    expect(t.peers('d')).toEqual(['0', 'a', 'b', 'c']);
    expect(t.entries().map(([id]) => id)).toEqual(['0', 'a', 'b', 'c', 'd']);
  });

  it('commit index: what a majority of voters holds; learners never count; no voters commits nothing', () => {
    const t = tracker(['1', '2', '3'], ['4']);
    t.resetProgress('1', 10, 10);
    t.progress('4')?.maybeUpdate(10);
    expect(t.committed()).toBe(0);
    t.progress('2')?.maybeUpdate(6);
    expect(t.committed()).toBe(6);
    t.progress('3')?.maybeUpdate(9);
    expect(t.committed()).toBe(9);
    t.setConf({ voters: [], learners: ['4'] });
    expect(t.committed()).toBe(0);
  });

  it('a voter without a Progress yet (new conf, not yet reset) counts as holding nothing', () => {
    const t = tracker(['1']);
    t.resetProgress('1', 5, 5);
    t.setConf({ voters: ['1', '2', '3'], learners: [] });
    expect(t.committed()).toBe(0);
    expect(t.quorumActiveAndReset('1')).toBe(false);
    expect(t.leaseQuorumSentAt('1', 50)).toBe(-Infinity);
  });

  it('CheckQuorum: the leader counts itself; a round needs a majority heard from, then starts over', () => {
    const t = tracker(['1', '2', '3', '4', '5']);
    t.resetProgress('1', 1, 1);
    expect(t.quorumActiveAndReset('1')).toBe(false); // only the leader
    t.progress('2')?.markActive();
    expect(t.quorumActiveAndReset('1')).toBe(false); // 2 of 5
    t.progress('2')?.markActive();
    t.progress('3')?.markActive();
    expect(t.quorumActiveAndReset('1')).toBe(true); // 3 of 5
    expect(t.progress('2')?.recentActive).toBe(false);
    expect(t.quorumActiveAndReset('1')).toBe(false); // the next round starts from nothing
  });

  it('lease: the newest heartbeat time a majority answered, the leader counting itself as now', () => {
    const t = tracker(['1', '2', '3']);
    t.resetProgress('1', 1, 1);
    expect(t.leaseQuorumSentAt('1', 20)).toBe(-Infinity);
    t.progress('2')?.heartbeatAnswered(12);
    expect(t.leaseQuorumSentAt('1', 20)).toBe(12);
    t.progress('3')?.heartbeatAnswered(15);
    expect(t.leaseQuorumSentAt('1', 20)).toBe(15);
    t.setConf({ voters: [], learners: [] });
    expect(t.leaseQuorumSentAt('1', 20)).toBe(-Infinity);
  });
});

describe('ProgressTracker votes', () => {
  it('counts voters only; the first answer of each voter counts', () => {
    const t = tracker(['1', '2', '3'], ['4']);
    t.recordVote('1', true);
    t.recordVote('4', true); // a learner's vote is not a vote
    t.recordVote('9', true); // nor a stranger's
    expect(t.tallyVotes()).toBe('pending');
    t.recordVote('2', false);
    t.recordVote('2', true); // a duplicate cannot flip a refusal
    expect(t.tallyVotes()).toBe('pending');
    t.recordVote('3', false);
    expect(t.tallyVotes()).toBe('lost');
    t.resetVotes();
    t.recordVote('1', true);
    t.recordVote('3', true);
    expect(t.tallyVotes()).toBe('won');
  });

  it('a duplicate grant cannot flip into a refusal either', () => {
    const t = tracker(['1', '2', '3']);
    t.recordVote('2', true);
    t.recordVote('2', false);
    t.recordVote('1', true);
    expect(t.tallyVotes()).toBe('won');
  });
});

describe('quorum edge', () => {
  it('committedIndex over no voters answers "no limit" (MAX_SAFE_INTEGER) as documented; callers guard it', async () => {
    const { committedIndex } = await import('../../src/raft/quorum.js');
    expect(committedIndex([], () => 5)).toBe(Number.MAX_SAFE_INTEGER);
  });
});
