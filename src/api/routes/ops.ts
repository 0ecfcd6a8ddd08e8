/** Probes and metrics: what orchestrators and Prometheus call. */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { NodeService } from '../../node/service.js';
import { sendError, sendValue } from '../reply.js';
import { noQuery } from '../schemas.js';

export function registerOpsRoutes(app: FastifyInstance, service: NodeService, registry: Registry): void {
  // Liveness: the process answers HTTP. Nothing about the cluster, so a partition never gets a node killed.
  app.get('/healthz', { schema: { querystring: noQuery } }, async (_request, reply) => sendValue(reply, { up: true }));

  app.get('/readyz', { schema: { querystring: noQuery } }, async (_request, reply) =>
    service.isReady() ? sendValue(reply, { ready: true }) : sendError(reply, { code: 'NotReady', message: 'no leader yet, or the log this node booted with is not applied yet' }),
  );

  app.get('/metrics', { schema: { querystring: noQuery } }, async (_request, reply) => reply.code(200).type(registry.contentType).send(await registry.metrics()));
}
