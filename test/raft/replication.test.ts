/**
 * Replication as a peer sees it: flow control (what the leader sends, and when — visible in the messages
 * and in status().progress), InstallSnapshot streaming on both sides (§7), the uncommitted-tail bound, lease
 * reads (§6.4.1) and a leader's handling of answers from strangers.
 */
import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../src/raft/raft.js';
import { createRng } from '../../src/raft/rng.js';
import type { Entry, Message } from '../../src/raft/types.js';
import { Cluster, enc } from './cluster.js';

type App = Extract<Message, { type: 'app' }>;
type SnapResp = Extract<Message, { type: 'snapResp' }>;

const appsTo = (c: Cluster, to: string): App[] => c.sentBy('1', 'app').filter((m) => m.to === to) as App[];

describe('flow control', () => {
  it('replicate state pipelines at most maxInflightMsgs unacknowledged appends, then waits for acks', () => {
    const c = new Cluster(['1', '2', '3'], { maxInflightMsgs: 3, maxSizePerMsg: 1 });
    c.elect('1');
    expect(c.core('1').status().progress?.['2']?.state).toBe('replicate');
    c.cut.add('2>1'); // 2's acks are lost
    c.clearSent();
    for (let i = 0; i < 6; i++) c.propose('1', `p${i}`);
    c.stabilize();
    expect(appsTo(c, '2').filter((m) => m.entries.length > 0)).toHaveLength(3);
    expect(appsTo(c, '3').filter((m) => m.entries.length > 0)).toHaveLength(6);
    // The acks were lost for good: within two election timeouts the leader notices the stalled pipe, probes
    // again and catches 2 up.
    c.heal();
    for (let i = 0; i < 20; i++) {
      c.tick('1');
      c.stabilize();
    }
    expect(c.core('2').status().lastIndex).toBe(c.core('1').status().lastIndex);
  });

  it('a byte budget for in-flight appends limits the pipeline too', () => {
    const c = new Cluster(['1', '2', '3'], { maxInflightMsgs: 100, maxInflightBytes: 40, maxSizePerMsg: 1 });
    c.elect('1');
    c.cut.add('2>1');
    c.clearSent();
    for (let i = 0; i < 6; i++) c.propose('1', `p${i}`); // 16 + 2 bytes each
    c.stabilize();
    expect(appsTo(c, '2').filter((m) => m.entries.length > 0)).toHaveLength(3); // 18, 36, then 54 ≥ 40
  });

  it('an unreachable follower is probed again; its next acknowledgement puts it back into replicate', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    const l = c.core('1');
    l.reportUnreachable('2');
    expect(l.status().progress?.['2']?.state).toBe('probe');
    c.propose('1', 'x');
    c.stabilize();
    expect(l.status().progress?.['2']?.state).toBe('replicate');
    expect(l.status().progress?.['2']?.match).toBe(l.status().lastIndex);
  });

  it('reportUnreachable on a follower, or for a peer being sent a snapshot, changes nothing', () => {
    const c = snapshotCluster();
    const l = c.core('1');
    expect(l.status().progress?.['3']?.state).toBe('snapshot');
    l.reportUnreachable('3');
    expect(l.status().progress?.['3']?.state).toBe('snapshot');
    c.core('2').reportUnreachable('1');
    expect(c.core('2').status().role).toBe('follower');
  });

  it('a new member is first probed at the leader’s last index', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.propose('1', 'a');
    c.stabilize();
    c.addEmpty('4');
    c.clearSent();
    const last = c.core('1').status().lastIndex;
    c.core('1').proposeConfChange({ op: 'addLearner', node: '4' });
    c.stabilize();
    const first = appsTo(c, '4')[0];
    expect(first?.prevIndex).toBe(last + 1); // the conf entry itself is the leader's last entry by then
    expect(c.core('4').status().lastIndex).toBe(c.core('1').status().lastIndex);
  });

  it('removing a follower keeps the leader leading', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    c.core('1').proposeConfChange({ op: 'remove', node: '3' });
    c.stabilize();
    expect(c.core('1').status()).toMatchObject({ role: 'leader', conf: { voters: ['1', '2'], learners: [] } });
    expect(c.core('1').status().progress?.['3']).toBeUndefined();
  });

  it('a leader ignores answers from a node that is not a member', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    const l = c.core('1');
    const before = JSON.stringify(l.status());
    const term = l.status().term;
    l.step({ type: 'appResp', from: '9', to: '1', term, index: 99, reject: false, hintIndex: 0, hintTerm: 0 });
    l.step({ type: 'heartbeatResp', from: '9', to: '1', term, readSeq: 0, sentAt: 0 });
    expect(JSON.stringify(l.status())).toBe(before);
  });
});

