/**
 * Defects found by an independent review (etcd-io/raft tests ported against the public API, plus
 * adversarial cases), and behaviour the mutation report found unobserved. Each test asserts what a peer or
 * a driver would notice.
 */
import { describe, expect, it } from 'vitest';
import { RaftCore, type RaftConfig } from '../../src/raft/raft.js';
import { createRng } from '../../src/raft/rng.js';
import { SnapshotPolicy } from '../../src/raft/snapshot-policy.js';
import { RaftError, type Entry, type Message, type NodeId, type Ready, type SnapshotInfo } from '../../src/raft/types.js';
import { SnapshotBytes } from './snapshot-bytes.js';

const enc = new TextEncoder();

type Cfg = Partial<Omit<RaftConfig, 'id' | 'rng'>>;

/** A few cores over a network with a fixed latency and, optionally, a per-link capacity per tick. */
class Net {
  readonly cores = new Map<NodeId, RaftCore>();
  readonly sent: Message[] = [];
  readonly installed = new Map<NodeId, number>();
  /** Each node's snapshot bytes, kept by its "driver" (the core holds only their metadata). */
  readonly bytes = new Map<NodeId, SnapshotBytes>();
  private inFlight: Array<{ at: number; m: Message }> = [];
  private readonly cut = new Set<NodeId>();
  now = 0;

  constructor(ids: NodeId[], cfg: Cfg, private readonly latency = 1, private readonly perLinkPerTick = Infinity) {
    for (const id of ids) {
      this.cores.set(id, new RaftCore({ id, electionTick: 10, heartbeatTick: 2, rng: createRng(id.charCodeAt(0)), ...cfg }, {
        hardState: { term: 0, vote: null, commit: 0 },
        entries: [],
        initialConf: { voters: ids, learners: [] },
      }));
      this.bytes.set(id, new SnapshotBytes());
    }
    this.flush();
  }

  core(id: NodeId): RaftCore {
    return this.cores.get(id) as RaftCore;
  }

  /** Node `id`'s driver snapshots its state machine as `data` at its applied index. */
  compact(id: NodeId, data: Uint8Array): void {
    (this.bytes.get(id) as SnapshotBytes).compact(this.core(id), this.core(id).status().applied, data, 0);
  }

