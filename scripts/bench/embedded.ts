/**
 * The embedded deployment: the benchmark's own process runs the leader, an IpamNode on the compiled
 * runtime, and calls node.submit() directly; the two followers are `raft-ipam serve` processes. Built on
 * the cluster harness (cluster/): a 3-node cluster starts, n1 is stopped gracefully, and an in-process
 * IpamNode opens n1's data directory on n1's peer address; leadership is then handed to it.
 */
import type { IpamNode } from '../../src/node/ipam-node.js';
import { onCleanup } from './cleanup.js';
import type { Compiled } from './compiled.js';
import { ipamValue, JsonHttp } from './http.js';
import { startIpamCluster, type IpamCluster } from './ipam-cluster.js';
import { sleep } from './proc.js';

export interface EmbeddedCluster {
  ipam: IpamCluster;
  node: IpamNode;
  close(): Promise<void>;
}

/**
 * Hand leadership to the in-process node (again, if an election on a loaded machine moved it): ask
 * whoever leads now, through that follower process's HTTP API, to transfer to n1.
 */
export async function ensureLeader(ipam: IpamCluster, node: IpamNode): Promise<void> {
  const deadline = Date.now() + 60_000;
  // The replica's raft status, not node.status(): that one captures and hashes the whole state (see probe.ts).
  while (node.raftReplica.status().role !== 'leader') {
    if (Date.now() > deadline) throw new Error('the embedded node did not become leader within 60 s');
    const lead = node.raftReplica.status().lead;
    if (lead && lead !== 'n1') {
      const http = new JsonHttp(ipam.cluster.node(lead).clientUrl, 1);
      try {
        ipamValue(await http.post('/v1/transfer-leader', { to: 'n1' }, 10_000));
      } catch {
        // the leader may have changed meanwhile, or the transfer timed out: look again
      } finally {
        await http.close();
      }
    }
    await sleep(100);
  }
}

export async function startEmbedded(c: Compiled, root: string): Promise<EmbeddedCluster> {
  const ipam = await startIpamCluster(c, root, 'embedded');
  const n1 = ipam.cluster.node('n1');
  await ipam.cluster.stop('n1');
  // The harness runs these clusters without relays, so a node's advertised peer address is its listener.
  const initialCluster = Object.fromEntries(ipam.cluster.nodes().map((n) => [n.id, n.peerAdvertised]));
  const node = await c.IpamNode.start({ name: 'n1', dataDir: n1.dataDir, initialCluster, listenPeer: n1.peerListen, insecure: true });
  const stopNode = onCleanup('embedded leader n1', () => node.stop());
  await ensureLeader(ipam, node);
  return {
    ipam,
    node,
    close: async () => {
      await stopNode();
      await ipam.close();
    },
  };
}
