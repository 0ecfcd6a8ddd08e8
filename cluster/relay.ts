/**
 * A TCP relay the harness puts in front of one node's peer listener: peers dial the relay (it is the
 * address the node advertises), and the relay forwards the bytes of each connection, both ways, to the
 * node's real listener. Cutting a link is then a decision of the relay, outside every node: no flag
 * inside a node, nothing a node could notice except the network going quiet or refusing.
 *
 * Who dialled is told by the connection's source IP: every node of a cluster has its own 127.0.0.x and
 * binds its outbound peer connections to it (TcpTransport `localAddress`), and `identify` maps that IP
 * to a node id. Our transport sends a node's messages to a peer only on the connection that node dialled
 * (see src/transport/tcp.ts), so "block dialer A at B's relay" is exactly "A's messages no longer reach
 * B", while B's messages to A travel on B's own connection through A's relay, untouched. That is what a
 * one-way cut A→B means here: a message-level one-way partition, as in the simulator. (An IP-level one-way
 * loss would also starve B's connection of A's TCP acknowledgements and so stall both directions; the
 * relay models the protocol-level fault, which is the interesting one for Raft.)
 *
 * Two ways to block a dialer:
 * - 'drop' (blackhole): nothing crosses in either direction of that dialer's connections, existing or new.
 *   The relay keeps reading into a bounded hold and then stops reading, so the dialer's writes back up into
 *   its socket buffers and its bounded transport queue — what TCP does when the network silently drops
 *   packets. A new connection is accepted (the dialler sees its connect succeed, then silence: a TLS
 *   handshake times out) but not forwarded. On heal the held bytes go on in order, like TCP retransmission
 *   after a partition, so no stream is ever corrupted; a connection the dialer gave up on meanwhile is
 *   closed towards the node after its held bytes.
 * - 'reset' (reject): existing connections are reset (RST) on both sides and every new one is reset as it
 *   is accepted, like a firewall that rejects.
 * A source the relay cannot identify is forwarded and never blocked.
 */
import net from 'node:net';

export type CutMode = 'drop' | 'reset';
export const CUT_MODES: readonly CutMode[] = ['drop', 'reset'];

export interface HostPort {
  host: string;
  port: number;
}

export interface RelayOptions {
  /** Where the relay listens: the node's own IP on another port, so a TLS SAN for that IP still matches. Port 0 picks one. */
  listen: HostPort;
  /** The node's real peer listener. */
  target: HostPort;
  /** The node id that dials from this source IP, or undefined for a stranger (forwarded, never blocked). */
  identify: (sourceIp: string) => string | undefined;
  /** Bytes held per direction of a blocked connection before the relay stops reading from it. */
  holdBytes?: number;
}

export interface RelayConnectionView {
  /** The identified dialer, or null for an unknown source. */
  dialer: string | null;
  source: string;
  state: 'connecting' | 'flowing' | 'held';
  /** Bytes read from either side and not yet written to the other. */
  heldBytes: number;
}

export interface RelayStats {
  accepted: number;
  /** Connections reset because their dialer was blocked with 'reset'. */
  reset: number;
  /** Bytes written towards the node, and back towards dialers. */
  bytesToTarget: number;
  bytesToDialers: number;
}

const DEFAULT_HOLD_BYTES = 256 * 1024;

/** What is queued for one side: bytes, the other side's half-close, or its close (with or without an error). */
type Item = Buffer | { end: true } | { close: true; reset: boolean };

/** One direction of a relayed connection: what `source` sent and `sink` has not received yet. */
interface Flow {
  queue: Item[];
  bytes: number;
  waitingDrain: boolean;
}

function normalizeIp(ip: string | undefined): string {
  const s = ip ?? '';
  // An IPv4 client of a dual-stack socket shows up as ::ffff:a.b.c.d.
  return s.startsWith('::ffff:') && net.isIPv4(s.slice(7)) ? s.slice(7) : s;
}

function checkHostPort(v: unknown, what: string, allowPort0: boolean): HostPort {
  const o = v as Partial<HostPort> | null;
  if (typeof o !== 'object' || o === null || typeof o.host !== 'string' || net.isIP(o.host) === 0) throw new TypeError(`${what}.host must be an IP address, got ${JSON.stringify(o?.host)}`);
  const min = allowPort0 ? 0 : 1;
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < min || o.port > 65535) throw new TypeError(`${what}.port must be an integer in ${min}..65535, got ${String(o.port)}`);
  return { host: o.host, port: o.port };
}

