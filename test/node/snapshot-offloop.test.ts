/**
 * A large snapshot does not stall the replica's loop (issue 7 item 6). Three replicas start from a
 * snapshot of 200,000 owned addresses; a few entries make the snapshot policy due, and each replica then
 * encodes the state a step at a time through its scheduler. The test drives the cluster one event-loop
 * turn at a time (LocalCluster.turn: scheduled work, then network deliveries) with a tick every turn, and
 * asserts on counts, never on time: the leader's capture takes many steps; between its first and last
 * step the leader keeps exchanging messages with both followers (heartbeats and their responses, and the
 * appends of proposals made meanwhile), nobody starts an election, and proposals made during the capture
 * commit. The snapshot recorded is of the index at which the capture began, byte for byte the state at
 * that index, although entries after it were applied while it was being encoded.
 *
 * The second test is the other half: a follower that receives that snapshot from the leader decodes it a
 * step at a time. Between its first and last step it keeps answering the leader, nobody starts an
 * election, and entries committed meanwhile are applied after the snapshot, in log order.
 */
import { describe, expect, it } from 'vitest';
import { encodeEntry } from '../../src/ipam/log-entry.js';
import { IpamStateMachine } from '../../src/ipam/state-machine.js';
import type { Entry, NodeId } from '../../src/raft/types.js';
import { MemoryDisk, MemoryStorage } from '../../src/storage/memory-storage.js';
import { wholeSnapshot } from '../../src/storage/whole-snapshot.js';
import { LocalCluster } from './local-cluster.js';

const ADDRESSES = 200_000;
const VOTERS: NodeId[] = ['a', 'b', 'c'];

function bigState(): IpamStateMachine {
  const sm = new IpamStateMachine();
  sm.apply({ type: 'configureNetwork', name: 'overlay', cidr: '10.0.0.0/8', slicePrefix: 22 });
  for (let node = 0, made = 0; made < ADDRESSES; node++) {
    const nodeId = `host-${node}`;
    sm.apply({ type: 'assignSlice', network: 'overlay', nodeId });
    for (let i = 0; i < 1022 && made < ADDRESSES; i++, made++) {
      const r = sm.apply({ type: 'allocate', network: 'overlay', nodeId, owner: `pod-${made}` });
      if (!r.ok) throw new Error(r.error.message);
    }
  }
  return sm;
}

/** A disk holding the snapshot `data` at index 1 with the given voters, as after a restore. */
async function diskWithSnapshot(id: NodeId, data: Uint8Array): Promise<MemoryDisk> {
  const disk = new MemoryDisk();
  const storage = await MemoryStorage.open(disk, { clusterId: 'local', nodeId: id });
  await storage.persist({ hardState: { term: 1, vote: null, commit: 1 }, entries: [], ...wholeSnapshot({ meta: { index: 1, term: 1, conf: { voters: VOTERS, learners: [] } }, data }) });
  await storage.close();
  return disk;
}

