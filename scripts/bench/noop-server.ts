/**
 * The no-op HTTP limit: a bare fastify server (the framework raft-ipam's API uses) in its own process on
 * loopback, answering POST /noop (and GET /noop) with a small JSON envelope and doing nothing else: no schema, no hooks,
 * no consensus, no disk. What a load row reaches against it is the ceiling of HTTP on this machine for
 * that load generator. Prints {"port": N} once listening; exits on SIGTERM.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/noop', async () => ({ ok: true, value: {} }));
// The read-shaped twin: a GET with a query string and no body, like GET /v1/networks/<n>?consistency=…
app.get('/noop', async () => ({ ok: true, value: { name: 'reads', cidr: '10.0.0.0/16', slicePrefix: 24, slicesAssigned: 0, sliceCapacity: '256', addressesAllocated: 0 } }));
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
