/**
 * IpamStateMachine: the deterministic application that Raft replicates. It knows nothing of Raft: a log
 * entry's command goes in through apply(), a result (or a typed error) comes out, and every replica that
 * applies the same commands in the same order holds byte-identical state (snapshot() bytes, stateHash()).
 *
 * Rules that keep replicas identical:
 * - apply() never throws for a bad command and a failing command changes nothing (checks first, then
 *   mutation; the one multi-step mutation, a paired slice assignment, rolls back its first step).
 * - No clocks, randomness or Map iteration order leak into state or results: generations come from a
 *   counter in the state, and lists in results are sorted.
 */
import { createHash } from 'node:crypto';
import { describe, formatAddress, parseAddress, type ParsedAddress } from './address.js';
import { parseCommand, type IpamCommand } from './commands.js';
import { OverlayError, type ErrorCode } from './errors.js';
import type { Offset } from './host-range.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec.js';
import { compare, emptyState, newNetwork, newNodeSlice, type IpamState, type Network, type NodeSlice } from './state.js';

export type ApplyResult<T = unknown> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode; message: string } };

export interface AllocationResult {
  network: string;
  nodeId: string;
  address: string;
  generation: number;
  owner?: string;
  /** True when the owner already held this address and nothing changed. */
  existing: boolean;
}

export interface AllocationRecord {
  network: string;
  nodeId: string;
  address: string;
  generation: number;
  owner?: string;
}

export class IpamStateMachine {
  private state: IpamState = emptyState();

  /** Apply one command. Never throws: bad input and refused operations come back as { ok: false }. */
  apply(input: unknown): ApplyResult {
    let command: IpamCommand;
    try {
      command = parseCommand(input);
      return { ok: true, value: this.execute(command) };
    } catch (e) {
      if (e instanceof OverlayError) return { ok: false, error: e.toJSON() };
      // Anything else is a bug in this module; surface it as data so a replica never crashes mid-apply.
      return { ok: false, error: { code: 'InvalidCommand', message: `internal error: ${(e as Error).message}` } };
    }
  }

  /** Canonical bytes: equal states give equal bytes. */
  snapshot(): Uint8Array {
    return encodeSnapshot(this.state);
  }

  /** Replace the whole state from snapshot bytes; on any error the current state is untouched. */
  restore(bytes: Uint8Array): void {
    this.state = decodeSnapshot(bytes);
  }

  /** SHA-256 of the canonical snapshot, hex. */
  stateHash(): string {
    return createHash('sha256').update(this.snapshot()).digest('hex');
  }

  // --- queries -------------------------------------------------------------------------------------

  networks(): Array<{ name: string; cidr: string; slicePrefix: number; pair?: string }> {
    return [...this.state.networks.values()]
      .sort((a, b) => compare(a.name, b.name))
      .map((n) => ({ name: n.name, cidr: n.slices.clusterCidr(), slicePrefix: n.slices.slicePrefix(), ...(n.pair ? { pair: n.pair } : {}) }));
  }

  sliceOf(network: string, nodeId: string): string | undefined {
    return this.state.networks.get(network)?.slices.sliceFor(nodeId);
  }

  /** Allocation record of an address, or undefined when it is free or outside the network. */
  allocationOf(network: string, address: string): AllocationRecord | undefined {
    const net = this.state.networks.get(network);
    if (!net) return undefined;
    const found = locate(net, parseAddress(address));
    if (!found || !found.slice.alloc.range.set.has(found.offset)) return undefined;
    return record(net, found.slice, found.offset);
  }

  ownerOf(network: string, address: string): string | undefined {
    return this.allocationOf(network, address)?.owner;
  }

  addressesOf(owner: string): AllocationRecord[] {
    const out: AllocationRecord[] = [];
    for (const net of this.sortedNetworks()) {
      const at = net.ownerIndex.get(owner);
      if (at) out.push(record(net, net.nodes.get(at.nodeId) as NodeSlice, at.offset));
    }
    return out;
  }

