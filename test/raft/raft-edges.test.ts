/**
 * Raft rules at their edges: votes when a leader is already known (§5.2), pre-candidates retrying
 * (§9.6), stale leaders told the new term, snapshot streams ending exactly at the snapshot (§7), and
 * leadership transfer bookkeeping (§3.10 of the dissertation).
 */
import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../src/raft/raft.js';
import { createRng } from '../../src/raft/rng.js';
import type { Entry, Message } from '../../src/raft/types.js';
import { Cluster, enc } from './cluster.js';

describe('votes', () => {
  it('a follower that knows the leader of its term refuses a vote to another candidate of that term (§5.2)', () => {
    const c = new Cluster(['1', '2', '3']);
    c.cut.add('1>3').add('3>1');
    c.elect('1');
    c.heal();
    c.tick('1');
    c.stabilize();
    const f = c.core('3');
    const term = f.status().term;
    expect(f.status()).toMatchObject({ lead: '1', vote: null });
    c.clearSent();
    f.step({ type: 'vote', from: '2', to: '3', term, lastIndex: 100, lastTerm: term, transfer: false });
    c.flush('3');
    expect(c.sentBy('3')).toEqual([{ type: 'voteResp', from: '3', to: '2', term, reject: true, reason: 'alreadyVoted' }]);
    expect(f.status().vote).toBeNull();
  });

  it('a pre-candidate that hears nothing tries again after another election timeout', () => {
    const c = new Cluster(['1', '2', '3']);
    c.isolate('1');
    c.tick('1', 20);
    expect(c.core('1').status().role).toBe('preCandidate');
    const before = c.sentBy('1', 'preVote').length;
    expect(before).toBeGreaterThan(0);
    c.tick('1', 20);
    expect(c.sentBy('1', 'preVote').length).toBeGreaterThan(before);
    expect(c.core('1').status().term).toBe(1); // pre-votes never raise the term
  });
});

describe('stale leaders and candidates', () => {
  it('with PreVote only, a stale heartbeat is answered with the newer term too', () => {
    const c = new Cluster(['1', '2', '3'], { checkQuorum: false });
    c.elect('1');
    c.elect('2');
    c.clearSent();
    const term = c.core('3').status().term;
    c.core('3').step({ type: 'heartbeat', from: '1', to: '3', term: term - 1, commit: 0, readSeq: 0, sentAt: 0 });
    c.flush('3');
    expect(c.sentBy('3').map((m) => [m.type, m.term])).toEqual([['appResp', term]]);
  });

  it('a snapshot chunk from the leader of its term turns a candidate back into a follower', () => {
    const c = new Cluster(['1', '2', '3'], { preVote: false });
    c.cut.add('2>1').add('3>1').add('1>2').add('1>3');
    c.elect('1');
    const cand = c.core('1');
    const term = cand.status().term;
    cand.step({ type: 'snap', from: '2', to: '1', term, meta: { index: 50, term, conf: { voters: ['1', '2', '3'], learners: [] } }, offset: 0, total: 4, chunk: new Uint8Array(2) });
    expect(cand.status()).toMatchObject({ role: 'follower', lead: '2', term });
  });
});

