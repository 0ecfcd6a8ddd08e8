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

let collect: (() => void) | undefined;

function collector(): () => void {
  if (collect) return collect;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (collect = exposed);
  setFlagsFromString('--expose-gc');
  try {
    collect = runInNewContext('gc') as () => void;
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
