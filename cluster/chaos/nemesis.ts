/**
 * Faults injected into a running cluster while the workload runs, one at a time: each kind breaks
 * something, holds it a while, then puts the cluster back together (every member running and resumed,
 * every link open). Jepsen's nemeses, for raft-ipam's harness: processes are killed with SIGKILL and
 * paused with SIGSTOP (or `docker pause`), links are cut at the relays in front of the peer listeners.
 *
 * Every random choice comes from the run's seeded RNG, so the sequence of faults replays from the seed
 * printed in a failure report (their exact timing relative to the load does not: real time decides that).
 */
import type { Cluster } from '../cluster.js';
import type { Rng } from '../../src/raft/rng.js';

export const NEMESES = [
  'kill-leader',
  'pause-leader',
  'isolate-leader',
  'isolate-follower',
  'one-way',
  'flap',
  'rolling-restart',
  'wipe-rejoin',
  'membership',
  'transfer-leader',
] as const;
export type NemesisKind = (typeof NEMESES)[number];

export function isNemesis(v: string): v is NemesisKind {
  return (NEMESES as readonly string[]).includes(v);
}

export interface NemesisOptions {
  /** The cluster's election timeout (ms): pauses and partitions are held past it so elections happen. */
  electionTimeoutMs: number;
  /** One line per fault, for the run's timeline. */
  log: (line: string) => void;
  /** Bound on each wait for the cluster to recover (ms). */
  recoverTimeoutMs?: number;
}

export interface NemesisStats {
  runs: Record<NemesisKind, number>;
  leaderKills: number;
  pauses: number;
  partitions: number;
  /** ms from SIGKILL of a leader until the survivors agreed on a new one. */
  failoverMs: number[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Nemesis {
  readonly stats: NemesisStats = { runs: Object.fromEntries(NEMESES.map((k) => [k, 0])) as Record<NemesisKind, number>, leaderKills: 0, pauses: 0, partitions: 0, failoverMs: [] };
  private nextMember = 1;
  private readonly recoverMs: number;

  constructor(
    private readonly cluster: Cluster,
    private readonly rng: Rng,
    private readonly o: NemesisOptions,
  ) {
    this.recoverMs = o.recoverTimeoutMs ?? 60_000;
  }

  /** Inject one fault of `kind`, hold it, and heal; resolves once the cluster has a leader again. */
  async run(kind: NemesisKind): Promise<void> {
    this.stats.runs[kind]++;
    const leader = await this.cluster.waitForLeader({ timeoutMs: this.recoverMs });
    const followers = this.cluster.ids().filter((id) => id !== leader);
    const hold = (): number => this.o.electionTimeoutMs * 2 + this.rng.int(this.o.electionTimeoutMs * 2);
    this.o.log(`nemesis ${kind} (leader ${leader})`);
    switch (kind) {
      case 'kill-leader': {
        const t = performance.now();
        await this.cluster.kill(leader);
        this.stats.leaderKills++;
        await this.cluster.waitForLeader({ exclude: [leader], timeoutMs: this.recoverMs });
        this.stats.failoverMs.push(Math.round(performance.now() - t));
        await sleep(this.rng.int(this.o.electionTimeoutMs));
        await this.cluster.restart(leader);
        break;
      }
      case 'pause-leader':
        // Past the election timeout: the others elect a new leader while the old one is frozen with
        // requests in hand. Resumed, it must not complete a write or a linearizable read for its old term.
        await this.cluster.pause(leader);
        this.stats.pauses++;
        await sleep(hold());
        await this.cluster.resume(leader);
        break;
      case 'isolate-leader':
        // The leader alone in a minority; the majority elects another.
        this.cluster.partition([[leader], followers], this.mode());
        this.stats.partitions++;
        await sleep(hold());
        this.cluster.heal();
        break;
      case 'isolate-follower': {
        const f = this.pick(followers);
        this.cluster.partition([[f], this.cluster.ids().filter((id) => id !== f)], this.mode());
        this.stats.partitions++;
        await sleep(hold());
        this.cluster.heal();
        break;
      }
      case 'one-way': {
        // The leader's messages stop reaching everyone, while theirs still reach it.
        for (const f of followers) this.cluster.cut(leader, f, this.mode());
        this.stats.partitions++;
        await sleep(hold());
        this.cluster.heal();
        break;
      }
      case 'flap': {
        const f = this.pick(followers);
        const flapper = this.cluster.flap(leader, f, { downMs: 100 + this.rng.int(300), upMs: 100 + this.rng.int(300), both: true, mode: this.mode() });
        this.stats.partitions++;
        await sleep(hold() * 2);
        flapper.stop();
        this.cluster.heal();
        break;
      }
      case 'rolling-restart':
        // Followers first, the leader last, each restarted on its data with SIGTERM.
        for (const id of [...followers, leader]) {
          await this.cluster.stop(id);
          await this.cluster.restart(id);
          await this.cluster.waitForLeader({ timeoutMs: this.recoverMs });
        }
        break;
      case 'wipe-rejoin':
        // A follower lost its disk: removed, wiped, back as a new member that catches up by snapshot.
        await this.cluster.wipeAndRejoin(this.pick(followers), { timeoutMs: this.recoverMs });
        break;
      case 'membership': {
        // Grow by one voter, then retire one of the old followers: the size stays, the members change.
        const id = `m${this.nextMember++}`;
        await this.cluster.addNode(id, { voter: true, timeoutMs: this.recoverMs });
        await this.cluster.removeMember(this.pick(followers));
        break;
      }
      case 'transfer-leader':
        await this.cluster.transferLeader(this.pick(followers));
        break;
    }
    await this.whole();
  }

  /**
   * Everything back: links open, paused members resumed, stopped members restarted; then wait for a
   * leader that every member follows.
   */
  async whole(): Promise<void> {
    if (this.cluster.cuts().length > 0) this.cluster.heal();
    for (const id of this.cluster.ids()) {
      if (this.cluster.isPaused(id)) await this.cluster.resume(id);
      if (!this.cluster.isRunning(id)) await this.cluster.restart(id);
    }
    await this.cluster.waitForLeader({ timeoutMs: this.recoverMs });
  }

  private pick(ids: readonly string[]): string {
    return ids[this.rng.int(ids.length)] as string;
  }

  /** Blackhole mostly (what a real partition does); sometimes connection resets. */
  private mode(): 'drop' | 'reset' {
    return this.rng.chance(0.75) ? 'drop' : 'reset';
  }
}

/**
 * The order of faults for a run with a budget: at least `leaderKills` kills and every enabled kind at
 * least once, shuffled by the seed.
 */
export function planNemeses(rng: Rng, kinds: readonly NemesisKind[], leaderKills: number): NemesisKind[] {
  const plan: NemesisKind[] = [...kinds];
  const kills = plan.filter((k) => k === 'kill-leader').length;
  if (kinds.includes('kill-leader')) for (let i = kills; i < leaderKills; i++) plan.push('kill-leader');
  for (let i = plan.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [plan[i], plan[j]] = [plan[j] as NemesisKind, plan[i] as NemesisKind];
  }
  return plan;
}
