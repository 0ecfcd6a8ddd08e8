/**
 * The real transport: length-prefixed msgpack frames over TCP, mutual TLS 1.3 by default.
 *
 * Connections. Each node dials one outbound connection per peer and only writes on it; frames from a peer
 * arrive on the connection that peer dialled to us, which we only read. One direction per connection keeps
 * identity simple (the dialler is the sender) and keeps a slow reader on one side from stalling the
 * other side's writes (etcd rafthttp also streams each direction separately).
 *
 * Identity. With TLS, the server requires a client certificate from the cluster CA and takes the node id
 * from its subject CN (see certs.ts); every frame's `from` must equal it, or the connection is closed. The
 * client verifies the server's certificate against the cluster CA, its SAN against the dialled address, and
 * its CN against the peer it meant to reach. With `insecure: true` (plaintext, explicit opt-in only), a
 * connection is bound to the sender of its first frame from a known peer, and a later frame claiming
 * another sender closes it — that stops accidents, not attackers.
 *
 * Queues. Each peer has a bounded queue (messages and bytes). When full, the OLDEST queued message is
 * evicted and counted: Raft tolerates loss, and what a long-unreachable peer needs when it returns is the
 * leader's current heartbeat/append/vote, not minutes-old ones it would discard as stale terms anyway.
 * Frames move from the queue to the socket only while socket.write() returns true, then wait for 'drain',
 * so a slow or dead peer holds at most its queue bound plus one socket buffer.
 *
 * Source address. With `localAddress`, outbound connections are bound to that address before they dial,
 * so a peer (or a relay in front of it, as the chaos harness uses) sees which node dialled from the
 * connection's source IP; without it the kernel picks the source. It only applies towards peers addressed
 * by an IP literal of the same family, and from a loopback source only towards loopback peers: a source
 * that cannot reach the destination would turn a config detail into a permanent connect failure.
 *
 * Reconnect. A connection is dialled when there is something to send. After a failure the next dial waits
 * min(maxMs, initialMs·multiplier^attempt)·(0.5 + 0.5·random()) — "equal jitter": never zero, so a peer
 * that refuses us cannot cause a hot reconnect loop, and random, so restarted peers are not dialled by the
 * whole cluster in lockstep. The attempt count resets once a connection has stayed up for resetAfterMs:
 * under TLS 1.3 a rejected client still sees secureConnect, so "connected" alone proves nothing.
 * A peer that dials us is evidently up again: when its inbound connection is authenticated (TLS: its
 * certificate; plaintext: bound by its first frame), our own link to it that is waiting out a backoff
 * retries at once instead of after up to maxMs — a restarted follower would otherwise wait seconds for
 * the leader's heartbeats. The retry counts as an attempt, so a peer that dials us but still refuses us
 * keeps backing off (at most one early retry per connection it makes).
 * So a node that starts dials every peer it knows once and sends a hello (a frame with no message,
 * frame.ts) — a follower that restarts has nothing to send for an election timeout, and the leader's
 * link to it may be a second into its backoff. A failed hello is not retried: Raft's own traffic dials.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { NodeTlsMaterial } from './certs.js';
import { checkNodeTls } from './certs.js';
import { checkHandler, checkInbound, checkOutbound, type InboundContext } from './checks.js';
import { TransportError, validateClusterId, validateNodeId } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, HEADER_BYTES, PROTOCOL_VERSION, validateMaxFrameBytes } from './frame.js';
import { copyStats, emptyStats, type MessageHandler, type NodeId, type PayloadAdapter, type RejectReason, type Transport, type TransportStats, type UnreachableHandler } from './types.js';

export interface PeerAddress {
  host: string;
  port: number;
}

export interface BackoffOptions {
  /** First retry delay before jitter (ms). */
  initialMs: number;
  /** Cap on the delay before jitter (ms). */
  maxMs: number;
  multiplier: number;
  /** A connection that stayed up this long resets the backoff (ms). */
  resetAfterMs: number;
}

export interface QueueOptions {
  /** Most messages waiting for one peer. */
  maxMessages: number;
  /** Most encoded bytes waiting for one peer; at least one maximum-size frame. */
  maxBytes: number;
}

