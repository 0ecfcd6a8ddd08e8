/**
 * Replicas of the production driver in one process: MemoryStorage, MemoryNetwork and a work queue as the
 * scheduler, all driven by the test (no timers). `settle()` runs scheduled work, delivers messages and
 * lets storage promises resolve until nothing moves.
 */
import { encodeEntry } from '../../src/ipam/log-entry.js';
import type { IpamCommand } from '../../src/ipam/commands.js';
import type { ApplyResult } from '../../src/ipam/state-machine.js';
import { IpamApp } from '../../src/node/ipam-app.js';
import { Replica, type ReplicaOptions, type Scheduler } from '../../src/node/replica.js';
import { parseMessage } from '../../src/raft/message-parse.js';
import type { RaftConfig } from '../../src/raft/raft.js';
import { createRng } from '../../src/raft/rng.js';
import type { Message, NodeId } from '../../src/raft/types.js';
import { MemoryDisk, MemoryStorage, type MemoryStorageOptions } from '../../src/storage/memory-storage.js';
import { MemoryNetwork, type MemoryTransport } from '../../src/transport/memory.js';
import { addressedAdapter } from '../../src/transport/types.js';

export interface LocalNode {
  id: NodeId;
  disk: MemoryDisk;
  storage: MemoryStorage;
  transport: MemoryTransport<Message>;
  app: IpamApp;
  replica: Replica<ApplyResult>;
  fatal: unknown[];
}

const CLUSTER = 'local';

/** Replica options for every node, and Raft settings merged into each node's own (id, timing, seed). */
export type ClusterOptions = Partial<ReplicaOptions<ApplyResult>> & { raftTuning?: Partial<Omit<RaftConfig, 'id' | 'rng'>> };

export class LocalCluster {
  readonly network = new MemoryNetwork({ cluster: CLUSTER });
  readonly nodes = new Map<NodeId, LocalNode>();
  private readonly work: Array<() => void> = [];
  private readonly scheduler: Scheduler = { soon: (w) => this.work.push(w) };
  private nextId = 1;

  constructor(
    private readonly voters: NodeId[],
    private readonly extra: ClusterOptions = {},
  ) {}

  static async start(voters: NodeId[], extra: ClusterOptions = {}): Promise<LocalCluster> {
    const c = new LocalCluster(voters, extra);
    for (const id of voters) await c.boot(id, new MemoryDisk(), { voters, learners: [] });
    return c;
  }

  /** Open (or reopen after stop) node `id` on `disk`. */
  async boot(id: NodeId, disk: MemoryDisk, initialConf?: { voters: NodeId[]; learners: NodeId[] }, perNode: Partial<ReplicaOptions<ApplyResult>> = {}, storageOptions: MemoryStorageOptions = {}): Promise<LocalNode> {
    const storage = await MemoryStorage.open(disk, { clusterId: CLUSTER, nodeId: id }, storageOptions);
    const transport = this.network.createTransport(id, addressedAdapter((raw) => parseMessage(raw)));
    await transport.start();
    const app = new IpamApp();
    const fatal: unknown[] = [];
    const { raftTuning, ...extra } = this.extra;
    const replica = await Replica.open<ApplyResult>({
      raft: { id, electionTick: 10, heartbeatTick: 2, rng: createRng([...id].reduce((h, ch) => h * 31 + ch.charCodeAt(0), 7)), ...raftTuning },
      storage,
      transport,
      app,
      scheduler: this.scheduler,
      ...(initialConf ? { initialConf } : {}),
      onFatal: (e) => fatal.push(e),
      ...extra,
      ...perNode,
    });
    const node: LocalNode = { id, disk, storage, transport, app, replica, fatal };
    this.nodes.set(id, node);
    return node;
  }

  /** Stop a node as a crash would: the replica halts, unsynced writes are lost, the disk stays. */
  async crash(id: NodeId): Promise<MemoryDisk> {
    const node = this.node(id);
    node.storage.crash();
    await node.replica.stop('crashed');
    await node.transport.close();
    this.nodes.delete(id);
    return node.disk;
  }

  node(id: NodeId): LocalNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no live node ${id}`);
    return n;
  }

  /** Run scheduled work, deliver messages and let storage promises settle until quiet. */
  async settle(rounds = 200): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      await new Promise((r) => setImmediate(r));
      let moved = false;
      while (this.work.length > 0) {
        (this.work.shift() as () => void)();
        moved = true;
      }
      if (this.network.deliverAll() > 0) moved = true;
      if (!moved) {
        await new Promise((r) => setImmediate(r));
        if (this.work.length === 0 && this.network.pending().length === 0) return;
      }
    }
  }

  /**
   * One turn of an event loop, the way Node runs one: the work scheduled before the turn (setImmediate
   * callbacks queued during it run in the next one), then the network's deliveries (I/O), then storage
   * promises. Work that reschedules itself — a snapshot encoded in steps — thus yields to messages.
   * Returns what moved: work items run and frames delivered, by (from → to).
   */
  async turn(): Promise<{ work: number; delivered: Array<{ from: NodeId; to: NodeId }> }> {
    const batch = this.work.splice(0);
    for (const w of batch) w();
    const delivered = this.network.pending().map((m) => ({ from: m.from, to: m.to }));
    this.network.deliverAll(delivered.length);
    await new Promise((r) => setImmediate(r));
    return { work: batch.length, delivered };
  }

  async ticks(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.replica.tick();
      await this.settle();
    }
  }

  leader(): LocalNode | undefined {
    return [...this.nodes.values()].find((n) => n.replica.status().role === 'leader');
  }

  async elect(): Promise<LocalNode> {
    for (let i = 0; i < 100; i++) {
      const l = this.leader();
      if (l) return l;
      await this.ticks(1);
    }
    throw new Error('no leader after 100 ticks');
  }

  /** Propose through `via` and drive the cluster until the promise settles. */
  async submit(via: LocalNode, command: IpamCommand): Promise<ApplyResult> {
    const p = via.replica.propose(encodeEntry({ id: this.nextId++, command }));
    return (await this.drive(p)).result;
  }

  async drive<T>(p: Promise<T>, maxTicks = 200): Promise<T> {
    let done = false;
    const watched = p.finally(() => {
      done = true;
    });
    watched.catch(() => undefined);
    await this.settle();
    for (let i = 0; i < maxTicks && !done; i++) await this.ticks(1);
    return watched;
  }
}
