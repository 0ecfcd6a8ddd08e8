/**
 * The Raft timing the bench's raft-ipam nodes run with: serve's defaults (src/node/timing.ts), or what
 * RAFT_IPAM_TICK_MS / RAFT_IPAM_ELECTION_TICKS / RAFT_IPAM_HEARTBEAT_TICKS in the bench's environment
 * set (the harness passes no timing flags, so the nodes inherit them). That is how two timings are
 * compared on one build:
 *
 *   RAFT_IPAM_TICK_MS=50 RAFT_IPAM_ELECTION_TICKS=10 npm run bench -- --only failover,transfer
 *
 * etcd beside it gets the same heartbeat interval and minimum election timeout.
 */
import { DEFAULT_RAFT_TIMING, electionTimeoutRangeMs, type RaftTiming } from '../../src/node/timing.js';

export function benchTiming(env: NodeJS.ProcessEnv = process.env): RaftTiming {
  const pick = (name: string, fallback: number): number => {
    const v = env[`RAFT_IPAM_${name}`];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`RAFT_IPAM_${name} must be a positive integer, got ${v}`);
    return n;
  };
  return { tickMs: pick('TICK_MS', DEFAULT_RAFT_TIMING.tickMs), electionTicks: pick('ELECTION_TICKS', DEFAULT_RAFT_TIMING.electionTicks), heartbeatTicks: pick('HEARTBEAT_TICKS', DEFAULT_RAFT_TIMING.heartbeatTicks) };
}

/** The minimum of the randomized election timeout, in ms. */
export function electionTimeoutMs(t: RaftTiming = benchTiming()): number {
  return electionTimeoutRangeMs(t).min;
}

export function heartbeatMs(t: RaftTiming = benchTiming()): number {
  return t.tickMs * t.heartbeatTicks;
}

/**
 * etcd's heartbeat interval: raft-ipam's, but etcd refuses to start unless its election timeout is at
 * least 5 heartbeats (250 ms with raft-ipam's 100 ms heartbeat would not start), so at most a fifth of it.
 */
export function etcdHeartbeatMs(t: RaftTiming = benchTiming()): number {
  return Math.min(heartbeatMs(t), Math.floor(electionTimeoutMs(t) / 5));
}

/** "50 ms ticks, heartbeat 2 ticks (100 ms), election 10 ticks (randomized in [500, 1000) ms)". */
export function describeTiming(t: RaftTiming): string {
  const { min, max } = electionTimeoutRangeMs(t);
  return `${t.tickMs} ms ticks, heartbeat ${t.heartbeatTicks} ticks (${heartbeatMs(t)} ms), election ${t.electionTicks} ticks (randomized in [${min}, ${max}) ms)`;
}
