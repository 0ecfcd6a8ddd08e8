/**
 * The simulated client: proposes real IpamStateMachine commands through Replica.propose (mostly to the
 * node it last saw leading) and is acknowledged when the promise resolves, with the index and result the
 * replica gives; it issues linearizable reads through Replica.readIndex to any node that believes it
 * leads. It records the history that the checker judges: proposals, acknowledgements (with their index),
 * and for every read the highest write index acknowledged before it began.
 */
import type { IpamCommand } from '../ipam/commands.js';
import type { ApplyResult } from '../ipam/state-machine.js';
import { NodeError } from '../node/service.js';
import type { Applied } from '../node/replica.js';
import type { Rng } from '../raft/rng.js';
import type { NodeId } from '../raft/types.js';
import type { Proposal } from './client-oracle.js';
import type { Cluster } from './cluster.js';
import { encodeRequest, grantedGeneration } from './ipam-requests.js';
import type { SimNode } from './node-driver.js';
import type { Scheduler } from './scheduler.js';
import { nextCommand, SETUP } from './workload.js';

/** A read the replica answered: linearizable only if `index ≥ mustSee`. */
export interface ServedRead {
  node: NodeId;
  ctx: string;
  index: number;
  mustSee: number;
}

/** Where the client's outcomes go: served reads to the checker, surprises to the simulation. */
export interface ClientSinks {
  readServed(read: ServedRead): void;
  violation(message: string): void;
}

export class SimClient {
  private nextRequestId = 1;
  readonly proposals = new Map<number, Proposal>();
  /** Request id → the result the client was given (by the node it proposed to, at the index it was given). */
  readonly acked = new Map<number, ApplyResult>();
  /** Generations handed out lately, so releases can quote current and stale ones. */
  private readonly recentGenerations: number[] = [];
  private setupDone = 0;
  private lastLeader: NodeId | undefined;
  private maxAckedIndex = 0;
  private nextReadId = 1;
  private stopped = false;

  constructor(
    private readonly rng: Rng,
    private readonly scheduler: Scheduler,
    private readonly cluster: Cluster,
    private readonly sinks: ClientSinks,
  ) {}

  start(): void {
    this.scheduler.at(20, { kind: 'client' });
    this.scheduler.at(30, { kind: 'read' });
  }

  /** Stop scheduling more requests (the liveness phase); requests already in flight still complete. */
  stop(): void {
    this.stopped = true;
  }

  /** One command, then the next one a little later. */
  propose(): void {
    this.proposeOne();
    if (!this.stopped) this.scheduler.at(this.scheduler.now + 5 + this.rng.int(30), { kind: 'client' });
  }

  /** One read, then the next one a little later. */
  read(): void {
    this.startRead();
    if (!this.stopped) this.scheduler.at(this.scheduler.now + 10 + this.rng.int(60), { kind: 'read' });
  }

  /** A node became leader: send there next. */
  newLeader(node: SimNode): void {
    this.lastLeader = node.id;
  }

  private proposeOne(): void {
    const alive = this.cluster.alive();
    if (alive.length === 0) return;
    const leader = this.lastLeader ? this.cluster.node(this.lastLeader) : undefined;
    const target = leader?.replica && this.rng.chance(0.8) ? leader : this.rng.pick(alive);
    const replica = target.replica;
    if (!replica) return;
    // The setup commands are repeated until one is acknowledged: a network configured twice is refused
    // as a result, which is harmless.
    const setupStep = this.setupDone < SETUP.length ? this.setupDone : undefined;
    const command = setupStep !== undefined ? (SETUP[setupStep] as IpamCommand) : nextCommand(this.rng, this.recentGenerations);
    const id = this.nextRequestId++;
    const proposal: Proposal = { id, node: target.id, index: undefined, command };
    this.proposals.set(id, proposal);
    replica.propose(encodeRequest(id, command)).then(
      (applied) => this.acknowledged(proposal, applied, setupStep),
      (e: unknown) => this.refused('proposal', e),
    );
  }

  /** The replica applied the proposal and answered: the client now knows its index and result. */
  private acknowledged(p: Proposal, applied: Applied<ApplyResult>, setupStep: number | undefined): void {
    p.index = applied.index;
    this.acked.set(p.id, applied.result);
    this.maxAckedIndex = Math.max(this.maxAckedIndex, applied.index);
    if (setupStep !== undefined && this.setupDone === setupStep) this.setupDone++;
    const generation = grantedGeneration(applied.result);
    if (generation !== undefined) {
      this.recentGenerations.push(generation);
      if (this.recentGenerations.length > 20) this.recentGenerations.shift();
    }
  }

  private startRead(): void {
    // Any node that believes it leads may be asked, including a deposed one behind a partition: that is
    // where a stale read would come from.
    const leaders = this.cluster.selfProclaimedLeaders();
    if (leaders.length === 0) return;
    const node = this.rng.pick(leaders);
    const replica = node.replica;
    if (!replica) return;
    const ctx = `r${this.nextReadId++}`;
    const mustSee = this.maxAckedIndex;
    replica.readIndex().then(
      (index) => this.sinks.readServed({ node: node.id, ctx, index, mustSee }),
      (e: unknown) => this.refused('read', e),
    );
  }

  /**
   * A refusal with a NodeError is an outcome under faults (not the leader, leadership lost, proposal
   * dropped, node stopped); a hint of the leader is followed. Anything else is a bug in the node.
   */
  private refused(what: string, e: unknown): void {
    if (!(e instanceof NodeError)) {
      this.sinks.violation(`${what} failed with ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      return;
    }
    if (e.code === 'NotLeader' && e.leader) this.lastLeader = e.leader.id;
  }
}
