/** Reads of the IPAM state. Each takes ?consistency=linearizable|stale (default linearizable). */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Consistency, NodeService } from '../../node/service.js';
import { listAllocations, listSlices } from '../listing.js';
import { sendError, sendValue } from '../reply.js';
import { allocationsQuery, consistencyQuery, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, networkParams } from '../schemas.js';
import type { NetworkUsageView } from '../wire.js';

interface ConsistencyQuery {
  consistency?: Consistency;
}
interface NetworkParams {
  name: string;
}
interface AllocationsQuery extends ConsistencyQuery {
  node?: string;
  owner?: string;
  limit?: string;
  after?: string;
}

const unknownNetwork = (reply: FastifyReply, name: string): FastifyReply =>
  sendError(reply, { code: 'UnknownNetwork', message: `no network named ${JSON.stringify(name)}` });

export function registerNetworkRoutes(app: FastifyInstance, service: NodeService): void {
  app.get<{ Querystring: ConsistencyQuery }>('/v1/networks', { schema: { querystring: consistencyQuery } }, async (request, reply) => {
    const networks = await service.query(request.query.consistency ?? 'linearizable', (sm) => sm.networks());
    return sendValue(reply, networks);
  });

  app.get<{ Params: NetworkParams; Querystring: ConsistencyQuery }>(
    '/v1/networks/:name',
    { schema: { params: networkParams, querystring: consistencyQuery } },
    async (request, reply) => {
      const { name } = request.params;
      const view = await service.query(request.query.consistency ?? 'linearizable', (sm): NetworkUsageView | undefined => {
        const usage = sm.networkUsage(name);
        if (!usage) return undefined;
        const pair = sm.networks().find((n) => n.name === name)?.pair;
        return { ...usage, sliceCapacity: String(usage.sliceCapacity), ...(pair !== undefined ? { pair } : {}) };
      });
      return view ? sendValue(reply, view) : unknownNetwork(reply, name);
    },
  );

  app.get<{ Params: NetworkParams; Querystring: ConsistencyQuery }>(
    '/v1/networks/:name/slices',
    { schema: { params: networkParams, querystring: consistencyQuery } },
    async (request, reply) => {
      const view = await listSlices(service, request.query.consistency ?? 'linearizable', request.params.name);
      return view ? sendValue(reply, view) : unknownNetwork(reply, request.params.name);
    },
  );

  app.get<{ Params: NetworkParams; Querystring: AllocationsQuery }>(
    '/v1/networks/:name/allocations',
    { schema: { params: networkParams, querystring: allocationsQuery } },
    async (request, reply) => {
      const { consistency, node, owner, limit, after } = request.query;
      // The schema's pattern bounds limit to 1..999999; the cap keeps one answer from holding the loop.
      const max = Math.min(limit !== undefined ? Number(limit) : DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
      const view = await listAllocations(service, consistency ?? 'linearizable', request.params.name, {
        ...(node !== undefined ? { node } : {}),
        ...(owner !== undefined ? { owner } : {}),
        ...(after !== undefined ? { after } : {}),
        limit: max,
      });
      return view ? sendValue(reply, view) : unknownNetwork(reply, request.params.name);
    },
  );
}
