/**
 * The client's view of a finished simulation, checked against the committed log: replay the log through
 * a fresh IpamStateMachine and require that
 * - every acknowledged command is in the log at the index the replica acknowledged it at, with the same
 *   result;
 * - the log holds only commands that were proposed, each at most once;
 * - no address or slice was granted while another grant of it was live;
 * - every replica that applied the whole log holds the replay's state.
 */
import type { IpamCommand } from '../ipam/commands.js';
import { IpamStateMachine, type ApplyResult } from '../ipam/state-machine.js';
import type { Entry, NodeId } from '../raft/types.js';
import { decodeRequest, grantsOf } from './ipam-requests.js';

export interface Proposal {
  id: number;
  /** The node it was proposed to. */
  node: NodeId;
  /** The index the replica acknowledged it at; undefined until (unless) it is acknowledged. */
  index: number | undefined;
  command: IpamCommand;
}

export interface Replica {
  id: NodeId;
  applied: number;
  sm: IpamStateMachine;
}

export function clientHistoryViolation(
  applied: ReadonlyMap<number, { entry: Entry }>,
  proposals: ReadonlyMap<number, Proposal>,
  acked: ReadonlyMap<number, ApplyResult>,
  replicas: readonly Replica[],
): string | undefined {
  const replay = new IpamStateMachine();
  const grants = new GrantTracker(replay);
  const seenIds = new Set<number>();
  const indexes = [...applied.keys()].sort((a, b) => a - b);
  for (let i = 0; i < indexes.length; i++) if (indexes[i] !== i + 1) return `applied log has a gap before index ${indexes[i]}`;
  for (const index of indexes) {
    const e = (applied.get(index) as { entry: Entry }).entry;
    const request = decodeRequest(e);
    if (!request) continue;
    const { id, command } = request;
    if (!proposals.has(id)) return `index ${index} holds request ${id}, which was never proposed`;
    if (seenIds.has(id)) return `request ${id} applied twice`;
    seenIds.add(id);
    const result = replay.apply(command);
    const ack = acked.get(id);
    if (ack && stringify(ack) !== stringify(result)) return `request ${id} was acknowledged with ${stringify(ack)} but the log gives ${stringify(result)}`;
    const twice = grants.record(command, result);
    if (twice) return twice;
  }
  for (const [id, p] of proposals) {
    if (!acked.has(id)) continue;
    if (!seenIds.has(id)) return `acknowledged request ${id} (index ${p.index}) is not in the final log`;
    const at = p.index === undefined ? undefined : applied.get(p.index);
    if (!at || decodeRequest(at.entry)?.id !== id) return `request ${id} was acknowledged at index ${p.index}, which holds something else`;
  }
  const finalHash = replay.stateHash();
  for (const r of replicas) {
    if (r.applied === indexes.length && r.sm.stateHash() !== finalHash) return `${r.id} applied the whole log but its state differs from a replay of it`;
  }
  return undefined;
}

/** Live grants of addresses and slices, as the replayed results hand them out and the state frees them. */
class GrantTracker {
  private readonly addresses = new Set<string>();
  private readonly slices = new Map<string, string>();

  constructor(private readonly sm: IpamStateMachine) {}

  /** Returns a violation if the result grants something that is already granted. */
  record(command: IpamCommand, result: ApplyResult): string | undefined {
    if (!result.ok) return undefined;
    const { address, slices } = grantsOf(command, result);
    if (address !== undefined) {
      if (this.addresses.has(address)) return `address ${address} granted twice`;
      this.addresses.add(address);
    }
    for (const { network, slice, node } of slices) {
      const key = `${network}/${slice}`;
      const holder = this.slices.get(key);
      if (holder !== undefined && holder !== node) return `slice ${slice} granted to ${holder} and ${node}`;
      this.slices.set(key, node);
    }
    // Forget what the state no longer holds, so a later re-grant is legitimate.
    for (const key of [...this.addresses]) {
      const slash = key.indexOf('/');
      if (!this.sm.allocationOf(key.slice(0, slash), key.slice(slash + 1))) this.addresses.delete(key);
    }
    for (const [key, nodeId] of [...this.slices]) {
      const slash = key.indexOf('/');
      if (this.sm.sliceOf(key.slice(0, slash), nodeId) !== key.slice(slash + 1)) this.slices.delete(key);
    }
    return undefined;
  }
}

function stringify(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
}
