/**
 * Exit codes of the raft-ipam CLI, the same for every command, so scripts can branch on them:
 * 0 ok · 1 refused by the state machine (or a membership refusal) · 2 usage or validation error (bad flag,
 * malformed value, wrong token) · 3 cluster unavailable (no answer before the deadline, or the outcome of
 * a command is unknown). Errors print as `error [CODE]: message` on stderr.
 * check-history reads them the same way: 0 the history passed · 1 a violation · 2 a malformed history
 * (HistoryError) or bad flag · 3 unknown (the search ran out of budget).
 */
import { CommanderError } from 'commander';
import { IpamClientError } from '../api/client.js';
import { BackupError } from '../backup/errors.js';
import { HistoryError } from '../check/errors.js';
import { OverlayError } from '../ipam/errors.js';
import { TransportError } from '../transport/errors.js';
import { ConfigError } from './serve-config.js';

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNAVAILABLE = 3;

export interface Failure {
  exitCode: number;
  /** The line for stderr, or undefined when there is nothing to add (help and version output). */
  line: string | undefined;
}

export function failureOf(e: unknown): Failure {
  if (e instanceof CommanderError) {
    // Help and --version arrive here as "errors" with exit code 0.
    if (e.exitCode === 0) return { exitCode: EXIT_OK, line: undefined };
    return { exitCode: EXIT_USAGE, line: `error [Usage]: ${e.message.replace(/^error: /, '')}` };
  }
  if (e instanceof IpamClientError) {
    const exitCode = e.kind === 'refused' ? EXIT_REFUSED : e.kind === 'unavailable' || e.kind === 'outcome-unknown' ? EXIT_UNAVAILABLE : EXIT_USAGE;
    return { exitCode, line: `error [${e.code}]: ${e.message}` };
  }
  // A refused snapshot file or restore target, or a history file that is not one, is a validation error of
  // the command's input, like a bad flag.
  if (e instanceof OverlayError || e instanceof TransportError || e instanceof BackupError || e instanceof ConfigError || e instanceof HistoryError) return { exitCode: EXIT_USAGE, line: `error [${e.code}]: ${e.message}` };
  // A defect of the CLI itself: the stack helps whoever reports it.
  return { exitCode: EXIT_REFUSED, line: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}
