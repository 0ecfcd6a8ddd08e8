/**
 * The load generators every row uses, whatever it drives (raft-ipam over HTTP, IpamClient, an embedded
 * node, etcd's gateway, the no-op server), so that two rows differ only in the system under test.
 *
 * Closed loop: N clients, each with one request in flight, issuing the next as soon as the last answered
 * (throughput at a concurrency). Open loop: requests start on a fixed schedule whatever the answers do,
 * and each latency is measured from the request's intended start, so a stall delays the schedule's
 * requests and is counted in every one of them (no coordinated omission, as in wrk2).
 */
import { histogram, recordMs, summarize, type Histogram, type LatencySummary } from './histogram.js';

/** One client's operation; resolves when the operation is acknowledged (committed), throws on failure. */
export type Operation = () => Promise<void>;

export interface LoadResult {
  ops: number;
  perSecond: number;
  errors: number;
  /** The first few distinct error messages, so a row with errors says why. */
  errorSamples: string[];
  latency: LatencySummary;
  seconds: number;
}

class ErrorLog {
  count = 0;
  readonly samples: string[] = [];
  add(e: unknown): void {
    this.count++;
    const text = e instanceof Error ? e.message : String(e);
    if (this.samples.length < 5 && !this.samples.includes(text)) this.samples.push(text.slice(0, 300));
  }
}

/**
 * N clients in a closed loop for `seconds` after `warmupSeconds` (warm-up answers are not counted).
 * `makeClient(i)` prepares client i (its session, its slice) before the clock starts.
 */
export async function closedLoop(options: { clients: number; seconds: number; warmupSeconds: number; makeClient: (i: number) => Promise<Operation> }): Promise<LoadResult> {
  const ops = await Promise.all(Array.from({ length: options.clients }, (_, i) => options.makeClient(i)));
  const h: Histogram = histogram();
  const errors = new ErrorLog();
  let counted = 0;
  const start = performance.now();
  const measureFrom = start + options.warmupSeconds * 1000;
  const stopAt = measureFrom + options.seconds * 1000;
  await Promise.all(
    ops.map(async (op) => {
      while (performance.now() < stopAt) {
        const t = performance.now();
        try {
          await op();
          const end = performance.now();
          // Only operations that started and finished inside the window count, so the rate is exact.
          if (t >= measureFrom && end <= stopAt) {
            recordMs(h, end - t);
            counted++;
          }
        } catch (e) {
          if (t >= measureFrom) errors.add(e);
          // A failing system must not turn the loop into a busy spin that starves the nodes of CPU.
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }),
  );
  h.destroy?.();
  return { ops: counted, perSecond: counted / options.seconds, errors: errors.count, errorSamples: errors.samples, latency: summarize(h), seconds: options.seconds };
}

/**
 * `rate` operations per second for `seconds` (after a warm-up at the same rate), each started at its
 * scheduled time or as soon after as a timer wakes the generator; latency from the scheduled time, so a
 * late start counts against the system measured, never for it.
 * `maxInFlight` bounds memory if the system stalls: requests over it count as errors, not as waiting.
 *
 * The generator sleeps on timers between starts. It used to yield with setImmediate when the next start
 * was under 1.5 ms away, which at 1,000/s is always: it spun one whole core (measured: 101% of a core
 * with a no-op operation), half of this machine, taken from the three nodes it was measuring. A timer
 * wakes up to about a millisecond late; every start due by then goes out at once.
 */
export async function openLoop(options: { rate: number; seconds: number; warmupSeconds: number; op: Operation; maxInFlight?: number }): Promise<LoadResult & { offered: number; lateStarts: number }> {
  const h = histogram();
  const errors = new ErrorLog();
  const interval = 1000 / options.rate;
  const warmup = Math.round(options.warmupSeconds * options.rate);
  const total = warmup + Math.round(options.seconds * options.rate);
  const maxInFlight = options.maxInFlight ?? 10_000;
  let inFlight = 0;
  let counted = 0;
  let lateStarts = 0;
  const pending: Array<Promise<void>> = [];
  const start = performance.now() + 5;
  let next = 0;
  await new Promise<void>((done) => {
    const pump = (): void => {
      const now = performance.now();
      // Start every request whose time has come; up to a timer's granularity late is normal, more than
      // 2 ms is reported (the generator itself was held up: a busy machine).
      while (next < total && start + next * interval <= now) {
        const i = next++;
        const intended = start + i * interval;
        if (now - intended > 2) lateStarts++;
        if (inFlight >= maxInFlight) {
          if (i >= warmup) errors.add(new Error(`more than ${maxInFlight} requests in flight`));
          continue;
        }
        inFlight++;
        pending.push(
          options.op().then(
            () => {
              inFlight--;
              if (i >= warmup) {
                recordMs(h, performance.now() - intended);
                counted++;
              }
            },
            (e: unknown) => {
              inFlight--;
              if (i >= warmup) errors.add(e);
            },
          ),
        );
      }
      if (next >= total) return done();
      const wait = start + next * interval - performance.now();
      setTimeout(pump, Math.max(1, Math.floor(wait)));
    };
    pump();
  });
  await Promise.all(pending);
  return {
    ops: counted,
    perSecond: counted / options.seconds,
    offered: options.rate,
    errors: errors.count,
    errorSamples: errors.samples,
    latency: summarize(h),
    seconds: options.seconds,
    lateStarts,
  };
}
