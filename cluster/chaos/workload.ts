/**
 * The chaos suite's client load: several concurrent clients, each an IpamClient with its own exactly-once
 * session, configuring, assigning and releasing slices, allocating with and without owners, releasing
 * with generations, releasing owners and reading — every operation recorded (invoke, then ok / fail /
 * info) for the checker. Clients choose their next operation from a seeded RNG, so a run's operation mix
 * replays from its seed (what the cluster answers does not, since real processes and real time decide).
 *
 * The networks are small on purpose: slices of 14 addresses fill up, so refusals (AddressExhausted,
 * SliceExhausted) are part of every history, and a few shared hosts make clients contend for the same
 * slices and addresses — contention is where a duplicate grant would show.
 */
import { IpamClient } from '../../src/api/client.js';
import { perform } from '../../src/check/client-ops.js';
import type { HistoryRecorder, Outcome } from '../../src/check/history.js';
import type { Operation } from '../../src/check/operations.js';
import type { IpamCommand } from '../../src/ipam/commands.js';
import type { Rng } from '../../src/raft/rng.js';

export const NETWORKS: ReadonlyArray<Extract<IpamCommand, { type: 'configureNetwork' }>> = [
  { type: 'configureNetwork', name: 'v4', cidr: '10.64.0.0/24', slicePrefix: 28 },
  { type: 'configureNetwork', name: 'v6', cidr: 'fd64::/120', slicePrefix: 124 },
];
const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];

export interface WorkloadOptions {
  clients: number;
  /** Client URLs; read once per client at start (the client follows redirects to new leaders). */
  endpoints: readonly string[];
  token?: string;
  recorder: HistoryRecorder;
  rng: Rng;
  /** Deadline of one operation, retries included; past it the outcome is unknown (info). */
  opTimeoutMs?: number;
  /** Pause between a client's operations. */
  thinkMs?: number;
}

export interface WorkloadCounts {
  invoked: number;
  ok: number;
  fail: number;
  info: number;
}

interface Held {
  network: string;
  address: string;
  generation: number;
  owner?: string;
}

export class Workload {
  readonly counts: WorkloadCounts = { invoked: 0, ok: 0, fail: 0, info: 0 };
  private stopping = false;
  private loops: Array<Promise<void>> = [];
  private readonly opTimeoutMs: number;
  private readonly thinkMs: number;

  constructor(private readonly o: WorkloadOptions) {
    if (!Number.isInteger(o.clients) || o.clients < 1 || o.clients > 256) throw new TypeError(`clients must be 1..256, got ${o.clients}`);
    this.opTimeoutMs = o.opTimeoutMs ?? 4_000;
    this.thinkMs = o.thinkMs ?? 20;
  }

  /** The networks every history starts with, recorded as the "setup" process (the check starts empty). */
  async setup(): Promise<void> {
    const client = this.client();
    for (const command of NETWORKS) {
      // Retried until definite: the rest of the run needs the networks (configureNetwork is idempotent).
      for (let attempt = 0; ; attempt++) {
        const outcome = await this.record('setup', command, client);
        if (outcome.type === 'ok') break;
        if (attempt >= 20) throw new Error(`setup: ${command.name} could not be configured: ${JSON.stringify(outcome)}`);
      }
    }
  }

  start(): void {
    for (let i = 0; i < this.o.clients; i++) this.loops.push(this.loop(`c${i + 1}`, this.o.rng.fork()));
  }

  /** Let every client finish the operation it is in, then stop. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** One linearizable read of every network's allocations and slices, recorded: the history's last word. */
  async finalReads(process = 'final'): Promise<Outcome[]> {
    const client = this.client();
    const out: Outcome[] = [];
    for (const net of NETWORKS) {
      out.push(await this.record(process, { type: 'listAllocations', network: net.name, limit: 999_999 }, client));
      out.push(await this.record(process, { type: 'listSlices', network: net.name }, client));
    }
    return out;
  }

  private client(): IpamClient {
    return new IpamClient({ endpoints: [...this.o.endpoints], session: true, timeoutMs: this.opTimeoutMs, ...(this.o.token ? { token: this.o.token } : {}) });
  }

  private async record(process: string, op: Operation, client: IpamClient): Promise<Outcome> {
    this.counts.invoked++;
    const outcome = await this.o.recorder.run(process, op, () => perform(client, op));
    this.counts[outcome.type]++;
    return outcome;
  }

  private async loop(process: string, rng: Rng): Promise<void> {
    const client = this.client();
    const held: Held[] = [];
    let owners = 0;
    while (!this.stopping) {
      const op = this.next(rng, process, held, () => `${process}-o${++owners}`);
      const outcome = await this.record(process, op, client);
      this.remember(op, outcome, held);
      await new Promise((r) => setTimeout(r, rng.int(this.thinkMs + 1)));
    }
  }

  /** The next operation: mostly allocations and releases, some slice changes and reads. */
  private next(rng: Rng, _process: string, held: Held[], newOwner: () => string): Operation {
    const network = (NETWORKS[rng.int(NETWORKS.length)] as { name: string }).name;
    const nodeId = HOSTS[rng.int(HOSTS.length)] as string;
    const roll = rng.int(100);
    if (roll < 28) return { type: 'allocate', network, nodeId, owner: newOwner() };
    if (roll < 45) return { type: 'allocate', network, nodeId };
    if (roll < 60 && held.length > 0) {
      const h = held.splice(rng.int(held.length), 1)[0] as Held;
      // Mostly with the generation we were given; sometimes a stale one, which must be refused.
      return { type: 'release', network: h.network, address: h.address, generation: rng.chance(0.9) ? h.generation : h.generation + 1 };
    }
    if (roll < 67 && held.some((h) => h.owner !== undefined)) {
      const i = held.findIndex((h) => h.owner !== undefined);
      const h = held.splice(i, 1)[0] as Held;
      return { type: 'releaseOwner', owner: h.owner as string, network: h.network };
    }
    if (roll < 76) return { type: 'assignSlice', network, nodeId };
    if (roll < 78) return { type: 'releaseSlice', network, nodeId };
    if (roll < 92) return { type: 'listAllocations', network, node: nodeId };
    return { type: 'listSlices', network };
  }

  private remember(op: Operation, outcome: Outcome, held: Held[]): void {
    if (op.type !== 'allocate' || outcome.type !== 'ok') return;
    const v = outcome.value as { network: string; address: string; generation: number; owner?: string };
    held.push({ network: v.network, address: v.address, generation: v.generation, ...(v.owner !== undefined ? { owner: v.owner } : {}) });
  }
}
