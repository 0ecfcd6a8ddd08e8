/**
 * Free loopback ports for tests that must name peer addresses before the peers listen (a cluster's
 * initial membership lists every member's address). The OS picks each port (port 0); the small window
 * between closing the probe and the node binding it is the usual price of this pattern.
 */
import { createServer } from 'node:net';

export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<import('node:net').Server>((resolve, reject) => {
        const s = createServer();
        s.once('error', reject);
        s.listen(0, host, () => resolve(s));
      }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
