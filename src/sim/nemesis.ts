/**
 * The nemesis: every fault the run injects, and when. Periodic faults change link conditions, partition
 * the members (symmetric, one-way, the leader alone), heal, crash a node, arm a failing write, churn
 * membership or transfer leadership. Two targeted faults hit the moments where commit-rule bugs (§5.4.2,
 * Figure 8) turn into lost writes: a fresh leader is killed or cut off before its first entries spread,
 * and a leader is cut off right after its commit index moves.
 *
 * The disk is the nemesis's too: every write a node starts gets a completion time (usually 0–3 ms, now and
 * then up to 30), and may instead fail (the replica must stop; it restarts later from its disk), or the
 * node may crash before it completes (the write is lost). A restart may find a record corrupt (at most once
 * per run, so the cluster keeps a quorum): the node must refuse the disk and stays down for good.
 * heal() ends all faults for the liveness phase.
 */
import { NodeError } from '../node/service.js';
import type { Rng } from '../raft/rng.js';
import type { Status } from '../raft/raft.js';
import type { NodeId } from '../raft/types.js';
import type { Cluster, Observed } from './cluster.js';
import type { SimNetwork } from './network.js';
import type { SimNode } from './node-driver.js';
import type { Scheduler } from './scheduler.js';

/** Fault intensity of a run: calm, moderate or violent. */
export interface FaultProfile {
  /** Virtual ms between periodic faults: faultMin + [0, faultSpread). */
  faultMin: number;
  faultSpread: number;
  /** Virtual ms a crashed node stays down: restartMin + [0, restartSpread). */
  restartMin: number;
  restartSpread: number;
  /** Probability that a fresh leader is killed or isolated. */
  killLeader: number;
  /** Probability that a leader whose commit index just moved is isolated. */
  isolateAfterCommit: number;
  /** Probability that a write fails instead of completing. */
  writeFails: number;
  /** Probability that the node crashes while a write is in flight (between write and sync). */
  crashMidWrite: number;
  /** Probability that a restart finds a record corrupt (once per run at most). */
  corruptAtRestart: number;
}

const PROFILES: readonly FaultProfile[] = [
  { faultMin: 40, faultSpread: 300, restartMin: 50, restartSpread: 400, killLeader: 0.1, isolateAfterCommit: 0.1, writeFails: 0.002, crashMidWrite: 0.002, corruptAtRestart: 0.1 },
  { faultMin: 20, faultSpread: 200, restartMin: 50, restartSpread: 400, killLeader: 0.3, isolateAfterCommit: 0.3, writeFails: 0.004, crashMidWrite: 0.004, corruptAtRestart: 0.1 },
  { faultMin: 5, faultSpread: 60, restartMin: 5, restartSpread: 80, killLeader: 0.6, isolateAfterCommit: 0.3, writeFails: 0.006, crashMidWrite: 0.006, corruptAtRestart: 0.05 },
];

/** Where the nemesis reports what its faults led to. */
export interface NemesisSinks {
  /** An unexpected outcome of a fault (the simulation raises it after the event). */
  violation(message: string): void;
  /** A node came back from its disk (the checker compares it with what it made durable). */
  restarted(node: SimNode, status: Status): void;
}

export function drawFaultProfile(rng: Rng): FaultProfile {
  return rng.pick(PROFILES);
}

export class Nemesis {
  private healed = false;
  /** Commit index of each node at the previous look, with the life it belonged to. */
  private readonly lastCommit = new Map<NodeId, { life: number; commit: number }>();
  /** A record was corrupted this run (the node that refused it is gone for good). */
  private corrupted = false;
  readonly counts = { crashes: 0, confChanges: 0, writeFailures: 0, lostWrites: 0, corruptRefused: 0 };

  constructor(
    private readonly profile: FaultProfile,
    private readonly rng: Rng,
    /** Disk timing has its own stream, so the number of writes does not shift the other draws. */
    private readonly diskRng: Rng,
    private readonly scheduler: Scheduler,
    private readonly cluster: Cluster,
    private readonly network: SimNetwork,
    private readonly sinks: NemesisSinks,
  ) {}

  start(): void {
    this.scheduler.at(50, { kind: 'fault' });
  }

  /** A periodic fault, then the next one. */
  fault(): void {
    if (this.healed) return; // a fault queued before healing must not undo it
    this.injectFault();
    this.scheduler.at(this.scheduler.now + this.profile.faultMin + this.rng.int(this.profile.faultSpread), { kind: 'fault' });
  }

