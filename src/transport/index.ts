/** Public API of the transport layer (explicit export list: GUIDE §2 example 9). */
export { TransportError, TransportErrorCodes, isTransportError, isValidNodeId, validateNodeId, type TransportErrorCode } from './errors.js';
export {
  DropReasons,
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
