import { describe, expect, it } from 'vitest';
import { encodeEntry } from '../../src/ipam/log-entry.js';
import { IpamApp } from '../../src/node/ipam-app.js';
import { NodeError } from '../../src/node/service.js';
import { MemoryDisk } from '../../src/storage/memory-storage.js';
import type { Snapshot } from '../../src/raft/types.js';
import { LocalCluster, type ClusterOptions, type LocalNode } from './local-cluster.js';

const NET = { type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 } as const;

async function cluster3(extra: ClusterOptions = {}): Promise<LocalCluster> {
  return LocalCluster.start(['n1', 'n2', 'n3'], extra);
}

/** A cluster whose leader has snapshotted (every 5 entries) and compacted its log past 21 commands. */
async function compacted(extra: ClusterOptions = {}): Promise<{ c: LocalCluster; leader: LocalNode }> {
  const c = await cluster3({ snapshotPolicy: { entries: 5, bytes: 1 << 30, keepTrailing: 2 }, ...extra });
  const leader = await c.elect();
  await c.submit(leader, NET);
  for (let i = 0; i < 20; i++) await c.submit(leader, { type: 'assignSlice', network: 'pods', nodeId: `w${i}` });
  await c.ticks(3);
  return { c, leader };
}

/**
 * Three replicas whose writes complete only when the test says so (`pump` completes every node's write
 * in flight but `skip`'s, then runs a turn), with a leader elected and the cluster quiet.
 */
async function manualWritesCluster(early: boolean): Promise<{ voters: string[]; c: LocalCluster; pump: (skip?: string) => Promise<void>; leader: LocalNode }> {
  const voters = ['n1', 'n2', 'n3'];
  const c = new LocalCluster(voters, { earlySend: () => early });
  for (const id of voters) await c.boot(id, new MemoryDisk(), { voters, learners: [] }, {}, { writes: 'manual' });
  const pump = async (skip?: string): Promise<void> => {
    for (const n of c.nodes.values()) if (n.id !== skip) n.storage.completeWrite();
    await c.turn();
  };
  for (let i = 0; i < 400 && !c.leader(); i++) {
    if (i % 3 === 0) for (const n of c.nodes.values()) n.replica.tick();
    await pump();
  }
  const leader = c.leader() as LocalNode;
  for (let i = 0; i < 30; i++) await pump();
  return { voters, c, pump, leader };
}

/**
 * Propose A on the leader and hold the leader's write of it while the followers write and acknowledge it.
 * `answered` records the order in which proposals were answered ('a' for A).
 */
async function proposeHeldOnLeader(c: LocalCluster, pump: (skip?: string) => Promise<void>, leader: LocalNode): Promise<{ answered: string[]; a: ReturnType<LocalNode['replica']['propose']> }> {
  const answered: string[] = [];
  const a = leader.replica.propose(encodeEntry({ id: 1, command: NET })).then((r) => {
    answered.push('a');
    return r;
  });
  await c.turn(); // A's write is in flight on the leader; the followers write it and acknowledge
  for (let i = 0; i < 20; i++) await pump(leader.id);
  return { answered, a };
}

function hashes(c: LocalCluster): string[] {
  return [...c.nodes.values()].map((n) => n.app.sm.stateHash());
}

