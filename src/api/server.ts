/**
 * The HTTP API of a raft-ipam node: a thin fastify layer over NodeService. It validates every request
 * before calling the service (a bad request is a 400 and changes nothing), maps every coded error to a
 * status through one table (status-codes.ts), and never lets a stack trace or an internal message out:
 * a defect is a 500 "internal error" carrying the request id under which the details were logged.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NodeService } from '../node/service.js';
import { OPEN_PATHS, tokenChecker } from './auth.js';
import { createMetrics, httpMetrics } from './metrics.js';
import { knownError, sendError } from './reply.js';
import { registerClusterRoutes } from './routes/cluster.js';
import { registerCommandRoutes } from './routes/commands.js';
import { registerNetworkRoutes } from './routes/networks.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerSnapshotRoutes } from './routes/snapshot.js';

export interface ApiServerOptions {
  /** When set, every route except /healthz and /readyz needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Structured request logs go here; none when absent. */
  logger?: Logger;
  /** Registry for the HTTP metrics and GET /metrics; the runtime adds its own metrics to it (metrics.ts). */
  metrics?: Registry;
  /** Largest accepted body in bytes (default 64 KiB: a command's strings are at most 256 characters each). */
  bodyLimit?: number;
}

export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** Fastify's own errors that are the client's fault, by fastify error code → our code. */
const CLIENT_ERRORS: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PayloadTooLarge',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UnsupportedMediaType',
};

export function createApiServer(service: NodeService, options: ApiServerOptions = {}): FastifyInstance {
  // Typed as fastify's base logger so the instance has the plain FastifyInstance type the routes take.
  const loggerInstance: FastifyBaseLogger | undefined = options.logger;
  const app = Fastify({
    ...(loggerInstance ? { loggerInstance } : { logger: false }),
    // Refuse, never repair: without these Ajv strips unknown fields and turns "5" into 5 (DEPENDENCIES.md).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: () => randomUUID(),
    // One log line per request is written in onResponse below, with the route template and latency.
    logController: new LogController({ disableRequestLogging: true }),
  });

  const registry = options.metrics ?? createMetrics().registry;
  const metrics = httpMetrics(registry);

  if (options.token !== undefined) {
    const authorized = tokenChecker(options.token);
    app.addHook('onRequest', async (request, reply) => {
      if (OPEN_PATHS.has(request.url.split('?')[0] as string)) return;
      if (!authorized(request.headers.authorization)) {
        void reply.header('www-authenticate', 'Bearer');
        // Answered before the body is read: an unauthenticated client cannot make the server parse anything.
        return sendError(reply, { code: 'Unauthorized', message: 'missing or wrong bearer token' });
      }
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    // The route template, not the URL: a label per network name or address would grow without bound.
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    request.log.info({ reqId: request.id, method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 1000) / 1000 }, 'request');
  });

  app.setNotFoundHandler(async (request, reply) => sendError(reply, { code: 'NotFound', message: `no route ${request.method} ${request.url.split('?')[0]}` }));
  app.setErrorHandler(async (error: FastifyError, request, reply) => errorReply(error, request, reply));

  registerCommandRoutes(app, service);
  registerNetworkRoutes(app, service);
  registerClusterRoutes(app, service);
  registerSnapshotRoutes(app, service);
  registerOpsRoutes(app, service, registry);
  return app;
}

function errorReply(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) {
    // Ajv's message names the field (e.g. "body must NOT have additional properties"); no values, no stack.
    return sendError(reply, { code: 'InvalidRequest', message: error.message });
  }
  const known = knownError(error);
  if (known) return sendError(reply, known);
  const mapped = error.code !== undefined ? CLIENT_ERRORS[error.code] : undefined;
  if (mapped !== undefined) return sendError(reply, { code: mapped, message: error.message });
  // Fastify's other request errors (malformed JSON, empty JSON body, bad content-length, a __proto__ key)
  // carry a 4xx status: the client's fault, so the message is safe to return.
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return sendError(reply, { code: 'InvalidRequest', message: error.message });
  }
  request.log.error({ reqId: request.id, err: error }, 'internal error');
  return sendError(reply, { code: 'Internal', message: `internal error (request id ${request.id})`, requestId: request.id });
}
