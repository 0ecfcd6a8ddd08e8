/**
 * Prometheus metrics. One Registry per node process: createMetrics() makes it with the default process
 * metrics and the HTTP ones this layer records; the node runtime registers its own on the same Registry
 * (pass `registers: [metrics.registry]` to each prom-client metric it creates), and GET /metrics serves
 * them all:
 *
 *   const metrics = createMetrics();
 *   const term = new Gauge({ name: 'raft_ipam_raft_term', help: 'current Raft term', registers: [metrics.registry] });
 *   new Gauge({ name: 'raft_ipam_addresses_allocated', help: '…', labelNames: ['network'], registers: [metrics.registry],
 *               collect() { for (const n of usage()) this.set({ network: n.name }, n.addressesAllocated); } });
 *   createApiServer(node, { metrics: metrics.registry });
 *
 * A gauge computed from state should use `collect()` (run at scrape time) rather than being set on every
 * apply: the apply loop then pays nothing for metrics nobody scrapes.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export const METRIC_PREFIX = 'raft_ipam_';

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route' | 'status'>;
}

export interface Metrics {
  registry: Registry;
  http: HttpMetrics;
}

/** Sub-millisecond to multi-second: a stale read answers in microseconds, a command waits for an fsync quorum. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The HTTP metrics on `registry`, created once: a second server on the same Registry (tests, a restart in
 * one process) reuses them instead of failing on a duplicate name.
 */
export function httpMetrics(registry: Registry): HttpMetrics {
  const requests = registry.getSingleMetric(`${METRIC_PREFIX}http_requests_total`);
  const duration = registry.getSingleMetric(`${METRIC_PREFIX}http_request_duration_seconds`);
  if (requests instanceof Counter && duration instanceof Histogram) {
    return { requests, duration } as HttpMetrics;
  }
  return {
    requests: new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'HTTP request latency from arrival to the response, by method, route template and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
  };
}

/** A Registry with the default process metrics (prefixed) and the HTTP metrics. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return { registry, http: httpMetrics(registry) };
}