  /** A scheduled crash of a fresh leader, if it is still in the life it led in. */
  crash(id: NodeId, life: number): void {
    if (this.cluster.node(id).life === life && !this.healed) this.crashNode(id);
  }

  /** Cut a fresh leader off before (most of) its first entries of the term get out. */
  isolate(id: NodeId): void {
    if (this.healed) return;
    this.cutOff(id);
  }

  /**
   * A node that crashed or stopped comes back from its disk. Now and then (once per run) a record of the
   * disk is corrupted first: the storage must refuse it as StorageCorrupt and the node stays down. A node
   * that boots from a corrupt disk, or refuses one nobody corrupted, is a violation.
   */
  async restart(id: NodeId): Promise<void> {
    const node = this.cluster.node(id);
    if (node.state !== 'down') return;
    const records = node.disk.recordNames();
    let corrupt: string | undefined;
    if (!this.healed && !this.corrupted && records.length > 0 && this.rng.chance(this.profile.corruptAtRestart)) {
      corrupt = this.rng.pick(records);
      node.disk.corrupt(corrupt);
      this.corrupted = true;
    }
    const outcome = await node.start();
    if (corrupt !== undefined && outcome === 'up') this.sinks.violation(`${id} booted from a disk whose record ${corrupt} is corrupt`);
    if (corrupt === undefined && outcome === 'refused') this.sinks.violation(`${id} refused its disk, which nobody corrupted`);
    if (outcome === 'refused') this.counts.corruptRefused++;
    const status = node.replica?.status();
    if (status) this.sinks.restarted(node, status);
  }

  /** What a 'disk' event does: a failure drawn before healing completes normally after it. */
  diskOutcome(drawn: 'complete' | 'fail'): 'complete' | 'fail' {
    return this.healed ? 'complete' : drawn;
  }

