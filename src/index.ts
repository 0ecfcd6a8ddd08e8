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
} from './ipam/state-machine.js';
export { encodeEntry, decodeEntry, type LogEntryBody } from './ipam/log-entry.js';
export { parseCommand, COMMAND_TYPES, type IpamCommand, type CommandType } from './ipam/commands.js';
export { importSeedState, type SeedImport } from './ipam/seed-import.js';
