/**
 * One-line descriptions of operations and outcomes, for the timeline and failure messages: what a person
 * reads to follow a failure, so addresses and generations first, JSON only where nothing shorter says it.
 */
import type { AllocationResult, OwnerReleased, SlicesAssigned, SlicesReleased } from '../ipam/results.js';
import type { Outcome } from './history.js';
import type { Operation } from './operations.js';
import { canonicalJson } from './values.js';

/** One line for people: `allocate pods/n1 owner=c1`. */
export function describeOperation(op: Operation): string {
  switch (op.type) {
    case 'configureNetwork':
      return `configureNetwork ${op.name} ${op.cidr} /${op.slicePrefix}${op.pair !== undefined ? ` pair=${op.pair}` : ''}`;
    case 'assignSlice':
    case 'releaseSlice':
      return `${op.type} ${op.network}/${op.nodeId}`;
    case 'assignSpecificSlice':
      return `assignSpecificSlice ${op.network}/${op.nodeId} ${op.slice}`;
    case 'allocate':
    case 'allocateFirst':
      return `${op.type} ${op.network}/${op.nodeId}${op.owner !== undefined ? ` owner=${op.owner}` : ''}`;
    case 'allocateSpecific':
      return `allocateSpecific ${op.network}/${op.nodeId} ${op.address}${op.owner !== undefined ? ` owner=${op.owner}` : ''}`;
    case 'mark':
      return `mark ${op.network}/${op.nodeId} ${op.address}`;
    case 'release':
      return `release ${op.network} ${op.address}${op.generation !== undefined ? ` gen=${op.generation}` : ''}`;
    case 'releaseOwner':
      return `releaseOwner ${op.owner}${op.network !== undefined ? ` network=${op.network}` : ''}`;
    case 'listNetworks':
      return 'read networks';
    case 'listSlices':
      return `read ${op.network} slices`;
    case 'listAllocations': {
      const filters = [op.node !== undefined ? `node=${op.node}` : '', op.owner !== undefined ? `owner=${op.owner}` : '', op.limit !== undefined ? `limit=${op.limit}` : ''].filter((s) => s !== '');
      return `read ${op.network} allocations${filters.length > 0 ? ` ${filters.join(' ')}` : ''}`;
    }
  }
}

const LIST_ITEMS = 6;

function list(items: string[]): string {
  if (items.length === 0) return '[]';
  const shown = items.slice(0, LIST_ITEMS).join(' ');
  return items.length > LIST_ITEMS ? `[${shown} …+${items.length - LIST_ITEMS}]` : `[${shown}]`;
}

function describeValue(op: Operation, value: unknown): string {
  switch (op.type) {
    case 'configureNetwork':
      return (value as { created: boolean }).created ? 'created' : 'already configured';
    case 'assignSlice':
    case 'assignSpecificSlice':
      return Object.entries((value as SlicesAssigned).slices)
        .map(([n, s]) => `${n}=${s}`)
        .join(' ');
    case 'releaseSlice': {
      const v = value as SlicesReleased;
      const released = Object.entries(v.released).map(([n, s]) => `${n}=${s}`);
      return released.length > 0 ? `released ${released.join(' ')} (${v.addressesReleased} addresses)` : 'held no slice';
    }
    case 'allocate':
    case 'allocateFirst':
    case 'allocateSpecific':
    case 'mark': {
      const v = value as AllocationResult;
      return `${v.address} gen ${v.generation}${v.owner !== undefined ? ` owner=${v.owner}` : ''}${v.existing ? ' (existing)' : ''}`;
    }
    case 'release': {
      const v = value as { released: boolean; address: string };
      return v.released ? `released ${v.address}` : `${v.address} was not allocated`;
    }
    case 'releaseOwner': {
      const v = value as OwnerReleased;
      return v.released.length > 0 ? `released ${v.released.map((r) => `${r.network}/${r.address}`).join(' ')}` : 'held nothing';
    }
    case 'listNetworks':
      return list((value as Array<{ name: string; cidr: string }>).map((n) => `${n.name}=${n.cidr}`));
    case 'listSlices':
      return list((value as { slices: Array<{ nodeId: string; slice: string; allocated: number }> }).slices.map((s) => `${s.nodeId}=${s.slice}(${s.allocated})`));
    case 'listAllocations': {
      const v = value as { allocations: Array<{ address: string; generation: number; owner?: string }>; truncated: boolean };
      const items = v.allocations.map((a) => `${a.address}#${a.generation}${a.owner !== undefined ? `@${a.owner}` : ''}`);
      return `${list(items)}${v.truncated ? ' (truncated)' : ''}`;
    }
  }
}

/** `ok 10.200.0.5 gen 7 owner=c1`, `fail NoAvailableIps`, `info (Timeout: …)`. */
export function describeOutcome(op: Operation, outcome: Outcome): string {
  switch (outcome.type) {
    case 'ok':
      try {
        return `ok ${describeValue(op, outcome.value)}`;
      } catch {
        return `ok ${canonicalJson(outcome.value)}`;
      }
    case 'fail':
      return `fail ${outcome.code}`;
    case 'info':
      return outcome.reason !== undefined ? `info (${outcome.reason.length > 80 ? `${outcome.reason.slice(0, 80)}…` : outcome.reason})` : 'info';
  }
}
