/**
 * Public API of the Raft core (raft-ipam/raft). Pure: no I/O, no clocks; see Ready for the driver contract.
 * Everything not exported here (quorum arithmetic, the progress tracker, testing knobs, log views) is
 * internal and may change.
 */
export { RaftCore, type RaftConfig, type RaftBootState, type Status } from './raft.js';
export { parseMessage, MAX_TERM, type MessageLimits } from './message-parse.js';
export { DEFAULT_SNAPSHOT_LOG_RATIO, SnapshotPolicy, type SnapshotPolicyOptions } from './snapshot-policy.js';
export { createRng, type Rng } from './rng.js';
export {
  RaftError,
  type RaftErrorCode,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type MessageType,
  type NodeId,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SnapshotChunk,
  type SnapshotInfo,
  type SnapshotMeta,
  type SnapshotSend,
  type SoftState,
  type VoteRefusal,
} from './types.js';
