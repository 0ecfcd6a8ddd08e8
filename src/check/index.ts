/**
 * Public API of raft-ipam/check: the history format and recorder a chaos run uses, the checker it calls
 * at the end, and the failure report it writes. No dependency on any cluster harness.
 */
export { HistoryError, HistoryErrorCodes, type HistoryErrorCode } from './errors.js';
export { parseOperation, isRead, MAX_READ_LIMIT, type Operation, type RecordedCommand, type ReadQuery, type ListNetworks, type ListSlices, type ListAllocations } from './operations.js';
export { HistoryRecorder, parseHistory, parseRecord, toJsonLines, type HistoryOp, type Outcome, type ProcessId, type RecorderOptions } from './history.js';
export { failureKind, outcomeOfError, outcomeOfRefusal, type FailureKind } from './outcomes.js';
export { perform } from './client-ops.js';
export { checkHistory, validateHistory, type CheckOptions, type CheckReport, type Verdict } from './check-history.js';
export {
  checkLinearizability,
  DEFAULT_MAX_STATES,
  type LinearizabilityOptions,
  type LinearizabilityResult,
  type LinearizabilityFailure,
  type PartReport,
  type PartStatus,
} from './linearizability.js';
export {
  exclusiveHolding,
  generationIdentity,
  finalStateViolations,
  convergenceViolations,
  parseFinalState,
  parseNodeStates,
  type FinalState,
  type NodeState,
  type Violation,
  type DirectCheck,
} from './direct-checks.js';
export { renderTimeline, renderReport, writeFailureReport, type TimelineOptions } from './timeline.js';
export { describeOperation, describeOutcome } from './describe.js';
