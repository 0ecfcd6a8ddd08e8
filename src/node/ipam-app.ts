/**
 * The IPAM state machine as the replica's application: log entry bytes in (the envelope src/ipam owns,
 * sessions included), typed results out. Kept apart from the replica so the driver stays generic over
 * what it replicates.
 */
import { IpamStateMachine, type ApplyResult } from '../ipam/state-machine.js';
import type { ReplicatedApp, RestoreTask, SnapshotTask } from './replica.js';

/**
 * Addresses (or cached session results) encoded or decoded per snapshot step: ≈ 0.5–1 ms of work warm on
 * this machine for owned addresses (0.5–1 µs each, more in a slice above 2^16 addresses, whose
 * generations live in a Map), 1–5 ms while the code is still cold (the first snapshot of a process). A
 * step stalls every request this node serves, and all replicas reach the policy's index together, sharing
 * the machine's cores: at 16,384 a cold step took 60–70 ms on each of three nodes at once (the p99 of the
 * open-loop benchmark). Steps cost one event-loop turn each, so 1,000,000 addresses are ≈ 1,000 turns. A
 * capture splits blocks at any address (block-capture.ts); a restore step can run over by one slice
 * (1,022 addresses at /22).
 */
export const SNAPSHOT_STEP_ADDRESSES = 1_024;

export class IpamApp implements ReplicatedApp<ApplyResult> {
  constructor(
    readonly sm: IpamStateMachine = new IpamStateMachine(),
    private readonly snapshotStepAddresses = SNAPSHOT_STEP_ADDRESSES,
  ) {}

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

  beginSnapshot(): SnapshotTask {
    const capture = this.sm.beginSnapshot();
    const budget = this.snapshotStepAddresses;
    return { step: () => capture.step(budget), result: () => capture.result(), abort: () => capture.abort() };
  }

  restore(data: Uint8Array): void {
    this.sm.restore(data);
  }

  beginRestore(data: Uint8Array): RestoreTask {
    const task = this.sm.beginRestore(data);
    const budget = this.snapshotStepAddresses;
    return { step: () => task.step(budget), finish: () => task.finish() };
  }
}
