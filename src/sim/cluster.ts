/**
 * The simulated nodes: the founding voters n1..nK plus two spares (n8, n9) that join only through
 * membership changes, and the questions the nemesis, the client and the checker ask about them as a whole.
 * A node is "alive" while its replica runs; one whose disk was refused as corrupt stays down for good.
 */
import type { ReplicaStatus } from '../node/replica.js';
import type { RaftCore } from '../raft/raft.js';
import type { NodeId } from '../raft/types.js';
import { SimNode, type NodeEnvironment } from './node-driver.js';

const SPARES = ['n8', 'n9'];

/** A live node and its status, read once after an event and shared by everyone who looks. */
export interface Observed {
  node: SimNode;
  core: RaftCore;
  status: ReplicaStatus;
}

export class Cluster {
  private readonly byId = new Map<NodeId, SimNode>();

  /** Creates every node; start() boots them. */
  constructor(voterCount: number, env: NodeEnvironment) {
    const voters = Array.from({ length: voterCount }, (_, i) => `n${i + 1}`);
    for (const id of [...voters, ...SPARES]) this.byId.set(id, new SimNode(id, voters.includes(id) ? { voters, learners: [] } : undefined, env));
  }

  /** Boots every node on its empty disk, in id order (each boot draws from the run's Rng). */
  async start(): Promise<void> {
    for (const node of this.byId.values()) {
      if ((await node.start()) !== 'up') throw new Error(`${node.id} refused an empty disk`);
    }
  }

  get nodes(): Iterable<SimNode> {
    return this.byId.values();
  }

  get ids(): NodeId[] {
    return [...this.byId.keys()];
  }

  node(id: NodeId): SimNode {
    const node = this.byId.get(id);
    if (!node) throw new RangeError(`no node ${id}`);
    return node;
  }

  alive(): SimNode[] {
    return [...this.byId.values()].filter((n) => n.replica);
  }

  observe(): Observed[] {
    return [...this.byId.values()].flatMap((node) => {
      const replica = node.replica;
      return replica ? [{ node, core: replica.raft, status: replica.status() }] : [];
    });
  }

  /** Nodes that believe they lead, deposed ones behind a partition included. */
  selfProclaimedLeaders(): SimNode[] {
    return [...this.byId.values()].filter((n) => n.core?.status().role === 'leader');
  }

  /** The leader of the highest term among those who believe they lead. */
  currentLeader(): SimNode | undefined {
    let best: { node: SimNode; term: number } | undefined;
    for (const node of this.byId.values()) {
      const st = node.core?.status();
      if (st?.role === 'leader' && (!best || st.term > best.term)) best = { node, term: st.term };
    }
    return best?.node;
  }

  /** Members according to the live node that has applied the most. */
  members(): NodeId[] {
    let best: { applied: number; members: NodeId[] } | undefined;
    for (const n of this.byId.values()) {
      const st = n.core?.status();
      if (st && (!best || st.applied > best.applied)) best = { applied: st.applied, members: [...st.conf.voters, ...st.conf.learners] };
    }
    const members = best?.members ?? [];
    // Before anyone has applied the bootstrap entries, the founding nodes are the members.
    return members.length > 0 ? members : [...this.byId.values()].filter((n) => n.initialConf).map((n) => n.id);
  }

  /** One line per node, for a liveness failure. */
  describe(): string {
    return [...this.byId.values()]
      .map((n) => {
        const s = n.core?.status();
        return s ? `${n.id}:${s.role}/t${s.term}/c${s.commit}/a${s.applied}/l${s.lastIndex}` : `${n.id}:${n.state}`;
      })
      .join(' ');
  }

  /** Snapshots taken and installed, over all nodes and lives. */
  snapshotCounts(): { snapshots: number; snapshotsInstalled: number; restoreSteps: number; inboxDropped: number } {
    const total = { snapshots: 0, snapshotsInstalled: 0, restoreSteps: 0, inboxDropped: 0 };
    for (const n of this.byId.values()) {
      total.snapshots += n.counts.snapshots;
      total.snapshotsInstalled += n.counts.snapshotsInstalled;
      total.restoreSteps += n.counts.restoreSteps;
      total.inboxDropped += n.counts.inboxDropped;
    }
    return total;
  }
}
