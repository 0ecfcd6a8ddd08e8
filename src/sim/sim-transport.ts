/**
 * The production Transport<Message> interface over the simulated network, one per node and life: what a
 * Replica sends goes to SimNetwork (delay, loss, duplication, partitions), and what arrives is validated
 * with parseMessage, as the TCP and memory transports validate every decoded frame, before the replica
 * sees it. Messages travel as objects (no msgpack round trip, to keep seeds fast), but the validator hands
 * the receiver a fresh copy, so no two nodes ever share a message object.
 */
import { parseMessage } from '../raft/message-parse.js';
import type { Message } from '../raft/types.js';
import { TransportError } from '../transport/errors.js';
import { copyStats, emptyStats, type MessageHandler, type NodeId, type Transport, type TransportStats, type UnreachableHandler } from '../transport/types.js';
import type { SimNetwork } from './network.js';

export class SimTransport implements Transport<Message> {
  private handler: MessageHandler<Message> | undefined;
  private closed = false;
  private readonly counters: TransportStats = emptyStats();

  constructor(
    readonly id: NodeId,
    private readonly network: SimNetwork,
  ) {}

  async start(): Promise<void> {
    if (this.closed) throw new TransportError('Closed', `transport ${this.id} is closed`);
  }

  send(to: NodeId, msg: Message): void {
    // The same caller-bug check the real transports make: a message must name this node and the target.
    if (msg.to !== to || msg.from !== this.id) throw new TransportError('InvalidArgument', `send: message ${msg.from}→${msg.to} sent by ${this.id} to ${to}`);
    if (this.closed) {
      this.counters.dropped.closed++;
      return;
    }
    this.counters.framesSent++;
    this.network.send(msg);
  }

  onMessage(handler: MessageHandler<Message>): void {
    this.handler = handler;
  }

  /**
   * The simulated network loses messages silently, as a lossy link does: it never learns that a peer is
   * unreachable, so this handler is kept only to honour the interface and is never called.
   */
  onPeerUnreachable(_handler: UnreachableHandler): void {}

  stats(): TransportStats {
    return copyStats(this.counters);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * A message arrives for this node. Returns false if the transport is closed (the node died with it).
   * Throws RaftError('InvalidMessage') if the validator refuses it: every message here was produced by a
   * core, so a refusal means a core built a malformed message (a violation, not a network fault).
   */
  arrive(msg: Message): boolean {
    if (this.closed || !this.handler) return false;
    this.counters.framesReceived++;
    const parsed = parseMessage(msg);
    this.counters.delivered++;
    this.handler(parsed, msg.from);
    return true;
  }
}
