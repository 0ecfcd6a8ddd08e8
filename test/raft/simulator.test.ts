import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PartitionTable } from '../../src/sim/partition-table.js';
import { runSeeds, votersForSeed } from '../../src/sim/run-seeds.js';
import { simulate } from '../../src/sim/simulator.js';
import { knobsFor, VARIANTS } from '../../src/sim/variants.js';

/** A harness limit for the many-seed runs on a shared 2-core machine, not a performance assertion. */
const LONG = 600_000;

describe('deterministic simulator', () => {
  it('300 seeds (3–7 voters, every fault kind) run clean: safety after every event, liveness after healing', async () => {
    const r = await runSeeds({ from: 1, seeds: 300, steps: 3000 });
    expect(r.failures.map((f) => `${f.violation} — ${f.replay}`)).toEqual([]);
  }, LONG);

  it('a leader of a lower term elected after a higher term committed is not a leader-completeness violation (Figure 3 says "higher-numbered terms")', async () => {
    // Seed 23367 (5 voters): n1's vote responses for term 7 wait while its vote is made durable; meanwhile
    // n4 commits entry 33 in term 8; then n1 wins term 7 without it, and can commit nothing.
    const r = await simulate({ seed: 23367, steps: 3000, nodes: 5 });
    expect(r.ok, r.violation).toBe(true);
  });

  it('replays a seed exactly', async () => {
    // The first seed from 4242 whose run elects and acknowledges writes (a run that did nothing would
    // replay trivially); any change to the driver remaps which seed that is.
    let seed = 4242;
    let a = await simulate({ seed, steps: 2000, nodes: 5 });
    while (a.stats.acked === 0 && seed < 4262) a = await simulate({ seed: ++seed, steps: 2000, nodes: 5 });
    const b = await simulate({ seed, steps: 2000, nodes: 5 });
    expect(b).toEqual(a);
    expect(a.stats.elections).toBeGreaterThan(0);
    expect(a.stats.acked).toBeGreaterThan(0);
    expect(a.replay).toBe(`npx raft-ipam simulate --seed ${seed} --steps 2000 --nodes 5`);
  });

  it('exercises what it claims to: crashes, snapshots sent, membership changes, reads and storage faults happen', async () => {
    const totals = { crashes: 0, snapshotsSent: 0, restoreSteps: 0, confChanges: 0, readsServed: 0, elections: 0, writeFailures: 0, lostWrites: 0, corruptRefused: 0, inboxDropped: 0 };
    // 60 seeds: membership changes come in about every other run, so 30 seeds left their count within a
    // few of the floor, and any change to the driver's timing (which remaps what each seed does) moved it.
    for (let seed = 1; seed <= 60; seed++) {
      const s = (await simulate({ seed, steps: 3000 })).stats;
      for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += s[k];
    }
    // A corrupt record is injected at most once per run (the node that refuses it is gone for good).
    const atLeast: Partial<Record<keyof typeof totals, number>> = { corruptRefused: 5 };
    for (const [k, v] of Object.entries(totals)) expect(v, k).toBeGreaterThanOrEqual(atLeast[k as keyof typeof totals] ?? 11);
    // Received snapshots are decoded over several events (other inputs between the steps), not in one.
    expect(totals.restoreSteps).toBeGreaterThan(totals.snapshotsSent);
  });

  it('storage faults: a failed write stops its replica and it restarts from its disk; a corrupt disk is refused for good', async () => {
    // Not every run injects all three: take the first of seeds 1–40 (4 voters) that does, so that a change
    // which remaps seeds does not break this, while one that stops injecting any of them does.
    const all3 = (x: Awaited<ReturnType<typeof simulate>>): boolean => x.stats.writeFailures > 0 && x.stats.lostWrites > 0 && x.stats.corruptRefused === 1;
    let seed = 1;
    let r = await simulate({ seed, steps: 3000, nodes: 4 });
    while (!all3(r) && seed < 40) r = await simulate({ seed: ++seed, steps: 3000, nodes: 4 });
    expect(r.ok, r.violation).toBe(true);
    expect(r.stats.writeFailures).toBeGreaterThan(0);
    expect(r.stats.lostWrites).toBeGreaterThan(0);
    expect(r.stats.corruptRefused).toBe(1);
  });

  it('traces every event it processes, the same lines on every replay', async () => {
    const first: string[] = [];
    const second: string[] = [];
    const a = await simulate({ seed: 77, steps: 400, nodes: 4 }, (line) => first.push(line));
    await simulate({ seed: 77, steps: 400, nodes: 4 }, (line) => second.push(line));
    expect(first.length).toBe(a.stats.events);
    expect(second).toEqual(first);
    // Virtual time, then the event; message payload bytes are elided, and time never goes back.
    expect(first[0]).toMatch(/^\d+ \{"kind":"(tick|ready)","node":"n\d","life":0\}$/);
    expect(first.some((l) => /"kind":"disk"/.test(l))).toBe(true);
    expect(first.some((l) => /"kind":"deliver"/.test(l))).toBe(true);
    const times = first.map((l) => Number(l.slice(0, l.indexOf(' '))));
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] as number))).toBe(true);
    expect(times.at(-1)).toBe(a.stats.virtualMs);
  });

  it('`simulate --trace` prints the trace on stderr and the result on stdout', async () => {
    const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', main, 'simulate', '--seed', '5', '--steps', '300', '--trace'], { cwd: join(import.meta.dirname, '..', '..') });
    const result = JSON.parse(stdout) as { ok: boolean; stats: { events: number } };
    const lines = stderr.trim().split('\n');
    expect(result.ok).toBe(true);
    expect(lines.length).toBe(result.stats.events);
    const inProcess: string[] = [];
    await simulate({ seed: 5, steps: 300, nodes: 3 }, (line) => inProcess.push(line));
    expect(lines).toEqual(inProcess);
  });
});