  networkUsage(network: string): { name: string; cidr: string; slicePrefix: number; slicesAssigned: number; sliceCapacity: bigint; addressesAllocated: number } | undefined {
    const net = this.state.networks.get(network);
    if (!net) return undefined;
    let allocated = 0;
    for (const slice of net.nodes.values()) allocated += slice.alloc.allocatedCount();
    return {
      name: net.name,
      cidr: net.slices.clusterCidr(),
      slicePrefix: net.slices.slicePrefix(),
      slicesAssigned: net.slices.assignedCount(),
      sliceCapacity: net.slices.capacity(),
      addressesAllocated: allocated,
    };
  }

  sliceUsage(network: string, nodeId: string): { slice: string; allocated: number; total: bigint; available: bigint } | undefined {
    const slice = this.state.networks.get(network)?.nodes.get(nodeId);
    if (!slice) return undefined;
    return { slice: slice.alloc.cidr(), allocated: slice.alloc.allocatedCount(), total: slice.alloc.totalHosts(), available: slice.alloc.availableCount() };
  }

  // --- commands ------------------------------------------------------------------------------------

  private execute(c: IpamCommand): unknown {
    switch (c.type) {
      case 'configureNetwork':
        return this.configureNetwork(c.name, c.cidr, c.slicePrefix, c.pair);
      case 'assignSlice':
        return this.assignSlice(c.network, c.nodeId, undefined);
      case 'assignSpecificSlice':
        return this.assignSlice(c.network, c.nodeId, c.slice);
      case 'releaseSlice':
        return this.releaseSlice(c.network, c.nodeId);
      case 'allocate':
        return this.allocate(c.network, c.nodeId, c.owner, (s) => s.alloc.range.lowestFree(), true);
      case 'allocateFirst':
        return this.allocate(c.network, c.nodeId, c.owner, (s) => (s.alloc.range.lo <= s.alloc.range.hi ? s.alloc.range.lo : undefined), false);
      case 'allocateSpecific':
        return this.allocateSpecific(c.network, c.nodeId, c.address, c.owner);
      case 'mark':
        return this.mark(c.network, c.nodeId, c.address);
      case 'release':
        return this.release(c.network, c.address, c.generation);
      case 'releaseOwner':
        return this.releaseOwner(c.owner, c.network);
    }
  }

  private configureNetwork(name: string, cidr: string, slicePrefix: number, pair: string | undefined): unknown {
    const net = newNetwork(name, cidr, slicePrefix); // validates cidr and prefix
    const existing = this.state.networks.get(name);
    if (existing) {
      const same = existing.slices.clusterCidr() === net.slices.clusterCidr() && existing.slices.slicePrefix() === slicePrefix && (pair === undefined || existing.pair === pair);
      if (!same) {
        throw new OverlayError('NetworkExists', `network ${describe(name)} already exists as ${existing.slices.clusterCidr()} with /${existing.slices.slicePrefix()} slices${existing.pair ? ` paired with ${describe(existing.pair)}` : ''}`);
      }
      return { network: name, cidr: existing.slices.clusterCidr(), slicePrefix, pair: existing.pair, created: false };
    }
    let partner: Network | undefined;
    if (pair !== undefined) {
      partner = this.network(pair);
      if (partner.family === net.family) throw new OverlayError('InvalidCommand', `cannot pair IPv${net.family} network ${describe(name)} with IPv${partner.family} network ${describe(pair)}: pairs are one IPv4 and one IPv6 network`);
      if (partner.pair !== undefined) throw new OverlayError('InvalidCommand', `network ${describe(pair)} is already paired with ${describe(partner.pair)}`);
    }
    this.state.networks.set(name, net);
    if (partner) {
      net.pair = partner.name;
      partner.pair = name;
    }
    return { network: name, cidr: net.slices.clusterCidr(), slicePrefix, pair: net.pair, created: true };
  }