/** One accepted connection and, once forwarding is allowed, its connection to the node. */
class Pipe {
  up: net.Socket | null = null;
  upReady = false;
  /** Both sides are finished with; nothing more to do. */
  done = false;
  readonly toUp: Flow = { queue: [], bytes: 0, waitingDrain: false };
  readonly toDown: Flow = { queue: [], bytes: 0, waitingDrain: false };

  constructor(
    readonly relay: Relay,
    readonly down: net.Socket,
    readonly dialer: string | undefined,
    readonly source: string,
  ) {}

  get open(): boolean {
    return !this.done && this.relay.modeFor(this.dialer) === undefined;
  }

  view(): RelayConnectionView {
    return {
      dialer: this.dialer ?? null,
      source: this.source,
      state: !this.open ? 'held' : this.upReady ? 'flowing' : 'connecting',
      heldBytes: this.toUp.bytes + this.toDown.bytes,
    };
  }

  start(): void {
    const down = this.down;
    down.on('data', (chunk: Buffer) => this.push(this.toUp, chunk));
    down.on('end', () => {
      // Nothing was ever forwarded: a dialer that gave up during a cut leaves no trace at the node.
      if (this.up === null) return this.abandon();
      this.push(this.toUp, { end: true });
    });
    down.on('error', () => {}); // 'close' follows with hadError
    down.on('close', (hadError) => {
      if (this.up === null) return this.abandon();
      this.push(this.toUp, { close: true, reset: hadError });
    });
    if (this.open) this.connectUp();
  }

  /** Forwarding became allowed (heal): dial the node if not yet done, and move what was held. */
  release(): void {
    if (this.done) return;
    if (this.up === null) this.connectUp();
    this.pump(this.toUp);
    this.pump(this.toDown);
  }

  /** The dialer was blocked with 'reset': both sides see a reset, as from a rejecting firewall. */
  reset(): void {
    if (this.done) return;
    this.down.resetAndDestroy();
    this.up?.resetAndDestroy();
    this.finish();
  }

  private abandon(): void {
    this.down.destroy();
    this.finish();
  }

  destroy(): void {
    this.down.destroy();
    this.up?.destroy();
    this.finish();
  }

  private connectUp(): void {
    const { host, port } = this.relay.target;
    // Leave from the dialer's own address, so the node's logs name the real dialer, not the relay.
    const local = this.dialer !== undefined && net.isIP(this.source) === net.isIP(host) ? { localAddress: this.source } : {};
    const up = net.connect({ host, port, allowHalfOpen: true, ...local });
    this.up = up;
    up.setNoDelay(true);
    up.on('connect', () => {
      this.upReady = true;
      this.pump(this.toUp);
    });
    up.on('data', (chunk: Buffer) => this.push(this.toDown, chunk));
    up.on('end', () => this.push(this.toDown, { end: true }));
    up.on('error', () => {});
    // The node refused or went away: the dialer sees a reset, as it would dialling a dead node directly.
    up.on('close', (hadError) => this.push(this.toDown, { close: true, reset: hadError || !this.upReady }));
  }

  private sourceOf(flow: Flow): net.Socket | null {
    return flow === this.toUp ? this.down : this.up;
  }

  private sinkOf(flow: Flow): net.Socket | null {
    return flow === this.toUp ? this.up : this.down;
  }

  private push(flow: Flow, item: Item): void {
    if (this.done) return;
    flow.queue.push(item);
    if (Buffer.isBuffer(item)) flow.bytes += item.length;
    this.pump(flow);
  }

  /** Move queued items to the sink while allowed and the sink takes them; read from the source only while the hold has room. */
  private pump(flow: Flow): void {
    if (this.done) return;
    const sink = this.sinkOf(flow);
    const ready = this.open && sink !== null && (flow === this.toDown || this.upReady);
    while (ready && !flow.waitingDrain && flow.queue.length > 0) {
      const item = flow.queue.shift() as Item;
      if (Buffer.isBuffer(item)) {
        flow.bytes -= item.length;
        this.relay.count(flow === this.toUp ? 'bytesToTarget' : 'bytesToDialers', item.length);
        if (!sink.write(item)) {
          flow.waitingDrain = true;
          sink.once('drain', () => {
            flow.waitingDrain = false;
            this.pump(flow);
          });
        }
      } else if ('end' in item) {
        sink.end();
      } else {
        // The source is gone, so is this connection: a reset goes on as a reset; a close lets the sink
        // flush what it was given first (destroy() would discard it).
        if (item.reset) sink.resetAndDestroy();
        else if (sink.writableEnded) sink.destroy();
        else sink.end(() => sink.destroy());
        this.finish();
        return;
      }
    }
    const source = this.sourceOf(flow);
    if (source === null || source.destroyed) return;
    const full = ready ? flow.waitingDrain || flow.queue.length > 0 : flow.bytes >= this.relay.holdBytes;
    if (full) source.pause();
    else source.resume();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.toUp.queue = [];
    this.toDown.queue = [];
    this.toUp.bytes = this.toDown.bytes = 0;
    this.relay.forget(this);
  }
}

