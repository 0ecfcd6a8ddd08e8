/**
 * One behaviour suite for every Transport backend (GUIDE §2 example 7): what the runtime may rely on,
 * whichever transport it is given.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryNetwork, type Transport } from '../../src/transport/index.js';
import { createClusterCerts } from '../../src/transport/cert-authority.js';
import type { ClusterCerts } from '../../src/transport/certs.js';
import { mesh, node, ping, pingAdapter, waitFor, type Ping } from './support.js';

interface Cluster {
  ts: Map<string, Transport<Ping>>;
  /** Let the network make progress until `cond` holds (memory: deliver; TCP: wait for I/O events). */
  settle(cond: () => boolean, what: string): Promise<void>;
  /** Take node `id` down so that frames to it cannot arrive. */
  kill(id: string): Promise<void>;
  close(): Promise<void>;
}

interface Backend {
  name: string;
  make(ids: string[]): Promise<Cluster>;
}

const memory: Backend = {
  name: 'MemoryTransport',
  async make(ids) {
    const net = new MemoryNetwork({ cluster: 'c1' });
    const ts = new Map(ids.map((id) => [id, net.createTransport(id, pingAdapter) as Transport<Ping>]));
    for (const t of ts.values()) await t.start();
    return {
      ts,
      async settle(cond, what) {
        net.deliverAll();
        if (!cond()) throw new Error(`network quiet but not ${what}`);
      },
      async kill(id) {
        await ts.get(id)!.close();
      },
      async close() {
        await Promise.all([...ts.values()].map((t) => t.close()));
      },
    };
  },
};

function tcp(secure: boolean): Backend {
  let certs: ClusterCerts | null = null;
  return {
    name: secure ? 'TcpTransport (mTLS)' : 'TcpTransport (plaintext)',
    async make(ids) {
      if (secure) certs ??= await createClusterCerts({ nodes: ['n1', 'n2', 'n3'] });
      const nodes = await Promise.all(ids.map((id) => node(id, secure ? { tls: { ca: certs!.ca.cert, ...certs!.nodes.get(id)! } } : {})));
      mesh(...nodes);
      // The suite registers its own handlers; they replace the recording ones node() installed.
      const ts = new Map(nodes.map((n) => [n.t.id, n.t]));
      return {
        ts: ts as Map<string, Transport<Ping>>,
        settle: (cond, what) => waitFor(cond, what),
        async kill(id) {
          await ts.get(id)!.close();
        },
        async close() {
          await Promise.all([...ts.values()].map((t) => t.close()));
        },
      };
    },
  };
}

for (const backend of [memory, tcp(false), tcp(true)]) {
  describe(`Transport conformance: ${backend.name}`, () => {
    let cluster: Cluster | null = null;
    const make = async (ids: string[]) => (cluster = await backend.make(ids));
    afterEach(async () => {
      await cluster?.close();
      cluster = null;
    });

    it('delivers each sender\'s messages in order, as validated copies, with the authenticated sender', async () => {
      const c = await make(['n1', 'n2', 'n3']);
      const got: Array<[string, number, number]> = [];
      c.ts.get('n3')!.onMessage((m, from) => got.push([from, m.n, m.data.length]));
      const sent = ping('n1', 'n3', 0, 64);
      c.ts.get('n1')!.send('n3', sent);
      for (let n = 1; n < 20; n++) {
        c.ts.get('n1')!.send('n3', ping('n1', 'n3', n, 64));
        c.ts.get('n2')!.send('n3', ping('n2', 'n3', 100 + n));
      }
      await c.settle(() => got.length === 39, '39 messages delivered');
      expect(got.filter(([f]) => f === 'n1').map(([, n]) => n)).toEqual([...Array(20).keys()]);
      expect(got.filter(([f]) => f === 'n2').map(([, n]) => n)).toEqual([...Array(19).keys()].map((n) => 101 + n));
      sent.data.fill(0); // the sender's object is not what the receiver holds
      expect(got[0]![2]).toBe(64);
      const s1 = c.ts.get('n1')!.stats();
      const s2 = c.ts.get('n2')!.stats();
      const s3 = c.ts.get('n3')!.stats();
      expect(s3.delivered).toBe(39);
      expect(s3.framesReceived).toBe(s1.framesSent + s2.framesSent);
      expect(s3.bytesReceived).toBe(s1.bytesSent + s2.bytesSent);
    });

    it('a handler may send (request/response), and handlers never run inside send()', async () => {
      const c = await make(['n1', 'n2']);
      let inSend = false;
      const replies: number[] = [];
      c.ts.get('n2')!.onMessage((m) => {
        expect(inSend).toBe(false);
        c.ts.get('n2')!.send('n1', ping('n2', 'n1', m.n * 10));
      });
      c.ts.get('n1')!.onMessage((m) => {
        expect(inSend).toBe(false);
        replies.push(m.n);
      });
      for (const n of [1, 2, 3]) {
        inSend = true;
        c.ts.get('n1')!.send('n2', ping('n1', 'n2', n));
        inSend = false;
      }
      await c.settle(() => replies.length === 3, 'three replies');
      expect(replies).toEqual([10, 20, 30]);
    });

    it('tells the sender when a peer is down, never from inside send(), and send never throws for it', async () => {
      const c = await make(['n1', 'n2']);
      let inSend = false;
      const unreachable: string[] = [];
      c.ts.get('n1')!.onPeerUnreachable((p) => {
        expect(inSend).toBe(false);
        unreachable.push(p);
      });
      await c.kill('n2');
      inSend = true;
      c.ts.get('n1')!.send('n2', ping('n1', 'n2', 1));
      inSend = false;
      await c.settle(() => unreachable.includes('n2'), 'n2 reported unreachable');
    });

    it('refuses caller bugs in send and handler registration with InvalidArgument', async () => {
      const c = await make(['n1', 'n2']);
      const t = c.ts.get('n1')!;
      expect(() => t.send('n2', ping('n1', 'n3', 1))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(() => t.send('n2', ping('n2', 'n2', 1))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(() => t.send('', ping('n1', '', 1))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(() => t.send('n2', undefined as unknown as Ping)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(() => t.onMessage(null as unknown as () => void)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(() => t.onPeerUnreachable('x' as unknown as () => void)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    });

    it('after close(): idempotent, sends are counted as dropped, start() refuses with Closed', async () => {
      const c = await make(['n1', 'n2']);
      const t = c.ts.get('n1')!;
      await t.close();
      await t.close();
      t.send('n2', ping('n1', 'n2', 1));
      expect(t.stats().dropped.closed).toBe(1);
      await expect(t.start()).rejects.toMatchObject({ code: 'Closed' });
    });
  });
}