describe('a large snapshot is encoded between inputs', () => {
  it('heartbeats and appends keep flowing while 200,000 owned addresses are snapshotted, and the snapshot is exactly the state at its index', async () => {
    const initial = bigState().snapshot();
    const events: Record<NodeId, Array<{ kind: 'step' | 'taken'; index: number; appliedThen?: number }>> = { a: [], b: [], c: [] };
    const applied: Record<NodeId, Entry[]> = { a: [], b: [], c: [] };
    const cluster = new LocalCluster(VOTERS, { snapshotPolicy: { entries: 4, bytes: 1 << 30, keepTrailing: 1 } });
    for (const id of VOTERS) {
      // Every replica boots from the same snapshot at index 1 (as after a restore), so the state is large
      // without 200,000 entries going through the log.
      const disk = await diskWithSnapshot(id, initial);
      const log = events[id] as Array<{ kind: 'step' | 'taken'; index: number; appliedThen?: number }>;
      const entries = applied[id] as Entry[];
      await cluster.boot(id, disk, undefined, {
        observer: {
          snapshotStep: (index) => log.push({ kind: 'step', index }),
          snapshotTaken: (index) => log.push({ kind: 'taken', index, appliedThen: entries.at(-1)?.index ?? 0 }),
          applied: (entry) => entries.push(entry),
        },
      });
    }
    const leader = await cluster.elect();
    const term = leader.replica.status().term;
    const followers = VOTERS.filter((id) => id !== leader.id);
    expect(events[leader.id]).toEqual([]); // one entry (the leader's empty entry) applied: not due yet

    // Three proposals make the policy due on every replica; the cluster then runs turn by turn, with more
    // proposals during the capture so that entries after its index are applied while it is encoded.
    let owner = 0;
    const propose = (): Promise<unknown> => leader.replica.propose(encodeEntry({ id: ++owner, command: { type: 'allocate', network: 'overlay', nodeId: 'host-0', owner: `late-${owner}` } }));
    const first = [propose(), propose(), propose()];
    const later: Array<Promise<unknown>> = [];
    const linkUse = new Map<string, number>(); // frames per link while the leader's capture was running
    let turnsDuringCapture = 0;
    let maxLeaderStepsPerTurn = 0;
    for (let t = 0; t < 2_000 && !VOTERS.every((id) => (events[id] as Array<{ kind: string }>).some((e) => e.kind === 'taken')); t++) {
      for (const node of cluster.nodes.values()) node.replica.tick();
      const stepsBefore = (events[leader.id] as unknown[]).length;
      const { delivered } = await cluster.turn();
      const leaderEvents = events[leader.id] as Array<{ kind: string }>;
      maxLeaderStepsPerTurn = Math.max(maxLeaderStepsPerTurn, leaderEvents.slice(stepsBefore).filter((e) => e.kind === 'step').length);
      const capturing = leaderEvents.length > 0 && !leaderEvents.some((e) => e.kind === 'taken');
      if (capturing && stepsBefore > 0) {
        turnsDuringCapture++;
        for (const { from, to } of delivered) linkUse.set(`${from}>${to}`, (linkUse.get(`${from}>${to}`) ?? 0) + 1);
        if (turnsDuringCapture % 2 === 0 && later.length < 5) later.push(propose());
      }
    }
    await Promise.all(first);

    // Many steps, one per turn: the leader's loop went back to its inputs between any two of them.
    const leaderSteps = (events[leader.id] as Array<{ kind: string; index: number }>).filter((e) => e.kind === 'step');
    expect(leaderSteps.length).toBeGreaterThanOrEqual(10);
    expect(maxLeaderStepsPerTurn).toBe(1);
    expect(turnsDuringCapture).toBeGreaterThanOrEqual(leaderSteps.length - 2);
    for (const f of followers) {
      expect(linkUse.get(`${leader.id}>${f}`) ?? 0).toBeGreaterThanOrEqual(5); // heartbeats, appends
      expect(linkUse.get(`${f}>${leader.id}`) ?? 0).toBeGreaterThanOrEqual(5); // their responses
    }
    expect(later.length).toBe(5);
    // No election while snapshots were being taken: same term, same leader everywhere.
    for (const node of cluster.nodes.values()) expect(node.replica.status()).toMatchObject({ term, lead: leader.id });

    // The proposals made during the capture committed once the cluster settles.
    await cluster.drive(Promise.all(later));
    for (const id of VOTERS) {
      const taken = (events[id] as Array<{ kind: string; index: number }>).find((e) => e.kind === 'taken') as { index: number };
      const stored = await cluster.node(id).storage.load();
      expect(stored.snapshot?.meta.index).toBe(taken.index);
      expect(cluster.node(id).replica.status().applied).toBeGreaterThan(taken.index);
      // The state at the snapshot's index, rebuilt from the initial snapshot and the entries up to it.
      const reference = new IpamStateMachine();
      reference.restore(initial);
      for (const e of applied[id] as Entry[]) if (e.index <= taken.index && e.type === 'normal' && e.data.length > 0) reference.applyEntry(e.data);
      expect(Buffer.from(stored.snapshot?.data as Uint8Array).equals(Buffer.from(reference.snapshot()))).toBe(true);
    }
    // On the leader, entries past the snapshot's index were applied while it was being encoded.
    const leaderTaken = (events[leader.id] as Array<{ kind: string; index: number; appliedThen?: number }>).find((e) => e.kind === 'taken');
    expect(leaderTaken?.appliedThen).toBeGreaterThan(leaderTaken?.index as number);
    for (const node of cluster.nodes.values()) expect(node.fatal).toEqual([]);
  }, 120_000);

  it('a follower decodes a received snapshot of 200,000 owned addresses between inputs: it keeps answering the leader, and entries committed meanwhile are applied after it, in order', async () => {
    const initial = bigState().snapshot();
    const cluster = new LocalCluster(VOTERS);
    // a and b hold the state; c is empty and learns everything from the leader, which has no log before
    // index 2 to send it: only the snapshot.
    // Snapshot bytes each node reports sending and receiving (what a serve process collects garbage on).
    const traffic = new Map<string, number>();
    const count = (id: NodeId) => (direction: 'sent' | 'received', bytes: number) => traffic.set(`${id} ${direction}`, (traffic.get(`${id} ${direction}`) ?? 0) + bytes);
    for (const id of ['a', 'b']) await cluster.boot(id, await diskWithSnapshot(id, initial), undefined, { observer: { snapshotTraffic: count(id) } });
    // Elected by a and b before c exists, so that everything c does below happens turn by turn.
    const leader = await cluster.elect();
    const term = leader.replica.status().term;
    const steps: number[] = [];
    const installed: number[] = [];
    const appliedAtC: Entry[] = [];
    const c = await cluster.boot('c', new MemoryDisk(), undefined, {
      observer: {
        restoreStep: (_index, step) => steps.push(step),
        snapshotInstalled: (index) => installed.push(index),
        applied: (entry) => appliedAtC.push(entry),
        snapshotTraffic: count('c'),
      },
    });

    let owner = 0;
    // host-195 holds the last, partly filled slice (200,000 − 195 × 1,022 addresses): room for more.
    const propose = (): Promise<unknown> => leader.replica.propose(encodeEntry({ id: ++owner, command: { type: 'allocate', network: 'overlay', nodeId: 'host-195', owner: `late-${owner}` } }));
    const proposals: Array<Promise<unknown>> = [];
    const linkUse = new Map<string, number>(); // frames per link while c was decoding
    let turnsDuringInstall = 0;
    let appliedDuringInstall = -1;
    let maxStepsPerTurn = 0;
    for (let t = 0; t < 2_000 && installed.length === 0; t++) {
      for (const node of cluster.nodes.values()) node.replica.tick();
      const decoding = steps.length > 0;
      const stepsBefore = steps.length;
      const { delivered } = await cluster.turn();
      maxStepsPerTurn = Math.max(maxStepsPerTurn, steps.length - stepsBefore);
      if (decoding && installed.length === 0) {
        turnsDuringInstall++;
        for (const { from, to } of delivered) linkUse.set(`${from}>${to}`, (linkUse.get(`${from}>${to}`) ?? 0) + 1);
        if (turnsDuringInstall % 2 === 0 && proposals.length < 5) proposals.push(propose());
        // While decoding, c's state is still the empty one: applied stays below the snapshot.
        appliedDuringInstall = Math.max(appliedDuringInstall, c.replica.status().applied);
        expect(c.replica.status().installing).toBe(1);
        expect(c.app.sm.networks()).toEqual([]);
      }
    }
    expect(installed).toEqual([1]);
    // c received every byte of the snapshot once, in chunks, from the leader; nobody else sent or received
    // any. The leader may have sent some twice: this test ticks every turn, so a chunk whose answer takes
    // longer than a heartbeat interval (2 turns) is sent again, and c drops the copy.
    expect([...traffic.keys()].sort()).toEqual([`${leader.id} sent`, 'c received']);
    expect(traffic.get('c received')).toBe(initial.length);
    expect(traffic.get(`${leader.id} sent`)).toBeGreaterThanOrEqual(initial.length);
    // Many steps, and the loop went back to its inputs between them (one step per turn at most).
    expect(steps.length).toBeGreaterThanOrEqual(10);
    expect(maxStepsPerTurn).toBe(1);
    expect(turnsDuringInstall).toBe(steps.length - 2); // the turns strictly between the first and last step
    expect(appliedDuringInstall).toBe(0);
    expect(linkUse.get(`c>${leader.id}`) ?? 0).toBeGreaterThanOrEqual(5); // heartbeat and append responses
    expect(linkUse.get(`${leader.id}>c`) ?? 0).toBeGreaterThanOrEqual(5);
    expect(proposals.length).toBe(5);
    for (const node of cluster.nodes.values()) expect(node.replica.status()).toMatchObject({ term, lead: leader.id });

    // Everything proposed meanwhile commits; c applies it after the snapshot, in log order, and ends up
    // with the leader's state.
    await cluster.drive(Promise.all(proposals));
    await cluster.settle();
    const indexes = appliedAtC.map((e) => e.index);
    expect(indexes.length).toBeGreaterThan(5);
    expect(indexes).toEqual(indexes.map((_, i) => i + 2));
    expect(c.replica.status().applied).toBe(leader.replica.status().applied);
    expect(c.app.sm.stateHash()).toBe(leader.app.sm.stateHash());
    expect((c.app.sm.allocations('overlay', { nodeId: 'host-195' }) ?? []).filter((a) => a.owner?.startsWith('late-')).length).toBe(5);
    for (const node of cluster.nodes.values()) expect(node.fatal).toEqual([]);
  }, 120_000);
});