/** Structured log events: rejected peers and connection changes, for the runtime's logger. */
export interface TransportLogEvent {
  level: 'info' | 'warn';
  event: 'listening' | 'connected' | 'connectFailed' | 'rejected' | 'dropped';
  peer?: NodeId;
  remote?: string;
  reason?: string;
  detail?: string;
}

export interface TcpTransportOptions<T> {
  id: NodeId;
  cluster: string;
  /** Address to listen on; port 0 picks a free port (read it back with address()). */
  listen: PeerAddress;
  /** Source IP of outbound connections (see the header: applied only where it can reach the peer). */
  localAddress?: string;
  peers: Readonly<Record<NodeId, PeerAddress>>;
  adapter: PayloadAdapter<T>;
  /** Cluster CA plus this node's certificate and key (loadNodeTls). Required unless `insecure`. */
  tls?: NodeTlsMaterial;
  /** Plaintext TCP, no authentication. Only when explicitly set; never together with `tls`. */
  insecure?: boolean;
  maxFrameBytes?: number;
  queue?: Partial<QueueOptions>;
  backoff?: Partial<BackoffOptions>;
  /** Jitter source in [0, 1); inject a seeded one to make delays reproducible. */
  random?: () => number;
  /** Give up on a connect (TCP + TLS handshake) after this long (ms); also the inbound handshake limit. */
  connectTimeoutMs?: number;
  /** Most inbound connections held at once (default 1024); Node closes any beyond it as soon as it is accepted. */
  maxInboundConnections?: number;
  log?: (e: TransportLogEvent) => void;
}

export const DEFAULT_QUEUE: QueueOptions = { maxMessages: 4096, maxBytes: 64 * 1024 * 1024 };
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 50, maxMs: 5000, multiplier: 2, resetAfterMs: 1000 };
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const KEEPALIVE_MS = 5000;

/** The delay before reconnect attempt `attempt` (0-based), given a jitter draw in [0, 1). */
export function backoffDelay(b: BackoffOptions, attempt: number, random: number): number {
  const base = Math.min(b.maxMs, b.initialMs * b.multiplier ** Math.min(attempt, 64));
  return base * (0.5 + 0.5 * random);
}

/** FIFO of encoded frames with byte accounting; a head index keeps shift O(1). */
class FrameQueue {
  private items: Buffer[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(b: Buffer): void {
    this.items.push(b);
    this.bytes += b.length;
  }

  shift(): Buffer | undefined {
    if (this.head === this.items.length) return undefined;
    const b = this.items[this.head]!;
    this.items[this.head++] = undefined as unknown as Buffer; // release the frame now, not at compaction
    this.bytes -= b.length;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return b;
  }

  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return n;
  }
}

type LinkState = 'idle' | 'connecting' | 'connected' | 'backoff';

interface Link {
  readonly id: NodeId;
  addr: PeerAddress;
  queue: FrameQueue;
  state: LinkState;
  socket: net.Socket | null;
  timer: NodeJS.Timeout | null;
  attempt: number;
  connectedAt: number;
  everConnected: boolean;
  waitingDrain: boolean;
  flushScheduled: boolean;
  lastError: Error | null;
  /** This dial is the start-up announcement: write a hello first (see the header). */
  announce: boolean;
}

function validatePeerAddress(a: unknown, what: string, allowPort0: boolean): PeerAddress {
  const o = a as Partial<PeerAddress> | null;
  if (typeof o !== 'object' || o === null || typeof o.host !== 'string' || o.host.length === 0 || o.host.length > 253) {
    throw new TransportError('InvalidArgument', `${what}: host must be a non-empty string`);
  }
  const min = allowPort0 ? 0 : 1;
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < min || o.port > 65535) {
    throw new TransportError('InvalidArgument', `${what}: port must be an integer in ${min}..65535, got ${String(o.port)}`);
  }
  return { host: o.host, port: o.port };
}

/** `host` if it is one specific IP address (not a host name, not the 0.0.0.0 / :: wildcard), else undefined. */
export function specificAddress(host: string): string | undefined {
  if (net.isIP(host) === 0 || host === '0.0.0.0' || /^[0:]+$/.test(host)) return undefined;
  return host;
}

