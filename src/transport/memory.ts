/**
 * In-memory network for tests and the simulator (hashicorp/raft `inmem_transport.go`, `fuzzy/transport.go`).
 *
 * Deterministic and timer-free: `send` only puts a frame in flight, and nothing is delivered until the
 * caller drives delivery (`deliverNext`, `deliver(seq)`, `deliverAll`). Handlers therefore never run
 * inside `send` — the runtime may call `send` while it holds a Ready, between ready() and advance().
 *
 * Messages cross as encoded frames and go through the same envelope and payload checks as TCP, so the
 * simulator exercises the validator that ships, and no object is ever shared between two nodes.
 */
import { checkHandler, checkInbound, checkOutbound } from './checks.js';
import { TransportError, validateClusterId, validateNodeId } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, PROTOCOL_VERSION, validateMaxFrameBytes } from './frame.js';
import { copyStats, emptyStats, type MessageHandler, type NodeId, type PayloadAdapter, type Transport, type TransportStats, type UnreachableHandler } from './types.js';

export interface InFlight {
  /** Increasing id in send order; stable handle for `deliver(seq)` and `drop(seq)`. */
  readonly seq: number;
  readonly from: NodeId;
  readonly to: NodeId;
  /** Encoded frame size, header included. */
  readonly bytes: number;
}

/** Decides, at delivery time, whether an in-flight frame arrives (true) or is lost (false). */
export type DeliveryFilter = (m: InFlight) => boolean;

interface Flight extends InFlight {
  readonly frame: Buffer;
}

export interface MemoryNetworkOptions {
  cluster?: string;
  maxFrameBytes?: number;
}

export interface MemoryNetworkStats {
  inFlight: number;
  delivered: number;
  /** Lost to a cut link, the filter, an explicit drop, or a missing/closed recipient. */
  droppedByFault: number;
}

export class MemoryNetwork {
  readonly cluster: string;
  readonly maxFrameBytes: number;
  private readonly nodes = new Map<NodeId, MemoryTransport<unknown>>();
  private readonly flights: Flight[] = [];
  private readonly cutLinks = new Set<string>();
  private filter: DeliveryFilter | null = null;
  private nextSeq = 1;
  private counters = { delivered: 0, droppedByFault: 0 };

  constructor(options: MemoryNetworkOptions = {}) {
    this.cluster = validateClusterId(options.cluster ?? 'memory');
    this.maxFrameBytes = validateMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  }

  /** Create the transport of node `id`. One live transport per id; a closed one may be replaced (restart). */
  createTransport<T>(id: NodeId, adapter: PayloadAdapter<T>): MemoryTransport<T> {
    validateNodeId(id);
    const existing = this.nodes.get(id);
    if (existing && !existing.isClosed) throw new TransportError('InvalidArgument', `node ${id} already has an open transport on this network`);
    const t = new MemoryTransport<T>(this, id, adapter);
    this.nodes.set(id, t as MemoryTransport<unknown>);
    return t;
  }

  /** Cut the one-way link from → to: frames on it are lost at delivery time, and the sender is told. */
  cut(from: NodeId, to: NodeId): void {
    this.cutLinks.add(linkKey(from, to));
  }

  restore(from: NodeId, to: NodeId): void {
    this.cutLinks.delete(linkKey(from, to));
  }

  /** Cut every link between the two groups, both ways. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) for (const y of b) {
      this.cut(x, y);
      this.cut(y, x);
    }
  }

  /** Restore every cut link (the filter stays; clear it with setFilter(null)). */
  heal(): void {
    this.cutLinks.clear();
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cutLinks.has(linkKey(from, to));
  }

  /** Random loss, duplication-free reordering policies etc. belong to the caller: it owns the seeded RNG. */
  setFilter(filter: DeliveryFilter | null): void {
    this.filter = filter;
  }

  /** Frames in flight, in send order. */
  pending(): InFlight[] {
    return this.flights.map(({ seq, from, to, bytes }) => ({ seq, from, to, bytes }));
  }

  /** Deliver the oldest in-flight frame. Returns false when nothing was in flight. */
  deliverNext(): boolean {
    const f = this.flights.shift();
    if (!f) return false;
    this.arrive(f);
    return true;
  }

  /** Deliver one specific in-flight frame, out of order (reordering control). */
  deliver(seq: number): boolean {
    const i = this.flights.findIndex((f) => f.seq === seq);
    if (i < 0) return false;
    const [f] = this.flights.splice(i, 1);
    this.arrive(f!);
    return true;
  }

  /** Lose one specific in-flight frame. */
  drop(seq: number): boolean {
    const i = this.flights.findIndex((f) => f.seq === seq);
    if (i < 0) return false;
    this.flights.splice(i, 1);
    this.counters.droppedByFault++;
    return true;
  }

