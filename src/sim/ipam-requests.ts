/**
 * Everything the simulator knows about IPAM log entries and apply results, kept in one place: the request
 * envelope the client proposes, reading it back from a log entry, and which fields of a result grant a
 * generation, an address or a slice. When the entry format or the result types change, only this file does.
 */
import { decodeEntry, encodeEntry, type LogEntryBody } from '../ipam/log-entry.js';
import type { IpamCommand } from '../ipam/commands.js';
import type { ApplyResult } from '../ipam/state-machine.js';
import type { Entry } from '../raft/types.js';

export function encodeRequest(id: number, command: IpamCommand): Uint8Array {
  return encodeEntry({ id, command });
}

/** The request an entry carries; undefined for membership changes and a new leader's empty no-op (§8). */
export function decodeRequest(e: Entry): LogEntryBody | undefined {
  if (e.type !== 'normal' || e.data.length === 0) return undefined;
  return decodeEntry(e.data);
}

/** The generation a successful command handed out, which later releases may quote (stale or not). */
export function grantedGeneration(result: ApplyResult): number | undefined {
  if (!result.ok || !('generation' in result.value)) return undefined;
  return result.value.generation;
}

export interface Grants {
  /** `network/address` newly allocated by the command (not an owner's existing allocation handed back). */
  address?: string;
  /** Slices assigned to a worker node, one per network of a pair. */
  slices: Array<{ network: string; slice: string; node: string }>;
}

export function grantsOf(command: IpamCommand, result: ApplyResult): Grants {
  const grants: Grants = { slices: [] };
  if (!result.ok) return grants;
  const v = result.value;
  // Allocation results (allocate, allocateFirst, allocateSpecific, mark) carry `generation`; `existing`
  // means an owner's address was handed back, not granted again.
  if ('generation' in v && !v.existing) grants.address = `${v.network}/${v.address}`;
  if (command.type === 'assignSlice' && 'slices' in v) {
    for (const [network, slice] of Object.entries(v.slices)) grants.slices.push({ network, slice, node: command.nodeId });
  }
  return grants;
}
