/**
 * When to snapshot the state machine and compact the log: after `entries` applied entries or `bytes`
 * applied bytes since the last snapshot, whichever comes first, keeping `keepTrailing` entries behind the
 * snapshot so followers that are only slightly behind catch up from the log (etcd keeps 5,000 by default).
 *
 * With `logToSnapshot` r > 0, the entry count alone is not enough: the log written since the last
 * snapshot must also have reached r times that snapshot's size. A snapshot costs in proportion to the
 * state (1,000,000 owned addresses: 20.5 MB and ≈ 350 ms of capture steps), an entry in proportion to
 * itself; on a fixed entry count a large state would be captured again every few seconds under load
 * (every 1.25 s at 8,000 allocations/s: a quarter of a core), while this bounds snapshot work to 1/r
 * bytes per log byte whatever the state's size. The log this leaves to replay at a restart stays
 * proportional to the state (r × its snapshot), and `bytes` still caps it.
 */
import { entrySize } from './log.js';
import type { Entry } from './types.js';

/**
 * The production default of logToSnapshot: a 20.5 MB snapshot (1,000,000 owned addresses) is taken
 * again after ≈ 10 MB of log (≈ 80,000 allocations), which keeps a restart's replay near the 100,000-entry
 * tail the restart benchmark measures.
 */
export const DEFAULT_SNAPSHOT_LOG_RATIO = 0.5;

export interface SnapshotPolicyOptions {
  entries: number;
  bytes: number;
  keepTrailing: number;
  /** Log bytes since the last snapshot, as a multiple of that snapshot's size, needed as well (0 or absent: entries alone). */
  logToSnapshot?: number;
}

export class SnapshotPolicy {
  private entriesSince = 0;
  private bytesSince = 0;
  /** Log bytes needed since the last snapshot besides the entry count: logToSnapshot × its size. */
  private bytesWanted = 0;

  constructor(readonly options: SnapshotPolicyOptions) {
    if (!(options.entries > 0 && options.bytes > 0 && options.keepTrailing >= 0)) throw new RangeError('snapshot policy needs positive thresholds');
    if (options.logToSnapshot !== undefined && !(options.logToSnapshot >= 0 && Number.isFinite(options.logToSnapshot))) throw new RangeError('snapshot policy needs a finite logToSnapshot ≥ 0');
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
    return (this.entriesSince >= this.options.entries && this.bytesSince >= this.bytesWanted) || this.bytesSince >= this.options.bytes;
  }

  /**
   * A snapshot was taken (or installed from the leader, or booted from) of `snapshotBytes` bytes: start
   * counting again.
   */
  reset(snapshotBytes = 0): void {
    this.entriesSince = 0;
    this.bytesSince = 0;
    this.bytesWanted = (this.options.logToSnapshot ?? 0) * snapshotBytes;
  }
}
