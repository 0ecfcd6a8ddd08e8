/**
 * The harness-controlled network of one cluster: a relay (relay.ts) in front of every node's peer
 * listener, and the table of cut links. A link is directed: `from → to` carries the messages `from` sends
 * to `to`, on the connection `from` dialled, through `to`'s relay. Cutting it blocks dialer `from` at
 * `to`'s relay; the reverse link is separate (see relay.ts for what a one-way cut means for TCP).
 *
 * Only peer traffic passes the relays. Clients (the harness itself, tests) reach every node's HTTP API
 * directly, as a client on that node's side of any partition would.
 */
import { CUT_MODES, Relay, type CutMode, type HostPort, type RelayConnectionView } from './relay.js';

export type { CutMode, RelayConnectionView } from './relay.js';

export interface Cut {
  from: string;
  to: string;
  mode: CutMode;
}

export interface FlapOptions {
  /** How long the link stays cut, then open, per cycle (ms). */
  downMs: number;
  upMs: number;
  mode?: CutMode;
  /** Cut both directions together (default: only from → to). */
  both?: boolean;
}

export interface Flapper {
  /** Stop flapping and leave the link open. */
  stop(): void;
}

export class Network {
  private readonly relays = new Map<string, Relay>();
  /** node id → its IP, and back: the relays identify dialers by source IP. */
  private readonly hostOf = new Map<string, string>();
  private readonly idAt = new Map<string, string>();
  private readonly flappers = new Set<{ stop(): void }>();

  /** Put a relay in front of node `id`, which listens at `target` and dials from `host`. Resolves to the relay's address. */
  async add(id: string, host: string, target: HostPort): Promise<HostPort> {
    if (this.relays.has(id)) throw new Error(`node ${id} already has a relay`);
    const other = this.idAt.get(host);
    if (other !== undefined) throw new Error(`${host} is already ${other}'s address; a relay tells nodes apart by source IP, so each needs its own`);
    // Same IP as the node, another port: the node's TLS certificate (SAN = its IP) stays valid for the relay's address.
    const relay = await Relay.start({ listen: { host, port: 0 }, target, identify: (ip) => this.idAt.get(ip) });
    this.relays.set(id, relay);
    this.hostOf.set(id, host);
    this.idAt.set(host, id);
    return relay.address();
  }

  /** Close node `id`'s relay and forget every cut that involves it. */
  async remove(id: string): Promise<void> {
    const relay = this.relay(id);
    for (const [other, r] of this.relays) if (other !== id) r.unblock(id);
    this.relays.delete(id);
    this.idAt.delete(this.hostOf.get(id) as string);
    this.hostOf.delete(id);
    await relay.close();
  }

  ids(): string[] {
    return [...this.relays.keys()];
  }

  /** The address peers dial to reach `id`. */
  relayAddress(id: string): HostPort {
    return this.relay(id).address();
  }

  /**
   * The connections through `id`'s relay now, each with the member its source IP identified (null: a
   * stranger, which no cut can block): how a test checks that a backend's nodes dial from their own IP.
   */
  connections(id: string): RelayConnectionView[] {
    return this.relay(id).connections();
  }

  /** Cut the link from → to: `from`'s messages stop reaching `to` ('drop': silently; 'reset': refused). */
  cut(from: string, to: string, mode: CutMode = 'drop'): void {
    this.checkLink(from, to);
    checkMode(mode);
    this.relay(to).block(from, mode);
  }

  /** Cut both directions between a and b. */
  cutBoth(a: string, b: string, mode: CutMode = 'drop'): void {
    this.cut(a, b, mode);
    this.cut(b, a, mode);
  }

  /**
   * Make the network exactly this partition: every link between nodes of different groups cut both ways,
   * every other cut healed. Nodes named in no group form one more group together, so
   * `partition([['n1']])` isolates n1 from everyone.
   */
  partition(groups: readonly (readonly string[])[], mode: CutMode = 'drop'): void {
    checkMode(mode);
    if (!Array.isArray(groups) || groups.length === 0) throw new TypeError('partition needs at least one group');
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => {
      if (!Array.isArray(g) || g.length === 0) throw new TypeError(`group ${i} must be a non-empty array of node ids`);
      for (const id of g) {
        this.relay(id);
        if (groupOf.has(id)) throw new TypeError(`${id} is in two groups`);
        groupOf.set(id, i);
      }
    });
    for (const id of this.relays.keys()) if (!groupOf.has(id)) groupOf.set(id, groups.length);
    this.heal();
    for (const [a, ga] of groupOf) for (const [b, gb] of groupOf) if (ga !== gb) this.relay(b).block(a, mode);
  }

  /** Cut every link to and from `id`. */
  isolate(id: string, mode: CutMode = 'drop'): void {
    this.relay(id);
    for (const other of this.relays.keys()) if (other !== id) this.cutBoth(id, other, mode);
  }

  /** Open the link from → to again (held bytes go on). */
  healLink(from: string, to: string): void {
    this.checkLink(from, to);
    this.relay(to).unblock(from);
  }

  /** Open every link and stop every flapping one. */
  heal(): void {
    for (const f of [...this.flappers]) f.stop();
    for (const r of this.relays.values()) for (const from of r.blocks().keys()) r.unblock(from);
  }

  /** The links cut right now, sorted. */
  cuts(): Cut[] {
    const out: Cut[] = [];
    for (const [to, r] of this.relays) for (const [from, mode] of r.blocks()) out.push({ from, to, mode });
    return out.sort((x, y) => (x.from === y.from ? (x.to < y.to ? -1 : 1) : x.from < y.from ? -1 : 1));
  }

  /** Cut and open a link in a loop (cut first) until stopped or healed. */
  flap(from: string, to: string, options: FlapOptions): Flapper {
    this.checkLink(from, to);
    const mode = options.mode ?? 'drop';
    checkMode(mode);
    for (const k of ['downMs', 'upMs'] as const) {
      const v = options[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 1) throw new TypeError(`${k} must be a positive number of ms, got ${String(v)}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const set = (down: boolean): void => {
      for (const [a, b] of options.both ? [[from, to], [to, from]] : [[from, to]]) {
        const relay = this.relays.get(b as string);
        if (!relay) continue; // the node left meanwhile
        if (down) relay.block(a as string, mode);
        else relay.unblock(a as string);
      }
      timer = setTimeout(() => set(!down), down ? options.downMs : options.upMs);
    };
    const flapper = {
      stop: (): void => {
        if (!this.flappers.delete(flapper)) return;
        clearTimeout(timer);
        set(false);
        clearTimeout(timer);
      },
    };
    this.flappers.add(flapper);
    set(true);
    return flapper;
  }

  async close(): Promise<void> {
    for (const f of [...this.flappers]) f.stop();
    await Promise.all([...this.relays.values()].map((r) => r.close()));
    this.relays.clear();
    this.hostOf.clear();
    this.idAt.clear();
  }

  private relay(id: string): Relay {
    const r = this.relays.get(id);
    if (!r) throw new TypeError(`unknown node ${JSON.stringify(id)} (known: ${[...this.relays.keys()].join(', ')})`);
    return r;
  }

  private checkLink(from: string, to: string): void {
    this.relay(from);
    this.relay(to);
    if (from === to) throw new TypeError(`a link needs two nodes, got ${from} → ${to}`);
  }
}

function checkMode(mode: unknown): asserts mode is CutMode {
  if (!CUT_MODES.includes(mode as CutMode)) throw new TypeError(`mode must be one of ${CUT_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
}
