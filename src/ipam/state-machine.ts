/**
 * IpamStateMachine: the deterministic application that Raft replicates. It knows nothing of Raft: a log
 * entry's command goes in through apply(), a typed result (or a coded refusal) comes out, and every
 * replica that applies the same commands in the same order holds byte-identical state (snapshot() bytes,
 * stateHash()).
 *
 * Rules that keep replicas identical:
 * - Every command is all or nothing. Each change to the state goes through one of the step methods below,
 *   which records its inverse in a journal; when a command fails at any point, the journal is undone in
 *   reverse and the state is exactly what it was (a paired slice assignment whose second half fails, a
 *   GenerationsExhausted in the middle of an allocation, a bug halfway through a release).
 * - A refusal (an OverlayError: bad shape, unknown network, address taken, …) is the command's answer: it
 *   comes back as { ok: false, error } and every replica gives the same one.
 * - Anything else thrown inside apply() is not a client error but a defect of this replica: it is thrown
 *   as ApplyFailure (code 'Internal'), after the rollback, and the runtime must stop the replica — a
 *   replica that cannot apply a committed entry cannot go on to apply the next one.
 * - No clocks, randomness or Map iteration order leak into state or results: generations come from a
 *   counter in the state, and lists in results are sorted.
 */
import { createHash } from 'node:crypto';
import { describe, formatAddress, parseAddress } from './address.js';
import type { AllocationBlock } from './allocation-block.js';
import { parseCommand, type IpamCommand, type CommandType } from './commands.js';
import { ApplyFailure, OverlayError, type ErrorCode } from './errors.js';
import type { Offset } from './host-range.js';
import { Network } from './network.js';
import { validateNodeId } from './node-slice-allocator.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec.js';
import { compare, emptyState, MAX_GENERATION, type IpamState } from './state.js';

export type ApplyResult<T = CommandResult> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode; message: string } };

/** Result of allocate, allocateFirst, allocateSpecific and mark. */
export interface AllocationResult {
  network: string;
  nodeId: string;
  address: string;
  generation: number;
  owner?: string;
  /** True when the owner already held this address (or mark found it taken) and nothing changed. */
  existing: boolean;
}

export interface AllocationRecord {
  network: string;
  nodeId: string;
  address: string;
  generation: number;
  owner?: string;
}

export interface NetworkConfigured {
  network: string;
  cidr: string;
  slicePrefix: number;
  pair?: string;
  /** False when the network already existed with this configuration (the command is idempotent). */
  created: boolean;
}

/** Result of assignSlice and assignSpecificSlice: network name → slice CIDR (both networks of a pair). */
export interface SlicesAssigned {
  slices: Record<string, string>;
}

export interface SlicesReleased {
  /** Network name → the slice CIDR released there. */
  released: Record<string, string>;
  addressesReleased: number;
}

export interface AddressReleased {
  /** False when the address was not allocated (nothing changed). */
  released: boolean;
  /** The address in canonical form. */
  address: string;
}

export interface OwnerReleased {
  released: Array<{ network: string; address: string }>;
}

/** The result type of each command type. */
export interface CommandResults {
  configureNetwork: NetworkConfigured;
  assignSlice: SlicesAssigned;
  assignSpecificSlice: SlicesAssigned;
  releaseSlice: SlicesReleased;
  allocate: AllocationResult;
  allocateFirst: AllocationResult;
  allocateSpecific: AllocationResult;
  mark: AllocationResult;
  release: AddressReleased;
  releaseOwner: OwnerReleased;
}

export type ResultOf<C extends IpamCommand> = CommandResults[C['type']];
export type CommandResult = CommandResults[CommandType];

/**
 * @internal test seam, not exported from the package: make the `afterSteps`-th state change of the next
 * commands throw a plain Error, to prove that a failure halfway through a command leaves no trace.
 */
export function injectStepFailure(sm: IpamStateMachine, afterSteps: number | undefined): void {
  faults.set(sm, afterSteps);
}
const faults = new WeakMap<IpamStateMachine, number | undefined>();