  /** A replica stopped itself: an injected write failure must stop it (it restarts later); anything else is a violation. */
  stopped(node: SimNode, error: unknown, injected: boolean): void {
    if (!injected) {
      this.sinks.violation(`${node.id} stopped on its own: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.counts.writeFailures++;
    this.scheduleRestart(node.id);
  }

  /**
   * A write just went in flight on `node`: when it completes, whether it fails instead, and whether the
   * node crashes before it completes (between write and sync: the write is lost).
   */
  writeStarted(node: SimNode): void {
    const d = this.diskRng;
    const delay = d.chance(0.1) ? 4 + d.int(27) : d.int(4);
    const outcome = !this.healed && d.chance(this.profile.writeFails) ? 'fail' : 'complete';
    this.scheduler.at(this.scheduler.now + delay, { kind: 'disk', node: node.id, life: node.life, outcome });
    node.completionQueued();
    if (!this.healed && delay > 0 && d.chance(this.profile.crashMidWrite)) this.scheduler.at(this.scheduler.now + d.int(delay), { kind: 'crash', node: node.id, life: node.life });
  }

  /**
   * Chaos tests kill fresh leaders: a leader that dies before its first entry of the new term reaches a
   * quorum is exactly where commit rules (§5.4.2, Figure 8) are tested.
   */
  newLeader(node: SimNode): void {
    if (this.healed || !this.rng.chance(this.profile.killLeader)) return;
    if (this.rng.chance(0.5)) this.scheduler.at(this.scheduler.now + 1 + this.rng.int(40), { kind: 'crash', node: node.id, life: node.life });
    else this.scheduler.at(this.scheduler.now + this.rng.int(6), { kind: 'isolate', node: node.id });
  }

  /**
   * After every event: cut a leader off right after its commit index moves, before the news (and its next
   * entries) spread. This is where commit-rule bugs (§5.4.2, Figure 8) turn into lost writes.
   */
  afterEvent(observed: readonly Observed[]): void {
    for (const { node, status } of observed) {
      const last = this.lastCommit.get(node.id);
      const before = last && last.life === node.life ? last.commit : node.booted.commit;
      if (status.role === 'leader' && status.commit > before && !this.healed && this.rng.chance(this.profile.isolateAfterCommit)) this.cutOff(node.id);
      this.lastCommit.set(node.id, { life: node.life, commit: status.commit });
    }
  }

  /** End every fault for good: links, partitions, crashed nodes. */
  heal(): void {
    this.healed = true;
    this.network.heal();
  }

  /** Restart every node that is down, except one that refused its disk (it never comes back). */
  async restartAll(): Promise<void> {
    for (const n of this.cluster.nodes) if (n.state === 'down') await this.restart(n.id);
  }

  private injectFault(): void {
    const ids = this.cluster.ids;
    const members = this.cluster.members();
    const partitions = this.network.partitions;
    const r = this.rng.next();
    if (r < 0.15) {
      const dropRate = this.rng.pick([0, 0, 0.05, 0.2, 0.4]);
      const dupRate = this.rng.pick([0, 0.05, 0.2]);
      const maxDelay = this.rng.pick([3, 10, 40, 120]); // long tails reorder messages
      this.network.setConditions({ dropRate, dupRate, maxDelay });
    } else if (r < 0.3) {
      // Symmetric partition: a random side of the members against everyone else.
      partitions.heal();
      const side = new Set(members.filter(() => this.rng.chance(0.5)));
      partitions.split(side, ids.filter((id) => !side.has(id)));
    } else if (r < 0.4) {
      // One-way partition: a member can send but not receive (or the reverse).
      partitions.heal();
      const victim = this.rng.pick(members);
      const inbound = this.rng.chance(0.5);
      for (const other of ids) if (other !== victim) (inbound ? partitions.cutLink(other, victim) : partitions.cutLink(victim, other));
    } else if (r < 0.5) {
      partitions.heal();
      const leader = this.cluster.currentLeader();
      if (leader) partitions.isolate(leader.id, ids);
    } else if (r < 0.62) {
      partitions.heal();
    } else if (r < 0.76) {
      this.crashNode(this.rng.pick(ids));
    } else if (r < 0.8) {
      // The next write of a node fails whenever it completes: the replica must stop, not go on.
      this.rng.pick(ids.map((id) => this.cluster.node(id))).failNextWrite();
    } else if (r < 0.92) {
      this.churn();
    } else {
      this.transferLeadership();
    }
  }

  private crashNode(id: NodeId): void {
    const { crashed, lostWrite } = this.cluster.node(id).crash();
    if (!crashed) return;
    this.counts.crashes++;
    if (lostWrite) this.counts.lostWrites++;
    this.scheduleRestart(id);
  }

  private scheduleRestart(id: NodeId): void {
    this.scheduler.at(this.scheduler.now + this.profile.restartMin + this.rng.int(this.profile.restartSpread), { kind: 'restart', node: id });
  }

  private cutOff(id: NodeId): void {
    this.network.partitions.heal();
    this.network.partitions.isolate(id, this.cluster.ids);
  }

  /** Membership churn through the leader: add/promote/remove, keeping at least three voters. */
  private churn(): void {
    const leader = this.cluster.currentLeader()?.replica;
    if (!leader) return;
    const { voters, learners } = leader.status().conf;
    const outsiders = this.cluster.ids.filter((id) => !voters.includes(id) && !learners.includes(id));
    const options: Array<() => Promise<unknown>> = [];
    if (outsiders.length > 0) options.push(() => leader.proposeConfChange({ op: 'addLearner', node: this.rng.pick(outsiders) }));
    if (learners.length > 0) options.push(() => leader.proposeConfChange({ op: 'addVoter', node: this.rng.pick(learners) }));
    if (learners.length > 0) options.push(() => leader.proposeConfChange({ op: 'remove', node: this.rng.pick(learners) }));
    if (voters.length > 3) options.push(() => leader.proposeConfChange({ op: 'remove', node: this.rng.pick(voters) }));
    if (options.length === 0) return;
    // Counted once applied on the leader; a refusal (one change at a time, §4.1; leadership lost; the
    // node stopped) changes nothing, which is a valid outcome under faults.
    this.rng.pick(options)().then(
      () => this.counts.confChanges++,
      (e: unknown) => this.refused('conf change', e),
    );
  }

  private transferLeadership(): void {
    const leader = this.cluster.currentLeader()?.replica;
    if (!leader) return;
    const voters = leader.status().conf.voters.filter((v) => v !== leader.id);
    if (voters.length > 0) leader.transferLeadership(this.rng.pick(voters)).catch((e: unknown) => this.refused('leadership transfer', e));
  }

  /** A request the replica refused: NodeErrors are outcomes under faults; anything else is a bug. */
  private refused(what: string, e: unknown): void {
    if (!(e instanceof NodeError)) this.sinks.violation(`${what} failed with ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}
