/**
 * One simulated node: the production Replica (src/node/replica.ts) with IpamApp, over a MemoryStorage in
 * manual-write mode on a MemoryDisk that outlives crashes, and a SimTransport on the simulated network.
 * Nothing of the Ready loop lives here: this module only supplies the replica's edges on virtual time and
 * turns what the replica reports into simulation events.
 *
 *   - The replica's Scheduler.soon() becomes a 'ready' event 0–2 ms later.
 *   - A storage write stays in flight until a 'disk' event completes or fails it (the nemesis draws when);
 *     until then the replica is busy and inputs wait in its inbox, exactly as over a slow disk.
 *   - A crash halts the replica and crashes the storage, which loses the write in flight; a restart opens
 *     a new MemoryStorage on the same disk and a new Replica from what is durable.
 *   - What the replica observes (persisted hard states, applied entries, leadership, snapshots) goes to
 *     the hooks the simulation gives, which must not throw into the replica (see NodeHooks).
 */
import { IpamApp } from '../node/ipam-app.js';
import { Replica, type ReplicaObserver } from '../node/replica.js';
import type { ApplyResult } from '../ipam/state-machine.js';
import type { IpamStateMachine } from '../ipam/state-machine.js';
import type { RaftConfig } from '../raft/raft.js';
import { DEFAULT_SNAPSHOT_LOG_RATIO } from '../raft/snapshot-policy.js';
import { withTestingKnobs, type TestingKnobs } from '../raft/internal.js';
import type { RaftCore } from '../raft/raft.js';
import type { Rng } from '../raft/rng.js';
import type { ConfState, Entry, HardState, Message, NodeId } from '../raft/types.js';
import { MemoryDisk, MemoryStorage } from '../storage/memory-storage.js';
import { StorageError } from '../storage/types.js';
import type { SimNetwork } from './network.js';
import type { Scheduler } from './scheduler.js';
import { SimTransport } from './sim-transport.js';

const TICK_MS = 10;
const CLUSTER_ID = 'sim';

/** What the simulation hears from a node. Called from inside the replica's loop: they must not throw. */
export interface NodeHooks {
  persisted(node: SimNode, hardState: HardState): void;
  applied(node: SimNode, entry: Entry): void;
  becameLeader(node: SimNode): void;
  /** The replica stopped on its own (onFatal). `injected` says whether a storage fault was armed for it. */
  stopped(node: SimNode, error: unknown, injected: boolean): void;
}

/** Everything a node needs from its surroundings, fixed for the whole run. */
export interface NodeEnvironment {
  scheduler: Scheduler;
  /** The run's shared stream: tick phases, ready delays and each core's own stream are drawn from it. */
  rng: Rng;
  network: SimNetwork;
  /** Core settings of this run (all but id and rng, which are per node and per life). */
  config: Omit<RaftConfig, 'id' | 'rng'>;
  knobs: TestingKnobs;
  /** Peer messages a busy replica may hold (the production bound, drawn small in some runs). */
  maxInboxMessages: number;
  hooks: NodeHooks;
}

/** Why a node is not running: never started, crashed or stopped (restartable), or refused its disk (for good). */
export type NodeState = 'up' | 'down' | 'refused';

export class SimNode {
  /** The durable medium: survives crashes, read back at every restart. */
  readonly disk = new MemoryDisk();
  private storage: MemoryStorage | undefined;
  private replicaOfLife: Replica<ApplyResult> | undefined;
  private appOfLife: IpamApp | undefined;
  private transport: SimTransport | undefined;
  private status_: NodeState = 'down';
  /** Work the replica asked to run soon, in order; each 'ready' event of this life runs the oldest. */
  private readonly soonWork: Array<() => void> = [];
  /** A 'disk' event is queued for the write in flight. */
  private completionScheduled = false;
  /** A storage fault was injected into this life: a fatal stop is then expected, not a violation. */
  private faultArmed = false;
  /** Incremented on crash or stop, so events scheduled for a previous life are dropped. */
  private lives = 0;
  private bootStatus = { term: 0, commit: 0, applied: 0 };
  /** Snapshots this node took (compactions) and received (InstallSnapshot), over all lives. */
  readonly counts = { snapshots: 0, snapshotsInstalled: 0, restoreSteps: 0, inboxDropped: 0 };

