/**
 * Quorum arithmetic, pure (etcd-io/raft quorum/majority.go). Property-tested against a naive version.
 */
import type { NodeId } from './types.js';

/**
 * The largest index acknowledged by a majority of `voters`: sort the voters' match indexes descending and
 * take the one at position ⌊n/2⌋ (the (n/2+1)-th highest). Voters without an entry count as 0.
 */
export function committedIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER; // an empty config commits nothing new; callers guard
  const indexes = voters.map(match).sort((a, b) => b - a);
  return indexes[Math.floor(voters.length / 2)] as number;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Tally votes: won with a majority of grants, lost once a majority can no longer be reached. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  const quorum = Math.floor(voters.length / 2) + 1;
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  if (granted >= quorum) return 'won';
  if (voters.length - rejected < quorum) return 'lost';
  return 'pending';
}

/** True when the set `acked` contains a majority of `voters`. */
export function hasQuorum(voters: readonly NodeId[], acked: (id: NodeId) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (acked(id)) n++;
  return n >= Math.floor(voters.length / 2) + 1;
}