describe('the uncommitted tail bound (etcd MaxUncommittedEntriesSize)', () => {
  it('counts only what is not committed: a leader cut off refuses beyond the byte limit, and commit frees the room', () => {
    const c = new Cluster(['1', '2', '3'], { maxUncommittedBytes: 100 });
    c.elect('1');
    const data = 'x'.repeat(30); // 46 bytes an entry
    for (let i = 0; i < 3; i++) {
      c.propose('1', data);
      c.stabilize(); // committed: the room is free again
    }
    c.isolate('1');
    c.propose('1', data); // empty tail: always accepted
    c.propose('1', data); // 92 ≤ 100
    try {
      c.propose('1', data); // 138 > 100
      throw new Error('accepted');
    } catch (e) {
      expect(e).toMatchObject({ code: 'ProposalDropped', message: 'uncommitted tail is full (2 entries, 92 bytes; limits 10000 and 100): the leader is not reaching a quorum', leaderHint: '1' });
    }
  });

  it('exactly at the limit is still accepted; the entry count is bounded too', () => {
    const c = new Cluster(['1', '2', '3'], { maxUncommittedBytes: 92, maxUncommittedEntries: 3 });
    c.elect('1');
    c.isolate('1');
    const data = 'x'.repeat(30);
    c.propose('1', data);
    c.propose('1', data); // 92 = limit
    const c2 = new Cluster(['1', '2', '3'], { maxUncommittedEntries: 2 });
    c2.elect('1');
    c2.isolate('1');
    c2.propose('1', 'a');
    c2.propose('1', 'b');
    expect(() => c2.propose('1', 'c')).toThrow(/uncommitted tail is full \(2 entries/);
  });

  it('a command bigger than the whole limit is accepted on an empty tail (it could never be proposed otherwise)', () => {
    const c = new Cluster(['1', '2', '3'], { maxUncommittedBytes: 10 });
    c.elect('1');
    expect(c.propose('1', 'y'.repeat(500)).index).toBeGreaterThan(0);
    c.stabilize();
    expect(c.applied.get('2')?.at(-1)).toBe('y'.repeat(500));
  });
});

/** Leader 1 has compacted its log past everything node 3 holds, and streams it a snapshot in 4-byte chunks. */
function snapshotCluster(): Cluster {
  const c = new Cluster(['1', '2', '3'], { snapshotChunkBytes: 4 });
  c.elect('1');
  c.cut.add('1>3').add('3>1');
  for (let i = 0; i < 3; i++) c.propose('1', `v${i}`);
  c.stabilize();
  const l = c.core('1');
  c.compact('1', l.status().applied, enc.encode('state-at-A-0123456789'), 0);
  c.heal();
  c.cut.add('3>1'); // the answers from 3 are held back
  l.reportUnreachable('3'); // probe from its match: compacted away, so a snapshot
  c.propose('1', 'go');
  c.stabilize();
  return c;
}

describe('InstallSnapshot (§7)', () => {
  it('leader side: streams one chunk at a time and switches to a newer snapshot taken meanwhile', () => {
    const c = snapshotCluster();
    const l = c.core('1');
    const first = c.sentBy('1', 'snap').filter((m) => m.to === '3');
    expect(first.length).toBe(1);
    // The leader compacts again while the stream is under way.
    c.cut.add('1>3');
    c.propose('1', 'later');
    c.stabilize();
    const newer = c.compact('1', l.status().applied, enc.encode('state-at-B-0123456789'), 0).snapshot.meta.index;
    c.heal();
    c.clearSent();
    // The follower's answer to the old stream arrives: the next chunk is of the newer snapshot, from 0.
    const st3 = c.core('3').status();
    l.step({ type: 'snapResp', from: '3', to: '1', term: l.status().term, snapIndex: (first[0] as Extract<Message, { type: 'snap' }>).meta.index, snapTerm: st3.term, nextOffset: 4, done: false });
    c.flush('1');
    const next = c.sentBy('1', 'snap').filter((m) => m.to === '3') as Array<Extract<Message, { type: 'snap' }>>;
    expect(next.map((m) => [m.meta.index, m.offset])).toEqual([[newer, 0]]);
    c.stabilize();
    expect(c.core('3').status().snapshotIndex).toBe(newer);
    expect(c.core('3').status().lastIndex).toBe(l.status().lastIndex);
  });

  it('leader side: an append acknowledgement covering the snapshot ends the stream (probe, then replicate)', () => {
    const c = snapshotCluster();
    const l = c.core('1');
    expect(l.status().progress?.['3']?.state).toBe('snapshot');
    const last = l.status().lastIndex;
    l.step({ type: 'appResp', from: '3', to: '1', term: l.status().term, index: last, reject: false, hintIndex: 0, hintTerm: 0 });
    expect(l.status().progress?.['3']).toMatchObject({ match: last });
    expect(l.status().progress?.['3']?.state).not.toBe('snapshot');
  });

  it('leader side: a finished-answer for a snapshot it is not sending gets the follower an append', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    const l = c.core('1');
    c.clearSent();
    l.step({ type: 'snapResp', from: '2', to: '1', term: l.status().term, snapIndex: 1, snapTerm: 1, nextOffset: 10, done: true });
    c.flush('1');
    expect(c.sentBy('1', 'app').map((m) => m.to)).toEqual(['2']);
    c.clearSent();
    l.step({ type: 'snapResp', from: '2', to: '1', term: l.status().term, snapIndex: 1, snapTerm: 1, nextOffset: 4, done: false });
    c.flush('1');
    expect(c.sentBy('1')).toEqual([]);
  });

  function follower(entries: Entry[], commit: number): RaftCore {
    const core = new RaftCore({ id: '2', electionTick: 10, heartbeatTick: 1, rng: createRng(2) }, {
      hardState: { term: 2, vote: null, commit },
      entries,
      snapshot: { meta: { index: 1, term: 1, conf: { voters: ['1', '2', '3'], learners: [] } }, size: 0 },
    });
    while (core.hasReady()) core.advance(core.ready());
    return core;
  }
  const ents = (from: number, n: number, term: number): Entry[] => Array.from({ length: n }, (_, i) => ({ term, index: from + i, type: 'normal', data: enc.encode(`e${from + i}`) }));
  const snap = (index: number, term: number, offset: number, total: number, chunk: number[]): Message => ({
    type: 'snap', from: '1', to: '2', term: 2, meta: { index, term, conf: { voters: ['1', '2', '3'], learners: [] } }, offset, total, chunk: new Uint8Array(chunk),
  });
  function answers(core: RaftCore): SnapResp[] {
    const out: SnapResp[] = [];
    while (core.hasReady()) {
      const rd = core.ready();
      out.push(...(rd.messages.filter((m) => m.type === 'snapResp') as SnapResp[]));
      core.advance(rd);
    }
    return out;
  }

  it('follower side: a snapshot it already has committed is answered "done" at once', () => {
    const f = follower(ents(2, 4, 2), 4);
    f.step(snap(3, 2, 0, 10, [1, 2]));
    expect(answers(f).map((m) => [m.nextOffset, m.done])).toEqual([[10, true]]);
    expect(f.status().snapshotIndex).toBe(1);
  });

  it('follower side: a chunk from the middle of an unknown snapshot asks for the start', () => {
    const f = follower([], 1);
    f.step(snap(8, 2, 4, 10, [5, 6]));
    expect(answers(f).map((m) => [m.nextOffset, m.done])).toEqual([[0, false]]);
  });

  it('follower side: a different snapshot (index, term or size) restarts the transfer', () => {
    for (const other of [snap(9, 2, 4, 10, [5, 6, 7, 8]), snap(8, 1, 4, 10, [5, 6, 7, 8]), snap(8, 2, 4, 12, [5, 6, 7, 8])]) {
      const f = follower([], 1);
      f.step(snap(8, 2, 0, 10, [1, 2, 3, 4]));
      expect(answers(f).map((m) => m.nextOffset)).toEqual([4]);
      f.step(other);
      expect(answers(f).map((m) => [m.nextOffset, m.done])).toEqual([[0, false]]);
    }
  });

  it('follower side: a stray middle chunk of another snapshot does not discard a transfer under way', () => {
    const f = follower([], 1);
    f.step(snap(8, 2, 0, 10, [1, 2, 3, 4]));
    expect(answers(f).map((m) => m.nextOffset)).toEqual([4]);
    f.step(snap(9, 2, 4, 10, [9, 9, 9, 9])); // not ours to continue: asks for its start
    expect(answers(f).map((m) => [m.snapIndex, m.nextOffset])).toEqual([[9, 0]]);
    f.step(snap(8, 2, 4, 10, [5, 6, 7, 8])); // the transfer of 8 goes on where it was
    expect(answers(f).map((m) => [m.snapIndex, m.nextOffset])).toEqual([[8, 8]]);
  });

  it('follower side: every accepted chunk goes to the driver to stage, in order; the install names the size, not the bytes', () => {
    const f = follower([], 1);
    const staged: Array<[number, number[]]> = [];
    let installed: unknown;
    const take = (m: Message): number[] => {
      f.step(m);
      const acks: number[] = [];
      while (f.hasReady()) {
        const rd = f.ready();
        for (const c of rd.snapshotChunks ?? []) staged.push([c.offset, [...c.data]]);
        if (rd.snapshot) installed = rd.snapshot;
        for (const r of rd.messages) if (r.type === 'snapResp') acks.push(r.nextOffset);
        f.advance(rd);
      }
      return acks;
    };
    expect(take(snap(8, 2, 0, 10, [1, 2, 3, 4]))).toEqual([4]);
    expect(take(snap(8, 2, 0, 10, [1, 2, 3, 4]))).toEqual([4]); // a duplicate: not staged twice
    expect(take(snap(8, 2, 4, 10, [5, 6, 7, 8, 9, 10, 11]))).toEqual([]); // past the total: malformed, dropped by step()
    expect(installed).toBeUndefined();
    expect(take(snap(8, 2, 4, 10, [5, 6, 7, 8, 9, 10]))).toEqual([10]);
    expect(staged).toEqual([[0, [1, 2, 3, 4]], [4, [5, 6, 7, 8, 9, 10]]]);
    expect(installed).toEqual({ meta: { index: 8, term: 2, conf: { voters: ['1', '2', '3'], learners: [] } }, size: 10 });
    expect(f.status()).toMatchObject({ snapshotIndex: 8, commit: 8, lastIndex: 8 });
  });

  it('follower side: while a complete snapshot waits for the driver, the start of another is not staged over it', () => {
    const f = follower([], 1);
    f.step(snap(8, 2, 0, 2, [1, 2]));
    f.step(snap(9, 2, 0, 2, [7, 7]));
    const rd = f.ready();
    expect(rd.snapshotChunks?.map((c) => c.meta.index)).toEqual([8]);
    expect(rd.snapshot?.meta.index).toBe(8);
    expect(rd.messages.filter((m) => m.type === 'snapResp').map((m) => (m as SnapResp).snapIndex)).toEqual([8]);
    f.advance(rd);
    // Once handed over, the next transfer starts normally (the leader resent its first chunk).
    f.step(snap(9, 2, 0, 2, [7, 7]));
    const next = f.ready();
    expect(next.snapshot?.meta.index).toBe(9);
    expect(next.snapshotChunks?.map((c) => [...c.data])).toEqual([[7, 7]]);
  });

  it('leader side: the core asks for ranges of its stored snapshot, of the size it was told, never holding the bytes', () => {
    const c = new Cluster(['1', '2', '3'], { snapshotChunkBytes: 4 });
    c.elect('1');
    c.isolate('3');
    c.propose('1', 'v');
    c.stabilize();
    const l = c.core('1');
    l.compact(l.status().applied, 10, 0); // the driver stores 10 bytes; the core only learns how many
    c.heal();
    l.reportUnreachable('3');
    l.propose(enc.encode('w'));
    const rd = l.ready();
    expect(rd.snapshotSends).toEqual([{ to: '3', term: l.status().term, meta: expect.objectContaining({ index: l.status().snapshotIndex }), offset: 0, length: 4, total: 10 }]);
    expect(rd.messages.some((m) => m.type === 'snap')).toBe(false);
    l.advance(rd);
    l.step({ type: 'snapResp', from: '3', to: '1', term: l.status().term, snapIndex: l.status().snapshotIndex, snapTerm: l.status().term, nextOffset: 8, done: false });
    expect(l.ready().snapshotSends?.map((s) => [s.offset, s.length])).toEqual([[8, 2]]);
  });

  it('follower side: a snapshot whose last entry is already in the log keeps the entries after it', () => {
    const f = follower(ents(2, 6, 2), 2);
    f.step(snap(4, 2, 0, 3, [1, 2, 3]));
    expect(answers(f).map((m) => m.done)).toEqual([true]);
    expect(f.status()).toMatchObject({ lastIndex: 7, commit: 4 });
  });
});

