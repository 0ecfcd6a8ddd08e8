/**
 * The IPAM state machine as the replica's application: log entry bytes in (the envelope src/ipam owns),
 * typed results out. Kept apart from the replica so the driver stays generic over what it replicates.
 */
import { decodeEntry } from '../ipam/log-entry.js';
import { OverlayError } from '../ipam/errors.js';
import { IpamStateMachine, type ApplyResult } from '../ipam/state-machine.js';
import type { ReplicatedApp } from './replica.js';

export class IpamApp implements ReplicatedApp<ApplyResult> {
  constructor(readonly sm: IpamStateMachine = new IpamStateMachine()) {}

  apply(entry: { index: number; term: number; data: Uint8Array }): ApplyResult {
    let command;
    try {
      command = decodeEntry(entry.data).command;
    } catch (e) {
      // Every replica decodes the same committed bytes the same way, so a refusal here keeps them equal;
      // proposals are validated before they enter the log, so this only meets bytes from elsewhere.
      if (e instanceof OverlayError) return { ok: false, error: e.toJSON() };
      throw e;
    }
    return this.sm.apply(command);
  }

  snapshot(): Uint8Array {
    return this.sm.snapshot();
  }

  restore(data: Uint8Array): void {
    this.sm.restore(data);
  }
}
