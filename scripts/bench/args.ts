/**
 * Flags of `npm run bench`. One place decides what a quick (CI) run shrinks, so every module reads the
 * same sizes instead of carrying its own `quick ? a : b`.
 */
export const GROUPS = ['http', 'client', 'embedded', 'contended', 'latency', 'reads', 'transfer', 'failover', 'restart', 'catchup'] as const;
export type Group = (typeof GROUPS)[number];

export interface BenchOptions {
  quick: boolean;
  peer: 'etcd' | undefined;
  only: ReadonlySet<Group>;
  /** Measured seconds of each closed- or open-loop row (a warm-up runs before it). */
  seconds: number;
  warmupSeconds: number;
  out: string | undefined;
  /** Write BENCHMARKS.md and its SVG from this run's JSON. */
  report: boolean;
  /** Profile the leader under the 64-client HTTP load instead of running the suite. */
  profile: boolean;
  clients: number[];
  /** --clients was given (so the command that reproduces the run names it). */
  clientsGiven: boolean;
  /** Leader kills and leadership transfers (each a sample of the failover rows). */
  kills: number;
  transfers: number;
  /** Addresses in the restart and catch-up state, and entries in the restart log tail. */
  bigAddresses: number;
  tailEntries: number;
  /** Restarts / catch-ups measured (the row reports the median). */
  rounds: number;
  openLoopRate: number;
}

const USAGE = `usage: npm run bench -- [--quick] [--peer etcd] [--only ${GROUPS.join(',')}] [--seconds N] [--clients 1,16,64,256] [--kills N] [--out FILE] [--report] [--profile]`;

export function parseArgs(argv: string[]): BenchOptions {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)}\n${USAGE}`);
    const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    const takesValue = ['peer', 'only', 'seconds', 'out', 'kills', 'clients'].includes(name);
    if (!takesValue && !['quick', 'report', 'profile', 'help'].includes(name)) throw new Error(`unknown flag --${name}\n${USAGE}`);
    if (takesValue) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`--${name} needs a value\n${USAGE}`);
      flags.set(name, v);
    } else flags.set(name, true);
  }
  if (flags.has('help')) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = flags.has('quick');
  const peer = flags.get('peer');
  if (peer !== undefined && peer !== 'etcd') throw new Error(`--peer: only etcd is supported, got ${String(peer)}`);
  const onlyText = flags.get('only');
  const only = new Set<Group>(GROUPS);
  if (typeof onlyText === 'string') {
    only.clear();
    for (const g of onlyText.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`--only: unknown row group ${JSON.stringify(g)} (known: ${GROUPS.join(', ')})`);
      only.add(g as Group);
    }
  }
  const num = (name: string, fallback: number): number => {
    const v = flags.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0)) throw new Error(`--${name} must be a positive number, got ${String(v)}`);
    return n;
  };
  const clientsText = flags.get('clients');
  const clients = typeof clientsText === 'string' ? clientsText.split(',').map(Number) : quick ? [1, 16] : [1, 16, 64, 256];
  if (clients.some((c) => !(Number.isInteger(c) && c >= 1 && c <= 256))) throw new Error('--clients: a list of integers in 1..256 (one /16 slice each in a /8)');
  const out = flags.get('out');
  return {
    quick,
    peer: peer === 'etcd' ? 'etcd' : undefined,
    only,
    seconds: num('seconds', quick ? 0.5 : 10),
    warmupSeconds: quick ? 0.2 : 2,
    out: typeof out === 'string' ? out : undefined,
    report: flags.has('report'),
    profile: flags.has('profile'),
    clients,
    clientsGiven: typeof clientsText === 'string',
    kills: num('kills', quick ? 2 : 20),
    transfers: quick ? 2 : 20,
    bigAddresses: quick ? 20_000 : 1_000_000,
    tailEntries: quick ? 2_000 : 100_000,
    rounds: quick ? 2 : 3,
    openLoopRate: 1000,
  };
}