describe('replica driver: the production Ready loop', () => {
  it('elects a leader; a proposal resolves with the state machine result once applied, on every replica', async () => {
    const c = await cluster3();
    const leader = await c.elect();
    expect(await c.submit(leader, NET)).toMatchObject({ ok: true, value: { network: 'pods', created: true } });
    expect(await c.submit(leader, { type: 'assignSlice', network: 'pods', nodeId: 'w1' })).toMatchObject({ ok: true });
    const r = await c.submit(leader, { type: 'allocate', network: 'pods', nodeId: 'w1', owner: 'ctr-1' });
    expect(r.ok && 'address' in r.value ? r.value.address : undefined).toMatch(/^10\.200\.\d+\.1$/);
    await c.ticks(5);
    const h = hashes(c);
    expect(new Set(h).size).toBe(1);
    expect(h[0]).not.toBe(new (await import('../../src/ipam/state-machine.js')).IpamStateMachine().stateHash());
  });

  it('a refused command is a result, not an error, and changes nothing', async () => {
    const c = await cluster3();
    const leader = await c.elect();
    await c.submit(leader, NET);
    const before = leader.app.sm.stateHash();
    const r = await c.submit(leader, { type: 'allocate', network: 'pods', nodeId: 'nobody' });
    expect(r).toMatchObject({ ok: false, error: { code: 'NodeHasNoSlice' } });
    expect(leader.app.sm.stateHash()).toBe(before);
  });

  it('a follower refuses proposals and reads with NotLeader naming the leader', async () => {
    const c = await cluster3();
    const leader = await c.elect();
    await c.ticks(3);
    const follower = [...c.nodes.values()].find((n) => n !== leader);
    if (!follower) throw new Error('no follower');
    // Refused at the turn that would append it (proposals wait for the next Ready's batch).
    const e = await c.drive(follower.replica.propose(encodeEntry({ id: 1, command: NET }))).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NodeError);
    expect(e).toMatchObject({ code: 'NotLeader', leader: { id: leader.id } });
    await expect(follower.replica.readIndex()).rejects.toMatchObject({ code: 'NotLeader' });
  });

  it('a linearizable read resolves at an index covering every write acknowledged before it', async () => {
    const c = await cluster3();
    const leader = await c.elect();
    await c.submit(leader, NET);
    const w = await c.drive(leader.replica.propose(encodeEntry({ id: 99, command: { type: 'assignSlice', network: 'pods', nodeId: 'w9' } })));
    const index = await c.drive(leader.replica.readIndex());
    expect(index).toBeGreaterThanOrEqual(w.index);
    expect(leader.replica.status().applied).toBeGreaterThanOrEqual(index);
    expect(leader.app.sm.sliceOf('pods', 'w9')).toBeDefined();
  });

  it('group commit: proposals made while a batch is being made durable share the next synced write', async () => {
    const c = await cluster3();
    const leader = await c.elect();
    await c.submit(leader, NET);
    const writesBefore = leader.storage.stats().writes;
    const ps = Array.from({ length: 50 }, (_, i) => leader.replica.propose(encodeEntry({ id: 1000 + i, command: { type: 'assignSlice', network: 'pods', nodeId: `w${i}` } })));
    const all = await c.drive(Promise.all(ps));
    expect(all.every((a) => a.result.ok)).toBe(true);
    // 50 proposals, far fewer synced writes on the leader (each write carries everything queued meanwhile).
    expect(leader.storage.stats().writes - writesBefore).toBeLessThan(10);
  });

  it('a leader’s appends leave before its own write is durable (§10.2.1); it applies its entry only once that write is done', async () => {
    for (const early of [true, false]) {
      const { voters, c, pump, leader } = await manualWritesCluster(early);
      expect(c.network.pending()).toEqual([]);
      const before = leader.replica.status();
      const p = leader.replica.propose(encodeEntry({ id: 1, command: NET }));
      const turn = await c.turn(); // the Ready holding the entry: its write is in flight
      expect(leader.storage.pendingWrite()).toBeGreaterThan(0);
      const sent = turn.delivered.filter((m) => m.from === leader.id).map((m) => m.to).sort();
      expect(sent).toEqual(early ? voters.filter((id) => id !== leader.id) : []);
      // The followers write and acknowledge while the leader's write stays in flight: nothing is applied
      // on the leader before its own copy is durable.
      for (let i = 0; i < 20; i++) await pump(leader.id);
      expect(leader.replica.status().applied).toBe(before.applied);
      for (let i = 0; i < 20; i++) await pump();
      const applied = await p;
      expect(applied.result.ok).toBe(true);
      expect(applied.index).toBe(before.lastIndex + 1);
    }
  });

  it('entries committed and already durable here are applied while the next batch is written, not after it', async () => {
    const { c, pump, leader } = await manualWritesCluster(true);
    const { answered, a } = await proposeHeldOnLeader(c, pump, leader);
    // B arrives while A's write is in flight; once A is durable, the next Ready holds B to write and A to apply.
    const b = leader.replica.propose(encodeEntry({ id: 2, command: { type: 'assignSlice', network: 'pods', nodeId: 'w1' } })).then((r) => {
      answered.push('b');
      return r;
    });
    expect(leader.storage.completeWrite()).toBe(true);
    for (let i = 0; i < 5; i++) await c.turn();
    expect(leader.storage.pendingWrite()).toBeGreaterThan(0); // B's write, still in flight
    expect(answered).toEqual(['a']);
    expect((await a).result.ok).toBe(true);
    for (let i = 0; i < 20; i++) await pump();
    expect((await b).result.ok).toBe(true);
    expect(answered).toEqual(['a', 'b']);
  });

  it('a Ready that only moves the commit index does not wait for its write: the answer goes out and the next batch starts while that write is in flight', async () => {
    const { c, pump, leader } = await manualWritesCluster(true);
    const { answered, a } = await proposeHeldOnLeader(c, pump, leader);
    expect(leader.storage.completeWrite()).toBe(true); // A durable here: A commits, and only the commit index is left to write
    for (let i = 0; i < 3; i++) await c.turn();
    expect(leader.storage.pendingWrite()).toBe(1); // the commit-only write, still in flight
    expect(answered).toEqual(['a']);
    expect((await a).result.ok).toBe(true);
    // The core is free: B goes into a batch of its own and its appends leave, behind that write.
    const b = leader.replica.propose(encodeEntry({ id: 2, command: { type: 'assignSlice', network: 'pods', nodeId: 'w1' } }));
    const turn = await c.turn();
    expect(turn.delivered.filter((m) => m.from === leader.id).length).toBeGreaterThan(0);
    expect(leader.storage.pendingWrite()).toBe(1);
    for (let i = 0; i < 20; i++) await pump();
    expect((await b).result.ok).toBe(true);
  });

  it('proposals made while the core is free travel as one batch: one append per follower, one acknowledgement back', async () => {
    const { voters, c, pump, leader } = await manualWritesCluster(true);
    const before = leader.replica.status().lastIndex;
    const proposed = Array.from({ length: 5 }, (_, i) => leader.replica.propose(encodeEntry({ id: 10 + i, command: i === 0 ? NET : { type: 'assignSlice', network: 'pods', nodeId: `w${i}` } })));
    const turn = await c.turn();
    // One by one, each proposal would have sent its own append to every follower (5 each).
    const appends = turn.delivered.filter((m) => m.from === leader.id);
    expect(appends.map((m) => m.to).sort()).toEqual(voters.filter((id) => id !== leader.id));
    expect(leader.replica.status().lastIndex).toBe(before + 5);
    await c.turn(); // the followers' writes of the batch are in flight
    for (const n of c.nodes.values()) if (n !== leader) expect(n.storage.completeWrite()).toBe(true);
    await new Promise((r) => setImmediate(r));
    const acks = (await c.turn()).delivered.filter((m) => m.to === leader.id);
    expect(acks.map((m) => m.from).sort()).toEqual(voters.filter((id) => id !== leader.id));
    for (let i = 0; i < 20; i++) await pump();
    const applied = await Promise.all(proposed);
    expect(applied.map((a) => a.index)).toEqual([1, 2, 3, 4, 5].map((k) => before + k));
    expect(applied.every((a) => a.result.ok)).toBe(true);
  });

  it('a commit index that moves alone waits for the next tick to reach the followers, sending nothing before it', async () => {
    const { c, pump, leader } = await manualWritesCluster(true);
    const followers = [...c.nodes.values()].filter((n) => n !== leader);
    const a = leader.replica.propose(encodeEntry({ id: 1, command: NET }));
    for (let i = 0; i < 20; i++) await pump();
    const { index } = await a;
    expect(leader.replica.status().commit).toBe(index);
    // Sent at once, the new commit index would have woken both followers to write it and answer.
    for (let i = 0; i < 10; i++) await pump();
    expect(c.network.pending()).toEqual([]);
    for (const f of followers) expect(f.replica.status().commit).toBeLessThan(index);
    leader.replica.tick();
    for (let i = 0; i < 10; i++) await pump();
    for (const f of followers) expect(f.replica.status()).toMatchObject({ commit: index, applied: index });
  });

  it('the next append carries a held commit index: one frame per follower where there were three', async () => {
    const { voters, c, leader } = await manualWritesCluster(true);
    const followers = [...c.nodes.values()].filter((n) => n !== leader);
    // B is proposed the moment A is answered, as a client's next request would be.
    let b: ReturnType<LocalNode['replica']['propose']> | undefined;
    const a = leader.replica.propose(encodeEntry({ id: 1, command: NET })).then((r) => {
      b = leader.replica.propose(encodeEntry({ id: 2, command: { type: 'assignSlice', network: 'pods', nodeId: 'w1' } }));
      return r;
    });
    const fromLeader: string[] = [];
    for (let i = 0; i < 20 && !b; i++) {
      for (const n of c.nodes.values()) n.storage.completeWrite();
      await c.turn();
    }
    const { index } = await a;
    // From A's answer on: B's append is the only frame to each follower until B is answered, and it tells
    // them A's commit (they apply A while they write B, with no tick).
    for (let i = 0; i < 20; i++) {
      for (const n of c.nodes.values()) n.storage.completeWrite();
      fromLeader.push(...(await c.turn()).delivered.filter((m) => m.from === leader.id).map((m) => m.to));
      if (i === 3) for (const f of followers) expect(f.replica.status().applied).toBeGreaterThanOrEqual(index);
    }
    expect(fromLeader.sort()).toEqual(voters.filter((id) => id !== leader.id));
    expect((await (b as NonNullable<typeof b>)).result.ok).toBe(true);
  });

  it('a proposal refused before it was appended (a leader removing itself) is NoLeader, never the ambiguous ProposalDropped', async () => {
    const c = await cluster3();
    const leader = await c.elect();
    await c.submit(leader, NET);
    const removal = leader.replica.proposeConfChange({ op: 'remove', node: leader.id });
    // The removal is appended at once: from now on this leader is outside its configuration.
    const refused = await c.drive(leader.replica.propose(encodeEntry({ id: 99, command: { type: 'assignSlice', network: 'pods', nodeId: 'w1' } }))).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NodeError);
    expect(refused).toMatchObject({ code: 'NoLeader', message: expect.stringMatching(/not a voter/) });
    await c.drive(removal);
    expect(leader.replica.status().role).toBe('follower');
  });

  it('a crashed follower restarts from its disk and catches up to the same state hash', async () => {
    const c = await cluster3();
    const leader = await c.elect();
    await c.submit(leader, NET);
    const victim = [...c.nodes.values()].find((n) => n !== leader);
    if (!victim) throw new Error('no follower');
    const disk = await c.crash(victim.id);
    for (let i = 0; i < 5; i++) await c.submit(leader, { type: 'assignSlice', network: 'pods', nodeId: `late${i}` });
    await c.boot(victim.id, disk);
    await c.ticks(20);
    expect(new Set(hashes(c)).size).toBe(1);
    expect(c.node(victim.id).app.sm.sliceOf('pods', 'late4')).toBeDefined();
  });

  it('snapshots and compacts by policy; a node with an empty disk joins as a learner and catches up by snapshot', async () => {
    const { c, leader } = await compacted();
    const st = leader.replica.status();
    expect(st.snapshotIndex).toBeGreaterThan(0);
    expect(leader.storage.firstIndex()).toBeGreaterThan(1);
    const joiner = await c.boot('n4', new MemoryDisk());
    await c.drive(leader.replica.proposeConfChange({ op: 'addLearner', node: 'n4' }));
    await c.ticks(30);
    expect(joiner.replica.status().snapshotIndex).toBeGreaterThan(0);
    expect(joiner.app.sm.stateHash()).toBe(leader.app.sm.stateHash());
  });

  it('the leader streams its snapshot from storage: the joiner stores exactly the bytes the leader stored, and restores from them', async () => {
    const { c, leader } = await compacted({ raftTuning: { snapshotChunkBytes: 64 } });
    const stored = leader.disk.snapshot as Snapshot;
    expect(stored.data.length).toBeGreaterThan(3 * 64); // several chunks
    // The joiner takes no snapshot of its own, so what its disk holds is what it received.
    const joiner = await c.boot('n4', new MemoryDisk(), undefined, { snapshotPolicy: { entries: 1_000_000, bytes: 1 << 30, keepTrailing: 2 } });
    await c.drive(leader.replica.proposeConfChange({ op: 'addLearner', node: 'n4' }));
    await c.ticks(60);
    const installed = joiner.disk.snapshot as Snapshot;
    expect(installed.meta).toEqual(stored.meta);
    expect(Buffer.from(installed.data)).toEqual(Buffer.from(stored.data));
    expect(joiner.app.sm.stateHash()).toBe(leader.app.sm.stateHash());
  });

  it('a snapshot chunk the leader cannot read from storage stops the leader (never a silent retry on a failing disk)', async () => {
    const { c, leader } = await compacted();
    leader.storage.failReads('bad sector');
    const joiner = await c.boot('n4', new MemoryDisk());
    await c.drive(leader.replica.proposeConfChange({ op: 'addLearner', node: 'n4' }));
    await c.ticks(10);
    expect(leader.replica.isStopped).toBe(true);
    expect(String(leader.fatal[0])).toMatch(/bad sector/);
    expect(joiner.disk.snapshot).toBeUndefined();
  });

  it('a received snapshot that fails to decode half-way stops the joining replica; its old state is never replaced and nothing after the snapshot is applied', async () => {
    const { c, leader } = await compacted();
    // The joiner's application decodes one address per step; after two steps it finds the bytes bad (as a
    // corrupt snapshot would be).
    const real = new IpamApp(undefined, 1);
    const applied: number[] = [];
    let steps = 0;
    const app = Object.assign(Object.create(real) as IpamApp, {
      beginRestore: (data: Uint8Array) => {
        const task = real.beginRestore(data);
        return { step: () => (++steps > 2 ? (() => { throw new Error('bad block in snapshot'); })() : task.step()), finish: () => task.finish() };
      },
    });
    const joiner = await c.boot('n4', new MemoryDisk(), undefined, { app, observer: { applied: (e) => applied.push(e.index) } });
    await c.drive(leader.replica.proposeConfChange({ op: 'addLearner', node: 'n4' }));
    await c.ticks(30);
    expect(steps).toBe(3);
    expect(joiner.replica.isStopped).toBe(true);
    expect(String(joiner.fatal[0])).toMatch(/bad block in snapshot/);
    expect(applied).toEqual([]);
    expect(real.sm.networks()).toEqual([]);
  });

  it('a failed write stops the replica: waiters are rejected with Stopped and onFatal hears why', async () => {
    const c = await cluster3();
    const leader = await c.elect();
    await c.submit(leader, NET);
    leader.storage.failNextWrite('disk on fire');
    const p = leader.replica.propose(encodeEntry({ id: 7, command: { type: 'assignSlice', network: 'pods', nodeId: 'w1' } }));
    await expect(c.drive(p, 5)).rejects.toMatchObject({ code: 'Stopped' });
    expect(leader.replica.isStopped).toBe(true);
    expect(String(leader.fatal[0])).toMatch(/disk on fire/);
    await expect(leader.replica.readIndex()).rejects.toMatchObject({ code: 'Stopped' });
  });

  it('the other replicas elect a new leader when the leader crashes, and nothing acknowledged is lost', async () => {
    const c = await cluster3();
    const leader = await c.elect();
    await c.submit(leader, NET);
    const acked = await c.submit(leader, { type: 'assignSlice', network: 'pods', nodeId: 'keep' });
    expect(acked.ok).toBe(true);
    await c.crash(leader.id);
    const next = await c.elect();
    expect(next.id).not.toBe(leader.id);
    expect(next.app.sm.sliceOf('pods', 'keep')).toBeDefined();
    expect(await c.submit(next, { type: 'assignSlice', network: 'pods', nodeId: 'after' })).toMatchObject({ ok: true });
  });
});
