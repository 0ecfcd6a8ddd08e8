/**
 * Replica.exportSnapshot (the capture behind GET /v1/snapshot): the state at the applied index when its
 * capture begins, with that entry's term, encoded a step at a time while entries keep being applied; it
 * shares the one capture slot with the snapshot policy (the application's copy-on-write hooks serve one
 * capture at a time), restarts on the newer state when a leader's snapshot replaces the state under it,
 * and is rejected with Stopped when the replica stops. Driven turn by turn on LocalCluster (no timers).
 */
import { describe, expect, it } from 'vitest';
import { encodeEntry } from '../../src/ipam/log-entry.js';
import { IpamStateMachine, type ApplyResult } from '../../src/ipam/state-machine.js';
import { IpamApp } from '../../src/node/ipam-app.js';
import type { ExportedState, SnapshotTask } from '../../src/node/replica.js';
import type { Entry, NodeId } from '../../src/raft/types.js';
import { MemoryDisk } from '../../src/storage/memory-storage.js';
import { LocalCluster, type LocalNode } from './local-cluster.js';

const NET = { type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/16', slicePrefix: 24 } as const;
const VOTERS: NodeId[] = ['a', 'b', 'c'];

/** A capture of `sm` that encodes one block (or session) per step, and counts steps. */
function slowCapture(sm: IpamStateMachine, counter: { steps: number; begun: number }, gate?: { open: boolean }): () => SnapshotTask {
  return () => {
    counter.begun++;
    const cap = sm.beginSnapshot();
    return {
      step: () => {
        if (gate && !gate.open) return false;
        counter.steps++;
        return cap.step(1);
      },
      result: () => cap.result(),
      abort: () => cap.abort(),
    };
  };
}

/** Drive turn by turn (a tick every turn) until `p` settles. */
async function until<T>(c: LocalCluster, p: Promise<T>, turns = 2_000): Promise<T> {
  let done = false;
  const watched = p.finally(() => {
    done = true;
  });
  watched.catch(() => undefined);
  for (let t = 0; t < turns && !done; t++) {
    for (const n of c.nodes.values()) n.replica.tick();
    await c.turn();
  }
  return watched;
}

/** A cluster whose nodes record the entries they apply. */
async function recorded(extra: ConstructorParameters<typeof LocalCluster>[1] = {}): Promise<{ c: LocalCluster; applied: Record<NodeId, Entry[]> }> {
  const applied: Record<NodeId, Entry[]> = { a: [], b: [], c: [] };
  const c = new LocalCluster(VOTERS, extra);
  for (const id of VOTERS) await c.boot(id, new MemoryDisk(), { voters: VOTERS, learners: [] }, { observer: { applied: (e) => applied[id]?.push(e) } });
  return { c, applied };
}

/** The state at `index`, rebuilt from the entries a node applied (which start from an empty state). */
function stateAt(entries: readonly Entry[], index: number): IpamStateMachine {
  const sm = new IpamStateMachine();
  for (const e of entries) if (e.index <= index && e.type === 'normal' && e.data.length > 0) sm.applyEntry(e.data);
  return sm;
}

describe('Replica.exportSnapshot', () => {
  it('is the state at the applied index when it began, with that entry’s term, though entries kept being applied while it was encoded', async () => {
    const { c, applied } = await recorded();
    const leader = await c.elect();
    await c.submit(leader, NET);
    for (let i = 0; i < 12; i++) await c.submit(leader, { type: 'assignSlice', network: 'pods', nodeId: `w${i}` });
    for (let i = 0; i < 12; i++) await c.submit(leader, { type: 'allocate', network: 'pods', nodeId: `w${i}`, owner: `o${i}` });

    const counter = { steps: 0, begun: 0 };
    const at = leader.replica.status().applied;
    const expected = leader.app.sm.snapshot();
    const exported = leader.replica.exportSnapshot(slowCapture(leader.app.sm, counter));
    // More writes while it is being encoded, some to blocks the capture has not reached yet.
    let id = 1000;
    const later = [11, 10, 9, 3].map((w) => leader.replica.propose(encodeEntry({ id: id++, command: { type: 'allocate', network: 'pods', nodeId: `w${w}`, owner: `late-${w}` } })));
    const got: ExportedState = await until(c, exported);
    await c.drive(Promise.all(later));

    expect(got.index).toBe(at);
    expect(got.term).toBe(leader.replica.status().term);
    expect(Buffer.from(got.data).equals(Buffer.from(expected))).toBe(true);
    expect(Buffer.from(got.data).equals(Buffer.from(stateAt(applied[leader.id] as Entry[], at).snapshot()))).toBe(true);
    expect(counter.steps).toBeGreaterThan(10);
    expect(leader.replica.status().applied).toBeGreaterThan(at);
    expect(leader.app.sm.stateHash()).not.toBe(new IpamStateMachine().stateHash());
    for (const n of c.nodes.values()) expect(n.fatal).toEqual([]);
  });

  it('shares the one capture slot with the snapshot policy: exports and policy snapshots all complete, never two captures at once', async () => {
    // Captures running at once, per node (each node's state has its own hooks).
    const active = new Map<NodeId, number>();
    let maxActive = 0;
    const tracked = (node: NodeId, begin: () => SnapshotTask): (() => SnapshotTask) => () => {
      const task = begin();
      active.set(node, (active.get(node) ?? 0) + 1);
      maxActive = Math.max(maxActive, active.get(node) as number);
      let open = true;
      const end = (): void => {
        if (open) active.set(node, (active.get(node) as number) - 1);
        open = false;
      };
      return { step: () => task.step(), result: () => (end(), task.result()), abort: () => (end(), task.abort()) };
    };
    // The policy is due every 3 entries and encodes one block per step (snapshotStepAddresses = 1).
    const apps = new Map<NodeId, IpamApp>();
    const c = new LocalCluster(VOTERS, { snapshotPolicy: { entries: 3, bytes: 1 << 30, keepTrailing: 1 } });
    const taken: number[] = [];
    for (const id of VOTERS) {
      const app = new IpamApp(new IpamStateMachine(), 1);
      apps.set(id, app);
      const counted = { apply: (e: { index: number; term: number; data: Uint8Array }): ApplyResult => app.apply(e), snapshot: () => app.snapshot(), restore: (d: Uint8Array) => app.restore(d), beginSnapshot: tracked(id, () => app.beginSnapshot()) };
      await c.boot(id, new MemoryDisk(), { voters: VOTERS, learners: [] }, { app: counted, observer: { snapshotTaken: (index) => id === 'a' && taken.push(index) } });
    }
    const leader = await c.elect();
    const app = apps.get(leader.id) as IpamApp;
    await c.submit(leader, NET);
    for (let i = 0; i < 8; i++) await c.submit(leader, { type: 'assignSlice', network: 'pods', nodeId: `w${i}` });
    const counter = { steps: 0, begun: 0 };
    const exports: Array<Promise<ExportedState>> = [];
    let id = 2000;
    const writes: Array<Promise<unknown>> = [];
    for (let round = 0; round < 6; round++) {
      exports.push(leader.replica.exportSnapshot(tracked(leader.id, slowCapture(app.sm, counter))));
      for (let k = 0; k < 3; k++) writes.push(leader.replica.propose(encodeEntry({ id: id++, command: { type: 'allocate', network: 'pods', nodeId: `w${k}` } })));
      for (let t = 0; t < 3; t++) {
        for (const n of c.nodes.values()) n.replica.tick();
        await c.turn();
      }
    }
    const results = await until(c, Promise.all(exports));
    await c.drive(Promise.all(writes));
    expect(results).toHaveLength(6);
    expect(counter.begun).toBe(6);
    // Each is a valid state at a non-decreasing index (exports are served in the order asked).
    for (let i = 1; i < results.length; i++) expect((results[i] as ExportedState).index).toBeGreaterThanOrEqual((results[i - 1] as ExportedState).index);
    for (const r of results) expect(() => new IpamStateMachine().restore(r.data)).not.toThrow();
    expect(maxActive).toBe(1);
    expect(taken.length).toBeGreaterThan(0);
    for (const n of c.nodes.values()) expect(n.fatal).toEqual([]);
  });

  it('restarts on the newer state when a snapshot from the leader replaces the state it was capturing', async () => {
    const { c, applied } = await recorded({ snapshotPolicy: { entries: 3, bytes: 1 << 30, keepTrailing: 1 } });
    const leader = await c.elect();
    await c.submit(leader, NET);
    for (let i = 0; i < 6; i++) await c.submit(leader, { type: 'assignSlice', network: 'pods', nodeId: `w${i}` });
    await c.ticks(3);
    const lagging = [...c.nodes.values()].find((n) => n !== leader) as LocalNode;
    const others = VOTERS.filter((v) => v !== lagging.id);
    c.network.partition([lagging.id], others);
    for (let i = 6; i < 30; i++) await c.submit(leader, { type: 'assignSlice', network: 'pods', nodeId: `w${i}` });
    await c.ticks(3);
    const before = lagging.replica.status();
    expect(leader.replica.status().snapshotIndex).toBeGreaterThan(before.applied); // only a snapshot can catch it up

    // The lagging node starts an export that cannot finish until the gate opens.
    const gate = { open: false };
    const counter = { steps: 0, begun: 0 };
    const exported = lagging.replica.exportSnapshot(slowCapture(lagging.app.sm, counter, gate));
    c.network.heal();
    for (let t = 0; t < 500 && lagging.replica.status().snapshotIndex <= before.snapshotIndex; t++) {
      for (const n of c.nodes.values()) n.replica.tick();
      await c.turn();
    }
    const installed = lagging.replica.status().snapshotIndex;
    expect(installed).toBeGreaterThan(before.applied);
    gate.open = true;
    const got = await until(c, exported);
    await c.ticks(5);
    expect(counter.begun).toBe(2); // the first capture was dropped with the old state, then begun again
    expect(got.index).toBeGreaterThanOrEqual(installed);
    // Exactly the state at its index, as the leader (which never installed a snapshot) applied it.
    expect(Buffer.from(got.data).equals(Buffer.from(stateAt(applied[leader.id] as Entry[], got.index).snapshot()))).toBe(true);
    const restored = new IpamStateMachine();
    restored.restore(got.data);
    expect(restored.sliceOf('pods', 'w6')).toBe(leader.app.sm.sliceOf('pods', 'w6')); // assigned during the partition
    expect(lagging.fatal).toEqual([]);
  });

  it('a stopped replica rejects waiting and new exports with Stopped', async () => {
    const c = await LocalCluster.start(VOTERS);
    const leader = await c.elect();
    await c.submit(leader, NET);
    const gate = { open: false };
    const counter = { steps: 0, begun: 0 };
    const running = leader.replica.exportSnapshot(slowCapture(leader.app.sm, counter, gate));
    const waiting = leader.replica.exportSnapshot(slowCapture(leader.app.sm, counter));
    await c.turn();
    await leader.replica.stop('test stop');
    await expect(running).rejects.toMatchObject({ code: 'Stopped' });
    await expect(waiting).rejects.toMatchObject({ code: 'Stopped' });
    await expect(leader.replica.exportSnapshot(slowCapture(leader.app.sm, counter))).rejects.toMatchObject({ code: 'Stopped' });
    expect(counter.begun).toBe(1);
  });

  it('a capture that fails is that export’s error: the replica goes on and serves the next one', async () => {
    const c = await LocalCluster.start(VOTERS);
    const leader = await c.elect();
    await c.submit(leader, NET);
    const failing = leader.replica.exportSnapshot(() => {
      throw new Error('cannot capture');
    });
    const failingStep = leader.replica.exportSnapshot(() => ({ step: () => { throw new Error('step failed'); }, result: () => new Uint8Array(), abort: () => undefined }));
    const stepError = failingStep.catch((e: unknown) => e);
    await expect(until(c, failing)).rejects.toThrow('cannot capture');
    expect(await until(c, stepError)).toMatchObject({ message: 'step failed' });
    const ok = await until(c, leader.replica.exportSnapshot(slowCapture(leader.app.sm, { steps: 0, begun: 0 })));
    expect(Buffer.from(ok.data).equals(Buffer.from(leader.app.sm.snapshot()))).toBe(true);
    expect(leader.fatal).toEqual([]);
    expect(await c.submit(leader, { type: 'assignSlice', network: 'pods', nodeId: 'after' })).toMatchObject({ ok: true });
  });
});
