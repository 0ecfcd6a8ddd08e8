/**
 * Once every row exists: attach to each its limit (a limits row of this run, or a row it is a variant
 * of), its etcd peers, and its targets from issue 9. Kept apart from the measuring code so the rules of
 * comparison are in one readable place.
 */
import { limitedBy } from './limited-by.js';
import { compare, type Row, type Target } from './rows.js';

const target = (text: string, met: boolean): Target => ({ text, met });

export function finalize(rows: Row[]): Row[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const get = (id: string): Row | undefined => byId.get(id);
  const fdatasync = get('limit-fdatasync');
  for (const r of rows) {
    const n = r.clients;
    const limitRow = (id: string): void => {
      const l = get(id);
      if (l && !r.limit) r.limit = compare(r.value, l);
    };
    const peers = (...ids: string[]): void => {
      const ps = ids.map(get).filter((p): p is Row => p !== undefined).map((p) => compare(r.value, p));
      if (ps.length > 0) r.peers = ps;
    };
    const targets: Target[] = [];
    const m = /^(alloc-(?:http|client|embedded)|etcd-put|etcd-txn)(-shared)?-(\d+)$/.exec(r.id);
    if (m) {
      const [, kind, shared] = m;
      if (shared) limitRow(`${kind}-${n}`);
      else if (kind === 'alloc-embedded') limitRow(`limit-batch-${n}`);
      else limitRow(`limit-noop-http-${n}`);
      if (r.system === 'raft-ipam') {
        if (shared) peers(`etcd-txn-shared-${n}`);
        else peers(`etcd-put-${n}`, `etcd-txn-${n}`);
        const put = get(`etcd-put-${n}`);
        const txn = get(`etcd-txn${shared ? '-shared' : ''}-${n}`);
        if (kind === 'alloc-http' && !shared && put) targets.push(target(`≥ etcd puts/s at ${n} clients (${Math.round(put.value)})`, r.value >= put.value));
        if (kind === 'alloc-http' && txn) targets.push(target(`≥ 10× etcd txn allocations/s at ${n} clients (${Math.round(txn.value * 10)})`, r.value >= 10 * txn.value));
        if (kind === 'alloc-http' && !shared && n === 256) targets.push(target('≥ 10,000/s over HTTP at 256 clients', r.value >= 10_000));
        if (kind === 'alloc-embedded' && !shared && n === 256) targets.push(target('≥ 20,000/s embedded at 256 clients', r.value >= 20_000));
      }
    }
    if (/^limit-batch-\d+$/.test(r.id) && fdatasync && n) {
      r.limit = { id: fdatasync.id, label: `fdatasync/s × ${n} entries`, value: fdatasync.value * n, unit: 'entries/s', ratio: r.value / (fdatasync.value * n) };
    }
    if (r.id === 'latency-open-http' || r.id === 'etcd-latency-open-put') limitRow('limit-noop-open');
    if (r.id === 'latency-open-http') {
      peers('etcd-latency-open-put');
      targets.push(target('p99 < 15 ms at 1,000 ops/s', r.value < 15));
    }
    if (/^reads-(readindex|lease)-\d+$/.test(r.id)) {
      limitRow(`reads-stale-${n}`);
      peers(`etcd-reads-${n}`);
    }
    if (/^reads-stale-\d+$/.test(r.id)) limitRow(`limit-noop-get-${n}`);
    if (/^etcd-reads-\d+$/.test(r.id)) limitRow(`limit-noop-http-${n}`); // etcd's range is a POST
    if (r.id === 'failover-kill' || r.id === 'etcd-failover-kill') {
      // Runs before the timing was recorded per row used 10 ticks of 50 ms.
      const timeout = typeof r.extra?.electionTimeoutMs === 'number' ? r.extra.electionTimeoutMs : 500;
      r.limit = { label: 'election timeout (minimum of its randomized range)', value: timeout, unit: 'ms', ratio: r.value / timeout };
      if (r.id === 'failover-kill') {
        peers('etcd-failover-kill');
        targets.push(target('p50 < 500 ms', r.value < 500), target('p99 < 1 s', (r.latency?.p99 ?? Infinity) < 1000));
      }
    }
    if (r.id === 'transfer' || r.id === 'etcd-transfer') {
      const one = get('alloc-http-1');
      if (one?.latency) r.limit = { id: one.id, label: 'one committed write at 1 client (p50)', value: one.latency.p50, unit: 'ms', ratio: r.value / one.latency.p50 };
      if (r.id === 'transfer') peers('etcd-transfer');
    }
    if (r.id === 'restart-follower') targets.push(target('< 2 s', r.value < 2000));
    if (r.id === 'catchup-snapshot') targets.push(target('< 3 s', r.value < 3000));
    if (r.id === 'rss-1m') targets.push(target('< 200 MB per node', r.value < 200));
    if (targets.length > 0) r.targets = targets;
    r.limitedBy = limitedBy(r.id) ?? r.limitedBy;
  }
  return rows;
}
