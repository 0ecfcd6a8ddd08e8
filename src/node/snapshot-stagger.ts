/**
 * Replicas apply the same log, so with one snapshot threshold they all snapshot at the same index: every
 * node's loop and disk busy at once, and the leader's stall lands exactly when no follower is free to
 * form a quorum with it (in the open-loop benchmark that one moment held most of the requests slower
 * than 15 ms). Each node adds to the configured threshold up to a fifth of it, fixed by its name, so
 * their snapshots fall at different indexes and the other two keep committing while one snapshots.
 * The simulator staggers its nodes the same way (src/sim/node-driver.ts).
 */
import { createHash } from 'node:crypto';

/** Applied entries between this node's snapshots: `base` plus up to a fifth of it, by `name`. */
export function staggeredSnapshotEntries(name: string, base: number): number {
  return base + Math.floor((base * staggerUnit(name)) / STAGGER_SPAN);
}

/**
 * The log-to-snapshot ratio (SnapshotPolicyOptions.logToSnapshot) of this node: `base` plus up to a fifth
 * of it, by `name`. Replicas' snapshots have the same size (the same state, encoded canonically), so with
 * one ratio a large state would bring all of them due at the same index again.
 */
export function staggeredLogRatio(name: string, base: number): number {
  return base * (1 + staggerUnit(name) / STAGGER_SPAN);
}

/** The stagger is `staggerUnit / STAGGER_SPAN` of the base: in [0, 1/5). */
const STAGGER_SPAN = 5 * 65_536;

/** 0 … 65,535, fixed by the name. */
function staggerUnit(name: string): number {
  // A digest, not FNV: names that differ in their last character (n1, n2, n3) must land far apart.
  return createHash('sha256').update(name).digest().readUInt16BE(0);
}