  private assignSlice(network: string, nodeId: string, slice: string | undefined): { slices: Record<string, string> } {
    const net = this.network(network);
    const targets = [net];
    // An explicit slice names one network; a paired network's slice is placed by hash as usual.
    if (net.pair !== undefined) targets.push(this.network(net.pair));
    const added: Network[] = [];
    try {
      for (const target of targets) {
        if (target.nodes.has(nodeId)) {
          if (slice !== undefined && target === net) target.slices.assignSpecific(nodeId, slice); // throws if different
          continue;
        }
        const index = slice !== undefined && target === net ? target.slices.assignSpecificIndex(nodeId, slice) : target.slices.assignIndex(nodeId);
        target.nodes.set(nodeId, newNodeSlice(target, nodeId, index));
        added.push(target);
      }
    } catch (e) {
      // All or nothing: undo the first network's assignment if the pair's failed.
      for (const target of added) {
        target.slices.release(nodeId);
        target.nodes.delete(nodeId);
      }
      throw e;
    }
    const slices: Record<string, string> = {};
    for (const target of targets) slices[target.name] = target.slices.sliceFor(nodeId) as string;
    return { slices };
  }

  private releaseSlice(network: string, nodeId: string): { released: Record<string, string>; addressesReleased: number } {
    const net = this.network(network);
    const targets = net.pair !== undefined ? [net, this.network(net.pair)] : [net];
    const released: Record<string, string> = {};
    let addressesReleased = 0;
    for (const target of targets) {
      const slice = target.nodes.get(nodeId);
      if (!slice) continue;
      for (const owner of slice.owners.values()) target.ownerIndex.delete(owner);
      addressesReleased += slice.alloc.allocatedCount();
      released[target.name] = slice.alloc.cidr();
      target.nodes.delete(nodeId);
      target.slices.release(nodeId);
    }
    return { released, addressesReleased };
  }

  private allocate(network: string, nodeId: string, owner: string | undefined, pick: (s: NodeSlice) => Offset | undefined, lowest: boolean): AllocationResult {
    const net = this.network(network);
    const slice = this.nodeSlice(net, nodeId);
    if (owner !== undefined) {
      const held = this.ownerHolding(net, owner, nodeId);
      if (held) return held;
    }
    const offset = pick(slice);
    if (offset === undefined) throw new OverlayError('NoAvailableIps', `no free address in slice ${slice.alloc.cidr()} of node ${describe(nodeId)}`);
    if (!lowest && slice.alloc.range.set.has(offset)) {
      throw new OverlayError('IpAlreadyAllocated', `IP address ${slice.alloc.range.format(offset)} is already allocated`);
    }
    return this.take(net, slice, offset, owner);
  }

  private allocateSpecific(network: string, nodeId: string, address: string, owner: string | undefined): AllocationResult {
    const net = this.network(network);
    const slice = this.nodeSlice(net, nodeId);
    const offset = usableOffset(slice, address);
    if (owner !== undefined) {
      const held = this.ownerHolding(net, owner, nodeId);
      if (held) {
        if (held.address === slice.alloc.range.format(offset)) return held;
        throw new OverlayError('OwnerConflict', `owner ${describe(owner)} already holds ${held.address} in network ${describe(network)}`);
      }
    }
    if (slice.alloc.range.set.has(offset)) throw new OverlayError('IpAlreadyAllocated', `IP address ${slice.alloc.range.format(offset)} is already allocated`);
    return this.take(net, slice, offset, owner);
  }

  private mark(network: string, nodeId: string, address: string): AllocationResult {
    const net = this.network(network);
    const slice = this.nodeSlice(net, nodeId);
    const offset = usableOffset(slice, address);
    if (slice.alloc.range.set.has(offset)) {
      const r = record(net, slice, offset);
      return { ...r, existing: true };
    }
    return this.take(net, slice, offset, undefined);
  }

  private release(network: string, address: string, generation: number | undefined): { released: boolean; address: string } {
    const net = this.network(network);
    const parsed = parseAddress(address);
    if (parsed.family !== net.family) {
      throw new OverlayError('AddressFamilyMismatch', `IPv${parsed.family} address ${describe(address)} cannot belong to IPv${net.family} network ${describe(net.name)}`);
    }
    const text = formatAddress(parsed.family, parsed.value);
    const found = locate(net, parsed);
    const gen = found ? found.slice.gens.get(found.offset) : undefined;
    if (generation !== undefined && gen !== generation) {
      throw new OverlayError('StaleGeneration', `release of ${text} carries generation ${generation}, but ${gen === undefined ? 'the address is not allocated' : `the current allocation has generation ${gen}`}`);
    }
    if (!found || gen === undefined) return { released: false, address: text };
    this.free(net, found.slice, found.offset);
    return { released: true, address: text };
  }

