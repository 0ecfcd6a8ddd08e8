/**
 * The plot beside BENCHMARKS.md, hand-written SVG (no plotting dependency): throughput and p99 latency
 * against concurrent clients for each system, on log scales, and the failover and transfer samples as
 * strips with their medians. Everything is computed from the JSON rows.
 */
import type { Row } from './rows.js';

interface Series {
  name: string;
  color: string;
  dash?: string;
  prefix: string;
}

const SERIES: Series[] = [
  { name: 'raft-ipam HTTP', color: '#1f77b4', prefix: 'alloc-http' },
  { name: 'raft-ipam IpamClient', color: '#17becf', prefix: 'alloc-client' },
  { name: 'raft-ipam embedded', color: '#2ca02c', prefix: 'alloc-embedded' },
  { name: 'etcd put', color: '#d62728', prefix: 'etcd-put' },
  { name: 'etcd txn allocation', color: '#ff7f0e', prefix: 'etcd-txn' },
  { name: 'no-op HTTP (limit)', color: '#888888', dash: '4 3', prefix: 'limit-noop-http' },
];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (x: number): string => (Math.round(x * 10) / 10).toString();

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of [1, 2, 5]) {
    const v = m * 10 ** e;
    if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
  }
  return ticks;
}

const label = (v: number): string => (v >= 1000 ? `${v / 1000}k` : String(v));

/** One panel: x = client counts (evenly spaced), y = log scale of `pick(row)`. */
function linePanel(rows: Row[], x0: number, title: string, yTitle: string, pick: (r: Row) => number | undefined, clients: number[]): string {
  const w = 330;
  const h = 300;
  const left = x0 + 55;
  const top = 40;
  const plotW = w - 70;
  const plotH = h - 90;
  const points = SERIES.map((s) => ({
    s,
    pts: clients.map((n) => {
      const r = rows.find((x) => x.id === `${s.prefix}-${n}`);
      const v = r ? pick(r) : undefined;
      return v !== undefined && v > 0 ? { n, v } : undefined;
    }),
  }));
  const values = points.flatMap((p) => p.pts.filter((q): q is { n: number; v: number } => q !== undefined).map((q) => q.v));
  if (values.length === 0) return '';
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const y = (v: number): number => top + plotH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const x = (i: number): number => left + (clients.length === 1 ? plotW / 2 : (i / (clients.length - 1)) * plotW);
  const out: string[] = [];
  out.push(`<text x="${x0 + w / 2}" y="20" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  for (const t of logTicks(lo, hi)) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 6}" y="${num(y(t) + 4)}" text-anchor="end" font-size="11">${label(t)}</text>`);
  }
  clients.forEach((n, i) => out.push(`<text x="${num(x(i))}" y="${top + plotH + 16}" text-anchor="middle" font-size="11">${n}</text>`));
  out.push(`<text x="${left + plotW / 2}" y="${top + plotH + 34}" text-anchor="middle" font-size="12">concurrent clients</text>`);
  out.push(`<text transform="translate(${x0 + 14},${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yTitle)}</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  for (const { s, pts } of points) {
    const coords = pts.map((p, i) => (p ? `${num(x(i))},${num(y(p.v))}` : undefined)).filter((p): p is string => p !== undefined);
    if (coords.length === 0) continue;
    out.push(`<polyline points="${coords.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const c of coords) {
      const [cx, cy] = c.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
  }
  return out.join('\n');
}

/** Strips of samples (ms) per row, log scale, with the median as a bar and the targets as lines. */
function stripPanel(rows: Row[], x0: number): string {
  const strips = [
    { id: 'failover-kill', name: ['raft-ipam', 'kill'], color: '#1f77b4' },
    { id: 'etcd-failover-kill', name: ['etcd', 'kill'], color: '#d62728' },
    { id: 'transfer', name: ['raft-ipam', 'transfer'], color: '#1f77b4' },
    { id: 'etcd-transfer', name: ['etcd', 'transfer'], color: '#d62728' },
  ].map((s) => ({ ...s, row: rows.find((r) => r.id === s.id) })).filter((s) => s.row !== undefined);
  if (strips.length === 0) return '';
  const samples = strips.flatMap((s) => (s.row?.extra?.samples as number[] | undefined) ?? []);
  const w = 360;
  const left = x0 + 55;
  const top = 40;
  const plotW = w - 70;
  const plotH = 210;
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...samples, 500))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...samples, 1000)));
  const y = (v: number): number => top + plotH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const x = (i: number): number => left + ((i + 0.5) / strips.length) * plotW;
  const out: string[] = [];
  out.push(`<text x="${x0 + w / 2}" y="20" text-anchor="middle" font-weight="bold">Leader loss → first committed write</text>`);
  for (const t of logTicks(lo, hi)) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 6}" y="${num(y(t) + 4)}" text-anchor="end" font-size="11">${label(t)}</text>`);
  }
  for (const [v, name] of [[500, 'target p50'], [1000, 'target p99']] as const) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${num(y(v))}" y2="${num(y(v))}" stroke="#2ca02c" stroke-dasharray="5 3"/>`);
    out.push(`<text x="${left + plotW - 2}" y="${num(y(v) - 3)}" text-anchor="end" font-size="10" fill="#2ca02c">${name}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push(`<text transform="translate(${x0 + 14},${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">ms (log)</text>`);
  strips.forEach((s, i) => {
    const xs = x(i);
    const ss = (s.row?.extra?.samples as number[] | undefined) ?? [];
    ss.forEach((v, k) => out.push(`<circle cx="${num(xs - 12 + ((k * 7) % 25))}" cy="${num(y(v))}" r="3" fill="${s.color}" fill-opacity="0.55"/>`));
    const med = s.row?.latency?.p50 ?? 0;
    out.push(`<line x1="${num(xs - 18)}" x2="${num(xs + 18)}" y1="${num(y(med))}" y2="${num(y(med))}" stroke="#000" stroke-width="2"/>`);
    s.name.forEach((line, k) => out.push(`<text x="${num(xs)}" y="${top + plotH + 14 + k * 12}" text-anchor="middle" font-size="10">${esc(line)}</text>`));
    out.push(`<text x="${num(xs)}" y="${top + plotH + 40}" text-anchor="middle" font-size="9">p50 ${Math.round(med)}</text>`);
    out.push(`<text x="${num(xs)}" y="${top + plotH + 51}" text-anchor="middle" font-size="9">p99 ${Math.round(s.row?.latency?.p99 ?? 0)}</text>`);
  });
  return out.join('\n');
}

export function plotSvg(rows: Row[], clients: number[], caption: string): string {
  const width = 1060;
  const height = 340;
  const legend = SERIES.filter((s) => rows.some((r) => r.id.startsWith(`${s.prefix}-`)))
    .map((s, i) => `<g transform="translate(${10 + i * 175},${height - 30})"><line x1="0" x2="22" y1="0" y2="0" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="28" y="4" font-size="11">${esc(s.name)}</text></g>`)
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    linePanel(rows, 0, 'Committed allocations/s', 'per second (log)', (r) => r.value, clients),
    linePanel(rows, 340, 'p99 latency', 'ms (log)', (r) => r.latency?.p99, clients),
    stripPanel(rows, 690),
    legend,
    `<text x="${width - 8}" y="${height - 8}" text-anchor="end" font-size="10" fill="#666">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
