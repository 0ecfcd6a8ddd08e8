/**
 * What a saved snapshot holds, in numbers a person checks before restoring it (`raft-ipam snapshot
 * inspect`, and the summary `snapshot save` prints). The file is fully validated first.
 */
import type { IpamStateMachine } from '../ipam/state-machine.js';
import { readSnapshotFile, type SnapshotFileChecks, type SnapshotFileMeta } from './snapshot-file.js';

export interface NetworkSummary {
  name: string;
  cidr: string;
  slicePrefix: number;
  pair?: string;
  slicesAssigned: number;
  addressesAllocated: number;
}

export interface SnapshotSummary {
  clusterId: string;
  index: number;
  term: number;
  /** ISO 8601, from the file's taken-at field. */
  takenAt: string;
  /** Size of the whole file. */
  bytes: number;
  /** SHA-256 of the IPAM state: a cluster restored from this file reports exactly this state hash. */
  stateHash: string;
  networks: NetworkSummary[];
  slices: number;
  addresses: number;
  sessions: number;
}

export function summarize(meta: SnapshotFileMeta, fileBytes: number, state: IpamStateMachine): SnapshotSummary {
  const networks = state.networks().map((n): NetworkSummary => {
    const usage = state.networkUsage(n.name);
    return { name: n.name, cidr: n.cidr, slicePrefix: n.slicePrefix, ...(n.pair !== undefined ? { pair: n.pair } : {}), slicesAssigned: usage?.slicesAssigned ?? 0, addressesAllocated: usage?.addressesAllocated ?? 0 };
  });
  return {
    clusterId: meta.clusterId,
    index: meta.index,
    term: meta.term,
    takenAt: new Date(meta.takenAt).toISOString(),
    bytes: fileBytes,
    stateHash: meta.stateHash,
    networks,
    slices: networks.reduce((s, n) => s + n.slicesAssigned, 0),
    addresses: networks.reduce((s, n) => s + n.addressesAllocated, 0),
    sessions: state.sessionCount(),
  };
}

export async function inspectSnapshotFile(path: string, checks: SnapshotFileChecks = {}): Promise<SnapshotSummary> {
  const f = await readSnapshotFile(path, checks);
  return summarize(f.meta, f.headerLength + f.payload.length, f.state);
}
