/**
 * `raft-ipam tour`: what the allocator core does, end to end, in one screen. Every line printed comes from
 * the library; nothing here is canned output.
 */
import { IpAllocator, IpamStateMachine, NodeSliceAllocator, type ApplyResult, type IpamCommand } from '../index.js';

export function runTour(print: (line: string) => void): void {
  print('# IpAllocator: lowest free address, IPv4 and IPv6');
  const v4 = new IpAllocator('10.200.0.0/30');
  print(`10.200.0.0/30 → ${v4.allocate()}, ${v4.allocate()}, then ${String(v4.allocate())} (full; ${v4.totalHosts()} hosts)`);
  const v6 = new IpAllocator('FD00:0000::/64');
  print(`FD00:0000::/64 is ${v6.cidr()}; allocate → ${v6.allocate()}; usable hosts ${v6.totalHosts()}`);

  print('\n# NodeSliceAllocator: FNV-1a placement, identical to zlayer-overlay');
  const slices = new NodeSliceAllocator('10.200.0.0/16', 28);
  for (const node of ['node-a', 'node-b', 'nœud-ç']) print(`${node} → ${slices.assign(node)}`);
  print(`capacity ${slices.capacity()} slices, ${slices.assignedCount()} assigned`);

  print('\n# IpamStateMachine: every line below is one command = one Raft log entry');
  const sm = new IpamStateMachine();
  const run = (c: IpamCommand): ApplyResult => {
    const r = sm.apply(c);
    print(`${JSON.stringify(c)}\n  → ${JSON.stringify(r.ok ? r.value : r.error)}`);
    return r;
  };
  run({ type: 'configureNetwork', name: 'pods-v4', cidr: '10.200.0.0/16', slicePrefix: 24 });
  run({ type: 'configureNetwork', name: 'pods-v6', cidr: 'fd00:200::/48', slicePrefix: 64, pair: 'pods-v4' });
  run({ type: 'assignSlice', network: 'pods-v4', nodeId: 'worker-1' });
  const first = run({ type: 'allocate', network: 'pods-v4', nodeId: 'worker-1', owner: 'container-42' });
  run({ type: 'allocate', network: 'pods-v4', nodeId: 'worker-1', owner: 'container-42' });
  run({ type: 'allocate', network: 'pods-v6', nodeId: 'worker-1', owner: 'container-42' });
  if (first.ok) {
    const { address, generation } = first.value as { address: string; generation: number };
    run({ type: 'release', network: 'pods-v4', address, generation });
    run({ type: 'allocate', network: 'pods-v4', nodeId: 'worker-1', owner: 'container-43' });
    run({ type: 'release', network: 'pods-v4', address, generation });
  }
  run({ type: 'allocateSpecific', network: 'pods-v4', nodeId: 'worker-1', address: '10.200.99.7' });

  print('\n# Snapshot: canonical bytes, restore is all-or-nothing');
  const bytes = sm.snapshot();
  const replica = new IpamStateMachine();
  replica.restore(bytes);
  print(`snapshot ${bytes.length} bytes; replica stateHash ${replica.stateHash() === sm.stateHash() ? 'matches' : 'DIFFERS'}: ${sm.stateHash().slice(0, 16)}…`);
  const corrupt = Uint8Array.from(bytes);
  corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] as number) ^ 1;
  try {
    replica.restore(corrupt);
  } catch (e) {
    print(`corrupted snapshot refused: ${(e as Error).message}; replica unchanged: ${replica.stateHash() === sm.stateHash()}`);
  }
}
