/**
 * Deterministic Raft simulator: 3–7 production Replicas (src/node/replica.ts) on virtual time, one seed
 * driving every choice. This file only wires the parts together and runs the event loop:
 *
 *   scheduler ──event──► node (node-driver.ts: Replica + MemoryStorage + SimTransport) ──► network (network.ts)
 *                        nemesis (nemesis.ts: faults, disk timing)    client (client.ts: propose, read)
 *   replica observer ──► checker (persisted; each applied entry; leader completeness) + nemesis + client
 *   promises         ──► client (acks, served reads) ──► checker (stale reads)
 *   after an event:  node statuses ──► nemesis (isolate after commit) ──► checker (invariants)
 *
 * The loop is async because the replica is: storage writes resolve promises, and the replica's Ready
 * finishes in their continuations. After each event the loop waits for one setImmediate turn. Every
 * promise in a simulation settles either synchronously inside an event or in a microtask chained from
 * one (no timers, no I/O: MemoryStorage completes writes only when a 'disk' event says so), and Node runs
 * the whole microtask queue, including microtasks queued by microtasks, before it runs an immediate. So
 * when the loop resumes, every continuation the event caused has run, in an order fixed by the program
 * alone, and nothing is left pending: the next event starts from a quiescent state. Other tasks in the
 * process (a test runner's) may run during that turn, but they share no state with the simulation.
 *
 * Then a liveness phase heals everything and requires convergence, and the client oracle judges the
 * history. A failure names the command that replays it.
 */
import { createRng } from '../raft/rng.js';
import { Checker, Violation } from './checker.js';
import { SimClient } from './client.js';
import { Cluster } from './cluster.js';
import { drawFaultProfile, Nemesis } from './nemesis.js';
import { SimNetwork } from './network.js';
import type { NodeHooks, SimNode } from './node-driver.js';
import { Scheduler, type SimEvent } from './scheduler.js';
import { knobsFor, type Variant } from './variants.js';

export interface SimOptions {
  seed: number;
  /** Events processed in the fault phase. */
  steps: number;
  /** Initial voters (3–7). */
  nodes?: number;
  variant?: Variant;
  /** Virtual milliseconds allowed for the liveness phase. */
  livenessMs?: number;
}

export interface SimResult {
  ok: boolean;
  seed: number;
  violation?: string;
  replay: string;
  stats: SimStats;
}

export interface SimStats {
  events: number;
  virtualMs: number;
  elections: number;
  committed: number;
  acked: number;
  crashes: number;
  snapshots: number;
  snapshotsSent: number;
  /** Steps of decoding received snapshots (more than snapshotsSent: installs span several events). */
  restoreSteps: number;
  confChanges: number;
  readsServed: number;
  /** Injected write failures that stopped their replica (each restarted later from its disk). */
  writeFailures: number;
  /** Crashes that lost a write in flight (between write and sync). */
  lostWrites: number;
  /** Restarts that found a corrupt record and refused the disk (the node stays down). */
  corruptRefused: number;
  /** Peer messages dropped because a busy replica's inbox was full. */
  inboxDropped: number;
}

/** Receives one line per event processed: virtual time and the event (message payload bytes elided). */
export type TraceSink = (line: string) => void;

export function replayCommand(o: SimOptions): string {
  return `npx raft-ipam simulate --seed ${o.seed} --steps ${o.steps} --nodes ${o.nodes ?? 3}${o.variant && o.variant !== 'none' ? ` --variant ${o.variant}` : ''}`;
}

export class Simulation {
  private readonly scheduler = new Scheduler();
  private readonly network: SimNetwork;
  private readonly cluster: Cluster;
  private readonly nemesis: Nemesis;
  private readonly client: SimClient;
  private readonly checker: Checker;
  private events = 0;
  /**
   * The first violation found inside a replica callback or a promise continuation, where throwing would
   * land in the replica (as a fatal error) or nowhere; the loop raises it once the event has settled.
   */
  private failure: Violation | undefined;

  constructor(
    readonly options: SimOptions,
    private readonly trace?: TraceSink,
  ) {
    const n = options.nodes ?? 3;
    if (!Number.isInteger(n) || n < 3 || n > 7) throw new RangeError(`nodes must be 3..7, got ${n}`);
    // One Rng drives the run; the network and the disk have their own forks so message traffic and the
    // number of writes do not shift other draws. The order of the draws below fixes what a seed means:
    // changing it changes every seed's run.
    const rng = createRng(options.seed);
    this.network = new SimNetwork(rng.fork(), this.scheduler);
    const diskRng = rng.fork();
    // Batching varies by run: one entry per append exposes interleavings that big batches hide.
    const maxSizePerMsg = rng.pick([1, 1, 300, 4096]);
    const drawnReadMode = rng.pick(['safe', 'lease'] as const);
    const readOnly = options.variant === 'lease-without-quorum-acks' ? 'lease' : drawnReadMode;
    const profile = drawFaultProfile(rng);
    // A small inbox in some runs: messages that arrive while a batch is being made durable are dropped
    // beyond it, which Raft must tolerate like any loss.
    const maxInboxMessages = rng.pick([8, 10_000]);
    this.checker = new Checker(readOnly);
    this.cluster = new Cluster(n, {
      scheduler: this.scheduler,
      rng,
      network: this.network,
      config: { electionTick: 10, heartbeatTick: 2, maxSizePerMsg, readOnly, maxInflightMsgs: 8, snapshotChunkBytes: 512 },
      knobs: knobsFor(options.variant ?? 'none'),
      maxInboxMessages,
      hooks: this.hooks(),
    });
    const violation = (message: string): void => this.fail(new Violation(message));
    this.nemesis = new Nemesis(profile, rng, diskRng, this.scheduler, this.cluster, this.network, {
      violation,
      restarted: (node, status) => this.checker.restarted(node, status),
    });
    this.client = new SimClient(rng, this.scheduler, this.cluster, { readServed: (r) => this.guard(() => this.checker.readServed(r)), violation });
  }

