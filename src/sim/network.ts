/**
 * The simulated network: delivers each message after a random delay, and while faults are allowed, drops
 * or duplicates it at the rates the nemesis sets. Long delay tails reorder messages. Partitions (a
 * PartitionTable) lose messages both when sent and when they arrive, as a real network loses what is in
 * flight when a link goes down. Draws come from the network's own Rng stream, so message traffic does not
 * shift the draws of the rest of the run.
 */
import type { Message } from '../raft/types.js';
import type { Rng } from '../raft/rng.js';
import { PartitionTable } from './partition-table.js';
import type { Scheduler } from './scheduler.js';

export interface LinkConditions {
  dropRate: number;
  dupRate: number;
  /** Delivery takes 1..maxDelay virtual ms. */
  maxDelay: number;
}

const CALM: LinkConditions = { dropRate: 0, dupRate: 0, maxDelay: 5 };

export class SimNetwork {
  readonly partitions = new PartitionTable();
  private conditions: LinkConditions = CALM;
  private faulty = true;

  constructor(
    private readonly rng: Rng,
    private readonly scheduler: Scheduler,
  ) {}

  send(m: Message): void {
    if (this.partitions.blocks(m.from, m.to)) return;
    if (this.faulty && this.rng.chance(this.conditions.dropRate)) return;
    const copies = this.faulty && this.rng.chance(this.conditions.dupRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) this.scheduler.at(this.scheduler.now + 1 + this.rng.int(this.conditions.maxDelay), { kind: 'deliver', msg: m });
  }

  /** Whether a message that arrives now reaches its node: a partition that began in flight loses it. */
  delivers(m: Message): boolean {
    return !this.partitions.blocks(m.from, m.to);
  }

  setConditions(conditions: LinkConditions): void {
    this.conditions = conditions;
  }

  /** For good: no partitions, no loss, no duplicates, short delays (the liveness phase). */
  heal(): void {
    this.partitions.heal();
    this.conditions = CALM;
    this.faulty = false;
  }
}