/** A record whose keys are data (network names): no prototype, so `__proto__` is an ordinary key. */
function byName(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

export class IpamStateMachine {
  private state: IpamState = emptyState();
  /** Inverses of the current command's steps, in order; undefined outside apply(). */
  private journal: Array<() => void> | undefined;

  /**
   * Apply one command. A refusal comes back as { ok: false } and changes nothing. Throws ApplyFailure
   * (never an OverlayError) when the command could not be applied for an internal reason: fatal for the
   * replica.
   */
  apply<C extends IpamCommand>(command: C): ApplyResult<ResultOf<C>>;
  /** Untrusted input: validated by parseCommand first (InvalidCommand for anything else). */
  apply(input: unknown): ApplyResult<CommandResult>;
  apply(input: unknown): ApplyResult<CommandResult> {
    let command: IpamCommand;
    try {
      command = parseCommand(input);
    } catch (e) {
      if (e instanceof OverlayError) return { ok: false, error: e.toJSON() };
      throw new ApplyFailure('(unparsed command)', true, e);
    }
    const journal: Array<() => void> = [];
    this.journal = journal;
    try {
      return { ok: true, value: this.execute(command) };
    } catch (e) {
      try {
        for (let i = journal.length - 1; i >= 0; i--) (journal[i] as () => void)();
      } catch (rollbackError) {
        throw new ApplyFailure(command.type, false, rollbackError);
      }
      if (e instanceof OverlayError) return { ok: false, error: e.toJSON() };
      throw new ApplyFailure(command.type, true, e);
    } finally {
      this.journal = undefined;
    }
  }

  /** Canonical bytes: equal states give equal bytes. */
  snapshot(): Uint8Array {
    return encodeSnapshot(this.state);
  }

  /** Replace the whole state from snapshot bytes; on any error (InvalidSnapshot) the current state is untouched. */
  restore(bytes: Uint8Array): void {
    this.state = decodeSnapshot(bytes);
  }

  /** SHA-256 of the canonical snapshot, hex. */
  stateHash(): string {
    return createHash('sha256').update(this.snapshot()).digest('hex');
  }

  // --- queries -------------------------------------------------------------------------------------

  networks(): Array<{ name: string; cidr: string; slicePrefix: number; pair?: string }> {
    return this.sortedNetworks().map((n) => ({ name: n.name, cidr: n.cidr(), slicePrefix: n.slicePrefix(), ...(n.pair ? { pair: n.pair } : {}) }));
  }

  sliceOf(network: string, nodeId: string): string | undefined {
    return this.state.networks.get(network)?.block(nodeId)?.cidr();
  }

  /** Allocation record of an address, or undefined when it is free or outside the network. */
  allocationOf(network: string, address: string): AllocationRecord | undefined {
    const net = this.state.networks.get(network);
    if (!net) return undefined;
    const a = parseAddress(address);
    const found = net.locate(a.family, a.value);
    if (!found || !found.block.has(found.offset)) return undefined;
    return record(net, found.block, found.offset);
  }

  ownerOf(network: string, address: string): string | undefined {
    return this.allocationOf(network, address)?.owner;
  }

  addressesOf(owner: string): AllocationRecord[] {
    const out: AllocationRecord[] = [];
    for (const net of this.sortedNetworks()) {
      const at = net.holding(owner);
      if (at) out.push(record(net, at.block, at.offset));
    }
    return out;
  }

  networkUsage(network: string): { name: string; cidr: string; slicePrefix: number; slicesAssigned: number; sliceCapacity: bigint; addressesAllocated: number } | undefined {
    const net = this.state.networks.get(network);
    if (!net) return undefined;
    return {
      name: net.name,
      cidr: net.cidr(),
      slicePrefix: net.slicePrefix(),
      slicesAssigned: net.slicesAssigned(),
      sliceCapacity: net.geometry.capacity(),
      addressesAllocated: net.addressesAllocated(),
    };
  }

  sliceUsage(network: string, nodeId: string): { slice: string; allocated: number; total: bigint; available: bigint } | undefined {
    const block = this.state.networks.get(network)?.block(nodeId);
    if (!block) return undefined;
    const total = block.range.total();
    return { slice: block.cidr(), allocated: block.size, total, available: total - BigInt(block.size) };
  }

  /** @internal bitmap slab bytes held by every block (memory tests and benchmarks). */
  reservedBytes(): number {
    let n = 0;
    for (const net of this.state.networks.values()) for (const block of net.blocks()) n += block.reservedBytes();
    return n;
  }

  // --- commands: check first, then change the state through the steps below ------------------------

  private execute(c: IpamCommand): CommandResult {
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
        return this.allocate(c.network, c.nodeId, c.owner, true);
      case 'allocateFirst':
        return this.allocate(c.network, c.nodeId, c.owner, false);
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

  private configureNetwork(name: string, cidr: string, slicePrefix: number, pair: string | undefined): NetworkConfigured {
    const net = new Network(name, cidr, slicePrefix); // validates cidr and prefix
    const existing = this.state.networks.get(name);
    if (existing) {
      const same = existing.cidr() === net.cidr() && existing.slicePrefix() === slicePrefix && (pair === undefined || existing.pair === pair);
      if (!same) {
        throw new OverlayError('NetworkExists', `network ${describe(name)} already exists as ${existing.cidr()} with /${existing.slicePrefix()} slices${existing.pair ? ` paired with ${describe(existing.pair)}` : ''}`);
      }
      return { network: name, cidr: existing.cidr(), slicePrefix, ...(existing.pair !== undefined ? { pair: existing.pair } : {}), created: false };
    }
    let partner: Network | undefined;
    if (pair !== undefined) {
      partner = this.network(pair);
      if (partner.family === net.family) throw new OverlayError('InvalidCommand', `cannot pair IPv${net.family} network ${describe(name)} with IPv${partner.family} network ${describe(pair)}: pairs are one IPv4 and one IPv6 network`);
      if (partner.pair !== undefined) throw new OverlayError('InvalidCommand', `network ${describe(pair)} is already paired with ${describe(partner.pair)}`);
    }
    this.addNetwork(net);
    if (partner) this.pairNetworks(net, partner);
    return { network: name, cidr: net.cidr(), slicePrefix, ...(net.pair !== undefined ? { pair: net.pair } : {}), created: true };
  }

  private assignSlice(network: string, nodeId: string, slice: string | undefined): SlicesAssigned {
    const net = this.network(network);
    const targets = [net];
    // An explicit slice names one network; a paired network's slice is placed by hash as usual.
    if (net.pair !== undefined) targets.push(this.network(net.pair));
    validateNodeId(nodeId);
    for (const target of targets) {
      const explicit = slice !== undefined && target === net ? target.geometry.indexOfSlice(slice) : undefined;
      const held = target.block(nodeId);
      if (held) {
        if (explicit !== undefined && held.index !== explicit) target.checkSliceFree(nodeId, explicit); // NodeHasSlice
        continue;
      }
      const index = explicit ?? target.probe(nodeId);
      target.checkSliceFree(nodeId, index);
      this.addBlock(target, nodeId, index); // a failure in the pair's step rolls this one back
    }
    const slices = byName();
    for (const target of targets) slices[target.name] = (target.block(nodeId) as AllocationBlock).cidr();
    return { slices };
  }

  private releaseSlice(network: string, nodeId: string): SlicesReleased {
    const net = this.network(network);
    const targets = net.pair !== undefined ? [net, this.network(net.pair)] : [net];
    const released = byName();
    let addressesReleased = 0;
    for (const target of targets) {
      const block = target.block(nodeId);
      if (!block) continue;
      addressesReleased += block.size;
      released[target.name] = block.cidr();
      this.detachBlock(target, nodeId);
    }
    return { released, addressesReleased };
  }

  private allocate(network: string, nodeId: string, owner: string | undefined, lowest: boolean): AllocationResult {
    const net = this.network(network);
    const block = this.nodeBlock(net, nodeId);
    if (owner !== undefined) {
      const held = this.ownerHolding(net, owner, nodeId);
      if (held) return held;
    }
    const offset = lowest ? block.lowestFree() : block.range.first();
    if (offset === undefined) throw new OverlayError('NoAvailableIps', `no free address in slice ${block.cidr()} of node ${describe(nodeId)}`);
    if (!lowest && block.has(offset)) throw new OverlayError('IpAlreadyAllocated', `IP address ${block.format(offset)} is already allocated`);
    return this.takeAddress(net, block, offset, owner);
  }

  private allocateSpecific(network: string, nodeId: string, address: string, owner: string | undefined): AllocationResult {
    const net = this.network(network);
    const block = this.nodeBlock(net, nodeId);
    const offset = block.usableOffset(address);
    if (owner !== undefined) {
      const held = this.ownerHolding(net, owner, nodeId);
      if (held) {
        if (held.address === block.format(offset)) return held;
        throw new OverlayError('OwnerConflict', `owner ${describe(owner)} already holds ${held.address} in network ${describe(network)}`);
      }
    }
    if (block.has(offset)) throw new OverlayError('IpAlreadyAllocated', `IP address ${block.format(offset)} is already allocated`);
    return this.takeAddress(net, block, offset, owner);
  }

  private mark(network: string, nodeId: string, address: string): AllocationResult {
    const net = this.network(network);
    const block = this.nodeBlock(net, nodeId);
    const offset = block.usableOffset(address);
    if (block.has(offset)) return { ...record(net, block, offset), existing: true };
    return this.takeAddress(net, block, offset, undefined);
  }

  private release(network: string, address: string, generation: number | undefined): AddressReleased {
    const net = this.network(network);
    const parsed = parseAddress(address);
    if (parsed.family !== net.family) {
      throw new OverlayError('AddressFamilyMismatch', `IPv${parsed.family} address ${describe(address)} cannot belong to IPv${net.family} network ${describe(net.name)}`);
    }
    const text = formatAddress(parsed.family, parsed.value);
    const found = net.locate(parsed.family, parsed.value);
    const gen = found ? found.block.generationOf(found.offset) : undefined;
    if (generation !== undefined && gen !== generation) {
      throw new OverlayError('StaleGeneration', `release of ${text} carries generation ${generation}, but ${gen === undefined ? 'the address is not allocated' : `the current allocation has generation ${gen}`}`);
    }
    if (!found || gen === undefined) return { released: false, address: text };
    this.freeAddress(net, found.block, found.offset);
    return { released: true, address: text };
  }

  private releaseOwner(owner: string, network: string | undefined): OwnerReleased {
    const nets = network !== undefined ? [this.network(network)] : this.sortedNetworks();
    const released: Array<{ network: string; address: string }> = [];
    for (const net of nets) {
      const at = net.holding(owner);
      if (!at) continue;
      released.push({ network: net.name, address: at.block.format(at.offset) });
      this.freeAddress(net, at.block, at.offset);
    }
    return { released };
  }

  // --- steps: the only code that changes the state; each records its inverse -------------------------

  private step(undo: () => void): void {
    const journal = this.journal;
    if (journal === undefined) throw new Error('state change outside apply()');
    const failAt = faults.get(this);
    if (failAt !== undefined && journal.length >= failAt) throw new Error(`injected failure at step ${journal.length}`);
    journal.push(undo);
  }

  private addNetwork(net: Network): void {
    this.step(() => this.state.networks.delete(net.name));
    this.state.networks.set(net.name, net);
  }

  private pairNetworks(a: Network, b: Network): void {
    this.step(() => {
      a.pair = undefined;
      b.pair = undefined;
    });
    a.pair = b.name;
    b.pair = a.name;
  }

  private addBlock(net: Network, nodeId: string, index: Offset): void {
    this.step(() => net.detach(nodeId));
    net.addBlock(nodeId, index);
  }

  private detachBlock(net: Network, nodeId: string): void {
    const block = net.block(nodeId) as AllocationBlock;
    this.step(() => net.attach(block));
    net.detach(nodeId);
  }

  private takeAddress(net: Network, block: AllocationBlock, offset: Offset, owner: string | undefined): AllocationResult {
    const generation = this.state.nextGeneration;
    if (generation >= MAX_GENERATION) {
      throw new OverlayError('GenerationsExhausted', `all ${MAX_GENERATION - 1} allocation generations have been used; this state can allocate no more addresses`);
    }
    this.step(() => {
      net.free(block, offset);
      this.state.nextGeneration = generation;
    });
    net.take(block, offset, generation, owner);
    this.state.nextGeneration = generation + 1;
    return { network: net.name, nodeId: block.nodeId, address: block.format(offset), generation, ...(owner !== undefined ? { owner } : {}), existing: false };
  }

  private freeAddress(net: Network, block: AllocationBlock, offset: Offset): void {
    const generation = block.generationOf(offset) as number;
    const owner = block.ownerOf(offset);
    this.step(() => net.take(block, offset, generation, owner));
    net.free(block, offset);
  }

  // --- helpers -------------------------------------------------------------------------------------

  /** The owner's existing allocation in this network, if on this node; OwnerConflict if on another node. */
  private ownerHolding(net: Network, owner: string, nodeId: string): AllocationResult | undefined {
    const at = net.holding(owner);
    if (!at) return undefined;
    if (at.block.nodeId !== nodeId) {
      throw new OverlayError('OwnerConflict', `owner ${describe(owner)} already holds ${at.block.format(at.offset)} on node ${describe(at.block.nodeId)} in network ${describe(net.name)}`);
    }
    return { ...record(net, at.block, at.offset), existing: true };
  }

  private network(name: string): Network {
    const net = this.state.networks.get(name);
    if (!net) throw new OverlayError('UnknownNetwork', `no network named ${describe(name)}`);
    return net;
  }

  private nodeBlock(net: Network, nodeId: string): AllocationBlock {
    const block = net.block(nodeId);
    if (!block) throw new OverlayError('NodeHasNoSlice', `node ${describe(nodeId)} has no slice in network ${describe(net.name)}`);
    return block;
  }

  private sortedNetworks(): Network[] {
    return [...this.state.networks.values()].sort((a, b) => compare(a.name, b.name));
  }
}

function record(net: Network, block: AllocationBlock, offset: Offset): AllocationRecord {
  const owner = block.ownerOf(offset);
  return {
    network: net.name,
    nodeId: block.nodeId,
    address: block.format(offset),
    generation: block.generationOf(offset) as number,
    ...(owner !== undefined ? { owner } : {}),
  };
}
