/**
 * compact() at an older applied index: the driver encodes a snapshot of index I off the critical path
 * while entries after I keep being applied, then records it. The snapshot must describe I exactly — the
 * term of entry I and the membership in force at I — or a follower installing it would start from a
 * configuration the log never had at that point (§7: "the last included index and term" and "the latest
 * configuration as of the last included index").
 */
import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../src/raft/raft.js';
import { createRng } from '../../src/raft/rng.js';

const enc = new TextEncoder();

function settle(core: RaftCore): void {
  while (core.hasReady()) core.advance(core.ready());
}

/** A single-voter leader with entries applied. */
function leader(): RaftCore {
  const c = new RaftCore({ id: '1', electionTick: 10, heartbeatTick: 1, rng: createRng(1) }, { hardState: { term: 0, vote: null, commit: 0 }, entries: [], initialConf: { voters: ['1'], learners: [] } });
  settle(c);
  for (let i = 0; i < 30 && c.status().role !== 'leader'; i++) {
    c.tick();
    settle(c);
  }
  expect(c.status().role).toBe('leader');
  for (const s of ['a', 'b', 'c']) c.propose(enc.encode(s));
  settle(c);
  return c;
}

describe('compact() at an older applied index', () => {
  it('records the snapshot at that index with the term of its entry, and compacts behind it only', () => {
    const c = leader();
    const applied = c.status().applied;
    const { snapshot, compactedTo } = c.compact(applied - 2, 1, 0);
    expect(snapshot.meta).toEqual({ index: applied - 2, term: c.status().term, conf: { voters: ['1'], learners: [] } });
    expect(compactedTo).toBe(applied - 2);
    expect(c.status()).toMatchObject({ applied, snapshotIndex: applied - 2 });
  });

  it('is refused above applied (Misuse) and at or below the last snapshot (SnapshotOutOfDate)', () => {
    const c = leader();
    const applied = c.status().applied;
    expect(() => c.compact(applied + 1, 1, 0)).toThrow(expect.objectContaining({ code: 'Misuse' }));
    c.compact(applied - 1, 1, 0);
    expect(() => c.compact(applied - 1, 1, 0)).toThrow(expect.objectContaining({ code: 'SnapshotOutOfDate' }));
    expect(() => c.compact(applied - 2, 1, 0)).toThrow(expect.objectContaining({ code: 'SnapshotOutOfDate' }));
    expect(c.compact(applied, 1, 0).snapshot.meta.index).toBe(applied);
  });

  it('carries the membership in force at its index, not a later one (§7: "the latest configuration as of the last included index")', () => {
    const c = leader();
    const before = c.status().applied;
    const { index: confAt } = c.proposeConfChange({ op: 'addLearner', node: '2' });
    settle(c);
    c.propose(enc.encode('after'));
    settle(c);
    expect(c.status().applied).toBe(confAt + 1);
    expect(c.status().conf).toEqual({ voters: ['1'], learners: ['2'] });
    // Before the conf entry: the membership without the learner, although the learner is in force now.
    expect(c.compact(confAt - 1, 1, 0).snapshot.meta).toMatchObject({ index: confAt - 1, conf: { voters: ['1'], learners: [] } });
    expect(confAt - 1).toBeGreaterThanOrEqual(before);
    // At the conf entry itself the change is part of the snapshot.
    expect(c.compact(confAt, 1, 0).snapshot.meta.conf).toEqual({ voters: ['1'], learners: ['2'] });
  });
});
