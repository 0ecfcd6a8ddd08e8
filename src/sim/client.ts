/**
 * The simulated client: proposes real IpamStateMachine commands (mostly to the node it last saw leading),
 * records which of its requests were acknowledged and with what result, and issues linearizable reads to
 * any node that believes it leads. It records the history that the checker judges: proposals,
 * acknowledgements, and for every read the highest write index acknowledged before it began.
 */
import type { IpamCommand } from '../ipam/commands.js';
import type { ApplyResult } from '../ipam/state-machine.js';
import type { Rng } from '../raft/rng.js';
import { RaftError, type NodeId } from '../raft/types.js';
import type { Proposal } from './client-oracle.js';
import type { Cluster } from './cluster.js';
import { encodeRequest, grantedGeneration } from './ipam-requests.js';
import type { AppliedEntry, ReadyOutcome, SimNode } from './node-driver.js';
import type { Scheduler } from './scheduler.js';
import { nextCommand, SETUP } from './workload.js';

/** A read whose index the node has applied: linearizable only if `index ≥ mustSee`. */
export interface ServedRead {
  node: NodeId;
  ctx: string;
  index: number;
  mustSee: number;
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
  /** Reads in flight: ctx → who serves it and the highest write index acknowledged before it began. */
  private readonly reads = new Map<string, { node: NodeId; life: number; mustSee: number }>();
  /** Reads whose ReadState arrived, waiting for their node to apply up to the index. */
  private readonly readsToServe = new Map<NodeId, Array<{ ctx: string; index: number }>>();
  private stopped = false;

  constructor(
    private readonly rng: Rng,
    private readonly scheduler: Scheduler,
    private readonly cluster: Cluster,
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

  /** An entry `node` applied: if it carries this client's request, placed there by that node, it is acknowledged. */
  applied(node: SimNode, { entry, request }: AppliedEntry): void {
    if (!request) return;
    const p = this.proposals.get(request.id);
    // A real client waiting on the node it proposed to hears back only for the index it was given.
    if (!p || p.node !== node.id || p.index !== entry.index || this.acked.has(request.id)) return;
    this.acked.set(request.id, request.result);
    this.maxAckedIndex = Math.max(this.maxAckedIndex, entry.index);
    const generation = grantedGeneration(request.result);
    if (generation !== undefined) {
      this.recentGenerations.push(generation);
      if (this.recentGenerations.length > 20) this.recentGenerations.shift();
    }
  }

  /**
   * The rest of what a Ready of `node` did: reads that became safe, a new leader to send to. Returns the
   * reads now served, for the checker to judge.
   */
  readyProcessed(node: SimNode, outcome: ReadyOutcome): ServedRead[] {
    if (outcome.readStates.length > 0) {
      const list = this.readsToServe.get(node.id) ?? [];
      for (const rs of outcome.readStates) list.push({ ctx: rs.ctx, index: rs.index });
      this.readsToServe.set(node.id, list);
    }
    const served = this.serveReads(node, outcome.appliedIndex);
    if (outcome.becameLeader) this.lastLeader = node.id;
    return served;
  }

  private proposeOne(): void {
    const alive = this.cluster.alive();
    if (alive.length === 0) return;
    const leader = this.lastLeader ? this.cluster.node(this.lastLeader) : undefined;
    const target = leader?.core && this.rng.chance(0.8) ? leader : this.rng.pick(alive);
    const command = this.setupDone < SETUP.length ? (SETUP[this.setupDone] as IpamCommand) : nextCommand(this.rng, this.recentGenerations);
    const id = this.nextRequestId++;
    try {
      const { index, term } = target.propose(encodeRequest(id, command));
      this.proposals.set(id, { id, node: target.id, index, term, command });
      if (this.setupDone < SETUP.length) this.setupDone++;
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
      if (e.leaderHint) this.lastLeader = e.leaderHint;
    }
  }

  private startRead(): void {
    // Any node that believes it leads may be asked, including a deposed one behind a partition: that is
    // where a stale read would come from.
    const leaders = this.cluster.selfProclaimedLeaders();
    if (leaders.length === 0) return;
    const node = this.rng.pick(leaders);
    const ctx = `r${this.nextReadId++}`;
    try {
      node.readIndex(ctx);
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
      return;
    }
    this.reads.set(ctx, { node: node.id, life: node.life, mustSee: this.maxAckedIndex });
  }

  /** Reads of this node whose index it has applied; reads begun in an earlier life died with it. */
  private serveReads(node: SimNode, applied: number): ServedRead[] {
    const list = this.readsToServe.get(node.id);
    if (!list) return [];
    const served: ServedRead[] = [];
    const keep: Array<{ ctx: string; index: number }> = [];
    for (const r of list) {
      const read = this.reads.get(r.ctx);
      if (read && read.life !== node.life) {
        this.reads.delete(r.ctx);
        continue;
      }
      if (r.index > applied) {
        keep.push(r);
        continue;
      }
      this.reads.delete(r.ctx);
      if (read) served.push({ node: node.id, ctx: r.ctx, index: r.index, mustSee: read.mustSee });
    }
    this.readsToServe.set(node.id, keep);
    return served;
  }
}