function validateLocalAddress(a: unknown): string | null {
  if (a === undefined) return null;
  // The wildcard is what happens without the option; saying it explicitly is a mistake.
  if (typeof a !== 'string' || specificAddress(a) === undefined) throw new TransportError('InvalidArgument', `localAddress must be one specific IP address, got ${JSON.stringify(a)}`);
  return a;
}

function isLoopback(ip: string): boolean {
  return net.isIPv4(ip) ? ip.startsWith('127.') : ip === '::1' || /^::ffff:127\./i.test(ip);
}

/** The source address to bind a dial to `host` from, or undefined to let the kernel choose (see the header). */
export function sourceAddressFor(local: string | null, host: string): string | undefined {
  if (local === null || net.isIP(host) === 0 || net.isIP(host) !== net.isIP(local)) return undefined;
  if (isLoopback(local) && !isLoopback(host)) return undefined;
  return local;
}

function positive(v: unknown, what: string, min: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new TransportError('InvalidArgument', `${what} must be a number ≥ ${min}, got ${String(v)}`);
  return v;
}

function rejectReasonOf(code: TransportError['code']): RejectReason {
  return code === 'FrameTooLarge' ? 'frameTooLarge' : code === 'UnsupportedVersion' ? 'unsupportedVersion' : 'badFrame';
}

function peerCn(cert: tls.PeerCertificate | null | undefined): string | null {
  const cn = cert?.subject?.CN as unknown;
  return typeof cn === 'string' ? cn : null;
}

export class TcpTransport<T> implements Transport<T> {
  readonly id: NodeId;
  private readonly cluster: string;
  private readonly listenAddr: PeerAddress;
  private readonly localAddress: string | null;
  private readonly adapter: PayloadAdapter<T>;
  private readonly tlsMaterial: NodeTlsMaterial | null;
  private readonly maxFrameBytes: number;
  private readonly queueLimits: QueueOptions;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly connectTimeoutMs: number;
  private readonly maxInboundConnections: number;
  private readonly log: (e: TransportLogEvent) => void;
  private readonly links = new Map<NodeId, Link>();
  private readonly inbound = new Set<net.Socket>();
  /** Every socket we own (outbound, raw accepted, TLS inbound) → resolves on its 'close'; close() awaits all. */
  private readonly sockets = new Map<net.Socket, Promise<void>>();
  private readonly counters: TransportStats = emptyStats();
  private readonly inboundCtx: InboundContext<T>;
  private server: net.Server | null = null;
  private state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  private startPromise: Promise<void> | null = null;
  private closePromise: Promise<void> | null = null;
  private messageHandler: MessageHandler<T> | null = null;
  private unreachableHandler: UnreachableHandler | null = null;

  constructor(options: TcpTransportOptions<T>) {
    this.id = validateNodeId(options.id);
    this.cluster = validateClusterId(options.cluster);
    this.listenAddr = validatePeerAddress(options.listen, 'listen', true);
    this.localAddress = validateLocalAddress(options.localAddress);
    if (typeof options.adapter?.decode !== 'function' || typeof options.adapter.to !== 'function' || typeof options.adapter.from !== 'function') {
      throw new TransportError('InvalidArgument', 'adapter must provide decode, to and from');
    }
    this.adapter = options.adapter;
    if (options.insecure === true) {
      if (options.tls) throw new TransportError('InvalidArgument', 'insecure: true and tls are mutually exclusive');
      this.tlsMaterial = null;
    } else {
      if (options.insecure !== undefined && options.insecure !== false) throw new TransportError('InvalidArgument', 'insecure must be a boolean');
      if (!options.tls) throw new TransportError('InvalidArgument', 'tls material is required unless insecure: true is set explicitly');
      checkNodeTls(options.tls, this.id);
      this.tlsMaterial = options.tls;
    }
    this.maxFrameBytes = validateMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.queueLimits = { ...DEFAULT_QUEUE, ...options.queue };
    if (!Number.isInteger(this.queueLimits.maxMessages) || this.queueLimits.maxMessages < 1) {
      throw new TransportError('InvalidArgument', `queue.maxMessages must be a positive integer, got ${String(this.queueLimits.maxMessages)}`);
    }
    // Any frame the receiver accepts must fit in an empty queue, or a legal message could never be sent.
    positive(this.queueLimits.maxBytes, 'queue.maxBytes', this.maxFrameBytes + HEADER_BYTES);
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    positive(this.backoff.initialMs, 'backoff.initialMs', 1);
    positive(this.backoff.maxMs, 'backoff.maxMs', this.backoff.initialMs);
    positive(this.backoff.multiplier, 'backoff.multiplier', 1);
    positive(this.backoff.resetAfterMs, 'backoff.resetAfterMs', 0);
    this.random = options.random ?? Math.random;
    this.connectTimeoutMs = positive(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'connectTimeoutMs', 1);
    this.maxInboundConnections = options.maxInboundConnections ?? 1024;
    if (!Number.isInteger(this.maxInboundConnections) || this.maxInboundConnections < 1) {
      throw new TransportError('InvalidArgument', `maxInboundConnections must be a positive integer, got ${String(this.maxInboundConnections)}`);
    }
    this.log = options.log ?? (() => {});
    if (typeof options.peers !== 'object' || options.peers === null) throw new TransportError('InvalidArgument', 'peers must be an object of node id → address');
    for (const [id, addr] of Object.entries(options.peers)) this.addPeer(id, addr);
    this.inboundCtx = { self: this.id, cluster: this.cluster, adapter: this.adapter, isPeer: (id) => this.links.has(id) };
  }

