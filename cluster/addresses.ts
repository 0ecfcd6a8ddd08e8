/**
 * Loopback addresses and free ports for harness nodes. Every node of a cluster gets its own 127.0.0.x,
 * so a relay can tell nodes apart by source IP; x is drawn at random so parallel test files rarely pick
 * the same one, and when they do nothing breaks: ports are probed on the chosen address, and a relay
 * only ever sees connections from its own cluster (nobody else knows its port). Linux routes all of
 * 127.0.0.0/8 to the loopback interface, so no setup is needed (macOS would need an alias per address).
 */
import { randomInt } from 'node:crypto';
import { createServer, isIPv4, type AddressInfo, type Server } from 'node:net';

/** First and last x of the 127.0.0.x addresses the harness draws from (127.0.0.1 is left to everyone else). */
const FIRST = 2;
const LAST = 254;

/** True for an IPv4 address in 127.0.0.0/8 other than the network and broadcast addresses. */
export function isLoopbackHost(host: unknown): host is string {
  return typeof host === 'string' && isIPv4(host) && host.startsWith('127.') && host !== '127.0.0.0' && host !== '127.255.255.255';
}

/** `n` distinct random 127.0.0.x addresses, none of them in `taken`. */
export function pickLoopbackHosts(n: number, taken: Iterable<string> = []): string[] {
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`n must be a non-negative integer, got ${String(n)}`);
  const used = new Set(taken);
  const free: string[] = [];
  for (let x = FIRST; x <= LAST; x++) if (!used.has(`127.0.0.${x}`)) free.push(`127.0.0.${x}`);
  if (free.length < n) throw new RangeError(`only ${free.length} free 127.0.0.x addresses left, ${n} wanted`);
  // A partial Fisher–Yates shuffle: the first n are a uniform random choice.
  for (let i = 0; i < n; i++) {
    const j = i + randomInt(free.length - i);
    [free[i], free[j]] = [free[j] as string, free[i] as string];
  }
  return free.slice(0, n);
}

/**
 * `n` distinct ports free on `host` right now (all held open until every one is chosen, so they differ).
 * Between this probe and the node binding, another process could take one; the kernel hands out ports
 * at random from a large range, so that is rare, and a node that cannot bind exits with a clear error.
 */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`n must be a non-negative integer, got ${String(n)}`);
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      servers.push(
        await new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`cannot bind ${host}: ${e.message}${e.code === 'EADDRNOTAVAIL' ? ' (is this address on a loopback interface?)' : ''}`)));
          s.listen(0, host, () => resolve(s));
        }),
      );
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}