  isolate(id: NodeId): void {
    this.cut.add(id);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Process every ready: queue messages for delivery after the latency. */
  flush(): void {
    for (const [id, c] of this.cores) {
      while (c.hasReady()) {
        const rd: Ready = c.ready();
        const bytes = this.bytes.get(id) as SnapshotBytes;
        if (bytes.persist(rd)) this.installed.set(id, this.now);
        for (const m of [...rd.messages, ...bytes.messages(id, rd)]) {
          this.sent.push(m);
          if (!this.cut.has(m.from) && !this.cut.has(m.to)) this.inFlight.push({ at: this.now + this.latency, m });
        }
        c.advance(rd);
      }
    }
  }

  /** One tick: every node ticks, then messages due now are delivered (at most perLinkPerTick per link). */
  tick(): void {
    this.now++;
    for (const c of this.cores.values()) c.tick();
    this.flush();
    const due = this.inFlight.filter((f) => f.at <= this.now);
    this.inFlight = this.inFlight.filter((f) => f.at > this.now);
    const perLink = new Map<string, number>();
    for (const f of due) {
      const link = `${f.m.from}>${f.m.to}`;
      const n = perLink.get(link) ?? 0;
      if (n >= this.perLinkPerTick) {
        this.inFlight.push({ at: this.now + 1, m: f.m }); // the link is busy: it waits for the next tick
        continue;
      }
      perLink.set(link, n + 1);
      this.core(f.m.to).step(f.m);
    }
    this.flush();
  }

  run(ticks: number, until?: () => boolean): number {
    for (let i = 0; i < ticks; i++) {
      if (until?.()) return i;
      this.tick();
    }
    return ticks;
  }

  elect(id: NodeId): void {
    // Past every node's startup lease (a restarted node ignores vote requests for an election timeout).
    this.run(10);
    this.core(id).campaign();
    this.flush();
    this.run(50, () => this.core(id).status().role === 'leader' && [...this.cores.values()].every((c) => c.status().commit === this.core(id).status().lastIndex));
    expect(this.core(id).status().role).toBe('leader');
  }
}

/** Process one Ready (persisted, sent nowhere, applied). */
function flush(core: RaftCore): Ready | undefined {
  if (!core.hasReady()) return undefined;
  const rd = core.ready();
  core.advance(rd);
  return rd;
}

/** Process Readies until there is none (a bootstrapped node persists, then applies). */
function settle(core: RaftCore): void {
  while (flush(core)) ;
}

function sent(core: RaftCore): Message[] {
  return flush(core)?.messages ?? [];
}

/** A three-node cluster elected at node 1 with node 3 cut off, and a snapshot of `chunks` chunks to send it. */
function snapshotTransfer(chunks: number, latency: number, perLinkPerTick = Infinity): { net: Net; chunkBytes: number } {
  const chunkBytes = 64;
  const net = new Net(['1', '2', '3'], { snapshotChunkBytes: chunkBytes }, latency, perLinkPerTick);
  net.elect('1');
  net.isolate('3');
  for (let i = 0; i < 5; i++) net.core('1').propose(enc.encode(`p${i}`));
  net.flush();
  net.run(10, () => net.core('1').status().applied === net.core('1').status().lastIndex);
  net.compact('1', new Uint8Array(chunks * chunkBytes).fill(1));
  net.heal();
  net.sent.length = 0;
  return { net, chunkBytes };
}

describe('InstallSnapshot: one chunk stream per follower, resumed, never amplified', () => {
  it('a 100-chunk snapshot with one tick of latency and heartbeats every 2 ticks sends about 100 chunks', () => {
    const { net } = snapshotTransfer(100, 1);
    const ticks = net.run(2000, () => net.installed.has('3'));
    const chunks = net.sent.filter((m) => m.type === 'snap' && m.to === '3').length;
    expect(net.installed.has('3')).toBe(true);
    // Nothing is lost: every chunk goes once, plus at most a few retransmissions of one in flight.
    expect(chunks).toBeGreaterThanOrEqual(100);
    expect(chunks).toBeLessThanOrEqual(105);
    // Stop-and-wait: one round trip (2 ticks) per chunk, plus the heartbeat that starts it.
    expect(ticks).toBeLessThanOrEqual(2 * 100 + 20);
  });
  it('with three ticks of latency (longer than the heartbeat interval) retransmissions stay bounded', () => {
    const { net } = snapshotTransfer(50, 3);
    const ticks = net.run(2000, () => net.installed.has('3'));
    const chunks = net.sent.filter((m) => m.type === 'snap' && m.to === '3').length;
    expect(net.installed.has('3')).toBe(true);
    expect(chunks).toBeLessThanOrEqual(50 * 2);
    expect(ticks).toBeLessThanOrEqual(6 * 50 + 30);
  });
  it('on a link that carries 8 messages a tick a 200-chunk snapshot is installed in about 2 ticks per chunk', () => {
    const { net } = snapshotTransfer(200, 1, 8);
    const ticks = net.run(4000, () => net.installed.has('3'));
    expect(net.installed.has('3')).toBe(true);
    expect(ticks).toBeLessThanOrEqual(2 * 200 + 40);
  });
});

describe('flow control (etcd TestProgressFlowControl)', () => {
  it('an acknowledgement that advances the commit index still fills the pipe: [2,2,2], not [2]', () => {
    const net = new Net(['1', '2'], { maxInflightMsgs: 3, maxSizePerMsg: 2 * (16 + 100) });
    net.elect('1');
    const l = net.core('1');
    l.reportUnreachable('2'); // back to probe: proposals go out one probe at a time
    const before = l.status().lastIndex;
    for (let i = 0; i < 10; i++) l.propose(new Uint8Array(100));
    const first = sent(l).filter((m): m is Extract<Message, { type: 'app' }> => m.type === 'app' && m.to === '2');
    expect(first.map((m) => m.entries.length)).toEqual([1]); // probe: one message, sent with the first proposal
    const acked = (first[0] as Extract<Message, { type: 'app' }>).entries.at(-1) as Entry;
    expect(acked.index).toBe(before + 1);
    // Node 2 accepts it; with 2 voters that commits entries up to there.
    l.step({ type: 'appResp', from: '2', to: '1', term: l.status().term, index: acked.index, reject: false, hintIndex: 0, hintTerm: 0 });
    expect(l.status().commit).toBe(acked.index);
    const next = sent(l).filter((m): m is Extract<Message, { type: 'app' }> => m.type === 'app' && m.to === '2');
    expect(next.map((m) => m.entries.length)).toEqual([2, 2, 2]);
    expect(l.status().progress?.['2']).toMatchObject({ state: 'replicate', next: acked.index + 7 });
  });
  it('the window is the limit: no more than maxInflightMsgs appends go out unacknowledged', () => {
    const net = new Net(['1', '2', '3'], { maxInflightMsgs: 2, maxSizePerMsg: 1 });
    net.elect('1');
    const l = net.core('1');
    for (let i = 0; i < 6; i++) l.propose(new Uint8Array(10));
    const apps = sent(l).filter((m) => m.type === 'app' && m.to === '2');
    expect(apps.length).toBe(2);
    // Acknowledging the first frees one slot: exactly one more goes out.
    const firstLast = ((apps[0] as Extract<Message, { type: 'app' }>).entries.at(-1) as Entry).index;
    l.step({ type: 'appResp', from: '2', to: '1', term: l.status().term, index: firstLast, reject: false, hintIndex: 0, hintTerm: 0 });
    expect(sent(l).filter((m) => m.type === 'app' && m.to === '2' && m.entries.length > 0).length).toBe(1);
  });
  it('a byte window (maxInflightBytes) limits the pipe too', () => {
    const net = new Net(['1', '2', '3'], { maxInflightMsgs: 100, maxInflightBytes: 3 * 116, maxSizePerMsg: 1 });
    net.elect('1');
    const l = net.core('1');
    for (let i = 0; i < 6; i++) l.propose(new Uint8Array(100));
    expect(sent(l).filter((m) => m.type === 'app' && m.to === '2').length).toBe(3);
  });
});

describe('stale rejections', () => {
  it('a delayed rejection never moves next to or below match: no snapshot for an up-to-date follower', () => {
    const net = new Net(['1', '2', '3'], {});
    net.elect('1');
    const l = net.core('1');
    l.propose(enc.encode('a'));
    net.run(10);
    const st = l.status();
    expect(st.progress?.['2']?.match).toBe(st.lastIndex);
    l.compact(st.applied, 10, 0);
    l.reportUnreachable('2'); // probing again from match + 1
    // A rejection of an old probe at `match`, delayed in the network, arrives now.
    l.step({ type: 'appResp', from: '2', to: '1', term: st.term, index: st.lastIndex, reject: true, hintIndex: 0, hintTerm: 0 });
    const rd = flush(l);
    expect(rd?.snapshotSends ?? []).toEqual([]);
    const out = (rd?.messages ?? []).filter((m) => m.to === '2');
    expect(l.status().progress?.['2']?.next).toBeGreaterThan(st.lastIndex);
  });
});

describe('compact() and a received snapshot', () => {
  it('is refused while a snapshot from the leader waits for the driver (it would pair old state with new membership)', () => {
    const f = new RaftCore({ id: '2', electionTick: 10, heartbeatTick: 1, rng: createRng(2) }, { hardState: { term: 0, vote: null, commit: 0 }, entries: [], initialConf: { voters: ['1', '2', '3'], learners: [] } });
    settle(f);
    expect(f.status().applied).toBe(3);
    f.step({ type: 'snap', from: '1', to: '2', term: 2, meta: { index: 10, term: 2, conf: { voters: ['1', '2', '3', '4'], learners: [] } }, offset: 0, total: 4, chunk: new Uint8Array(4) });
    expect(() => f.compact(3, 1, 0)).toThrow(expect.objectContaining({ code: 'SnapshotOutOfDate' }));
    // After the driver restored it, the next snapshot is taken at the snapshot's point or later.
    const rd = flush(f) as Ready;
    expect(rd.snapshot?.meta.index).toBe(10);
    expect(() => f.compact(10, 1, 0)).toThrow(expect.objectContaining({ code: 'SnapshotOutOfDate' }));
  });
  it('keepTrailing of the SnapshotPolicy is the trailing window compaction keeps, and the policy starts counting again', () => {
    const net = new Net(['1'], {});
    net.elect('1');
    const l = net.core('1');
    for (let i = 0; i < 10; i++) l.propose(enc.encode(`x${i}`));
    net.run(3);
    const policy = new SnapshotPolicy({ entries: 5, bytes: 1 << 20, keepTrailing: 4 });
    policy.applied(Array.from({ length: 5 }, (_, i): Entry => ({ term: 1, index: i + 1, type: 'normal', data: new Uint8Array() })));
    expect(policy.due()).toBe(true);
    const applied = l.status().applied;
    const { snapshot, compactedTo } = l.compact(applied, 1, policy);
    expect(snapshot.meta.index).toBe(applied);
    expect(compactedTo).toBe(applied - 4);
    expect(policy.due()).toBe(false);
  });
});

describe('hostile numbers and malformed messages are dropped by step()', () => {
  function follower(): RaftCore {
    const f = new RaftCore({ id: '2', electionTick: 10, heartbeatTick: 1, rng: createRng(2) }, {
      hardState: { term: 2, vote: null, commit: 4 },
      entries: [2, 2, 2].map((t, i): Entry => ({ term: t, index: 5 + i, type: 'normal', data: enc.encode(`e${5 + i}`) })),
      snapshot: { meta: { index: 4, term: 1, conf: { voters: ['1', '2', '3'], learners: [] } }, size: 0 },
    });
    flush(f);
    return f;
  }
  for (const term of [Number.MAX_SAFE_INTEGER, Infinity, 2 ** 53]) {
    it(`a term of ${term} is not adopted (term + 1 must stay exact, or no election could ever succeed again)`, () => {
      const f = follower();
      f.step({ type: 'heartbeat', from: '1', to: '2', term, commit: 0, readSeq: 0, sentAt: 0 });
      expect(f.status()).toMatchObject({ term: 2, lead: null });
      expect(f.hasReady()).toBe(false);
    });
  }
  it('a NaN term cannot overwrite an acknowledged entry', () => {
    const f = follower();
    f.step({ type: 'app', from: '1', to: '2', term: NaN, prevIndex: 5, prevTerm: 2, commit: 0, entries: [{ term: 9, index: 6, type: 'normal', data: enc.encode('evil') }] });
    expect(f.status()).toMatchObject({ term: 2, lastIndex: 7 });
    expect(f.hasReady()).toBe(false);
  });
  it('an append without entries does not make its sender leader first and throw later', () => {
    const f = follower();
    const bad = { type: 'app', from: '1', to: '2', term: 3, prevIndex: 7, prevTerm: 2, commit: 7 } as unknown as Message;
    expect(() => f.step(bad)).not.toThrow();
    expect(f.status()).toMatchObject({ term: 2, lead: null });
  });
  it('a NaN index in an append response does not break the leader', () => {
    const net = new Net(['1', '2', '3'], {});
    net.elect('1');
    const l = net.core('1');
    l.step({ type: 'appResp', from: '2', to: '1', term: l.status().term, index: NaN, reject: false, hintIndex: 0, hintTerm: 0 });
    expect(() => {
      l.propose(enc.encode('after'));
      net.run(10);
    }).not.toThrow();
    expect(l.status().commit).toBe(l.status().lastIndex);
  });
  it('a boot state with an unusable term is refused', () => {
    expect(() => new RaftCore({ id: '1', electionTick: 10, heartbeatTick: 1, rng: createRng(1) }, { hardState: { term: Number.MAX_SAFE_INTEGER, vote: null, commit: 0 }, entries: [], initialConf: { voters: ['1'], learners: [] } })).toThrow(expect.objectContaining({ code: 'Misuse' }));
  });
});

describe('boot', () => {
  it('a snapshot at index 0 carrying a membership is refused: nothing would replicate that membership', () => {
    const snap: SnapshotInfo = { meta: { index: 0, term: 0, conf: { voters: ['1', '2', '3'], learners: [] } }, size: 0 };
    expect(() => new RaftCore({ id: '1', electionTick: 10, heartbeatTick: 1, rng: createRng(1) }, { hardState: { term: 1, vote: null, commit: 0 }, entries: [], snapshot: snap })).toThrow(expect.objectContaining({ code: 'Misuse' }));
  });
  it('compact() before anything is applied is refused (a snapshot at 0 could not boot a node)', () => {
    const c = new RaftCore({ id: '1', electionTick: 10, heartbeatTick: 1, rng: createRng(1) }, { hardState: { term: 1, vote: null, commit: 0 }, entries: [], snapshot: { meta: { index: 1, term: 1, conf: { voters: ['1'], learners: [] } }, size: 0 } });
    expect(() => c.compact(1, 0, 0)).toThrow(RaftError);
  });
});

describe('the uncommitted tail is bounded', () => {
  it('a leader that lost its quorum refuses proposals beyond maxUncommittedEntries with a retryable code, and accepts again once it commits', () => {
    const net = new Net(['1', '2', '3'], { maxUncommittedEntries: 5 });
    net.elect('1');
    const l = net.core('1');
    net.isolate('1');
    let accepted = 0;
    let refusal: unknown;
    for (let i = 0; i < 20 && refusal === undefined; i++) {
      try {
        l.propose(enc.encode(`p${i}`));
        accepted++;
      } catch (e) {
        refusal = e;
      }
    }
    expect(accepted).toBe(5);
    expect(refusal).toMatchObject({ code: 'ProposalDropped', leaderHint: '1' });
    net.heal();
    net.run(30, () => l.status().commit === l.status().lastIndex);
    expect(l.status().role).toBe('leader');
    expect(() => l.propose(enc.encode('again'))).not.toThrow();
  });
  it('and beyond maxUncommittedBytes', () => {
    const net = new Net(['1', '2', '3'], { maxUncommittedBytes: 1000 });
    net.elect('1');
    const l = net.core('1');
    net.isolate('1');
    l.propose(new Uint8Array(600)); // an empty tail takes any one proposal
    expect(() => l.propose(new Uint8Array(600))).toThrow(expect.objectContaining({ code: 'ProposalDropped' }));
    expect(() => l.proposeBatch([new Uint8Array(100), new Uint8Array(100)])).not.toThrow();
  });
});

describe('reportUnreachable', () => {
  it('a replicate-state follower reported unreachable goes back to probe (one append at a time)', () => {
    const net = new Net(['1', '2', '3'], {});
    net.elect('1');
    const l = net.core('1');
    expect(l.status().progress?.['2']?.state).toBe('replicate');
    l.reportUnreachable('2');
    expect(l.status().progress?.['2']).toMatchObject({ state: 'probe', next: (l.status().progress?.['2']?.match ?? 0) + 1 });
    expect(l.status().progress?.['3']?.state).toBe('replicate');
    l.propose(enc.encode('a'));
    l.propose(enc.encode('b'));
    const to2 = sent(l).filter((m) => m.type === 'app' && m.to === '2');
    expect(to2.length).toBe(1); // probing: the second proposal waits for the answer
  });
  it('is ignored by a follower', () => {
    const net = new Net(['1', '2', '3'], {});
    net.elect('1');
    const f = net.core('2');
    f.reportUnreachable('1');
    expect(f.hasReady()).toBe(false);
    expect(f.status().role).toBe('follower');
  });
});

describe('survivors of the mutation report', () => {
  it('a ReadIndex read in a 5-node cluster needs acknowledgements from a quorum (2 followers), not from one', () => {
    const net = new Net(['1', '2', '3', '4', '5'], {});
    net.elect('1');
    const l = net.core('1');
    l.readIndex('r');
    const hbs = sent(l).filter((m): m is Extract<Message, { type: 'heartbeat' }> => m.type === 'heartbeat');
    const seq = (hbs[0] as Extract<Message, { type: 'heartbeat' }>).readSeq;
    expect(seq).toBeGreaterThan(0);
    const ack = (from: NodeId): Message => ({ type: 'heartbeatResp', from, to: '1', term: l.status().term, readSeq: seq, sentAt: 0 });
    l.step(ack('2'));
    l.step(ack('2')); // the same follower twice is still one acknowledgement
    expect(flush(l)?.readStates ?? []).toEqual([]);
    l.step(ack('3'));
    expect(flush(l)?.readStates.map((r) => r.ctx)).toEqual(['r']);
  });
  it('reads are released in order, and an ack of a later read acknowledges the earlier ones', () => {
    const net = new Net(['1', '2', '3'], {});
    net.elect('1');
    const l = net.core('1');
    l.readIndex('a');
    l.readIndex('b');
    const seqs = sent(l).filter((m): m is Extract<Message, { type: 'heartbeat' }> => m.type === 'heartbeat' && m.to === '2').map((m) => m.readSeq);
    l.step({ type: 'heartbeatResp', from: '2', to: '1', term: l.status().term, readSeq: seqs[1] as number, sentAt: 0 });
    expect(flush(l)?.readStates.map((r) => r.ctx)).toEqual(['a', 'b']);
  });
  it('a vote granted without a term change is persisted in the same Ready as the grant', () => {
    const v = new RaftCore({ id: '3', electionTick: 10, heartbeatTick: 1, rng: createRng(3) }, { hardState: { term: 0, vote: null, commit: 0 }, entries: [], initialConf: { voters: ['1', '2', '3'], learners: [] } });
    settle(v);
    for (let i = 0; i < 10; i++) v.tick(); // past the startup lease, still below the randomized timeout
    flush(v);
    // Learn term 2 first (a refused pre-vote-free vote from a stale log), so the grant below keeps the term.
    v.step({ type: 'vote', from: '1', to: '3', term: 2, lastIndex: 0, lastTerm: 0, transfer: false });
    const first = v.ready();
    expect(first.hardState).toMatchObject({ term: 2, vote: null });
    v.advance(first);
    v.step({ type: 'vote', from: '2', to: '3', term: 2, lastIndex: 3, lastTerm: 1, transfer: false });
    const rd = v.ready();
    expect(rd.hardState).toEqual({ term: 2, vote: '2', commit: 3 });
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'voteResp', to: '2', reject: false })]);
    v.advance(rd);
  });
  it('in-lease pre-vote stickiness: a follower that hears from its leader ignores pre-votes until an election timeout passes', () => {
    const net = new Net(['1', '2', '3'], {});
    net.elect('1');
    const f = net.core('3');
    const term = f.status().term;
    const preVote: Message = { type: 'preVote', from: '2', to: '3', term: term + 1, lastIndex: 100, lastTerm: term, transfer: false };
    f.step(preVote);
    expect(sent(f).filter((m) => m.type === 'preVoteResp')).toEqual([]); // ignored: the leader is alive
    for (let i = 0; i < 10; i++) f.tick(); // an election timeout without hearing from the leader
    flush(f);
    f.step(preVote);
    expect(sent(f).filter((m) => m.type === 'preVoteResp')).toEqual([expect.objectContaining({ reject: false })]);
    // A transfer-initiated (forced) request is answered even in lease.
    const g = net.core('2');
    g.step({ ...preVote, from: '3', to: '2', transfer: true } as Message);
    expect(sent(g).filter((m) => m.type === 'preVoteResp').length).toBe(1);
  });
});
