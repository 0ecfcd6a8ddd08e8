/** Public API of raft-ipam. Everything not exported here is internal and may change. */
export { OverlayError, ErrorCodes, isOverlayError, ApplyFailure, type ErrorCode } from './ipam/errors.js';
export { parseAddress, parseCidr, canonicalAddress, formatV4, formatV6, type Family, type ParsedAddress, type ParsedCidr } from './ipam/address.js';
export { IpAllocator, firstIpFromCidr, type IpAllocatorState } from './ipam/ip-allocator.js';
export { NodeSliceAllocator, type NodeSliceAllocatorSnapshot } from './ipam/node-slice-allocator.js';
export { fnv1a64, fnvToBigInt } from './ipam/fnv.js';
export {
  IpamStateMachine,
  type ApplyResult,
  type AllocationResult,
  type AllocationRecord,
  type NetworkConfigured,
  type SlicesAssigned,
  type SlicesReleased,
  type AddressReleased,
  type OwnerReleased,
  type CommandResults,
  type CommandResult,
  type ResultOf,
  type SessionOpened,
  type SessionClosed,
  type SessionsConfigured,
  type EntryOutcome,
  type AppliedEntry,
  type SessionRefusal,
  type SessionRefusalCode,
  type InvalidEntry,
} from './ipam/state-machine.js';
export { encodeEntry, decodeEntry, type LogEntryBody, type SessionTag } from './ipam/log-entry.js';
export {
  parseCommand,
  COMMAND_TYPES,
  MIN_SESSION_TTL_MS,
  MAX_SESSION_TTL_MS,
  type IpamCommand,
  type CommandType,
  type CommandOf,
} from './ipam/commands.js';
export { DEFAULT_SESSION_TTL_MS, MAX_SESSIONS, MAX_RESULTS_PER_SESSION, MAX_CACHED_RESULTS } from './ipam/sessions.js';
export { importSeedState, type SeedImport } from './ipam/seed-import.js';
