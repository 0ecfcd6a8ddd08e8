/** Pure safety checks over replica logs, used by the simulator after its events. */
import type { Entry, NodeId } from '../raft/types.js';

/** Identity of an entry's content and term, for comparing replicas. */
export function entryKey(e: Entry): string {
  return e.type === 'normal' ? `n${e.term}:${Buffer.from(e.data).toString('base64')}` : `c${e.term}:${JSON.stringify(e.change)}`;
}

export interface LogView {
  id: NodeId;
  view: { offset: number; entries: readonly Entry[] };
}

/**
 * Log Matching (§5.3): if two logs contain an entry with the same index and term, the entries are
 * identical and so are all the entries before them (within what both still retain).
 */
export function logMatchingViolation(logs: readonly LogView[]): string | undefined {
  for (let a = 0; a < logs.length; a++) {
    for (let b = a + 1; b < logs.length; b++) {
      const { id: ia, view: va } = logs[a] as LogView;
      const { id: ib, view: vb } = logs[b] as LogView;
      const lo = Math.max(va.offset, vb.offset) + 1;
      const hi = Math.min(va.offset + va.entries.length, vb.offset + vb.entries.length);
      let matchedAbove = false;
      for (let i = hi; i >= lo; i--) {
        const ea = va.entries[i - va.offset - 1] as Entry;
        const eb = vb.entries[i - vb.offset - 1] as Entry;
        if (ea.term === eb.term) {
          if (entryKey(ea) !== entryKey(eb)) return `log matching: ${ia} and ${ib} differ at index ${i}, term ${ea.term}`;
          matchedAbove = true;
        } else if (matchedAbove) {
          return `log matching: ${ia} and ${ib} agree above index ${i} but not at it`;
        }
      }
    }
  }
  return undefined;
}