  /** Add a peer, or move it to a new address (its current connection is dropped and redialled). */
  addPeer(id: NodeId, addr: PeerAddress): void {
    validateNodeId(id, 'peer id');
    if (id === this.id) throw new TransportError('InvalidArgument', `peer list contains this node (${id})`);
    const a = validatePeerAddress(addr, `peer ${id}`, false);
    const existing = this.links.get(id);
    if (existing) {
      if (existing.addr.host === a.host && existing.addr.port === a.port) return;
      existing.addr = a;
      existing.socket?.destroy();
      return;
    }
    this.links.set(id, {
      id,
      addr: a,
      queue: new FrameQueue(),
      state: 'idle',
      socket: null,
      timer: null,
      attempt: 0,
      connectedAt: 0,
      everConnected: false,
      waitingDrain: false,
      flushScheduled: false,
      lastError: null,
      announce: false,
    });
  }

  /** Forget a peer: its queue is dropped (counted as closed) and its connection closed. */
  removePeer(id: NodeId): void {
    const link = this.links.get(id);
    if (!link) return;
    this.links.delete(id);
    this.counters.dropped.closed += link.queue.clear();
    if (link.timer) clearTimeout(link.timer);
    link.socket?.destroy();
  }

  start(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new TransportError('Closed', `transport ${this.id} is closed`));
    this.startPromise ??= this.listen();
    return this.startPromise;
  }

  /** The address actually listened on (the port is the assigned one when listen.port was 0). */
  address(): PeerAddress {
    const a = this.server?.address();
    if (this.state !== 'running' || !a || typeof a === 'string') throw new TransportError('Closed', `transport ${this.id} is not listening`);
    return { host: a.address, port: a.port };
  }

  send(to: NodeId, msg: T): void {
    checkOutbound(this.adapter, this.id, to, msg);
    if (this.state === 'closed') {
      this.counters.dropped.closed++;
      return;
    }
    const link = this.links.get(to);
    if (!link) {
      this.counters.dropped.unknownPeer++;
      return;
    }
    let frame: Buffer;
    try {
      frame = encodeFrame({ v: PROTOCOL_VERSION, cluster: this.cluster, from: this.id, to, payload: msg }, this.maxFrameBytes);
    } catch (e) {
      if (e instanceof TransportError && e.code === 'FrameTooLarge') {
        this.counters.dropped.tooLarge++;
        this.log({ level: 'warn', event: 'dropped', peer: to, reason: 'tooLarge', detail: e.message });
        return;
      }
      throw e;
    }
    // Evict oldest until the new frame fits (see the header comment for why oldest).
    while (link.queue.length > 0 && (link.queue.length >= this.queueLimits.maxMessages || link.queue.bytes + frame.length > this.queueLimits.maxBytes)) {
      link.queue.shift();
      this.counters.dropped.queueFull++;
    }
    link.queue.push(frame);
    if (link.state === 'connected') this.scheduleFlush(link);
    else if (link.state === 'idle') this.dial(link);
    // 'connecting': flushed on connect. 'backoff': dialled when the timer fires.
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
    const s = copyStats(this.counters);
    for (const link of this.links.values()) {
      s.queuedMessages += link.queue.length;
      s.queuedBytes += link.queue.bytes;
    }
    return s;
  }

  /** Open connections right now (outbound connected + inbound accepted); for tests and health output. */
  connectionCount(): { outbound: number; inbound: number } {
    let outbound = 0;
    for (const l of this.links.values()) if (l.state === 'connected') outbound++;
    return { outbound, inbound: this.inbound.size };
  }

  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async listen(): Promise<void> {
    this.state = 'starting';
    const server = this.tlsMaterial
      ? tls.createServer(
          {
            ca: this.tlsMaterial.ca,
            cert: this.tlsMaterial.cert,
            key: this.tlsMaterial.key,
            minVersion: 'TLSv1.3',
            requestCert: true,
            // Verified by hand in onSecureInbound: with true, Node drops a bad client without telling us why.
            rejectUnauthorized: false,
            // A client that connects and never finishes the handshake must not hold a socket for Node's 120 s.
            handshakeTimeout: this.connectTimeoutMs,
          },
          (socket) => this.onSecureInbound(socket),
        )
      : net.createServer((socket) => this.onInbound(socket, null));
    if (this.tlsMaterial) {
      server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        // Handshake failed: no client certificate at all under TLS 1.2-style failures, the client refusing
        // our certificate, or bytes that are not TLS. Counted; the socket is already being torn down.
        this.counters.rejected.tlsRejected++;
        this.log({ level: 'warn', event: 'rejected', reason: 'tlsRejected', remote: `${socket.remoteAddress}:${socket.remotePort}`, detail: err.message });
        socket.destroy();
      });
    }
    // Track raw accepted sockets too: a TLS client stuck mid-handshake would otherwise keep server.close()
    // waiting, and close() promises that nothing is left open.
    server.on('connection', (socket: net.Socket) => {
      if (this.state === 'closed') socket.destroy();
      else this.track(socket);
    });
    server.on('error', (err) => this.log({ level: 'warn', event: 'rejected', reason: 'serverError', detail: err.message }));
    // Each peer needs one inbound connection (two briefly while it reconnects); the cap stops a flood of
    // idle connections from exhausting file descriptors.
    server.maxConnections = this.maxInboundConnections;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new TransportError('InvalidArgument', `cannot listen on ${this.listenAddr.host}:${this.listenAddr.port}: ${err.message}`));
      server.once('error', onError);
      server.listen({ host: this.listenAddr.host, port: this.listenAddr.port, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    if ((this.state as string) === 'closed') return; // close() ran while we were starting; shutdown closes the server
    this.state = 'running';
    const a = this.address();
    this.log({ level: 'info', event: 'listening', detail: `${a.host}:${a.port}` });
    for (const link of this.links.values()) {
      // A link already dialling or connected carries real frames, which tell the peer as much.
      if (link.state !== 'idle') continue;
      link.announce = true;
      this.dial(link);
    }
  }

  private async shutdown(): Promise<void> {
    const wasStarting = this.startPromise;
    this.state = 'closed';
    for (const link of this.links.values()) {
      this.counters.dropped.closed += link.queue.clear();
      if (link.timer) clearTimeout(link.timer);
      link.timer = null;
      link.socket?.destroy();
      link.socket = null;
      link.state = 'idle';
    }
    for (const s of this.inbound) s.destroy();
    this.inbound.clear();
    if (wasStarting) await wasStarting.catch(() => {});
    const server = this.server;
    const serverClosed = server?.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const s of this.sockets.keys()) s.destroy();
    await Promise.all([serverClosed, ...this.sockets.values()]);
  }

  private track(socket: net.Socket): void {
    if (this.sockets.has(socket)) return;
    this.sockets.set(
      socket,
      new Promise<void>((resolve) =>
        socket.once('close', () => {
          this.sockets.delete(socket);
          resolve();
        }),
      ),
    );
  }

  /** True while anything is open: the listening server or any socket. For tests of close(). */
  hasOpenHandles(): boolean {
    return (this.server?.listening ?? false) || this.sockets.size > 0;
  }

  // ---- outbound -------------------------------------------------------------------------------------

  private dial(link: Link): void {
    if (this.state === 'closed') return;
    link.state = 'connecting';
    link.lastError = null;
    const { host, port } = link.addr;
    const localAddress = sourceAddressFor(this.localAddress, host);
    const source = localAddress !== undefined ? { localAddress } : {};
    const socket: net.Socket = this.tlsMaterial
      ? tls.connect({
          host,
          port,
          ...source,
          ca: this.tlsMaterial.ca,
          cert: this.tlsMaterial.cert,
          key: this.tlsMaterial.key,
          minVersion: 'TLSv1.3',
          rejectUnauthorized: true,
          ...(net.isIP(host) === 0 ? { servername: host } : {}),
          checkServerIdentity: (hostname, cert) => {
            // SAN against the dialled address first (Node's check), then the CN against the peer we meant:
            // an address reused by another node must not receive this peer's traffic.
            const err = tls.checkServerIdentity(hostname, cert);
            if (err) return err;
            const cn = peerCn(cert);
            return cn === link.id ? undefined : new Error(`server certificate names ${JSON.stringify(cn)}, expected ${link.id}`);
          },
        })
      : net.connect({ host, port, ...source });
    link.socket = socket;
    this.track(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.setTimeout(this.connectTimeoutMs, () => socket.destroy(new Error(`connect timed out after ${this.connectTimeoutMs} ms`)));
    socket.once(this.tlsMaterial ? 'secureConnect' : 'connect', () => {
      if (link.socket !== socket) return;
      socket.setTimeout(0);
      link.state = 'connected';
      link.connectedAt = Date.now();
      if (link.everConnected) this.counters.reconnects++;
      link.everConnected = true;
      this.log({ level: 'info', event: 'connected', peer: link.id, remote: `${host}:${port}` });
      if (link.announce) this.sendHello(link, socket);
      this.scheduleFlush(link);
    });
    // The receiver never writes on this connection; reading keeps a stray byte from stalling the socket.
    socket.on('data', () => {});
    socket.on('error', (err) => {
      link.lastError = err;
    });
    socket.on('close', () => this.onOutboundClosed(link, socket));
  }

  private sendHello(link: Link, socket: net.Socket): void {
    link.announce = false;
    const hello = encodeFrame({ v: PROTOCOL_VERSION, cluster: this.cluster, from: this.id, to: link.id, payload: null }, this.maxFrameBytes);
    this.counters.framesSent++;
    this.counters.bytesSent += hello.length;
    socket.write(hello);
  }

  private onOutboundClosed(link: Link, socket: net.Socket): void {
    if (link.socket !== socket) return;
    link.socket = null;
    link.announce = false;
    link.waitingDrain = false;
    if (this.state === 'closed' || this.links.get(link.id) !== link) return;
    const wasUp = link.state === 'connected';
    if (wasUp && Date.now() - link.connectedAt >= this.backoff.resetAfterMs) link.attempt = 0;
    this.counters.connectFailures++;
    const delay = backoffDelay(this.backoff, link.attempt++, this.random());
    this.log({
      level: 'warn',
      event: 'connectFailed',
      peer: link.id,
      remote: `${link.addr.host}:${link.addr.port}`,
      reason: wasUp ? 'connectionLost' : 'connectFailed',
      // With nothing queued (a failed hello, or a link that had said everything) the timer only ends the
      // backoff: the next message dials then, not before.
      detail: `${link.lastError?.message ?? 'closed by peer'}; ${link.queue.length > 0 ? 'retry' : 'nothing queued, so no redial: the next message dials, at the earliest'} in ${Math.round(delay)} ms`,
    });
    link.state = 'backoff';
    link.timer = setTimeout(() => {
      link.timer = null;
      if (this.state === 'closed' || this.links.get(link.id) !== link) return;
      // Redial only when there is something to say; the next send dials otherwise.
      if (link.queue.length > 0) this.dial(link);
      else link.state = 'idle';
    }, delay);
    // Close events are asynchronous, so this never runs inside send().
    this.unreachableHandler?.(link.id);
  }

  /** `id` has just dialled us (authenticated): a backoff towards it is cut short (see the header). */
  private peerIsUp(id: NodeId): void {
    const link = this.links.get(id);
    if (!link || link.state !== 'backoff' || this.state === 'closed') return;
    if (link.timer) clearTimeout(link.timer);
    link.timer = null;
    if (link.queue.length > 0) this.dial(link);
    else link.state = 'idle';
  }

  private scheduleFlush(link: Link): void {
    if (link.flushScheduled) return;
    link.flushScheduled = true;
    // One flush per tick: the messages of one Ready leave in a single corked write.
    queueMicrotask(() => {
      link.flushScheduled = false;
      this.flush(link);
    });
  }

  private flush(link: Link): void {
    const socket = link.socket;
    if (link.state !== 'connected' || !socket || link.waitingDrain || socket.destroyed) return;
    socket.cork();
    try {
      for (;;) {
        const frame = link.queue.shift();
        if (!frame) break;
        this.counters.framesSent++;
        this.counters.bytesSent += frame.length;
        if (!socket.write(frame)) {
          // Backpressure: the rest waits in our bounded queue, not in the socket's unbounded buffer.
          link.waitingDrain = true;
          socket.once('drain', () => {
            if (link.socket !== socket) return;
            link.waitingDrain = false;
            this.flush(link);
          });
          break;
        }
      }
    } finally {
      socket.uncork();
    }
  }

  // ---- inbound --------------------------------------------------------------------------------------

  private onSecureInbound(socket: tls.TLSSocket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.state === 'closed') {
      socket.destroy();
      return;
    }
    if (!socket.authorized) {
      this.reject(socket, 'tlsRejected', `client certificate refused: ${String(socket.authorizationError ?? 'no certificate')}`, remote);
      return;
    }
    const cn = peerCn(socket.getPeerCertificate());
    if (cn === null || cn === this.id || !this.links.has(cn)) {
      this.reject(socket, 'unknownPeer', `cluster certificate names ${JSON.stringify(cn)}, not a configured peer`, remote);
      return;
    }
    this.onInbound(socket, cn);
  }

  private reject(socket: net.Socket, reason: RejectReason, detail: string, remote: string, peer?: NodeId): void {
    this.counters.rejected[reason]++;
    this.log({ level: 'warn', event: 'rejected', reason, remote, detail, ...(peer !== undefined ? { peer } : {}) });
    socket.destroy();
  }

  private onInbound(socket: net.Socket, identity: NodeId | null): void {
    if (this.state === 'closed') {
      socket.destroy();
      return;
    }
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.inbound.add(socket);
    this.track(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    const decoder = new FrameDecoder({ maxFrameBytes: this.maxFrameBytes });
    let bound = identity;
    if (identity !== null) this.peerIsUp(identity);
    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = decoder.push(chunk);
      for (const { envelope, bytes } of frames) {
        if (socket.destroyed || this.state === 'closed') return;
        this.counters.framesReceived++;
        this.counters.bytesReceived += bytes;
        const verdict = checkInbound(envelope, this.inboundCtx, bound);
        if (verdict.kind === 'reject') {
          this.reject(socket, verdict.reason, verdict.detail, remote, bound ?? undefined);
          return;
        }
        if (bound === null && !(verdict.kind === 'drop' && (verdict.reason === 'wrongCluster' || verdict.reason === 'unknownSender'))) {
          // Insecure mode: the first frame from a known peer of this cluster binds the connection.
          bound = envelope.from;
          this.peerIsUp(bound);
        }
        if (verdict.kind === 'drop') {
          this.counters.dropped[verdict.reason]++;
          this.log({ level: 'warn', event: 'dropped', reason: verdict.reason, remote, detail: verdict.detail, ...(bound !== null ? { peer: bound } : {}) });
          continue;
        }
        if (verdict.kind === 'hello') continue; // it has done its work: bound the connection, peerIsUp
        this.counters.delivered++;
        this.messageHandler?.(verdict.msg, verdict.from);
      }
      if (error && !socket.destroyed) this.reject(socket, rejectReasonOf(error.code), error.message, remote, bound ?? undefined);
    });
    socket.on('error', () => {}); // resets from peers going away; 'close' follows and cleans up
    socket.on('close', () => this.inbound.delete(socket));
  }
}
