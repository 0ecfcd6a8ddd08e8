/**
 * The command streams behind the benchmarks' large states, with no state machine attached, so a script
 * can apply them with whichever build it measures (scripts/bench/restore-work.ts loads an older dist/).
 */
import type { IpamCommand } from '../../src/ipam/commands.js';

/** Network 'overlay', a /8 in /22 slices (1,022 addresses each), then `total` allocations filling slices node-0, node-1, …. */
export function* bigStateCommands(total: number, owners: boolean): Generator<IpamCommand> {
  yield { type: 'configureNetwork', name: 'overlay', cidr: '10.0.0.0/8', slicePrefix: 22 };
  let made = 0;
  for (let node = 0; made < total; node++) {
    const nodeId = `node-${node}`;
    yield { type: 'assignSlice', network: 'overlay', nodeId };
    for (let i = 0; i < 1022 && made < total; i++, made++) {
      yield owners ? { type: 'allocate', network: 'overlay', nodeId, owner: `container-${made}` } : { type: 'allocate', network: 'overlay', nodeId };
    }
  }
}

/** `count` commands after such a state: allocations with owners in fresh slices tail-0, tail-1, …. */
export function* tailCommands(count: number): Generator<IpamCommand> {
  let slice = -1;
  let inSlice = 1022;
  for (let i = 0; i < count; i++) {
    if (inSlice === 1022) {
      yield { type: 'assignSlice', network: 'overlay', nodeId: `tail-${++slice}` };
      inSlice = 0;
    } else yield { type: 'allocate', network: 'overlay', nodeId: `tail-${slice}`, owner: `tail-${slice}-${inSlice++}` };
  }
}
