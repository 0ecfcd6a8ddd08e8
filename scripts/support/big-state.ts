/**
 * A state machine holding `total` allocated addresses in one IPv4 /8 network (slices of /22, 1,022
 * addresses each), optionally every one with an owner: the large state the snapshot benchmarks measure.
 */
import { IpamStateMachine } from '../../src/ipam/state-machine.js';

export function buildState(total: number, owners: boolean): IpamStateMachine {
  const sm = new IpamStateMachine();
  sm.apply({ type: 'configureNetwork', name: 'overlay', cidr: '10.0.0.0/8', slicePrefix: 22 });
  let made = 0;
  for (let node = 0; made < total; node++) {
    const nodeId = `node-${node}`;
    sm.apply({ type: 'assignSlice', network: 'overlay', nodeId });
    for (let i = 0; i < 1022 && made < total; i++, made++) {
      const r = sm.apply(owners ? { type: 'allocate', network: 'overlay', nodeId, owner: `container-${made}` } : { type: 'allocate', network: 'overlay', nodeId });
      if (!r.ok) throw new Error(r.error.message);
    }
  }
  return sm;
}
