/**
 * A full garbage collection in a `serve` process right after it restored or installed a snapshot.
 *
 * Why: the snapshot's bytes are read whole from their file (≈ 20 MB at 1,000,000 owned addresses, one
 * Buffer) and are garbage once the state is decoded, but their memory stays resident until V8's next
 * full collection, and a serving node does not ask for one soon: it allocates little on the old
 * generation, and V8 collects for Buffer (external) memory only once that grew by 64 MB since the last
 * collection. Measured on a voter booted from a 1,000,000-address snapshot: the 20.5 MB buffer was still
 * held tens of seconds later (external memory 66 MB, 45.6 MB of it the state). One collection at this
 * point costs tens of milliseconds, once per restore, and the buffer's pages go back to the OS (glibc
 * serves an allocation that large with its own mapping, unmapped when freed).
 *
 * Only the serve command does this: a library user embedding IpamNode keeps control of its own heap.
 * The collector is taken from V8 without exposing `gc` to the program (jest's leak detector does the same).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options?: { type: 'minor' | 'major' }) => void;
let collect: Collect | undefined;

function collector(): Collect {
  if (collect) return collect;
  const exposed = (globalThis as { gc?: Collect }).gc;
  if (typeof exposed === 'function') return (collect = exposed);
  setFlagsFromString('--expose-gc');
  try {
    collect = runInNewContext('gc') as Collect;
  } finally {
    // Only our new context saw it; later contexts (and this program's global) do not get a gc().
    setFlagsFromString('--no-expose-gc');
  }
  return collect;
}

/** Collect now: the caller knows a large allocation just became garbage. */
export function releaseSnapshotMemory(): void {
  collector()();
}

/**
 * Snapshot traffic makes Buffer garbage faster than V8 collects it. Every chunk a leader sends is read into
 * a fresh 64 KiB Buffer and copied into a frame; every chunk a follower receives is assembled and copied
 * the same way: about twice the snapshot's size in short-lived Buffers (≈ 40 MB for a 1,000,000-address
 * snapshot), while only a few kilobytes of JavaScript objects point at them, so no young collection runs
 * and V8 waits for 64 MB of external growth. glibc serves those 64 KiB allocations from its main heap,
 * which grows by the garbage's peak and cannot shrink past the small long-lived allocations made
 * meanwhile. Measured with scripts/bench/rss-probe.ts (a leader sending a 20.5 MB snapshot three times):
 * the leader's glibc heap 60.6 MB against 28.9 on a follower, its RSS 197 MB against 167.
 *
 * So a serve process runs a young-generation collection (0.3–2 ms measured here: it frees the Buffers whose
 * owners died young) after each `YOUNG_COLLECTION_BYTES` of snapshot traffic: about 20 for that snapshot.
 * Same probe: the leader's glibc heap 41 MB and RSS 179–181 MB with one per 4 MiB, 31.7 MB and 171.5 MB
 * with one per MiB (followers 164–167 MB, unchanged).
 */
export const YOUNG_COLLECTION_BYTES = 1024 * 1024;

export class SnapshotTrafficCollector {
  private pending = 0;
  private scheduled = false;

  constructor(
    private readonly threshold = YOUNG_COLLECTION_BYTES,
    private readonly run: () => void = () => collector()({ type: 'minor' }),
  ) {}

  /** `bytes` more of snapshot traffic went through this process. */
  add(bytes: number): void {
    this.pending += bytes;
    if (this.pending < this.threshold || this.scheduled) return;
    this.pending = 0;
    this.scheduled = true;
    // After the current turn, when the chunk just handled is garbage too.
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }
}
