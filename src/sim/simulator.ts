/**
 * Deterministic Raft simulator: 3–7 RaftCore nodes on virtual time, one seed driving every choice. This
 * file only wires the parts together and runs the event loop:
 *
 *   scheduler ──event──► node driver (node-driver.ts, cluster.ts) ──messages──► network (network.ts)
 *                        nemesis (nemesis.ts)      client (client.ts)
 *   after a Ready:  outcome ──► checker (persisted; each applied entry) + client (its ack)
 *                           ──► client (read states, new leader) ──► checker (served reads, leader completeness) + nemesis
 *   after an event: node statuses ──► nemesis (isolate after commit) ──► checker (invariants)
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
import type { ReadyOutcome, SimNode } from './node-driver.js';
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
  stats: { events: number; virtualMs: number; elections: number; committed: number; acked: number; crashes: number; snapshots: number; snapshotsSent: number; confChanges: number; readsServed: number };
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

  constructor(
    readonly options: SimOptions,
    private readonly trace?: TraceSink,
  ) {
    const n = options.nodes ?? 3;
    if (!Number.isInteger(n) || n < 3 || n > 7) throw new RangeError(`nodes must be 3..7, got ${n}`);
    // One Rng drives the run; the network has its own fork so message traffic does not shift other draws.
    // The order of the draws below fixes what a seed means: changing it changes every seed's run.
    const rng = createRng(options.seed);
    this.network = new SimNetwork(rng.fork(), this.scheduler);
    // Batching varies by run: one entry per append exposes interleavings that big batches hide.
    const maxSizePerMsg = rng.pick([1, 1, 300, 4096]);
    const drawnReadMode = rng.pick(['safe', 'lease'] as const);
    const readOnly = options.variant === 'lease-without-quorum-acks' ? 'lease' : drawnReadMode;
    const profile = drawFaultProfile(rng);
    this.cluster = new Cluster(n, {
      scheduler: this.scheduler,
      rng,
      transport: this.network,
      config: { electionTick: 10, heartbeatTick: 2, maxSizePerMsg, readOnly, maxInflightMsgs: 8, snapshotChunkBytes: 512 },
      knobs: knobsFor(options.variant ?? 'none'),
    });
    this.nemesis = new Nemesis(profile, rng, this.scheduler, this.cluster, this.network);
    this.client = new SimClient(rng, this.scheduler, this.cluster);
    this.checker = new Checker(readOnly);
  }

  run(): SimResult {
    try {
      this.client.start();
      this.nemesis.start();
      while (this.events < this.options.steps) this.processOne();
      this.liveness();
      this.checker.clientHistory(this.client.proposals, this.client.acked, this.cluster);
      return this.result(true);
    } catch (e) {
      if (e instanceof Violation) return this.result(false, e.message);
      return this.result(false, `exception: ${(e as Error).stack ?? String(e)}`);
    }
  }

  private result(ok: boolean, violation?: string): SimResult {
    const { snapshots, snapshotsInstalled } = this.cluster.snapshotCounts();
    const stats = {
      events: this.events,
      virtualMs: this.scheduler.now,
      elections: this.checker.counts.elections,
      committed: this.checker.committedCount,
      acked: this.client.acked.size,
      crashes: this.nemesis.counts.crashes,
      snapshots,
      snapshotsSent: snapshotsInstalled,
      confChanges: this.nemesis.counts.confChanges,
      readsServed: this.checker.counts.readsServed,
    };
    return { ok, seed: this.options.seed, ...(violation ? { violation } : {}), replay: replayCommand(this.options), stats };
  }

  private processOne(): void {
    const ev = this.scheduler.next();
    if (!ev) throw new Violation('event queue ran dry');
    this.events++;
    this.trace?.(`${this.scheduler.now} ${JSON.stringify(ev, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length}b>` : v))}`);
    this.dispatch(ev)?.scheduleReady();
    const observed = this.cluster.observe();
    this.nemesis.afterEvent(observed);
    this.checker.afterEvent(observed, this.events);
  }

  /** Runs one event; returns the node it touched, whose next Ready may now be due. */
  private dispatch(ev: SimEvent): SimNode | undefined {
    switch (ev.kind) {
      case 'tick': {
        const node = this.cluster.node(ev.node);
        return node.tick(ev.life) ? node : undefined;
      }
      case 'deliver': {
        const node = this.cluster.node(ev.msg.to);
        return this.network.delivers(ev.msg) && node.receive(ev.msg) ? node : undefined;
      }
      case 'ready': {
        const node = this.cluster.node(ev.node);
        const outcome = node.processReady(ev.life);
        if (!outcome) return undefined;
        this.readyProcessed(node, outcome);
        return node;
      }
      case 'client':
        this.client.propose();
        return undefined;
      case 'read':
        this.client.read();
        return undefined;
      case 'fault':
        this.nemesis.fault();
        return undefined;
      case 'isolate':
        this.nemesis.isolate(ev.node);
        return undefined;
      case 'crash':
        this.nemesis.crash(ev.node, ev.life);
        return undefined;
      case 'restart':
        return this.nemesis.restart(ev.node);
    }
  }

  private readyProcessed(node: SimNode, outcome: ReadyOutcome): void {
    if (outcome.persisted) this.checker.persisted(node, outcome.persisted);
    for (const applied of outcome.applied) {
      this.checker.applied(node, applied.entry);
      this.client.applied(node, applied);
    }
    this.checker.readsServed(this.client.readyProcessed(node, outcome));
    if (outcome.becameLeader && node.core) {
      this.checker.newLeader(node.id, node.core);
      this.nemesis.newLeader(node);
    }
  }

  /** Heal everything, then require one leader and identical replicas within the allowed virtual time. */
  private liveness(): void {
    this.nemesis.heal();
    this.client.stop();
    const allowed = this.options.livenessMs ?? 30_000;
    const deadline = this.scheduler.now + allowed;
    let stableSince: number | undefined;
    while (this.scheduler.now < deadline) {
      this.processOne();
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

export function simulate(options: SimOptions, trace?: TraceSink): SimResult {
  return new Simulation(options, trace).run();
}
