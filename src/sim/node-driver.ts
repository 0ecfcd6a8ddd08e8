/**
 * One simulated node: a RaftCore, its IpamStateMachine and what it persisted, driven through the Ready
 * contract of src/raft/types.ts (persist → send → apply → advance) on virtual time. A crash loses
 * everything in memory, a restart boots from what was persisted. This module is the seam where the
 * production node runtime will run instead, over in-memory storage: the rest of the simulation only ticks
 * it, hands it messages, asks it to propose or read, and reads what a Ready produced.
 */
import type { ApplyResult } from '../ipam/state-machine.js';
import { IpamStateMachine } from '../ipam/state-machine.js';
import { RaftCore, type RaftBootState, type RaftConfig } from '../raft/raft.js';
import { withTestingKnobs, type TestingKnobs } from '../raft/internal.js';
import type { Rng } from '../raft/rng.js';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, ReadState, Snapshot } from '../raft/types.js';
import { decodeRequest } from './ipam-requests.js';
import type { Scheduler } from './scheduler.js';

const TICK_MS = 10;

/** What survives a crash: the durable part of a node (Figure 2, "Persistent state on all servers"). */
interface PersistedState {
  hardState: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
}

export interface Transport {
  send(m: Message): void;
}

/** Everything a node needs from its surroundings, fixed for the whole run. */
export interface NodeEnvironment {
  scheduler: Scheduler;
  /** The run's shared stream: tick phases, ready delays and each core's own stream are drawn from it. */
  rng: Rng;
  transport: Transport;
  /** Core settings of this run (all but id and rng, which are per node and per life). */
  config: Omit<RaftConfig, 'id' | 'rng'>;
  knobs: TestingKnobs;
}

export interface AppliedEntry {
  entry: Entry;
  /** The client request the entry carried and what the state machine answered. */
  request?: { id: number; result: ApplyResult };
}

/** What one Ready did, for the checker and the client to look at afterwards. */
export interface ReadyOutcome {
  /** The hard state made durable, if it changed. */
  persisted: HardState | undefined;
  applied: AppliedEntry[];
  readStates: ReadState[];
  /** Applied index after advance(): reads up to it can be served. */
  appliedIndex: number;
  becameLeader: boolean;
}

export class SimNode {
  private readonly storage: PersistedState = { hardState: { term: 0, vote: null, commit: 0 }, entries: [] };
  private coreOfLife: RaftCore | undefined;
  private smOfLife: IpamStateMachine | undefined;
  private readyScheduled = false;
  /** Incremented on crash, so events scheduled for a previous life are dropped. */
  private lives = 0;
  private bootStatus = { term: 0, commit: 0, applied: 0 };
  /** Snapshots this node took (compactions) and received (InstallSnapshot). */
  readonly counts = { snapshots: 0, snapshotsInstalled: 0 };

  constructor(
    readonly id: NodeId,
    /** Founding members boot with the initial configuration; spares have none and join by conf change. */
    readonly initialConf: ConfState | undefined,
    private readonly env: NodeEnvironment,
  ) {}

  get life(): number {
    return this.lives;
  }

  get core(): RaftCore | undefined {
    return this.coreOfLife;
  }

  get sm(): IpamStateMachine | undefined {
    return this.smOfLife;
  }

  /** Term, commit and applied at the start of this life: where per-life monotonicity is measured from. */
  get booted(): { term: number; commit: number; applied: number } {
    return this.bootStatus;
  }

  /** Boot from what was persisted. */
  start(): void {
    const st = this.storage;
    const boot: RaftBootState = {
      hardState: { ...st.hardState },
      entries: st.entries.slice(),
      ...(st.snapshot ? { snapshot: st.snapshot } : {}),
      ...(this.initialConf ? { initialConf: this.initialConf } : {}),
    };
    const config = withTestingKnobs({ id: this.id, ...this.env.config, rng: this.env.rng.fork() }, this.env.knobs);
    this.coreOfLife = new RaftCore(config, boot);
    this.smOfLife = new IpamStateMachine();
    if (st.snapshot) this.smOfLife.restore(st.snapshot.data);
    const status = this.coreOfLife.status();
    this.bootStatus = { term: status.term, commit: status.commit, applied: status.applied };
    this.readyScheduled = false;
    const { scheduler, rng } = this.env;
    scheduler.at(scheduler.now + 1 + rng.int(TICK_MS), { kind: 'tick', node: this.id, life: this.lives });
  }

