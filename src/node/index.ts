/** Public API of the node runtime (raft-ipam/node): run a cluster member inside your own process. */
export { IpamNode, type IpamNodeOptions, type NodeTransport } from './ipam-node.js';
export { NodeError, NodeErrorCodes, type NodeErrorCode, type NodeService, type NodeStatusView, type RaftStatusView, type MemberView, type LeaderRef, type SessionRef, type Consistency, type SnapshotExport } from './service.js';
export { Replica, type ReplicaOptions, type ReplicatedApp, type ReplicaObserver, type Scheduler, type Applied, type ExportedState } from './replica.js';
export { DEFAULT_RAFT_TIMING, electionTimeoutRangeMs, type RaftTiming } from './timing.js';
export { nodeMetrics, MAX_SLICE_SERIES } from './node-metrics.js';
export type { MemberAttributes } from './cluster-app.js';