  constructor(
    readonly id: NodeId,
    /** Founding members boot with the initial configuration; spares have none and join by conf change. */
    readonly initialConf: ConfState | undefined,
    private readonly env: NodeEnvironment,
  ) {}

  get life(): number {
    return this.lives;
  }

  get state(): NodeState {
    return this.status_;
  }

  /** The running replica, if the node is up. */
  get replica(): Replica<ApplyResult> | undefined {
    return this.status_ === 'up' ? this.replicaOfLife : undefined;
  }

  /** The core, for the checker's read-only looks (Replica.raft is @internal for this). */
  get core(): RaftCore | undefined {
    return this.replica?.raft;
  }

  get sm(): IpamStateMachine | undefined {
    return this.status_ === 'up' ? this.appOfLife?.sm : undefined;
  }

  /** Term, commit and applied at the start of this life: where per-life monotonicity is measured from. */
  get booted(): { term: number; commit: number; applied: number } {
    return this.bootStatus;
  }

  /**
   * Boot from what the disk holds. Resolves 'refused' if the storage refuses the disk as corrupt (the node
   * then stays down: it must never serve from bad state); any other refusal is thrown.
   */
  async start(): Promise<'up' | 'refused'> {
    if (this.status_ !== 'down') throw new Error(`${this.id} is ${this.status_}, not down`);
    const life = this.lives;
    let storage: MemoryStorage;
    try {
      storage = await MemoryStorage.open(this.disk, { clusterId: CLUSTER_ID, nodeId: this.id }, { writes: 'manual' });
    } catch (e) {
      if (e instanceof StorageError && e.code === 'StorageCorrupt') {
        this.status_ = 'refused';
        return 'refused';
      }
      throw e;
    }
    const { scheduler, rng, config, knobs, network } = this.env;
    const transport = new SimTransport(this.id, network);
    await transport.start();
    // A few addresses per snapshot step (varying by node), so that even the simulator's small states are
    // captured and installed over several events, with messages, ticks and crashes between the steps.
    const app = new IpamApp(undefined, 4 + (this.id.charCodeAt(1) % 8));
    this.faultArmed = false;
    this.completionScheduled = false;
    this.soonWork.length = 0;
    const raft = withTestingKnobs({ id: this.id, ...config, rng: rng.fork() }, knobs);
    // A leader's appends leave before its own write or after it, a coin per Ready (both are correct).
    const sendRng = rng.fork();
    const replica = await Replica.open<ApplyResult>({
      raft,
      storage,
      transport,
      app,
      scheduler: { soon: (work) => this.soon(life, work) },
      ...(this.initialConf ? { initialConf: this.initialConf } : {}),
      // Every 25–40 applied entries (varying by node), keeping a trailing window of 8: small enough that
      // lagging followers need InstallSnapshot in most runs. With production's log-to-snapshot ratio, so
      // the policy's memory of the last snapshot's size (at boot, after a snapshot, after an install) runs
      // here too.
      snapshotPolicy: { entries: 25 + (this.id.charCodeAt(1) % 16), bytes: 1 << 30, keepTrailing: 8, logToSnapshot: DEFAULT_SNAPSHOT_LOG_RATIO },
      maxInboxMessages: this.env.maxInboxMessages,
      observer: this.observer(life),
      now: () => scheduler.now,
      onFatal: (e) => this.fatal(life, e),
      earlySend: () => sendRng.chance(0.5),
    });
    this.storage = storage;
    this.transport = transport;
    this.appOfLife = app;
    this.replicaOfLife = replica;
    this.status_ = 'up';
    const status = replica.status();
    this.bootStatus = { term: status.term, commit: status.commit, applied: status.applied };
    scheduler.at(scheduler.now + 1 + rng.int(TICK_MS), { kind: 'tick', node: this.id, life });
    return 'up';
  }

  /**
   * The process dies: the replica halts first (so the storage's refusals are not taken for a fatal
   * error), then the storage crashes and loses the write in flight. Returns whether the node was up, and
   * whether a write was lost with it (a crash between write and sync).
   */
  crash(): { crashed: boolean; lostWrite: boolean } {
    if (this.status_ !== 'up') return { crashed: false, lostWrite: false };
    const lostWrite = (this.storage?.pendingWrite() ?? 0) > 0;
    this.goDown('crashed');
    return { crashed: true, lostWrite };
  }

