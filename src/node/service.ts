/**
 * What a running raft-ipam node offers to the layers above it (HTTP API, embedded hosts, the CLI through
 * the HTTP API). The node runtime (IpamNode) implements it; src/api depends only on this interface, so the
 * data flows one way: API → service → Raft → state machine, and the result flows back to the caller.
 *
 * Errors that are about the cluster, not the command (no leader, not the leader, stopped, timed out) are
 * thrown as NodeError with a stable code. A command the state machine refuses is NOT an error here: it comes
 * back as `{ ok: false, error }`, exactly as every replica computed it.
 */
import type { IpamCommand } from '../ipam/commands.js';
import type { ApplyResult, IpamStateMachine } from '../ipam/state-machine.js';
import type { NodeId, Role } from '../raft/types.js';

export const NodeErrorCodes = [
  /** This node is not the leader; `leader` names the one it knows of (retry there). */
  'NotLeader',
  /** No leader is known right now (an election is running); retry after a short wait. */
  'NoLeader',
  /** The command or read did not complete in time; with a session the retry is safe (applied at most once). */
  'Timeout',
  /** The proposal was lost to a leader change before it committed; retry (with the same session and seq). */
  'ProposalDropped',
  /** The leader is not accepting more proposals right now (uncommitted tail full); retry later. */
  'Overloaded',
  /** A membership change is refused (one at a time; unknown member; would remove the last voter; …). */
  'InvalidMembership',
  /** The node is stopping or stopped. */
  'Stopped',
  /** The request itself is malformed at the service boundary (the HTTP layer validates before this). */
  'InvalidRequest',
] as const;
export type NodeErrorCode = (typeof NodeErrorCodes)[number];

export interface LeaderRef {
  id: NodeId;
  /** The leader's client (HTTP) URL, when known. */
  clientUrl?: string;
}

export class NodeError extends Error {
  override readonly name = 'NodeError';
  constructor(
    readonly code: NodeErrorCode,
    message: string,
    readonly leader?: LeaderRef,
  ) {
    super(message);
  }

  toJSON(): { code: NodeErrorCode; message: string; leader?: LeaderRef } {
    return { code: this.code, message: this.message, ...(this.leader ? { leader: this.leader } : {}) };
  }
}

/** Exactly-once client session (Raft dissertation §6.3): `seq` numbers a client's requests. */
export interface SessionRef {
  id: number;
  seq: number;
  /** The client has every response with a lower seq; the node may forget them. */
  ack?: number;
}

export type Consistency = 'linearizable' | 'stale';

export interface MemberView {
  id: NodeId;
  role: 'voter' | 'learner';
  peerUrl?: string;
  clientUrl?: string;
}

/** Raft's view of this node: cheap, answered from memory. */
export interface RaftStatusView {
  id: NodeId;
  clusterId: string;
  role: Role;
  term: number;
  leader: LeaderRef | null;
  commit: number;
  applied: number;
  lastIndex: number;
  snapshotIndex: number;
  members: MemberView[];
}

/** GET /v1/status: Raft's view plus the hash of the application state. */
export interface NodeStatusView extends RaftStatusView {
  /** SHA-256 (hex) of the canonical IPAM snapshot at `stateHashIndex`: equal on every replica at that index. */
  stateHash: string;
  /**
   * The applied index `stateHash` is of. It equals `applied` on a quiet node; under writes it may trail,
   * since the hash is computed over a capture of the state a step at a time, not on one event-loop turn.
   */
  stateHashIndex: number;
}

/**
 * The IPAM state at one applied index, for a backup (GET /v1/snapshot, `raft-ipam snapshot save`). Only
 * the IPAM state: member attributes (peer and client addresses) describe the cluster it was taken from,
 * and a cluster restored from it gets its membership from its own --initial-cluster.
 */
export interface SnapshotExport {
  clusterId: string;
  /** The applied index the state is of, and that entry's term. */
  index: number;
  term: number;
  /**
   * When the snapshot was asked for, by this node's clock (ms since the epoch): every write acknowledged
   * before then is in it. For people and reports, never for decisions.
   */
  takenAt: number;
  /** The IPAM snapshot bytes (src/ipam/snapshot-codec.ts): SHA-256 of them is the state hash. */
  data: Uint8Array;
}

export interface NodeService {
  readonly id: NodeId;
  /** The cluster this node belongs to (a restored cluster has a new one). */
  readonly clusterId: string;
  /**
   * Replicate one command and answer with what the state machine returned once it is applied here.
   * Throws NodeError for cluster conditions (NotLeader with the leader, NoLeader, Timeout, …).
   */
  submit(command: IpamCommand, session?: SessionRef): Promise<ApplyResult>;
  /**
   * Run a read-only query against the state machine. 'linearizable' waits until this node has applied
   * everything committed before the call (ReadIndex, or the lease); 'stale' answers from local state now.
   */
  query<T>(consistency: Consistency, read: (sm: IpamStateMachine) => T): Promise<T>;
  /** Role, term, leader, indexes and members, from memory. */
  raftStatus(): RaftStatusView;
  /**
   * raftStatus() and the state hash. The hash of a large state is not computed on one event-loop turn (it
   * would hold off heartbeats): the state is captured and hashed a step at a time, once per applied index.
   */
  status(): Promise<NodeStatusView>;
  addMember(member: { id: NodeId; peerUrl: string; clientUrl?: string; learner?: boolean }): Promise<void>;
  promoteMember(id: NodeId): Promise<void>;
  removeMember(id: NodeId): Promise<void>;
  /** Hand leadership to `to` (or to the most up-to-date voter when omitted); resolves when it leads. */
  transferLeader(to?: NodeId): Promise<void>;
  /** True once the node has a leader and has applied its log up to the commit index it booted with. */
  isReady(): boolean;
  /**
   * A consistent snapshot of the IPAM state that holds every write acknowledged before the call (a
   * linearizable point: ReadIndex, so leader only, NotLeader elsewhere), captured without stalling the node.
   */
  exportSnapshot(): Promise<SnapshotExport>;
}
