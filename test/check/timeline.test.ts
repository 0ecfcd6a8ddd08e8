/**
 * The timeline a person reads, and the report directory a failing run leaves: what each column shows is
 * checked on a history whose overlaps are known by construction.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/check/check-history.js';
import { parseHistory } from '../../src/check/history.js';
import { renderReport, renderTimeline, writeFailureReport } from '../../src/check/timeline.js';
import { HistoryBuilder } from './support/history-builder.js';

const alloc = (nodeId: string, owner?: string) => ({ type: 'allocate' as const, network: 'pods', nodeId, ...(owner !== undefined ? { owner } : {}) });
const listNode = (node: string) => ({ type: 'listAllocations' as const, network: 'pods', node });

async function staleRead(): Promise<HistoryBuilder> {
  const b = new HistoryBuilder().setup(['n1']);
  const before = await b.view(listNode('n1'));
  b.allocate('c1', [0, 10], alloc('n1', 'x'));
  b.info('c2', [5, 25], alloc('n1', 'y'), false);
  b.record('c3', [20, 30], listNode('n1'), before);
  return b;
}

const rowOf = (text: string, id: number): string => text.split('\n').find((l) => l.startsWith(`#${id} `)) ?? '';

describe('renderTimeline', () => {
  it('one row per operation by invoke time: lanes in flight, relative times, operation, outcome, marks', async () => {
    const b = await staleRead();
    const part = b.ops.filter((o) => o.process !== 'setup');
    const [a, i, r] = part.map((o) => o.id) as [number, number, number];
    const text = renderTimeline(part, { title: 'part', order: [a], blocked: r });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^part \(3 operations; ms from 0; lanes: c1 c2 c3;/);
    // c1 invoked alone; c2 while c1 was in flight; c3 while c2 (an info op until 25) was.
    expect(rowOf(text, a)).toMatch(new RegExp(`^#${a} +0\\.000 +10\\.000 +\\*\\.\\. +c1 +allocate pods/n1 owner=x +ok 10\\.200\\.\\d+\\.\\d+ gen \\d+ owner=x +L1$`));
    expect(rowOf(text, i)).toMatch(/ 5\.000 +25\.000\? +\|\*\. +c2 +allocate pods\/n1 owner=y +info \(Timeout\)$/);
    expect(rowOf(text, r)).toMatch(/ 20\.000 +30\.000 +\.\|\* +c3 +read pods allocations node=n1 +ok \[\] +<< not placed$/);
    expect(lines.indexOf(rowOf(text, a))).toBeLessThan(lines.indexOf(rowOf(text, i)));
  });

  it('an empty history says so', () => {
    expect(renderTimeline([], { title: 'nothing' })).toBe('nothing: no operations\n');
  });
});

describe('writeFailureReport', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('writes history.jsonl (parses back to the history), timeline.txt and verdict.json', async () => {
    const b = await staleRead();
    const report = checkHistory(b.ops);
    expect(report.verdict).toBe('fail');
    const dir = await mkdtemp(join(tmpdir(), 'raft-ipam-report-'));
    dirs.push(dir);
    const files = await writeFailureReport(join(dir, 'run-1'), b.ops, report);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['run-1/history.jsonl', 'run-1/timeline.txt', 'run-1/verdict.json']);
    expect(parseHistory(await readFile(files[0] as string, 'utf8'))).toEqual(b.ops);
    const timeline = await readFile(files[1] as string, 'utf8');
    expect(timeline).toBe(renderReport(b.ops, report));
    expect(timeline).toContain('<< not placed');
    expect(timeline).toContain(report.linearizability.status === 'not-linearizable' ? report.linearizability.failure.message : '?');
    expect(JSON.parse(await readFile(files[2] as string, 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
  });
});
