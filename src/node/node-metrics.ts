/**
 * The node's Prometheus metrics: counters and histograms fed by the replica's observer as things happen,
 * and gauges computed from state at scrape time (collect()), so the apply loop pays nothing for gauges
 * nobody scrapes. Registered on the process's Registry next to the HTTP metrics (src/api/metrics.ts).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { IpamStateMachine } from '../ipam/state-machine.js';
import type { RaftCore } from '../raft/raft.js';
import type { TransportStats } from '../transport/types.js';
import type { ClusterOut } from './cluster-app.js';
import type { ReplicaObserver } from './replica.js';

const P = 'raft_ipam_';
/** Per-slice gauges stop here: a label per slice of a 65,536-slice network would swamp any Prometheus. */
export const MAX_SLICE_SERIES = 4096;

export interface MetricsSource {
  status(): ReturnType<RaftCore['status']>;
  stateMachine(): IpamStateMachine;
  transportStats?(): TransportStats;
}

export function nodeMetrics(registry: Registry, source: () => MetricsSource | undefined): ReplicaObserver<ClusterOut> {
  const r = [registry];
  const leaderChanges = new Counter({ name: `${P}leader_changes_total`, help: 'times this node saw the leader change (including to none)', registers: r });
  const applied = new Counter({ name: `${P}entries_applied_total`, help: 'log entries applied to the state machine', labelNames: ['type'] as const, registers: r });
  const refused = new Counter({ name: `${P}commands_refused_total`, help: 'applied commands the state machine refused, by error code', labelNames: ['code'] as const, registers: r });
  const fsync = new Histogram({
    name: `${P}storage_persist_seconds`,
    help: 'time to make one Ready durable (one synced LevelDB batch: group commit)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: r,
  });
  const persistedEntries = new Counter({ name: `${P}storage_entries_persisted_total`, help: 'log entries made durable', registers: r });
  const snapshots = new Counter({ name: `${P}snapshots_total`, help: 'snapshots taken here or installed from the leader', labelNames: ['kind'] as const, registers: r });
  const snapshotBytes = new Counter({ name: `${P}snapshot_bytes_total`, help: 'snapshot bytes sent to followers or received from the leader', labelNames: ['direction'] as const, registers: r });
  const inboxDrops = new Counter({ name: `${P}inbox_dropped_total`, help: 'peer messages dropped while storage was busy (Raft retransmits)', registers: r });

  const raft = (f: (s: ReturnType<RaftCore['status']>) => number) =>
    function (this: Gauge): void {
      const s = source()?.status();
      if (s) this.set(f(s));
    };
  new Gauge({ name: `${P}raft_term`, help: 'current Raft term', registers: r, collect: raft((s) => s.term) });
  new Gauge({ name: `${P}raft_commit_index`, help: 'highest log index known committed', registers: r, collect: raft((s) => s.commit) });
  new Gauge({ name: `${P}raft_applied_index`, help: 'highest log index applied to the state machine', registers: r, collect: raft((s) => s.applied) });
  new Gauge({ name: `${P}raft_apply_lag_entries`, help: 'committed entries not yet applied (commit − applied)', registers: r, collect: raft((s) => s.commit - s.applied) });
  new Gauge({ name: `${P}raft_is_leader`, help: '1 when this node is the leader', registers: r, collect: raft((s) => (s.role === 'leader' ? 1 : 0)) });
  new Gauge({ name: `${P}raft_snapshot_index`, help: 'index of the latest snapshot', registers: r, collect: raft((s) => s.snapshotIndex) });
  const perNetwork = (name: string, help: string, value: (u: NonNullable<ReturnType<IpamStateMachine['networkUsage']>>) => number): void => {
    new Gauge({
      name: `${P}${name}`,
      help,
      labelNames: ['network'] as const,
      registers: r,
      collect(this: Gauge<'network'>) {
        const sm = source()?.stateMachine();
        if (!sm) return;
        this.reset();
        for (const n of sm.networks()) {
          const usage = sm.networkUsage(n.name);
          if (usage) this.set({ network: n.name }, value(usage));
        }
      },
    });
  };
  transportMetrics(r, () => source()?.transportStats?.());
  perNetwork('addresses_allocated', 'allocated addresses per network', (u) => u.addressesAllocated);
  perNetwork('slices_assigned', 'assigned node slices per network', (u) => u.slicesAssigned);
  new Gauge({
    name: `${P}slice_addresses`,
    help: `addresses per node slice, allocated and free (first ${MAX_SLICE_SERIES} slices per network)`,
    labelNames: ['network', 'node', 'state'] as const,
    registers: r,
    collect(this: Gauge<'network' | 'node' | 'state'>) {
      const sm = source()?.stateMachine();
      if (!sm) return;
      this.reset();
      for (const n of sm.networks()) {
        for (const s of (sm.slices(n.name) ?? []).slice(0, MAX_SLICE_SERIES)) {
          this.set({ network: n.name, node: s.nodeId, state: 'allocated' }, s.allocated);
          // Free counts beyond 2^53 (huge IPv6 slices) are reported as +Inf rather than a rounded lie.
          this.set({ network: n.name, node: s.nodeId, state: 'free' }, s.available <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s.available) : Number.POSITIVE_INFINITY);
        }
      }
    },
  });

  let lastLead: string | null = null;
  return {
    persisted(batch, ms) {
      fsync.observe(ms / 1000);
      persistedEntries.inc(batch.entries);
    },
    applied(entry, out) {
      applied.inc({ type: entry.type === 'conf' ? 'conf' : entry.data.length === 0 ? 'noop' : out?.kind === 'member' ? 'member' : 'command' });
      if (out?.kind === 'ipam' && !out.result.ok) refused.inc({ code: out.result.error.code });
    },
    softState(state) {
      if (state.lead === lastLead) return;
      lastLead = state.lead;
      leaderChanges.inc();
    },
    snapshotTaken() {
      snapshots.inc({ kind: 'taken' });
    },
    snapshotInstalled() {
      snapshots.inc({ kind: 'installed' });
    },
    snapshotTraffic(direction, bytes) {
      snapshotBytes.inc({ direction }, bytes);
    },
    inboxDropped() {
      inboxDrops.inc();
    },
  };
}

