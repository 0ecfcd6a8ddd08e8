/**
 * Raft timing defaults, in one place: the node runtime, `raft-ipam serve`, the cluster harness, the chaos
 * run and the benchmarks all read them from here.
 *
 * A follower that hears nothing from a leader for its election timeout — electionTicks ticks, randomized
 * per election in [electionTicks, 2·electionTicks) — pre-votes (§9.6), then campaigns. The timeout is what
 * a client waits out when a leader dies, so it is the main term of failover; it must also stay well above
 * the heartbeat interval plus the longest event-loop stall a healthy leader has under load, or the
 * cluster deposes leaders that were only busy (§5.6: broadcastTime ≪ electionTimeout ≪ MTBF).
 */
export interface RaftTiming {
  /** One logical Raft tick, in ms of wall clock. */
  tickMs: number;
  /** Minimum election timeout, in ticks. */
  electionTicks: number;
  /** Leader heartbeat interval, in ticks (below electionTicks). */
  heartbeatTicks: number;
}

/**
 * 25 ms ticks, election 10 ticks (250–500 ms), heartbeat 4 ticks (100 ms). With one of three members
 * killed, the wait is the earlier of the two survivors' draws, so failover to the first committed write
 * measured ≈ 300 ms p50 on the 2-core bench machine (it was ≈ 600 ms with 50 ms × 10 ticks), and a split
 * vote (both survivors time out within a vote round trip) costs one more 250–500 ms draw, which keeps the
 * worst case near a second. The heartbeat stays at 100 ms, as before: 2.5 of them fit in the shortest
 * timeout, and the leader sends snapshot chunks again only after a heartbeat interval. The finer tick
 * halves the phase error between a follower's ticks and the leader's last heartbeat. Measured under the
 * bench's heaviest load (256 HTTP clients, snapshots every 10,000 entries): no elections.
 */
export const DEFAULT_RAFT_TIMING: Readonly<RaftTiming> = Object.freeze({ tickMs: 25, electionTicks: 10, heartbeatTicks: 4 });

/** The randomized election timeout's range in ms, [min, max). */
export function electionTimeoutRangeMs(t: RaftTiming = DEFAULT_RAFT_TIMING): { min: number; max: number } {
  return { min: t.tickMs * t.electionTicks, max: 2 * t.tickMs * t.electionTicks };
}
