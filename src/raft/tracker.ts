/**
 * Who is in the cluster and what the leader knows about each member (etcd-io/raft tracker/tracker.go):
 * voters, learners, one Progress per member, and the votes of the current election. Every quorum question
 * — the commit index, the election outcome, whether a quorum is active, how old the lease is — is answered
 * here through the functions of quorum.ts, so they cannot disagree about what a majority is.
 *
 * Pure data: it never calls back into the core.
 */
import { Progress } from './progress.js';
import { committedIndex, hasQuorum, voteResult, type VoteOutcome } from './quorum.js';
import type { ConfChange, ConfState, NodeId } from './types.js';

export class ProgressTracker {
  private readonly voterSet = new Set<NodeId>();
  private readonly learnerSet = new Set<NodeId>();
  private readonly prs = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();

  constructor(
    conf: ConfState,
    private readonly maxInflight: number,
    private readonly maxInflightBytes: number,
  ) {
    this.setConf(conf);
  }

  /**
   * Replace the membership (recomputed from a snapshot's conf and the log, when the log's latest
   * configuration changed other than by a leader's append). Progress is rebuilt by the next resetProgress().
   */
  setConf(conf: ConfState): void {
    this.voterSet.clear();
    this.learnerSet.clear();
    for (const v of conf.voters) this.voterSet.add(v);
    for (const l of conf.learners) if (!this.voterSet.has(l)) this.learnerSet.add(l);
  }

  confState(): ConfState {
    return { voters: [...this.voterSet].sort(), learners: [...this.learnerSet].sort() };
  }

  isVoter(id: NodeId): boolean {
    return this.voterSet.has(id);
  }

  isLearner(id: NodeId): boolean {
    return this.learnerSet.has(id);
  }

  get voterCount(): number {
    return this.voterSet.size;
  }

  voters(): NodeId[] {
    return [...this.voterSet].sort();
  }

  /**
   * Take a membership change into the configuration (§4.1 of the dissertation: one server at a time, in
   * effect as soon as its entry is in the log). Returns the Progress created for a new member, if a leader
   * tracks progress (`nextForNew` set), so the caller can start replicating to it. A removed member keeps
   * its Progress until dropProgress(): the leader goes on replicating to it until the removal is
   * committed, so the removed server learns that it is out (it is no longer counted in any quorum).
   */
  applyConfChange(c: ConfChange, nextForNew: number | undefined): Progress | undefined {
    changeSets(this.voterSet, this.learnerSet, c);
    if (c.op === 'remove' || nextForNew === undefined || this.prs.has(c.node)) return undefined; // a promoted learner keeps its progress
    const pr = new Progress(nextForNew, this.maxInflight, this.maxInflightBytes);
    pr.markActive(); // a brand-new member gets a CheckQuorum round to answer
    this.prs.set(c.node, pr);
    return pr;
  }

  /** Forget the Progress of `id` unless it is (again) a member. */
  dropProgress(id: NodeId): void {
    if (!this.voterSet.has(id) && !this.learnerSet.has(id)) this.prs.delete(id);
  }

  // --- progress ------------------------------------------------------------------------------------

  /** A new term: forget every follower's state; everyone starts probing after `lastIndex` (§5.3). */
  resetProgress(self: NodeId, lastIndex: number, selfStable: number): void {
    this.prs.clear();
    for (const id of [...this.voterSet, ...this.learnerSet]) {
      const pr = new Progress(lastIndex + 1, this.maxInflight, this.maxInflightBytes);
      if (id === self) pr.becomeSelf(selfStable);
      this.prs.set(id, pr);
    }
  }

  progress(id: NodeId): Progress | undefined {
    return this.prs.get(id);
  }

  /** Members other than `self` that have a Progress, sorted (a deterministic send order). */
  peers(self: NodeId): NodeId[] {
    return [...this.prs.keys()].filter((id) => id !== self).sort();
  }

  /** Every tracked member with its progress, sorted by id. */
  entries(): Array<[NodeId, Progress]> {
    return [...this.prs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** §5.3: the highest index a majority of voters hold; 0 without voters (commits nothing). */
  committed(): number {
    if (this.voterSet.size === 0) return 0;
    return committedIndex([...this.voterSet], (id) => this.prs.get(id)?.match ?? 0);
  }

  /**
   * §6.2 CheckQuorum: has a majority of voters been heard from since the last check? Starts the next
   * round (forgets who was active) either way.
   */
  quorumActiveAndReset(self: NodeId): boolean {
    const active = hasQuorum([...this.voterSet], (id) => id === self || (this.prs.get(id)?.recentActive ?? false));
    // Stryker disable next-line ConditionalExpression: equivalent for `true`, the leader's own recentActive is never read (it counts itself active)
    for (const [id, pr] of this.prs) if (id !== self) pr.clearActive();
    return active;
  }

  /**
   * §6.4.1 lease: the latest leader tick t such that a majority of voters answered a heartbeat sent at or
   * after t (the leader counts itself at `now`). The same order statistic as the commit index.
   */
  leaseQuorumSentAt(self: NodeId, now: number): number {
    if (this.voterSet.size === 0) return -Infinity;
    return committedIndex([...this.voterSet], (id) => (id === self ? now : (this.prs.get(id)?.leaseSentAt ?? -Infinity)));
  }

  // --- votes ---------------------------------------------------------------------------------------

  resetVotes(): void {
    this.votes.clear();
  }

  /** Record a voter's answer; the first answer of each voter counts (a duplicate cannot flip it). */
  recordVote(id: NodeId, granted: boolean): void {
    if (this.voterSet.has(id) && !this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteOutcome {
    return voteResult([...this.voterSet], this.votes);
  }
}

/** The configuration `conf` followed by `changes`, in order (the same rules as applyConfChange). */
export function confAfter(conf: ConfState, changes: Iterable<ConfChange>): ConfState {
  const voters = new Set(conf.voters);
  const learners = new Set(conf.learners.filter((l) => !voters.has(l)));
  for (const c of changes) changeSets(voters, learners, c);
  return { voters: [...voters].sort(), learners: [...learners].sort() };
}

function changeSets(voters: Set<NodeId>, learners: Set<NodeId>, c: ConfChange): void {
  switch (c.op) {
    case 'addVoter': // also promotes a learner
      learners.delete(c.node);
      voters.add(c.node);
      return;
    case 'addLearner':
      if (!voters.has(c.node)) learners.add(c.node);
      return;
    case 'remove':
      voters.delete(c.node);
      learners.delete(c.node);
      return;
  }
}
