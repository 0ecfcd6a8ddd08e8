import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { IpamStateMachine } from '../../src/ipam/state-machine.js';
import { nodeMetrics, type MetricsSource } from '../../src/node/node-metrics.js';
import { emptyStats, type TransportStats } from '../../src/transport/types.js';

function source(stats: () => TransportStats): MetricsSource {
  const sm = new IpamStateMachine();
  const status = { id: 'n1', role: 'follower', term: 3, vote: null, lead: 'n2', commit: 10, applied: 9, lastIndex: 10, snapshotIndex: 0, conf: { voters: ['n1', 'n2', 'n3'], learners: [] } } as ReturnType<MetricsSource['status']>;
  return { status: () => status, stateMachine: () => sm, transportStats: stats };
}

describe('node metrics', () => {
  it("exports the peer transport's counters at scrape time: traffic, drops and rejections by reason, queued messages", async () => {
    const registry = new Registry();
    const stats = emptyStats();
    nodeMetrics(registry, () => source(() => stats));
    stats.framesSent = 12;
    stats.bytesSent = 3400;
    stats.framesReceived = 11;
    stats.bytesReceived = 2900;
    stats.reconnects = 2;
    stats.connectFailures = 5;
    stats.dropped.wrongCluster = 4;
    stats.rejected.badFrame = 1;
    stats.rejected.tlsRejected = 3;
    stats.queuedMessages = 7;
    const text = await registry.metrics();
    for (const line of [
      'raft_ipam_transport_frames_sent_total 12',
      'raft_ipam_transport_bytes_sent_total 3400',
      'raft_ipam_transport_frames_received_total 11',
      'raft_ipam_transport_bytes_received_total 2900',
      'raft_ipam_transport_reconnects_total 2',
      'raft_ipam_transport_connect_failures_total 5',
      'raft_ipam_transport_frames_dropped_total{reason="wrongCluster"} 4',
      'raft_ipam_transport_frames_dropped_total{reason="queueFull"} 0',
      'raft_ipam_transport_connections_rejected_total{reason="badFrame"} 1',
      'raft_ipam_transport_connections_rejected_total{reason="tlsRejected"} 3',
      'raft_ipam_transport_queued_messages 7',
      'raft_ipam_raft_term 3',
    ]) {
      expect(text).toContain(`${line}\n`);
    }
    // Read again at the next scrape, not accumulated on top of the last one.
    stats.framesSent = 20;
    stats.dropped.wrongCluster = 6;
    const again = await registry.metrics();
    expect(again).toContain('raft_ipam_transport_frames_sent_total 20\n');
    expect(again).toContain('raft_ipam_transport_frames_dropped_total{reason="wrongCluster"} 6\n');
  });

  it('before the node has started (no source yet) the transport counters read 0', async () => {
    const registry = new Registry();
    nodeMetrics(registry, () => undefined);
    const text = await registry.metrics();
    expect(text).toContain('raft_ipam_transport_frames_sent_total 0\n');
    expect(text).not.toMatch(/raft_ipam_transport_frames_dropped_total\{/);
  });
});