describe('lease reads (§6.4.1)', () => {
  it('a leader whose transfer is under way does not answer from its lease', () => {
    const c = new Cluster(['1', '2', '3'], { readOnly: 'lease' });
    c.elect('1');
    c.tick('1');
    c.stabilize();
    c.core('1').readIndex('in-lease');
    c.flush('1');
    expect(c.reads.get('1')?.map((r) => r.ctx)).toEqual(['in-lease']);
    c.cut.add('1>2'); // the transfer will not complete
    c.core('1').transferLeadership('2');
    c.flush('1');
    c.cut.add('2>1').add('3>1'); // and no heartbeat answers come back
    c.core('1').readIndex('during-transfer');
    c.stabilize();
    expect(c.reads.get('1')?.map((r) => r.ctx)).toEqual(['in-lease']);
  });

  it('a freshly restarted node counts as in lease for its first election timeout: it ignores a disruptive vote request', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    const st = c.stored.get('3');
    if (!st) throw new Error('no storage');
    const core = c.boot('3', st);
    const term = core.status().term;
    core.step({ type: 'vote', from: '2', to: '3', term: term + 1, lastIndex: 100, lastTerm: term + 1, transfer: false });
    expect(core.status().term).toBe(term);
    expect(core.hasReady()).toBe(false);
    for (let i = 0; i < 10; i++) core.tick();
    while (core.hasReady()) core.advance(core.ready());
    if (core.status().role === 'follower') {
      core.step({ type: 'vote', from: '2', to: '3', term: core.status().term + 1, lastIndex: 100, lastTerm: term + 1, transfer: false });
      expect(core.status().vote).toBe('2');
    }
  });
});

