/**
 * The nemesis: every fault the run injects, and when. Periodic faults change link conditions, partition
 * the members (symmetric, one-way, the leader alone), heal, crash a node, churn membership or transfer
 * leadership. Two targeted faults hit the moments where commit-rule bugs (§5.4.2, Figure 8) turn into lost
 * writes: a fresh leader is killed or cut off before its first entries spread, and a leader is cut off
 * right after its commit index moves. Crashed nodes restart from what they persisted. heal() ends all
 * faults for the liveness phase.
 */
import type { Rng } from '../raft/rng.js';
import { RaftError, type NodeId } from '../raft/types.js';
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
}

const PROFILES: readonly FaultProfile[] = [
  { faultMin: 40, faultSpread: 300, restartMin: 50, restartSpread: 400, killLeader: 0.1, isolateAfterCommit: 0.1 },
  { faultMin: 20, faultSpread: 200, restartMin: 50, restartSpread: 400, killLeader: 0.3, isolateAfterCommit: 0.3 },
  { faultMin: 5, faultSpread: 60, restartMin: 5, restartSpread: 80, killLeader: 0.6, isolateAfterCommit: 0.3 },
];

export function drawFaultProfile(rng: Rng): FaultProfile {
  return rng.pick(PROFILES);
}

export class Nemesis {
  private healed = false;
  /** Commit index of each node at the previous look, with the life it belonged to. */
  private readonly lastCommit = new Map<NodeId, { life: number; commit: number }>();
  readonly counts = { crashes: 0, confChanges: 0 };

  constructor(
    private readonly profile: FaultProfile,
    private readonly rng: Rng,
    private readonly scheduler: Scheduler,
    private readonly cluster: Cluster,
    private readonly network: SimNetwork,
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

  /** A crashed node comes back from what it persisted; returns it so its first Ready gets scheduled. */
  restart(id: NodeId): SimNode {
    const node = this.cluster.node(id);
    if (!node.core) node.start();
    return node;
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
    for (const n of this.cluster.nodes) if (!n.core) n.start();
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
    } else if (r < 0.8) {
      this.crashNode(this.rng.pick(ids));
    } else if (r < 0.92) {
      this.churn();
    } else {
      this.transferLeadership();
    }
  }

  private crashNode(id: NodeId): void {
    if (!this.cluster.node(id).crash()) return;
    this.counts.crashes++;
    this.scheduler.at(this.scheduler.now + this.profile.restartMin + this.rng.int(this.profile.restartSpread), { kind: 'restart', node: id });
  }

  private cutOff(id: NodeId): void {
    this.network.partitions.heal();
    this.network.partitions.isolate(id, this.cluster.ids);
  }

  /** Membership churn through the leader: add/promote/remove, keeping at least three voters. */
  private churn(): void {
    const leader = this.cluster.currentLeader();
    const status = leader?.core?.status();
    if (!leader || !status) return;
    const { voters, learners } = status.conf;
    const outsiders = this.cluster.ids.filter((id) => !voters.includes(id) && !learners.includes(id));
    const options: Array<() => void> = [];
    if (outsiders.length > 0) options.push(() => leader.proposeConfChange({ op: 'addLearner', node: this.rng.pick(outsiders) }));
    if (learners.length > 0) options.push(() => leader.proposeConfChange({ op: 'addVoter', node: this.rng.pick(learners) }));
    if (learners.length > 0) options.push(() => leader.proposeConfChange({ op: 'remove', node: this.rng.pick(learners) }));
    if (voters.length > 3) options.push(() => leader.proposeConfChange({ op: 'remove', node: this.rng.pick(voters) }));
    if (options.length === 0) return;
    try {
      this.rng.pick(options)();
      this.counts.confChanges++;
    } catch (e) {
      // Refused (one change at a time, §4.1): nothing changed, which is a valid outcome under faults.
      if (!(e instanceof RaftError)) throw e;
    }
  }

  private transferLeadership(): void {
    const leader = this.cluster.currentLeader();
    const status = leader?.core?.status();
    if (!leader || !status) return;
    const voters = status.conf.voters.filter((v) => v !== leader.id);
    if (voters.length > 0) leader.transferLeadership(this.rng.pick(voters));
  }
}