export class Relay {
  readonly target: HostPort;
  readonly holdBytes: number;
  private readonly server: net.Server;
  private readonly identify: (sourceIp: string) => string | undefined;
  private readonly blocked = new Map<string, CutMode>();
  private readonly pipes = new Set<Pipe>();
  private readonly sockets = new Set<net.Socket>();
  private readonly counters: RelayStats = { accepted: 0, reset: 0, bytesToTarget: 0, bytesToDialers: 0 };
  private closing: Promise<void> | undefined;

  private constructor(options: RelayOptions, server: net.Server) {
    this.target = options.target;
    this.identify = options.identify;
    this.holdBytes = options.holdBytes ?? DEFAULT_HOLD_BYTES;
    this.server = server;
  }

  /** Listen and start forwarding. */
  static async start(options: RelayOptions): Promise<Relay> {
    const listen = checkHostPort(options?.listen, 'listen', true);
    const target = checkHostPort(options.target, 'target', false);
    if (typeof options.identify !== 'function') throw new TypeError('identify must be a function');
    const hold = options.holdBytes ?? DEFAULT_HOLD_BYTES;
    if (!Number.isInteger(hold) || hold < 1) throw new TypeError(`holdBytes must be a positive integer, got ${String(hold)}`);
    // allowHalfOpen: a dialer's FIN is forwarded as a FIN, not turned into a full close by Node.
    const server = net.createServer({ allowHalfOpen: true });
    const relay = new Relay({ ...options, listen, target, holdBytes: hold }, server);
    server.on('connection', (socket) => relay.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: listen.host, port: listen.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return relay;
  }

  address(): HostPort {
    const a = this.server.address() as net.AddressInfo | null;
    if (a === null) throw new Error('relay is not listening');
    return { host: a.address, port: a.port };
  }

  /** Stop forwarding this dialer's connections ('drop': hold them; 'reset': reset them and every new one). */
  block(dialer: string, mode: CutMode = 'drop'): void {
    if (typeof dialer !== 'string' || dialer === '') throw new TypeError('dialer must be a node id');
    if (!CUT_MODES.includes(mode)) throw new TypeError(`mode must be one of ${CUT_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
    this.blocked.set(dialer, mode);
    for (const p of [...this.pipes]) {
      if (p.dialer !== dialer) continue;
      if (mode === 'reset') {
        this.counters.reset++;
        p.reset();
      }
      // 'drop': each pipe notices on its next event (it checks `open`); pausing happens in its pump.
    }
  }

  /** Forward this dialer's connections again; held bytes go on in order. */
  unblock(dialer: string): void {
    if (!this.blocked.delete(dialer)) return;
    for (const p of [...this.pipes]) if (p.dialer === dialer) p.release();
  }

  /** The current blocks: dialer → mode. */
  blocks(): ReadonlyMap<string, CutMode> {
    return new Map(this.blocked);
  }

  modeFor(dialer: string | undefined): CutMode | undefined {
    return dialer === undefined ? undefined : this.blocked.get(dialer);
  }

  connections(): RelayConnectionView[] {
    return [...this.pipes].map((p) => p.view());
  }

  stats(): RelayStats {
    return { ...this.counters };
  }

  /** Close the listener and every relayed connection (both sides). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const p of [...this.pipes]) p.destroy();
      for (const s of this.sockets) s.destroy();
      await closed;
    })();
    return this.closing;
  }

  /** @internal */
  count(what: 'bytesToTarget' | 'bytesToDialers', n: number): void {
    this.counters[what] += n;
  }

  /** @internal */
  forget(p: Pipe): void {
    this.pipes.delete(p);
  }

  private accept(socket: net.Socket): void {
    this.counters.accepted++;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const source = normalizeIp(socket.remoteAddress);
    const dialer = this.identify(source);
    if (this.modeFor(dialer) === 'reset') {
      this.counters.reset++;
      socket.on('error', () => {});
      socket.resetAndDestroy();
      return;
    }
    const pipe = new Pipe(this, socket, dialer, source);
    this.pipes.add(pipe);
    pipe.start();
  }
}
