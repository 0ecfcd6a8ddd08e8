/**
 * A state machine holding `total` allocated addresses in one IPv4 /8 network (slices of /22, 1,022
 * addresses each), optionally every one with an owner: the large state the snapshot benchmarks measure.
 */
import { IpamStateMachine } from '../../src/ipam/state-machine.js';
import { bigStateCommands } from './big-state-commands.js';

export function buildState(total: number, owners: boolean): IpamStateMachine {
  const sm = new IpamStateMachine();
  for (const command of bigStateCommands(total, owners)) {
    const r = sm.apply(command);
    if (!r.ok) throw new Error(r.error.message);
  }
  return sm;
}