describe('the end of a snapshot stream', () => {
  /** Node 3 is behind a compaction at the leader's very last entry: it can only catch up by snapshot. */
  function behindCompaction(): Cluster {
    const c = new Cluster(['1', '2', '3'], { snapshotChunkBytes: 4 });
    c.elect('1');
    c.isolate('3');
    for (let i = 0; i < 3; i++) c.propose('1', `v${i}`);
    c.stabilize();
    const l = c.core('1');
    c.compact('1', l.status().applied, enc.encode('0123456789'), 0);
    c.heal();
    l.reportUnreachable('3');
    return c;
  }

  it('a follower caught up by a snapshot, with nothing after it, goes back to pipelining', () => {
    const c = behindCompaction();
    c.tick('1');
    c.stabilize();
    const l = c.core('1');
    expect(c.core('3').status().snapshotIndex).toBe(l.status().lastIndex);
    expect(l.status().progress?.['3']).toEqual({ match: l.status().lastIndex, next: l.status().lastIndex + 1, state: 'replicate' });
  });

  it('an append acknowledgement exactly at the snapshot ends the stream; one below it does not', () => {
    const c = behindCompaction();
    c.cut.add('3>1');
    c.propose('1', 'next'); // the probe to 3 finds its entries compacted: a snapshot stream starts
    c.stabilize();
    const l = c.core('1');
    const snapIndex = l.status().snapshotIndex;
    expect(l.status().progress?.['3']?.state).toBe('snapshot');
    const term = l.status().term;
    l.step({ type: 'appResp', from: '3', to: '1', term, index: snapIndex - 1, reject: false, hintIndex: 0, hintTerm: 0 });
    expect(l.status().progress?.['3']?.state).toBe('snapshot');
    l.step({ type: 'appResp', from: '3', to: '1', term, index: snapIndex, reject: false, hintIndex: 0, hintTerm: 0 });
    expect(l.status().progress?.['3']?.state).not.toBe('snapshot');
  });

  it('a follower whose commit index is exactly the snapshot point answers "done" at once', () => {
    const core = new RaftCore({ id: '2', electionTick: 10, heartbeatTick: 1, rng: createRng(2) }, {
      hardState: { term: 2, vote: null, commit: 4 },
      entries: [2, 3, 4].map((index): Entry => ({ term: 2, index, type: 'normal', data: enc.encode(`e${index}`) })),
      snapshot: { meta: { index: 1, term: 1, conf: { voters: ['1', '2', '3'], learners: [] } }, size: 0 },
    });
    while (core.hasReady()) core.advance(core.ready());
    core.step({ type: 'snap', from: '1', to: '2', term: 2, meta: { index: 4, term: 2, conf: { voters: ['1', '2', '3'], learners: [] } }, offset: 0, total: 8, chunk: new Uint8Array(4) });
    const rd = core.ready();
    core.advance(rd);
    expect(rd.messages).toEqual([{ type: 'snapResp', from: '2', to: '1', term: 2, snapIndex: 4, snapTerm: 2, nextOffset: 8, done: true }]);
    expect(rd.snapshot).toBeUndefined();
  });

  it('a node cannot take its own snapshot while one received from the leader waits for the driver', () => {
    const core = new RaftCore({ id: '2', electionTick: 10, heartbeatTick: 1, rng: createRng(2) }, {
      hardState: { term: 2, vote: null, commit: 1 },
      entries: [],
      snapshot: { meta: { index: 1, term: 1, conf: { voters: ['1', '2', '3'], learners: [] } }, size: 0 },
    });
    while (core.hasReady()) core.advance(core.ready());
    core.step({ type: 'snap', from: '1', to: '2', term: 2, meta: { index: 9, term: 2, conf: { voters: ['1', '2', '3'], learners: [] } }, offset: 0, total: 2, chunk: new Uint8Array(2) });
    try {
      core.compact(1, 0, 0);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toMatchObject({ code: 'SnapshotOutOfDate', message: 'a snapshot at 9 from the leader is waiting to be restored (call ready()/advance() first)' });
    }
  });

  it('a single-node cluster may snapshot at index 1', () => {
    const core = new RaftCore({ id: '1', electionTick: 10, heartbeatTick: 1, rng: createRng(1) }, { hardState: { term: 0, vote: null, commit: 0 }, entries: [], initialConf: { voters: ['1'], learners: [] } });
    while (core.hasReady()) core.advance(core.ready());
    expect(core.status().applied).toBe(1);
    expect(core.compact(1, 1, 0).snapshot.meta).toEqual({ index: 1, term: 1, conf: { voters: ['1'], learners: [] } });
  });
});

