/**
 * The cores the simulator can run: the real one ('none') and deliberately broken ones, each turning on one
 * testing knob, so the simulator can prove it fails when Raft's rules are broken. The CLI, the tests and the
 * soak script all take their list from here.
 */
import type { TestingKnobs } from '../raft/internal.js';

export const VARIANTS = ['none', 'vote-without-log-check', 'commit-prior-term', 'vote-not-persisted', 'lease-without-quorum-acks'] as const;

export type Variant = (typeof VARIANTS)[number];

export function isVariant(name: string): name is Variant {
  return (VARIANTS as readonly string[]).includes(name);
}

/** The bug each variant plants in every core of the cluster. */
export function knobsFor(variant: Variant): TestingKnobs {
  return {
    // §5.4.1: a vote granted to a candidate whose log is behind lets it overwrite committed entries.
    grantVotesWithoutLogCheck: variant === 'vote-without-log-check',
    // §5.4.2, Figure 8: counting replicas of an earlier term's entry commits what a later leader may erase.
    commitEntriesOfPriorTerms: variant === 'commit-prior-term',
    // §5.2: a vote forgotten across a restart lets a node vote twice in one term.
    forgetVoteOnRestart: variant === 'vote-not-persisted',
    // §6.4: a lease not renewed by quorum acknowledgements serves reads after a newer leader has written.
    leaseWithoutQuorumAcks: variant === 'lease-without-quorum-acks',
  };
}
