/** Public API of raft-ipam/api: the HTTP server over a NodeService, its client, and the wire types. */
export { createApiServer, DEFAULT_BODY_LIMIT, type ApiServerOptions } from './server.js';
export { IpamClient, IpamClientError, type IpamClientOptions, type ClientErrorKind, type SnapshotDownload } from './client.js';
export { createMetrics, httpMetrics, METRIC_PREFIX, type Metrics, type HttpMetrics } from './metrics.js';
export { statusForCode, retryAfterFor, statusTable, ApiErrorCodes, UNMAPPED_STATUS, type ApiErrorCode } from './status-codes.js';
export type {
  Envelope,
  WireError,
  NetworkSummary,
  NetworkUsageView,
  NetworkSlicesView,
  SliceView,
  AllocationsView,
  AllocationView,
  AddMemberRequest,
  SessionOpened,
  SessionClosed,
} from './wire.js';
export { SNAPSHOT_CONTENT_TYPE, SNAPSHOT_HEADERS } from './wire.js';