describe('the uncommitted tail', () => {
  it('entries that carry no proposal bytes (the leader no-op) never block a proposal', () => {
    const c = new Cluster(['1', '2', '3'], { maxUncommittedEntries: 1 });
    c.cut.add('2>1').add('3>1');
    c.elect('1');
    const term = c.core('1').status().term;
    for (const p of ['2', '3']) c.core('1').step({ type: 'voteResp', from: p, to: '1', term, reject: false });
    c.flush('1');
    expect(c.core('1').status().role).toBe('leader'); // its no-op is uncommitted
    expect(c.propose('1', 'first').index).toBe(c.core('1').status().lastIndex);
  });
});

describe('leadership transfer bookkeeping', () => {
  it('a server whose removal is in the log is no longer a transfer target (§4.1: the latest configuration counts); proposals keep flowing', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.isolate('3');
    c.cut.delete('1>2');
    c.cut.delete('2>1');
    c.core('1').proposeConfChange({ op: 'remove', node: '3' });
    c.flush('1');
    expect(() => c.core('1').transferLeadership('3')).toThrow(expect.objectContaining({ code: 'InvalidConfChange' }));
    c.stabilize();
    expect(c.core('1').status()).toMatchObject({ role: 'leader', conf: { voters: ['1', '2'], learners: [] } });
    expect(c.propose('1', 'after').index).toBeGreaterThan(0);
  });

  it('a target that catches up in several appends is told to campaign once, when it has everything', () => {
    const c = new Cluster(['1', '2', '3'], { maxSizePerMsg: 1 });
    c.elect('1');
    c.cut.add('1>3');
    for (let i = 0; i < 3; i++) c.propose('1', `v${i}`);
    c.stabilize();
    c.heal();
    c.clearSent();
    c.core('1').transferLeadership('3');
    c.stabilize();
    const timeoutNows = c.sentBy('1', 'timeoutNow');
    expect(timeoutNows).toHaveLength(1);
    expect(c.core('3').status().role).toBe('leader');
  });
});

describe('lease reads (§6.4.1)', () => {
  it('once TimeoutNow is out, the old leader never answers from its lease again', () => {
    const c = new Cluster(['1', '2', '3'], { readOnly: 'lease' });
    c.elect('1');
    c.tick('1');
    c.stabilize();
    c.cut.add('1>2').add('2>1').add('3>1');
    c.core('1').transferLeadership('2'); // 2 is up to date: TimeoutNow goes out (and is lost)
    c.flush('1');
    expect(c.sentBy('1', 'timeoutNow').map((m: Message) => m.to)).toEqual(['2']);
    c.core('1').readIndex('after-transfer');
    c.flush('1');
    expect(c.reads.get('1')).toEqual([]);
    expect(c.core('1').status().pendingReads).toBe(1);
  });
});

describe('more timeouts and leases', () => {
  it('a candidate whose election goes nowhere starts another one, at a higher term, after a timeout', () => {
    const c = new Cluster(['1', '2', '3'], { preVote: false });
    c.isolate('1');
    c.tick('1', 20);
    expect(c.core('1').status().role).toBe('candidate');
    const term = c.core('1').status().term;
    c.tick('1', 20);
    expect(c.core('1').status().term).toBeGreaterThan(term);
  });

  it('while a transfer waits for a lagging target (no TimeoutNow yet) the leader does not answer from its lease', () => {
    const c = new Cluster(['1', '2', '3'], { readOnly: 'lease' });
    c.elect('1');
    c.cut.add('1>3');
    c.propose('1', 'x');
    c.stabilize(); // 3 misses x
    c.tick('1');
    c.stabilize(); // the lease is fresh (2 answered)
    c.core('1').transferLeadership('3'); // 3 is behind and unreachable: no TimeoutNow
    c.flush('1');
    expect(c.sentBy('1', 'timeoutNow')).toEqual([]);
    c.cut.add('2>1');
    c.core('1').readIndex('r');
    c.flush('1');
    expect(c.reads.get('1')).toEqual([]);
  });
});