/**
 * The peer transport's own counters, read at scrape time: traffic, and every frame dropped or connection
 * rejected by reason (a peer sending garbage, a wrong certificate, a full queue to a slow peer). Counters
 * in Prometheus terms (they only grow), set from the transport's totals.
 */
function transportMetrics(r: Registry[], stats: () => TransportStats | undefined): void {
  const total = (name: string, help: string, value: (s: TransportStats) => number): void => {
    new Counter({
      name: `${P}${name}`,
      help,
      registers: r,
      collect(this: Counter) {
        const s = stats();
        if (!s) return;
        this.reset();
        this.inc(value(s));
      },
    });
  };
  total('transport_frames_sent_total', 'peer frames written to a socket', (s) => s.framesSent);
  total('transport_bytes_sent_total', 'peer frame bytes written to a socket', (s) => s.bytesSent);
  total('transport_frames_received_total', 'well-formed peer frames read off a socket', (s) => s.framesReceived);
  total('transport_bytes_received_total', 'peer frame bytes read off a socket', (s) => s.bytesReceived);
  total('transport_reconnects_total', 'outbound peer connections made again after the first', (s) => s.reconnects);
  total('transport_connect_failures_total', 'outbound peer connection attempts that failed or connections lost', (s) => s.connectFailures);
  const byReason = (name: string, help: string, value: (s: TransportStats) => Record<string, number>): void => {
    new Counter({
      name: `${P}${name}`,
      help,
      labelNames: ['reason'] as const,
      registers: r,
      collect(this: Counter<'reason'>) {
        const s = stats();
        if (!s) return;
        this.reset();
        for (const [reason, n] of Object.entries(value(s))) this.inc({ reason }, n);
      },
    });
  };
  byReason('transport_frames_dropped_total', 'peer messages dropped, by reason (queueFull, wrongCluster, badPayload, …)', (s) => s.dropped);
  byReason('transport_connections_rejected_total', 'peer connections closed for breaking the protocol or failing authentication, by reason', (s) => s.rejected);
  new Gauge({
    name: `${P}transport_queued_messages`,
    help: 'messages waiting in the per-peer send queues',
    registers: r,
    collect(this: Gauge) {
      const s = stats();
      if (s) this.set(s.queuedMessages);
    },
  });
}
