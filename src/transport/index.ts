/** Public API of the transport layer (explicit export list: GUIDE §2 example 9). */
export { TransportError, TransportErrorCodes, isTransportError, isValidNodeId, validateNodeId, type TransportErrorCode } from './errors.js';
export {
  DropReasons,
  addressedAdapter,
  RejectReasons,
  type DropReason,
  type MessageHandler,
  type NodeId,
  type PayloadAdapter,
  type RejectReason,
  type Transport,
  type TransportStats,
  type UnreachableHandler,
} from './types.js';
export { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, PROTOCOL_VERSION, encodeFrame, parseEnvelope, type DecodeResult, type DecodedFrame, type Envelope } from './frame.js';
export { checkInbound, type InboundVerdict } from './checks.js';
export { MemoryNetwork, MemoryTransport, type DeliveryFilter, type InFlight, type MemoryNetworkOptions, type MemoryNetworkStats } from './memory.js';
export {
  TcpTransport,
  DEFAULT_BACKOFF,
  DEFAULT_QUEUE,
  backoffDelay,
  type BackoffOptions,
  type PeerAddress,
  type QueueOptions,
  type TcpTransportOptions,
  type TransportLogEvent,
} from './tcp.js';
export {
  DEFAULT_CERT_DAYS,
  DEFAULT_CERT_IPS,
  certFiles,
  checkNodeTls,
  loadNodeTls,
  writeClusterCerts,
  type ClusterCerts,
  type NodeTlsMaterial,
  type PemPair,
} from './certs.js';
export { createClusterCa, createClusterCerts, createNodeCert, type ClusterCa, type CreateCertsOptions } from './cert-authority.js';
