/**
 * When to snapshot the state machine and compact the log: after `entries` applied entries or `bytes`
 * applied bytes since the last snapshot, whichever comes first, keeping `keepTrailing` entries behind the
 * snapshot so followers that are only slightly behind catch up from the log (etcd keeps 5,000 by default).
 */
import { entrySize } from './log.js';
import type { Entry } from './types.js';

export interface SnapshotPolicyOptions {
  entries: number;
  bytes: number;
  keepTrailing: number;
}

export class SnapshotPolicy {
  private entriesSince = 0;
  private bytesSince = 0;

  constructor(readonly options: SnapshotPolicyOptions) {
    if (!(options.entries > 0 && options.bytes > 0 && options.keepTrailing >= 0)) throw new RangeError('snapshot policy needs positive thresholds');
  }

  /** Account for entries just applied. */
  applied(entries: readonly Entry[]): void {
    for (const e of entries) this.appliedEntry(e);
  }

  /** Account for one entry just applied (the replica's per-entry path: no array per entry). */
  appliedEntry(e: Entry): void {
    this.entriesSince++;
    this.bytesSince += entrySize(e);
  }

  due(): boolean {
    return this.entriesSince >= this.options.entries || this.bytesSince >= this.options.bytes;
  }

  /** A snapshot was taken (or installed from the leader): start counting again. */
  reset(): void {
    this.entriesSince = 0;
    this.bytesSince = 0;
  }
}