  /** A tick of this life; false if the node went down since it was scheduled. */
  tick(life: number): boolean {
    const replica = this.replica;
    if (life !== this.lives || !replica) return false;
    replica.tick();
    const { scheduler } = this.env;
    scheduler.at(scheduler.now + TICK_MS, { kind: 'tick', node: this.id, life });
    return true;
  }

  /** A message arriving from the network; false if the node is down (the message is lost). */
  deliver(m: Message): boolean {
    if (!this.replica || !this.transport) return false;
    return this.transport.arrive(m);
  }

  /** A 'ready' event: run the oldest work the replica asked for in this life. */
  runSoon(life: number): void {
    if (life !== this.lives || !this.replica) return;
    this.soonWork.shift()?.();
  }

  /** The storage has a write in flight that no 'disk' event has been queued for yet. */
  writeAwaitingCompletion(): boolean {
    return this.status_ === 'up' && !this.completionScheduled && (this.storage?.pendingWrite() ?? 0) > 0;
  }

  /** A 'disk' event for the write in flight has been queued. */
  completionQueued(): void {
    this.completionScheduled = true;
  }

  /**
   * A 'disk' event: the write in flight becomes durable, or fails (an injected fault: the replica must
   * stop). False if the node went down since (the write died with it).
   */
  finishWrite(life: number, outcome: 'complete' | 'fail'): boolean {
    const storage = this.storage;
    if (life !== this.lives || this.status_ !== 'up' || !storage) return false;
    this.completionScheduled = false;
    if (outcome === 'fail') {
      this.faultArmed = true;
      return storage.failWrite('injected: the disk refused the write');
    }
    return storage.completeWrite();
  }

  /** Fault hook: the next write of this life fails whenever it completes (MemoryStorage.failNextWrite). */
  failNextWrite(): boolean {
    if (this.status_ !== 'up' || !this.storage) return false;
    this.faultArmed = true;
    this.storage.failNextWrite('injected: the next write fails');
    return true;
  }

  private soon(life: number, work: () => void): void {
    if (life !== this.lives) return;
    this.soonWork.push(work);
    const { scheduler, rng } = this.env;
    scheduler.at(scheduler.now + rng.int(3), { kind: 'ready', node: this.id, life });
  }

  /** The replica stopped itself (storage failure, apply failure, refused persist). */
  private fatal(life: number, error: unknown): void {
    if (life !== this.lives) return;
    const injected = this.faultArmed && error instanceof StorageError && error.code === 'StorageIo';
    this.goDown('stopped');
    this.env.hooks.stopped(this, error, injected);
  }

  private goDown(reason: string): void {
    const replica = this.replicaOfLife;
    // stop() halts synchronously; what it then awaits (the batch in flight) is rejected by the crash below.
    if (replica) void replica.stop(reason);
    // The dead process's handle: its lock is released and whatever was not durable is gone.
    this.storage?.crash();
    void this.transport?.close();
    this.storage = undefined;
    this.transport = undefined;
    this.replicaOfLife = undefined;
    this.appOfLife = undefined;
    this.soonWork.length = 0;
    this.completionScheduled = false;
    this.faultArmed = false;
    this.status_ = 'down';
    this.lives++;
  }

  private observer(life: number): ReplicaObserver<ApplyResult> {
    const { hooks } = this.env;
    const mine = (): boolean => life === this.lives;
    return {
      persisted: (batch) => {
        if (mine() && batch.hardState) hooks.persisted(this, batch.hardState);
      },
      applied: (entry) => {
        if (mine()) hooks.applied(this, entry);
      },
      softState: (soft) => {
        if (mine() && soft.role === 'leader') hooks.becameLeader(this);
      },
      snapshotTaken: () => {
        this.counts.snapshots++;
      },
      snapshotInstalled: () => {
        this.counts.snapshotsInstalled++;
      },
      restoreStep: () => {
        this.counts.restoreSteps++;
      },
      inboxDropped: () => {
        this.counts.inboxDropped++;
      },
    };
  }
}