  /** Lose the core, the state machine and any Ready not yet processed; false if already down. */
  crash(): boolean {
    if (!this.coreOfLife) return false;
    this.coreOfLife = undefined;
    this.smOfLife = undefined;
    this.lives++;
    return true;
  }

  /** A tick of this life; false if the node crashed since it was scheduled. */
  tick(life: number): boolean {
    if (life !== this.lives || !this.coreOfLife) return false;
    this.coreOfLife.tick();
    const { scheduler } = this.env;
    scheduler.at(scheduler.now + TICK_MS, { kind: 'tick', node: this.id, life });
    return true;
  }

  /** Hand a message to the core; false if the node is down. */
  receive(m: Message): boolean {
    if (!this.coreOfLife) return false;
    // Stepping while a ready event is pending is fine: ready() and advance() run back to back in
    // processReady, so the core never sees a step between them.
    this.coreOfLife.step(m);
    return true;
  }

  /** Throws RaftError (e.g. NotLeader with a hint) as the core does. */
  propose(data: Uint8Array): { index: number; term: number } {
    const placed = this.liveCore().propose(data);
    this.scheduleReady();
    return placed;
  }

  proposeConfChange(change: ConfChange): void {
    this.liveCore().proposeConfChange(change);
    this.scheduleReady();
  }

  transferLeadership(to: NodeId): void {
    this.liveCore().transferLeadership(to);
    this.scheduleReady();
  }

  readIndex(ctx: string): void {
    this.liveCore().readIndex(ctx);
    this.scheduleReady();
  }

  /** Process the pending Ready a little later (0–2 ms), once, if the core has one. */
  scheduleReady(): void {
    const core = this.coreOfLife;
    if (core && !this.readyScheduled && core.hasReady()) {
      this.readyScheduled = true;
      const { scheduler, rng } = this.env;
      scheduler.at(scheduler.now + rng.int(3), { kind: 'ready', node: this.id, life: this.lives });
    }
  }

  /** The scheduled Ready of this life, in the contract's order; undefined if the node crashed meanwhile. */
  processReady(life: number): ReadyOutcome | undefined {
    const core = this.coreOfLife;
    const sm = this.smOfLife;
    if (life !== this.lives || !core || !sm) return undefined;
    this.readyScheduled = false;
    const rd = core.ready();
    // 1. Persist. Nothing is sent before this: a vote or an append acknowledgement promises it is durable.
    const st = this.storage;
    if (rd.snapshot) {
      st.snapshot = rd.snapshot;
      st.entries = [];
    }
    if (rd.entries.length > 0) {
      const first = (rd.entries[0] as Entry).index;
      st.entries = st.entries.filter((e) => e.index < first).concat(rd.entries);
    }
    if (rd.hardState) st.hardState = { ...rd.hardState };
    // 2. Send.
    for (const m of rd.messages) this.env.transport.send(m);
    // 3. Apply: a received snapshot first, then the committed entries in order.
    if (rd.snapshot) {
      sm.restore(rd.snapshot.data);
      this.counts.snapshotsInstalled++;
    }
    const applied = rd.committedEntries.map((entry) => this.apply(sm, entry));
    // 4. Advance.
    core.advance(rd);
    const outcome: ReadyOutcome = { persisted: rd.hardState, applied, readStates: rd.readStates, appliedIndex: core.status().applied, becameLeader: rd.softState?.role === 'leader' };
    this.compactIfDue(core, sm);
    return outcome;
  }

  private apply(sm: IpamStateMachine, entry: Entry): AppliedEntry {
    const request = decodeRequest(entry);
    return request ? { entry, request: { id: request.id, result: sm.apply(request.command) } } : { entry };
  }

  /** Snapshot policy: every 25–40 applied entries (varying by node), keep a trailing window of 8. */
  private compactIfDue(core: RaftCore, sm: IpamStateMachine): void {
    const status = core.status();
    if (status.applied - status.snapshotIndex < 25 + (this.id.charCodeAt(1) % 16)) return;
    const { snapshot, compactedTo } = core.compact(status.applied, sm.snapshot(), 8);
    this.storage.snapshot = snapshot;
    this.storage.entries = this.storage.entries.filter((e) => e.index > compactedTo);
    this.counts.snapshots++;
  }

  private liveCore(): RaftCore {
    if (!this.coreOfLife) throw new Error(`${this.id} is down`);
    return this.coreOfLife;
  }
}
