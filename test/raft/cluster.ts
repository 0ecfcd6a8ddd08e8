/**
 * A small in-memory cluster driver for API-level Raft tests: every node is a RaftCore with its own
 * persisted state; `stabilize()` processes Ready and delivers messages until nothing moves. Messages can be
 * dropped per link, and a test can look at everything a node sent.
 */
import { RaftCore, type RaftConfig } from '../../src/raft/raft.js';
import { createRng } from '../../src/raft/rng.js';
import type { SnapshotPolicy } from '../../src/raft/snapshot-policy.js';
import type { ConfState, Entry, HardState, Message, NodeId, ReadState, Ready, Snapshot } from '../../src/raft/types.js';
import { SnapshotBytes } from './snapshot-bytes.js';

export const enc = new TextEncoder();
export const dec = new TextDecoder();

export interface Stored {
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

export class Cluster {
  readonly cores = new Map<NodeId, RaftCore>();
  readonly stored = new Map<NodeId, Stored>();
  readonly applied = new Map<NodeId, string[]>();
  readonly reads = new Map<NodeId, ReadState[]>();
  readonly readies = new Map<NodeId, Ready[]>();
  /** Each node's snapshot bytes (the core keeps only their metadata): its "disk", kept across restarts. */
  readonly snapshots = new Map<NodeId, SnapshotBytes>();
  queue: Message[] = [];
  /** Links that drop everything: "from>to". */
  readonly cut = new Set<string>();
  sent: Message[] = [];

  constructor(
    ids: NodeId[],
    readonly cfg: Partial<RaftConfig> = {},
    conf: ConfState = { voters: ids, learners: [] },
  ) {
    for (const id of ids) this.boot(id, { hardState: { term: 0, vote: null, commit: 0 }, entries: [] }, conf);
  }

  boot(id: NodeId, stored: Stored, initialConf?: ConfState): RaftCore {
    const bytes = new SnapshotBytes(stored.snapshot);
    this.snapshots.set(id, bytes);
    const core = new RaftCore(
      { id, electionTick: 10, heartbeatTick: 1, rng: createRng(id.charCodeAt(0) * 7 + id.length), ...this.cfg },
      { hardState: stored.hardState, entries: [...stored.entries], ...(bytes.info ? { snapshot: bytes.info } : {}), ...(initialConf ? { initialConf } : {}) },
    );
    this.cores.set(id, core);
    this.stored.set(id, { hardState: { ...stored.hardState }, entries: [...stored.entries], ...(stored.snapshot ? { snapshot: stored.snapshot } : {}) });
    if (!this.applied.has(id)) this.applied.set(id, []);
    if (!this.reads.has(id)) this.reads.set(id, []);
    if (!this.readies.has(id)) this.readies.set(id, []);
    this.flush(id);
    return core;
  }

  /** A member added later: an empty node that learns everything from the leader. */
  addEmpty(id: NodeId): RaftCore {
    return this.boot(id, { hardState: { term: 0, vote: null, commit: 0 }, entries: [] });
  }

  /** The driver of `id` snapshots its state machine at `index` (the bytes stay with the driver). */
  compact(id: NodeId, index: number, data: Uint8Array, keep: SnapshotPolicy | number): { snapshot: Snapshot; compactedTo: number } {
    const r = (this.snapshots.get(id) as SnapshotBytes).compact(this.core(id), index, data, keep);
    (this.stored.get(id) as Stored).snapshot = r.snapshot;
    return r;
  }

  core(id: NodeId): RaftCore {
    const c = this.cores.get(id);
    if (!c) throw new Error(`no node ${id}`);
    return c;
  }

  /** Process one node's Ready until it has none: persist, queue messages, apply. */
  flush(id: NodeId): void {
    const core = this.core(id);
    const st = this.stored.get(id) as Stored;
    while (core.hasReady()) {
      const rd = core.ready();
      (this.readies.get(id) as Ready[]).push(rd);
      const bytes = this.snapshots.get(id) as SnapshotBytes;
      const installed = bytes.persist(rd);
      if (installed) {
        st.snapshot = installed;
        st.entries = [];
      }
      if (rd.entries.length > 0) {
        const first = (rd.entries[0] as Entry).index;
        st.entries = [...st.entries.filter((e) => e.index < first), ...rd.entries];
      }
      if (rd.hardState) st.hardState = rd.hardState;
      for (const e of rd.committedEntries) if (e.type === 'normal' && e.data.length > 0) (this.applied.get(id) as string[]).push(dec.decode(e.data));
      (this.reads.get(id) as ReadState[]).push(...rd.readStates);
      const out = [...rd.messages, ...bytes.messages(id, rd)];
      this.sent.push(...out);
      this.queue.push(...out);
      core.advance(rd);
    }
  }

  flushAll(): void {
    for (const id of this.cores.keys()) this.flush(id);
  }

  /** Deliver every queued message (dropping cut links and unknown nodes), repeatedly, until quiet. */
  stabilize(maxRounds = 200): void {
    this.flushAll();
    for (let round = 0; round < maxRounds && this.queue.length > 0; round++) {
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (this.cut.has(`${m.from}>${m.to}`)) continue;
        const to = this.cores.get(m.to);
        if (!to) continue;
        to.step(m);
        this.flush(m.to);
      }
      this.flushAll();
    }
  }

  isolate(id: NodeId): void {
    for (const other of this.cores.keys()) if (other !== id) this.cut.add(`${id}>${other}`).add(`${other}>${id}`);
  }

  heal(): void {
    this.cut.clear();
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.core(id).tick();
      this.flush(id);
    }
  }

  /**
   * Make `id` leader and deliver until quiet. The election is forced the way a leadership transfer forces
   * one (TimeoutNow: no PreVote, peers' startup leases do not apply), so a test need not wait out the
   * election timeouts of freshly started nodes.
   */
  elect(id: NodeId): void {
    const core = this.core(id);
    if (this.cores.size === 1) {
      core.campaign();
      this.stabilize();
      return;
    }
    core.step({ type: 'timeoutNow', from: core.status().lead ?? [...this.cores.keys()].find((k) => k !== id) ?? id, to: id, term: core.status().term });
    this.stabilize();
  }

  propose(id: NodeId, text: string): { index: number; term: number } {
    const r = this.core(id).propose(enc.encode(text));
    this.flush(id);
    return r;
  }

  sentBy(id: NodeId, type?: Message['type']): Message[] {
    return this.sent.filter((m) => m.from === id && (type === undefined || m.type === type));
  }

  clearSent(): void {
    this.sent = [];
  }
}