describe('a candidate meets the leader of its term', () => {
  for (const type of ['heartbeat', 'app'] as const) {
    it(`a ${type} from the leader of its term turns a candidate back into a follower`, () => {
      const c = new Cluster(['1', '2', '3'], { preVote: false });
      c.cut.add('2>1').add('3>1').add('1>2').add('1>3');
      c.elect('1'); // 1 is a candidate whose requests go nowhere
      const cand = c.core('1');
      expect(cand.status().role).toBe('candidate');
      const term = cand.status().term;
      const m: Message = type === 'heartbeat'
        ? { type, from: '2', to: '1', term, commit: 0, readSeq: 0, sentAt: 0 }
        : { type, from: '2', to: '1', term, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 };
      cand.step(m);
      expect(cand.status()).toMatchObject({ role: 'follower', lead: '2', term });
    });
  }
});

describe('joining after compaction', () => {
  it('a brand-new member of a leader whose log is compacted receives a snapshot, then the entries after it', () => {
    const c = new Cluster(['1', '2', '3']);
    c.elect('1');
    for (let i = 0; i < 3; i++) c.propose('1', `v${i}`);
    c.stabilize();
    const l = c.core('1');
    c.compact('1', l.status().applied, enc.encode('state'), 0);
    c.addEmpty('4');
    l.proposeConfChange({ op: 'addLearner', node: '4' });
    c.stabilize();
    expect(c.core('4').status()).toMatchObject({ snapshotIndex: l.status().snapshotIndex, lastIndex: l.status().lastIndex });
    expect(l.status().progress?.['4']?.state).toBe('replicate');
  });
});
