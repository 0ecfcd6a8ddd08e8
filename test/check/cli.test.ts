/**
 * raft-ipam check-history: verdicts become exit codes 0 / 1 / 3, a malformed history exit 2 with its
 * stable code. In process through the command's registration (fast), plus the real CLI in a child
 * process for the wiring in main.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJsonLines } from '../../src/check/history.js';
import { registerCheckHistoryCommand } from '../../src/cli/check-history.js';
import { failureOf } from '../../src/cli/exit-codes.js';
import { HistoryBuilder } from './support/history-builder.js';

const alloc = (nodeId: string, owner?: string) => ({ type: 'allocate' as const, network: 'pods', nodeId, ...(owner !== undefined ? { owner } : {}) });
const listNode = (node: string) => ({ type: 'listAllocations' as const, network: 'pods', node });

let dir: string;
const path = (name: string): string => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raft-ipam-check-cli-'));
  const good = new HistoryBuilder().setup();
  good.allocate('c1', [0, 10], alloc('n1', 'x'));
  await good.read('c2', [20, 30], listNode('n1'));
  await writeFile(path('good.jsonl'), toJsonLines(good.ops));

  const stale = new HistoryBuilder().setup();
  const before = await stale.view(listNode('n1'));
  stale.allocate('c1', [0, 10], alloc('n1', 'x'));
  stale.record('c2', [20, 30], listNode('n1'), before);
  await writeFile(path('stale.jsonl'), toJsonLines(stale.ops));

  await writeFile(path('malformed.jsonl'), `${toJsonLines(good.ops.slice(0, 2))}{"id":9,\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Run the command in this process; errors go through the CLI's own mapping to exit codes. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [];
  const program = new Command().exitOverride().configureOutput({ outputError: () => {} }).option('--json');
  registerCheckHistoryCommand(program, (l) => lines.push(l));
  const saved = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'raft-ipam', ...args]);
    return { code: Number(process.exitCode ?? 0), out: lines.join('\n'), err: '' };
  } catch (e) {
    const f = failureOf(e);
    return { code: f.exitCode, out: lines.join('\n'), err: f.line ?? '' };
  } finally {
    process.exitCode = saved;
  }
}

describe('raft-ipam check-history', () => {
  it('exit 0 and "verdict: pass" for a linearizable history', async () => {
    const r = await run(['check-history', path('good.jsonl')]);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('verdict: pass');
    expect(r.out).toMatch(/^5 operations \(5 searched, 0 not applied\), \d+ parts, \d+ states explored$/m);
  });

  it('exit 1 for a stale read, with the failure and the timeline of the failing part', async () => {
    const r = await run(['check-history', path('stale.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('verdict: fail');
    expect(r.out).toMatch(/op 4 \(process c2: read pods allocations node=n1 → ok \[\]\) cannot take effect between 20 and 30/);
    expect(r.out).toContain('<< not placed');
  });

  it('--json prints the whole report', async () => {
    const r = await run(['check-history', path('stale.jsonl'), '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as { verdict: string; linearizability: { status: string; failure: { blocked: number } } };
    expect(report).toMatchObject({ verdict: 'fail', linearizability: { status: 'not-linearizable', failure: { blocked: 4 } } });
  });

  it('exit 3 when --budget runs out before an answer', async () => {
    const r = await run(['check-history', path('stale.jsonl'), '--budget', '2']);
    expect(r.code).toBe(3);
    expect(r.out).toContain('verdict: unknown');
    expect(r.out).toContain('linearizability unknown: budget exhausted (explored 2 states)');
  });

  it('exit 2 with a stable code for a malformed history, a missing file, a bad flag', async () => {
    expect(await run(['check-history', path('malformed.jsonl')])).toMatchObject({ code: 2, err: expect.stringMatching(/^error \[MalformedLine\]: line 3: not JSON/) });
    expect(await run(['check-history', path('missing.jsonl')])).toMatchObject({ code: 2, err: expect.stringMatching(/^error \[InvalidInput\]: history .*missing\.jsonl/) });
    expect(await run(['check-history', path('good.jsonl'), '--budget', '0'])).toMatchObject({ code: 2, err: expect.stringMatching(/^error \[InvalidInput\]: --budget/) });
  });

  it('--report writes the failure report directory', async () => {
    const out = path('report');
    expect((await run(['check-history', path('stale.jsonl'), '--report', out])).code).toBe(1);
    expect((await readdir(out)).sort()).toEqual(['history.jsonl', 'timeline.txt', 'verdict.json']);
  });

  it('the real CLI (main.ts) exits with the same codes', async () => {
    const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
    const cli = (args: string[]): Promise<{ code: number; stderr: string }> =>
      new Promise((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', main, ...args], (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }));
      });
    expect((await cli(['check-history', path('stale.jsonl')])).code).toBe(1);
    const bad = await cli(['check-history', path('malformed.jsonl')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/error \[MalformedLine\]/);
  });
});
