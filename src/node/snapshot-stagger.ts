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
  // A digest, not FNV: names that differ in their last character (n1, n2, n3) must land far apart.
  const u = createHash('sha256').update(name).digest().readUInt16BE(0);
  return base + Math.floor((base * u) / (5 * 65_536));
}
