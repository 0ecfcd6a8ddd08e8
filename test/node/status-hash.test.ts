/**
 * IpamNode.status(): the state hash of a large state is computed off the event loop (captured and hashed
 * a step at a time, as GET /v1/snapshot does) and once per applied index; it is the hash of the state at
 * `stateHashIndex`, which on a quiet node is `applied`. raftStatus() answers the rest from memory.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '../../cluster/addresses.js';
import { restoreSnapshot } from '../../src/backup/restore.js';
import { encodeSnapshotFile } from '../../src/backup/snapshot-file.js';
import { IpamStateMachine } from '../../src/ipam/state-machine.js';
import { IpamNode } from '../../src/node/ipam-node.js';
import { TempDirs } from '../storage/tmp-dirs.js';

const dirs = new TempDirs();
const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
  await dirs.cleanup();
});

/** Event-loop turns that pass until `p` settles: work done in one synchronous run counts none. */
async function turnsUntil<T>(p: Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  const spin = (): void => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    return { value: await p, turns };
  } finally {
    done = true;
  }
}

describe('IpamNode.status()', () => {
  it('hashes 100,000 owned addresses over many event-loop turns, once per applied index, and agrees with the state machine', async () => {
    const sm = new IpamStateMachine();
    sm.apply({ type: 'configureNetwork', name: 'pods', cidr: '10.0.0.0/8', slicePrefix: 22 });
    for (let n = 0; n < 100; n++) {
      const w = `w${n}`;
      sm.apply({ type: 'assignSlice', network: 'pods', nodeId: w });
      for (let i = 0; i < 1_000; i++) sm.apply({ type: 'allocate', network: 'pods', nodeId: w, owner: `${w}-c${i}` });
    }
    const root = await dirs.make('raft-ipam-status-');
    const file = join(root, 'state.snap');
    await writeFile(file, encodeSnapshotFile({ clusterId: 'src', index: 100, term: 2, takenAt: 0 }, sm.snapshot()));
    const [port] = await freePorts(1);
    const initialCluster = { a: `127.0.0.1:${port}` };
    const { clusterId } = await restoreSnapshot({ file, dataDir: join(root, 'a'), name: 'a', initialCluster, sourceClusterId: 'src' });
    const node = await IpamNode.start({ name: 'a', dataDir: join(root, 'a'), clusterId, initialCluster, insecure: true, tickMs: 20 });
    stops.push(() => node.stop());
    while (node.raftStatus().role !== 'leader') await new Promise((r) => setTimeout(r, 20));
    await node.query('linearizable', () => undefined); // the new leader's first entries are applied

    const first = await turnsUntil(node.status());
    expect(first.value).toMatchObject({ role: 'leader', stateHash: sm.stateHash(), stateHashIndex: first.value.applied });
    // 100 blocks of 1,000 owned addresses; a capture step takes whole blocks until it holds 16,384
    // addresses (17 blocks), so 6 steps, each on its own event-loop iteration.
    expect(first.turns).toBeGreaterThanOrEqual(6);

    // Nothing applied since: the cached hash, with no capture (not one turn).
    const again = await turnsUntil(node.status());
    expect(again.value).toMatchObject({ stateHash: first.value.stateHash, stateHashIndex: first.value.stateHashIndex });
    expect(again.turns).toBe(0);

    // Concurrent callers share one capture; a write moves the index and the hash.
    const r = await node.submit({ type: 'allocate', network: 'pods', nodeId: 'w0', owner: 'late' });
    expect(r.ok).toBe(true);
    const [x, y] = await Promise.all([node.status(), node.status()]);
    expect(x).toEqual(y);
    expect(x.stateHashIndex).toBeGreaterThan(first.value.stateHashIndex);
    expect(x.stateHash).not.toBe(first.value.stateHash);
    // The node is quiet again: the hash is of its state machine as it is now.
    expect(x).toMatchObject({ stateHash: node.stateMachine().stateHash(), stateHashIndex: node.raftStatus().applied });

    // A stopped node still answers (as raftStatus() does), with the hash of the state it stopped at.
    await node.stop();
    expect(await node.status()).toMatchObject({ stateHash: node.stateMachine().stateHash(), stateHashIndex: node.raftStatus().applied });
  });
});
