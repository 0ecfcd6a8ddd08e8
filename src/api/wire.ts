/**
 * What crosses HTTP between the server and IpamClient, in one place so both sides agree. Every answer is
 * an envelope: `{ ok: true, value }` or `{ ok: false, error }`; a command's refusal by the state machine
 * is the same ApplyResult every replica computed, passed through unchanged.
 */
import type { LeaderRef, SessionRef } from '../node/service.js';

export interface WireError {
  code: string;
  message: string;
  /** On NotLeader: where to send the request instead. */
  leader?: LeaderRef;
  /** On Internal: the id of the request in the server's log. */
  requestId?: string;
}

export type Envelope<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Answers of openSession / closeSession as they travel (src/ipam's SessionOpened / SessionClosed). */
export interface SessionOpened {
  session: number;
}
export interface SessionClosed {
  session: number;
  closed: boolean;
}

/**
 * The cluster id, on every answer of POST /v1/commands; and on a request, the cluster its session was
 * opened on. Session ids are numbered per cluster from 1, so a cluster restored from a backup issues again
 * the ids the old cluster issued after the backup was taken: a client still holding one of those must not
 * have its commands run under another client's session (whose cached answers it would be given). A
 * request naming another cluster is refused with UnknownSession, before anything is proposed; IpamClient
 * sends it on every command under a session, and opens a new session on that refusal.
 */
export const CLUSTER_HEADER = 'raft-ipam-cluster-id';

/** Body of POST /v1/commands: the command's own fields plus, optionally, the session envelope. */
export type CommandRequestBody = Record<string, unknown> & { type: string; session?: SessionRef };

/** JSON has no bigint: counts that can exceed 2^53 (IPv6 slice capacity and host totals) travel as decimal strings. */
export interface NetworkUsageView {
  name: string;
  cidr: string;
  slicePrefix: number;
  pair?: string;
  slicesAssigned: number;
  sliceCapacity: string;
  addressesAllocated: number;
}

export interface SliceView {
  nodeId: string;
  slice: string;
  allocated: number;
  total: string;
  available: string;
}

export interface NetworkSlicesView {
  network: string;
  slices: SliceView[];
}

export interface AllocationView {
  network: string;
  nodeId: string;
  address: string;
  generation: number;
  owner?: string;
}

export interface AllocationsView {
  network: string;
  allocations: AllocationView[];
  /** True when more allocations matched than `limit`; the list is the first `limit` in (slice position, address) order. */
  truncated: boolean;
  /** When truncated: the last address listed, to pass as `after` for the next page. */
  next?: string;
}

export interface NetworkSummary {
  name: string;
  cidr: string;
  slicePrefix: number;
  pair?: string;
}

export interface AddMemberRequest {
  id: string;
  peerUrl: string;
  clientUrl?: string;
  learner?: boolean;
}

/** GET /v1/snapshot answers with a saved snapshot file (src/backup/snapshot-file.ts) of this type ... */
export const SNAPSHOT_CONTENT_TYPE = 'application/vnd.raft-ipam.snapshot';
/** ... and these headers, copies of the file header's fields, readable before the body arrives. */
export const SNAPSHOT_HEADERS = {
  index: 'x-raft-ipam-snapshot-index',
  term: 'x-raft-ipam-snapshot-term',
  clusterId: 'x-raft-ipam-cluster-id',
  stateHash: 'x-raft-ipam-state-hash',
  takenAt: 'x-raft-ipam-taken-at',
} as const;
