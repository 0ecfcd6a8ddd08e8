/**
 * A system under load, as the throughput rows see it: for a row (N clients, own slices or one shared
 * slice) it prepares what the clients need and hands out one operation per client. Every target records
 * what it was given (address → owner) so the row can check at the end that no address went out twice and
 * that the system holds exactly what was acknowledged.
 */
import type { Operation } from './load.js';

export interface PreparedRow {
  makeClient(i: number): Promise<Operation>;
  /** After the load: check the system's state against the acknowledged allocations; throws if wrong. */
  verify(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface LoadTarget {
  /** Row id prefix, e.g. alloc-http, etcd-txn. */
  key: string;
  system: 'raft-ipam' | 'etcd';
  label: string;
  prepare(clients: number, shared: boolean): Promise<PreparedRow>;
}

/** Acknowledged allocations of one row: a duplicate address is a correctness failure of the row. */
export class Acks {
  readonly owners = new Map<string, string>();
  duplicates = 0;
  add(address: string, owner: string): void {
    if (this.owners.has(address)) this.duplicates++;
    else this.owners.set(address, owner);
  }
  get count(): number {
    return this.owners.size + this.duplicates;
  }
}
