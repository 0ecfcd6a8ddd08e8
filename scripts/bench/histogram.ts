/**
 * Latency recording: HDR histograms in microseconds (hdr-histogram-js, DEPENDENCIES.md), reported in
 * milliseconds. An HDR histogram keeps p99.9 exact to 3 significant digits at any sample count, where a
 * sorted array of a million samples would cost memory and a sort per row.
 */
import hdr from 'hdr-histogram-js';

export type Histogram = ReturnType<typeof hdr.build>;

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function histogram(): Histogram {
  // Up to 120 s: a request stuck behind an election or a restart is still counted, not clipped.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

/** Record a duration given in milliseconds (performance.now() differences). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/** Percentiles of a small sample list (failover times): nearest-rank, so p99 of 20 samples is the max. */
export function samplesSummary(samplesMs: number[]): LatencySummary & { samples: number[] } {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { count: s.length, p50: r(at(50)), p99: r(at(99)), p999: r(at(99.9)), max: r(s.at(-1) ?? 0), mean: r(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)), samples: samplesMs.map(r) };
}