  /**
   * Deliver in send order until nothing is in flight, including frames sent by handlers meanwhile, or
   * until `max` deliveries (a guard for protocols that never go quiet). Returns the number processed.
   */
  deliverAll(max = 1_000_000): number {
    let n = 0;
    while (n < max && this.deliverNext()) n++;
    return n;
  }

  stats(): MemoryNetworkStats {
    return { inFlight: this.flights.length, ...this.counters };
  }

  /** @internal called by MemoryTransport.send */
  enqueue(from: NodeId, to: NodeId, frame: Buffer): void {
    this.flights.push({ seq: this.nextSeq++, from, to, bytes: frame.length, frame });
  }

  /** @internal */
  isMember(id: NodeId): boolean {
    return this.nodes.has(id);
  }

  private arrive(f: Flight): void {
    const dest = this.nodes.get(f.to);
    const reachable = dest !== undefined && dest.isRunning && !this.isCut(f.from, f.to);
    if (!reachable) {
      this.counters.droppedByFault++;
      // Like a TCP connect failure, a dead link or node is noticed by the sender (reportUnreachable).
      this.nodes.get(f.from)?.notifyUnreachable(f.to);
      return;
    }
    if (this.filter && !this.filter(f)) {
      // Silent loss: a lossy link gives the sender no signal.
      this.counters.droppedByFault++;
      return;
    }
    this.counters.delivered++;
    dest.receive(f.frame, f.from);
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}

export class MemoryTransport<T> implements Transport<T> {
  private state: 'new' | 'running' | 'closed' = 'new';
  private messageHandler: MessageHandler<T> | null = null;
  private unreachableHandler: UnreachableHandler | null = null;
  private readonly counters: TransportStats = emptyStats();

  /** @internal use MemoryNetwork.createTransport */
  constructor(
    private readonly network: MemoryNetwork,
    readonly id: NodeId,
    private readonly adapter: PayloadAdapter<T>,
  ) {}

  get isRunning(): boolean {
    return this.state === 'running';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  async start(): Promise<void> {
    if (this.state === 'closed') throw new TransportError('Closed', `transport ${this.id} is closed`);
    this.state = 'running';
  }

  send(to: NodeId, msg: T): void {
    checkOutbound(this.adapter, this.id, to, msg);
    if (this.state === 'closed') {
      this.counters.dropped.closed++;
      return;
    }
    let frame: Buffer;
    try {
      frame = encodeFrame({ v: PROTOCOL_VERSION, cluster: this.network.cluster, from: this.id, to, payload: msg }, this.network.maxFrameBytes);
    } catch (e) {
      if (e instanceof TransportError && e.code === 'FrameTooLarge') {
        this.counters.dropped.tooLarge++;
        return;
      }
      throw e;
    }
    this.counters.framesSent++;
    this.counters.bytesSent += frame.length;
    this.network.enqueue(this.id, to, frame);
  }

  onMessage(handler: MessageHandler<T>): void {
    checkHandler(handler, 'onMessage');
    this.messageHandler = handler;
  }

  onPeerUnreachable(handler: UnreachableHandler): void {
    checkHandler(handler, 'onPeerUnreachable');
    this.unreachableHandler = handler;
  }

  stats(): TransportStats {
    return copyStats(this.counters);
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }

  /** @internal */
  notifyUnreachable(peer: NodeId): void {
    if (this.state === 'running') this.unreachableHandler?.(peer);
  }

  /** @internal one frame arrives; same decode and checks as a TCP connection, minus the socket. */
  receive(frame: Buffer, sender: NodeId): void {
    const { frames, error } = new FrameDecoder({ maxFrameBytes: this.network.maxFrameBytes }).push(frame);
    if (error) {
      this.counters.rejected[error.code === 'FrameTooLarge' ? 'frameTooLarge' : error.code === 'UnsupportedVersion' ? 'unsupportedVersion' : 'badFrame']++;
      return;
    }
    for (const { envelope, bytes } of frames) {
      this.counters.framesReceived++;
      this.counters.bytesReceived += bytes;
      // The memory network authenticates by construction: `sender` is the transport that enqueued the frame.
      const verdict = checkInbound(envelope, { self: this.id, cluster: this.network.cluster, adapter: this.adapter, isPeer: (id) => this.network.isMember(id) }, sender);
      if (verdict.kind === 'drop') this.counters.dropped[verdict.reason]++;
      else if (verdict.kind === 'reject') this.counters.rejected[verdict.reason]++;
      else if (verdict.kind === 'deliver') {
        this.counters.delivered++;
        this.messageHandler?.(verdict.msg, verdict.from);
      }
    }
  }
}
