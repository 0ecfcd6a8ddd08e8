/**
 * Everything the simulation checks. It only looks: it reads node state and the outcomes other modules hand
 * it, keeps the history it needs (leaders by term, entries known committed and applied, watermarks), and
 * throws a Violation at the first broken rule. Nothing here draws from the run's Rng or changes the run.
 *
 * After every event:  election safety, per-life monotonicity of term/commit/applied, snapshot ≤ applied ≤
 *                     commit ≤ last, committed entries never change, log matching (every 64 events).
 * As the replicas     persisted term and commit never go back (across restarts), state machine safety,
 * report (observer):  stale reads; at each election, leader completeness.
 * At every restart:   the replica boots with exactly the hard state it last made durable (a failed or lost
 *                     write left nothing behind, and nothing durable was lost).
 * Liveness phase:     convergence (one leader, every member applied everything, equal state hashes);
 *                     a member that refused its corrupt disk is down for good and left out.
 * At the end:         the client history oracle (client-oracle.ts).
 */
import type { ApplyResult } from '../ipam/state-machine.js';
import { logView } from '../raft/internal.js';
import type { RaftCore, Status } from '../raft/raft.js';
import type { Entry, HardState, NodeId } from '../raft/types.js';
import type { ServedRead } from './client.js';
import { clientHistoryViolation, type Proposal } from './client-oracle.js';
import type { Cluster, Observed } from './cluster.js';
import { entryKey, logMatchingViolation } from './invariants.js';
import type { SimNode } from './node-driver.js';

export class Violation extends Error {}

interface Watermarks {
  life: number;
  term: number;
  commit: number;
  applied: number;
}

export class Checker {
  private readonly leaders = new Map<number, NodeId>();
  /**
   * index → term/content of every entry any node has reported committed, and `in`: the term of the node
   * that reported it first (the committing leader's term: it knows first, and every event is observed).
   */
  private readonly committed = new Map<number, { term: number; key: string; in: number }>();
  /** index → every entry any node has applied. */
  private readonly appliedAt = new Map<number, { key: string; entry: Entry }>();
  /** Term/commit/applied at the previous look, per node and life. */
  private readonly seen = new Map<NodeId, Watermarks>();
  /** The last hard state each node made durable, across lives. */
  private readonly persistedBy = new Map<NodeId, HardState>();
  readonly counts = { elections: 0, readsServed: 0 };

  constructor(private readonly readMode: 'safe' | 'lease') {}

  /** Distinct indexes known committed anywhere. */
  get committedCount(): number {
    return this.committed.size;
  }

  afterEvent(observed: readonly Observed[], events: number): void {
    for (const { node, core, status: st } of observed) {
      const seen = this.watermarks(node);
      // Election safety: at most one leader per term (§5.2).
      if (st.role === 'leader') {
        const other = this.leaders.get(st.term);
        if (other !== undefined && other !== node.id) throw new Violation(`election safety: ${other} and ${node.id} both lead term ${st.term}`);
        this.leaders.set(st.term, node.id);
      }
      // Monotonic within a life (a restart may legitimately come back with less than it had applied).
      if (st.term < seen.term) throw new Violation(`${node.id}: term went back ${seen.term} → ${st.term}`);
      if (st.commit < seen.commit) throw new Violation(`${node.id}: commit went back ${seen.commit} → ${st.commit}`);
      if (st.applied < seen.applied) throw new Violation(`${node.id}: applied went back ${seen.applied} → ${st.applied}`);
      // While a received snapshot is decoded the state is still the older one: applied is below it.
      const snapshotFloor = st.installing === undefined ? st.snapshotIndex <= st.applied : st.installing === st.snapshotIndex && st.applied < st.installing;
      if (!(snapshotFloor && st.applied <= st.commit && st.commit <= st.lastIndex)) {
        throw new Violation(`${node.id}: expected snapshot ≤ applied ≤ commit ≤ last, got ${st.snapshotIndex} ${st.applied} ${st.commit} ${st.lastIndex}${st.installing === undefined ? '' : ` (installing ${st.installing})`}`);
      }
      // Committed entries never change: record what this node says is committed, compare with what
      // anyone else said was committed at the same index.
      const view = logView(core);
      for (let i = Math.max(seen.commit, view.offset) + 1; i <= st.commit; i++) {
        const e = view.entries[i - view.offset - 1] as Entry;
        const known = this.committed.get(i);
        const key = entryKey(e);
        if (known && (known.term !== e.term || known.key !== key)) throw new Violation(`committed entry ${i} changed: ${node.id} has term ${e.term}, committed was term ${known.term}`);
        if (!known) this.committed.set(i, { term: e.term, key, in: st.term });
      }
      this.seen.set(node.id, { life: node.life, term: st.term, commit: st.commit, applied: st.applied });
    }
    if (events % 64 === 0) {
      const violation = logMatchingViolation(observed.map(({ node, core }) => ({ id: node.id, view: logView(core) })));
      if (violation) throw new Violation(violation);
    }
  }