describe('PartitionTable', () => {
  it('cuts one direction of a link only (one-way partitions)', () => {
    const t = new PartitionTable();
    t.cutLink('a', 'b');
    expect(t.blocks('a', 'b')).toBe(true);
    expect(t.blocks('b', 'a')).toBe(false);
    expect(t.blocks('a', 'c')).toBe(false);
  });

  it('splits two sides both ways and leaves links within a side alone', () => {
    const t = new PartitionTable();
    t.split(['a', 'b'], ['c']);
    for (const [from, to] of [['a', 'c'], ['c', 'a'], ['b', 'c'], ['c', 'b']] as const) expect(t.blocks(from, to), `${from}>${to}`).toBe(true);
    expect(t.blocks('a', 'b')).toBe(false);
    expect(t.blocks('b', 'a')).toBe(false);
  });

  it('isolates a node from all others, never from itself, and heal restores every link', () => {
    const t = new PartitionTable();
    t.isolate('b', ['a', 'b', 'c']);
    expect([t.blocks('b', 'a'), t.blocks('a', 'b'), t.blocks('b', 'c'), t.blocks('c', 'b')]).toEqual([true, true, true, true]);
    expect(t.blocks('b', 'b')).toBe(false);
    expect(t.blocks('a', 'c')).toBe(false);
    t.heal();
    expect([t.blocks('b', 'a'), t.blocks('a', 'b'), t.blocks('b', 'c'), t.blocks('c', 'b')]).toEqual([false, false, false, false]);
  });
});

describe('variants', () => {
  it("'none' turns on no testing knob and every broken variant exactly one, each a different one", () => {
    const on = (v: (typeof VARIANTS)[number]): string[] => Object.entries(knobsFor(v)).flatMap(([k, enabled]) => (enabled ? [k] : []));
    expect(on('none')).toEqual([]);
    const broken = VARIANTS.filter((v) => v !== 'none');
    for (const v of broken) expect(on(v), v).toHaveLength(1);
    expect(new Set(broken.map((v) => on(v)[0])).size).toBe(broken.length);
  });
});

/**
 * Prove the simulator can fail: run it against deliberately broken cores. Each must be caught within a
 * fixed budget of seeds; the failure names the seed and the command that replays it.
 */
describe('the simulator finds deliberately broken cores', () => {
  it('votes granted without the §5.4.1 log check', async () => {
    const r = await runSeeds({ from: 1, seeds: 10, steps: 3000, variant: 'vote-without-log-check', stopAtFirst: true });
    expect(r.failures.length).toBe(1);
    const f = r.failures[0];
    expect(f?.violation).toMatch(/leader completeness|committed entry .* changed|state machine safety|log matching|conflicts with a committed entry/);
    expect(f?.replay).toContain(`--seed ${f?.seed}`);
    expect(f?.replay).toContain('--variant vote-without-log-check');
    // Replaying the printed seed reproduces the same violation.
    const again = await simulate({ seed: f?.seed as number, steps: 3000, nodes: votersForSeed(f?.seed as number), variant: 'vote-without-log-check' });
    expect(again.violation).toBe(f?.violation);
  });

  it('commit counted for an entry of an earlier term (§5.4.2, Figure 8)', async () => {
    const r = await runSeeds({ from: 1, seeds: 600, steps: 3000, variant: 'commit-prior-term', stopAtFirst: true });
    expect(r.failures.length).toBe(1);
    expect(r.failures[0]?.violation).toMatch(/leader completeness|committed entry .* changed|state machine safety|conflicts with a committed entry/);
  }, LONG);

  it('lease reads that do not check quorum acknowledgements (stale reads)', async () => {
    // A stale read needs a partition to strand a leader while it serves; about one seed in 20–40 schedules
    // one (measured over seeds 1–200: 5 and 9 with two different proposal timings), so 100 seeds find it
    // with room to spare whatever the schedule's details.
    const r = await runSeeds({ from: 1, seeds: 100, steps: 3000, variant: 'lease-without-quorum-acks', stopAtFirst: true });
    expect(r.failures.length).toBe(1);
    expect(r.failures[0]?.violation).toMatch(/stale read/);
  });

  it('a vote forgotten across a restart (§5.2): the restarted replica is not what it made durable', async () => {
    const r = await runSeeds({ from: 1, seeds: 5, steps: 3000, variant: 'vote-not-persisted', stopAtFirst: true });
    expect(r.failures.length).toBe(1);
    expect(r.failures[0]?.violation).toMatch(/restarted with term \d+, vote null, .* but made term \d+, vote n\d/);
  });
});
