/**
 * `raft-ipam check-history FILE`: check a recorded history (JSON lines, src/check/history.ts) offline.
 * Exit codes follow exit-codes.ts: 0 linearizable and no direct violation · 1 a violation · 2 the input is
 * malformed (a HistoryError, printed with its code) · 3 unknown (the search ran out of budget).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { HistoryError } from '../check/errors.js';
import { EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE } from './exit-codes.js';
import type { Print } from './output.js';

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new HistoryError('InvalidInput', `${what} ${path}: ${(e as Error).message}`);
  }
}

const positive = (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new HistoryError('InvalidInput', `--budget must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
};

export function registerCheckHistoryCommand(program: Command, print: Print = (l) => console.log(l)): void {
  program
    .command('check-history')
    .description('check a recorded history (JSON lines) for linearizability and the direct IPAM checks; exit 0 pass, 1 violation, 2 bad input, 3 unknown')
    .argument('<file>', 'the history, one operation per line')
    .option('--budget <states>', 'most search states to explore before answering unknown (default 1000000)', positive)
    .option('--final <file>', 'JSON of the final state ({allocations, slices?}) read after the run: acknowledged grants must be in it')
    .option('--report <dir>', 'write history.jsonl, timeline.txt and verdict.json into this directory')
    .action(async (file: string, opts: { budget?: number; final?: string; report?: string }, cmd: Command) => {
      const json = cmd.optsWithGlobals<{ json?: boolean }>().json === true;
      // Loaded here, not with the CLI: `raft-ipam serve` starts faster without the checker's modules.
      const [{ checkHistory }, { parseHistory }, { renderReport, writeFailureReport }] = await Promise.all([import('../check/check-history.js'), import('../check/history.js'), import('../check/timeline.js')]);
      const history = parseHistory(await readText(file, 'history'));
      let final: unknown;
      if (opts.final !== undefined) {
        try {
          final = JSON.parse(await readText(opts.final, 'final state'));
        } catch (e) {
          if (e instanceof HistoryError) throw e;
          throw new HistoryError('InvalidInput', `final state ${opts.final}: not JSON: ${(e as Error).message}`);
        }
      }
      const report = checkHistory(history, { ...(opts.budget !== undefined ? { maxStates: opts.budget } : {}), ...(final !== undefined ? { final: final as never } : {}) });
      if (opts.report !== undefined) await writeFailureReport(opts.report, history, report);
      if (json) {
        print(JSON.stringify(report, null, 2));
      } else {
        const lin = report.linearizability;
        print(`verdict: ${report.verdict}`);
        print(`${report.ops} operations (${lin.checkedOps} searched, ${lin.droppedOps} not applied), ${lin.parts.length} parts, ${lin.explored} states explored`);
        if (report.verdict !== 'pass') print(renderReport(history, report).replace(/^verdict: \w+\n\n?/, '').trimEnd());
      }
      process.exitCode = report.verdict === 'pass' ? EXIT_OK : report.verdict === 'fail' ? EXIT_REFUSED : EXIT_UNAVAILABLE;
    });
}
