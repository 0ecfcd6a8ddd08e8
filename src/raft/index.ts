/** Public API of the Raft core (raft-ipam/raft). Pure: no I/O, no clocks; see Ready for the driver contract. */
export { RaftCore, type RaftConfig, type RaftBootState, type Status } from './raft.js';
export { SnapshotPolicy, type SnapshotPolicyOptions } from './snapshot-policy.js';
export { createRng, type Rng } from './rng.js';
export { committedIndex, voteResult, hasQuorum } from './quorum.js';
export { RaftError, type RaftErrorCode, type ConfChange, type ConfState, type Entry, type HardState, type Message, type MessageType, type NodeId, type ReadState, type Ready, type Role, type Snapshot, type SnapshotMeta, type SoftState } from './types.js';