  private releaseOwner(owner: string, network: string | undefined): { released: Array<{ network: string; address: string }> } {
    const nets = network !== undefined ? [this.network(network)] : this.sortedNetworks();
    const released: Array<{ network: string; address: string }> = [];
    for (const net of nets) {
      const at = net.ownerIndex.get(owner);
      if (!at) continue;
      const slice = net.nodes.get(at.nodeId) as NodeSlice;
      released.push({ network: net.name, address: slice.alloc.range.format(at.offset) });
      this.free(net, slice, at.offset);
    }
    return { released };
  }

  // --- helpers -------------------------------------------------------------------------------------

  private take(net: Network, slice: NodeSlice, offset: Offset, owner: string | undefined): AllocationResult {
    const generation = this.state.nextGeneration++;
    slice.alloc.range.set.add(offset);
    slice.gens.set(offset, generation);
    if (owner !== undefined) {
      slice.owners.set(offset, owner);
      net.ownerIndex.set(owner, { nodeId: slice.nodeId, offset });
    }
    return { network: net.name, nodeId: slice.nodeId, address: slice.alloc.range.format(offset), generation, ...(owner !== undefined ? { owner } : {}), existing: false };
  }

  private free(net: Network, slice: NodeSlice, offset: Offset): void {
    const owner = slice.owners.get(offset);
    if (owner !== undefined) {
      net.ownerIndex.delete(owner);
      slice.owners.delete(offset);
    }
    slice.gens.delete(offset);
    slice.alloc.range.set.delete(offset);
  }

  /** The owner's existing allocation in this network, if on this node; OwnerConflict if on another node. */
  private ownerHolding(net: Network, owner: string, nodeId: string): AllocationResult | undefined {
    const at = net.ownerIndex.get(owner);
    if (!at) return undefined;
    const holder = net.nodes.get(at.nodeId) as NodeSlice;
    if (at.nodeId !== nodeId) {
      throw new OverlayError('OwnerConflict', `owner ${describe(owner)} already holds ${holder.alloc.range.format(at.offset)} on node ${describe(at.nodeId)} in network ${describe(net.name)}`);
    }
    return { ...record(net, holder, at.offset), existing: true };
  }

  private network(name: string): Network {
    const net = this.state.networks.get(name);
    if (!net) throw new OverlayError('UnknownNetwork', `no network named ${describe(name)}`);
    return net;
  }

  private nodeSlice(net: Network, nodeId: string): NodeSlice {
    const slice = net.nodes.get(nodeId);
    if (!slice) throw new OverlayError('NodeHasNoSlice', `node ${describe(nodeId)} has no slice in network ${describe(net.name)}`);
    return slice;
  }

  private sortedNetworks(): Network[] {
    return [...this.state.networks.values()].sort((a, b) => compare(a.name, b.name));
  }
}

function record(net: Network, slice: NodeSlice, offset: Offset): AllocationRecord {
  const owner = slice.owners.get(offset);
  return {
    network: net.name,
    nodeId: slice.nodeId,
    address: slice.alloc.range.format(offset),
    generation: slice.gens.get(offset) as number,
    ...(owner !== undefined ? { owner } : {}),
  };
}

/** Node slice and offset of an address in a network (undefined when no assigned slice holds it). */
function locate(net: Network, a: ParsedAddress): { slice: NodeSlice; offset: Offset } | undefined {
  if (a.family !== net.family) return undefined;
  const index = net.slices.indexOfAddress(a.value);
  if (index === undefined) return undefined;
  const nodeId = net.slices.nodeAt(index);
  if (nodeId === undefined) return undefined;
  const slice = net.nodes.get(nodeId) as NodeSlice;
  return { slice, offset: slice.alloc.range.offsetOf(a.value) };
}

function usableOffset(slice: NodeSlice, address: string): Offset {
  return slice.alloc.range.usableOffset(address, () => `slice ${slice.alloc.cidr()} of node ${describe(slice.nodeId)}`);
}