  /** A hard state a Ready made durable: a restart must never bring back an older term (a second vote in it) or a lower commit. */
  persisted(node: SimNode, hardState: HardState): void {
    const was = this.persistedBy.get(node.id) ?? { term: 0, vote: null, commit: 0 };
    if (hardState.term < was.term) throw new Violation(`${node.id}: persisted term went back ${was.term} → ${hardState.term}`);
    if (hardState.commit < was.commit) throw new Violation(`${node.id}: persisted commit went back ${was.commit} → ${hardState.commit}`);
    this.persistedBy.set(node.id, { ...hardState });
  }

  /**
   * A restarted replica holds exactly the hard state it last made durable (Figure 2, "updated on stable
   * storage before responding to RPCs"): a term or vote from a write that failed or died in flight would
   * be state nobody was promised; an older one would let it vote twice in a term.
   */
  restarted(node: SimNode, st: Status): void {
    const hs = this.persistedBy.get(node.id);
    if (!hs) return;
    const commit = Math.max(hs.commit, st.snapshotIndex);
    if (st.term !== hs.term || st.vote !== hs.vote || st.commit !== commit) {
      throw new Violation(`${node.id}: restarted with term ${st.term}, vote ${st.vote}, commit ${st.commit}, but made term ${hs.term}, vote ${hs.vote}, commit ${commit} durable`);
    }
  }

  /** State machine safety (§5.4.3): no two replicas apply different entries at one index. */
  applied(node: SimNode, entry: Entry): void {
    const key = entryKey(entry);
    const seen = this.appliedAt.get(entry.index);
    if (seen && seen.key !== key) throw new Violation(`state machine safety: ${node.id} applied a different entry at index ${entry.index}`);
    if (!seen) this.appliedAt.set(entry.index, { key, entry });
  }

  /** Linearizable reads: a read that began after a write was acknowledged must observe it. */
  readServed(r: ServedRead): void {
    if (r.index < r.mustSee) throw new Violation(`stale read: ${r.node} served ${r.ctx} at index ${r.index}, but index ${r.mustSee} was acknowledged before the read began (${this.readMode} reads)`);
    this.counts.readsServed++;
  }

  /**
   * Leader completeness (§5.4, Figure 3): "if a log entry is committed in a given term, then that entry
   * will be present in the logs of the leaders for all higher-numbered terms". A leader of a lower term
   * can still be elected after it — a candidate whose vote responses of its term waited while its own
   * vote was being made durable — and it need not hold it (it can commit nothing: a majority is past its
   * term). Found by the soak (seed 23367, 5 voters: n1 wins term 7 after term 8 committed entry 33).
   */
  newLeader(id: NodeId, core: RaftCore): void {
    this.counts.elections++;
    const view = logView(core);
    const term = core.status().term;
    for (const [index, c] of this.committed) {
      if (index <= view.offset || c.in >= term) continue;
      const e = view.entries[index - view.offset - 1];
      if (!e || e.term !== c.term) throw new Violation(`leader completeness: ${id} leads term ${term} without entry ${index}, committed in term ${c.in}`);
    }
  }

  /**
   * Liveness: one leader, every member applied all it holds, and all hold the same state. A member that
   * refused its corrupt disk is down for good; the others (a quorum: at most one disk is corrupted per
   * run) must converge without it.
   */
  converged(cluster: Cluster): boolean {
    const leader = cluster.currentLeader()?.core;
    if (!leader) return false;
    const ls = leader.status();
    if (ls.commit !== ls.lastIndex) return false;
    const members = [...ls.conf.voters, ...ls.conf.learners].filter((id) => cluster.node(id).state !== 'refused');
    let hash: string | undefined;
    for (const id of members) {
      const n = cluster.node(id);
      // The replica's applied index: the one its state reflects (not the core's, during an install).
      const st = n.replica?.status();
      if (!st || !n.sm || st.applied !== ls.commit) return false;
      const h = n.sm.stateHash();
      if (hash !== undefined && h !== hash) throw new Violation(`replicas ${members.join(',')} applied index ${ls.commit} but hold different states`);
      hash = h;
    }
    return true;
  }

  /** The client's history against the applied log (client-oracle.ts). */
  clientHistory(proposals: ReadonlyMap<number, Proposal>, acked: ReadonlyMap<number, ApplyResult>, cluster: Cluster): void {
    const replicas = cluster.observe().flatMap(({ node, status }) => (node.sm ? [{ id: node.id, applied: status.applied, sm: node.sm }] : []));
    const violation = clientHistoryViolation(this.appliedAt, proposals, acked, replicas);
    if (violation) throw new Violation(`client oracle: ${violation}`);
  }

  private watermarks(node: SimNode): Watermarks {
    const seen = this.seen.get(node.id);
    return seen && seen.life === node.life ? seen : { life: node.life, ...node.booted };
  }
}
