/**
 * @internal
 * Hooks for the simulator and the tests: deliberate bugs and a view of a core's log. Not exported from
 * the public entry point (src/raft/index.ts), and stripped from the published declarations
 * (stripInternal), so nothing embedding raft-ipam can reach them by accident.
 */
/** @internal */
export { withTestingKnobs, logView, type TestingKnobs, type LogView } from './raft.js';
