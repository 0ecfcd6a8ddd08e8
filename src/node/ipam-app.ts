/**
 * The IPAM state machine as the replica's application: log entry bytes in (the envelope src/ipam owns,
 * sessions included), typed results out. Kept apart from the replica so the driver stays generic over
 * what it replicates.
 */
import { IpamStateMachine, type ApplyResult } from '../ipam/state-machine.js';
import type { ReplicatedApp } from './replica.js';

export class IpamApp implements ReplicatedApp<ApplyResult> {
  constructor(readonly sm: IpamStateMachine = new IpamStateMachine()) {}

  apply(entry: { index: number; term: number; data: Uint8Array }): ApplyResult {
    const outcome = this.sm.applyEntry(entry.data);
    // A session refusal (expired, unknown, seq too old, busy) and bytes that are not an entry are answers
    // like any refusal: every replica computes the same one from the same committed bytes.
    if (outcome.kind === 'applied') return outcome.result;
    return { ok: false, error: outcome.error };
  }

  snapshot(): Uint8Array {
    return this.sm.snapshot();
  }

  restore(data: Uint8Array): void {
    this.sm.restore(data);
  }
}
