/**
 * The table, in GitHub markdown (it is what the terminal shows and what BENCHMARKS.md embeds): one line
 * per row with its value, latency percentiles, its limit and the ratio to it, the etcd rows beside it
 * with ratios, and each target met or not.
 */
import { fmt, fmtRatio, type Row } from './rows.js';

const latencyCell = (r: Row): string => (r.latency && r.latency.count > 0 ? `${fmt(r.latency.p50)} / ${fmt(r.latency.p99)} / ${fmt(r.latency.p999)}` : '');

function valueCell(r: Row): string {
  const errors = r.errors ? ` (${r.errors} errors)` : '';
  return `${fmt(r.value)} ${r.unit}${errors}`;
}

function limitCell(r: Row): string {
  if (!r.limit) return '';
  return `${fmtRatio(r.limit.ratio)} of ${fmt(r.limit.value)} ${r.limit.unit} (${r.limit.id ?? r.limit.label})`;
}

function peersCell(r: Row): string {
  return (r.peers ?? []).map((p) => `**${fmtRatio(p.ratio)}** ${p.id ?? p.label} (${fmt(p.value)})`).join('<br>');
}

function targetsCell(r: Row): string {
  return (r.targets ?? []).map((t) => `${t.met ? '✅' : '❌'} ${t.text}`).join('<br>');
}

export function markdownTable(rows: Row[]): string {
  const lines = [
    '| row | value | p50 / p99 / p99.9 ms | ÷ limit or baseline | raft-ipam ÷ etcd | target |',
    '|---|--:|--:|---|---|---|',
  ];
  for (const r of rows) lines.push(`| \`${r.id}\` ${r.label} | ${valueCell(r)} | ${latencyCell(r)} | ${limitCell(r)} | ${peersCell(r)} | ${targetsCell(r)} |`);
  return lines.join('\n');
}

/** A compact terminal version: ids, values and ratios only. */
export function terminalTable(rows: Row[]): string {
  const out: string[] = [];
  const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
  out.push(`${pad('row', 30)} ${pad('value', 24)} ${pad('p50/p99/p99.9 ms', 24)} ${pad('÷ limit', 10)} ${pad('÷ etcd', 18)} targets`);
  for (const r of rows) {
    const peers = (r.peers ?? []).map((p) => fmtRatio(p.ratio)).join(' ');
    const targets = (r.targets ?? []).map((t) => `${t.met ? 'met' : 'NOT met'}: ${t.text}`).join('; ');
    out.push(`${pad(r.id, 30)} ${pad(valueCell(r), 24)} ${pad(latencyCell(r), 24)} ${pad(r.limit ? fmtRatio(r.limit.ratio) : '', 10)} ${pad(peers, 18)} ${targets}`);
  }
  return out.join('\n');
}