  async run(): Promise<SimResult> {
    try {
      await this.cluster.start();
      this.client.start();
      this.nemesis.start();
      while (this.events < this.options.steps) await this.processOne();
      await this.liveness();
      this.checker.clientHistory(this.client.proposals, this.client.acked, this.cluster);
      return this.result(true);
    } catch (e) {
      if (e instanceof Violation) return this.result(false, e.message);
      return this.result(false, `exception: ${(e as Error).stack ?? String(e)}`);
    }
  }

  private result(ok: boolean, violation?: string): SimResult {
    const { snapshots, snapshotsInstalled, restoreSteps, inboxDropped } = this.cluster.snapshotCounts();
    const { crashes, confChanges, writeFailures, lostWrites, corruptRefused } = this.nemesis.counts;
    const stats: SimStats = {
      events: this.events,
      virtualMs: this.scheduler.now,
      elections: this.checker.counts.elections,
      committed: this.checker.committedCount,
      acked: this.client.acked.size,
      crashes,
      snapshots,
      snapshotsSent: snapshotsInstalled,
      restoreSteps,
      confChanges,
      readsServed: this.checker.counts.readsServed,
      writeFailures,
      lostWrites,
      corruptRefused,
      inboxDropped,
    };
    return { ok, seed: this.options.seed, ...(violation ? { violation } : {}), replay: replayCommand(this.options), stats };
  }

  private async processOne(): Promise<void> {
    const ev = this.scheduler.next();
    if (!ev) throw new Violation('event queue ran dry');
    this.events++;
    this.trace?.(`${this.scheduler.now} ${JSON.stringify(ev, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length}b>` : v))}`);
    await this.dispatch(ev);
    // Let every continuation the event caused run (see the header: this leaves nothing pending).
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.failure) throw this.failure;
    // Writes that went in flight during the event get their completion (or fault) drawn, in id order.
    for (const node of this.cluster.nodes) if (node.writeAwaitingCompletion()) this.nemesis.writeStarted(node);
    const observed = this.cluster.observe();
    this.nemesis.afterEvent(observed);
    this.checker.afterEvent(observed, this.events);
  }

  private async dispatch(ev: SimEvent): Promise<void> {
    switch (ev.kind) {
      case 'tick':
        this.cluster.node(ev.node).tick(ev.life);
        return;
      case 'deliver':
        if (this.network.delivers(ev.msg)) this.cluster.node(ev.msg.to).deliver(ev.msg);
        return;
      case 'ready':
        this.cluster.node(ev.node).runSoon(ev.life);
        return;
      case 'disk':
        this.cluster.node(ev.node).finishWrite(ev.life, this.nemesis.diskOutcome(ev.outcome));
        return;
      case 'client':
        this.client.propose();
        return;
      case 'read':
        this.client.read();
        return;
      case 'fault':
        this.nemesis.fault();
        return;
      case 'isolate':
        this.nemesis.isolate(ev.node);
        return;
      case 'crash':
        this.nemesis.crash(ev.node, ev.life);
        return;
      case 'restart':
        await this.nemesis.restart(ev.node);
        return;
    }
  }

  /** What the replicas report, from inside their loops: checks run here, violations wait for the loop. */
  private hooks(): NodeHooks {
    return {
      persisted: (node, hardState) => this.guard(() => this.checker.persisted(node, hardState)),
      applied: (node, entry) => this.guard(() => this.checker.applied(node, entry)),
      becameLeader: (node: SimNode) =>
        this.guard(() => {
          const core = node.core;
          if (!core) return;
          this.checker.newLeader(node.id, core);
          this.client.newLeader(node);
          this.nemesis.newLeader(node);
        }),
      stopped: (node, error, injected) => this.guard(() => this.nemesis.stopped(node, error, injected)),
    };
  }

  private guard(check: () => void): void {
    try {
      check();
    } catch (e) {
      this.fail(e instanceof Violation ? e : new Violation(`exception: ${(e as Error).stack ?? String(e)}`));
    }
  }

  private fail(v: Violation): void {
    this.failure ??= v;
  }

  /** Heal everything, then require one leader and identical replicas within the allowed virtual time. */
  private async liveness(): Promise<void> {
    this.nemesis.heal();
    await this.nemesis.restartAll();
    this.client.stop();
    const allowed = this.options.livenessMs ?? 30_000;
    const deadline = this.scheduler.now + allowed;
    let stableSince: number | undefined;
    while (this.scheduler.now < deadline) {
      await this.processOne();
      if (this.events % 16 !== 0) continue;
      if (this.checker.converged(this.cluster)) {
        stableSince ??= this.scheduler.now;
        if (this.scheduler.now - stableSince > 200) return;
      } else {
        stableSince = undefined;
      }
    }
    throw new Violation(`liveness: no convergence within ${allowed} virtual ms after healing (${this.cluster.describe()})`);
  }
}

export async function simulate(options: SimOptions, trace?: TraceSink): Promise<SimResult> {
  return new Simulation(options, trace).run();
}
