/** Real HTTP servers for client tests: 127.0.0.1, port 0 (GUIDE §4), closed after each test. */
import type { FastifyInstance } from 'fastify';
import { createApiServer, type ApiServerOptions } from '../../src/api/server.js';
import type { NodeService } from '../../src/node/service.js';

export interface Running {
  app: FastifyInstance;
  url: string;
}

export async function listen(service: NodeService, options: ApiServerOptions = {}): Promise<Running> {
  const app = createApiServer(service, options);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** A loopback URL on which nothing listens: a port the OS handed out and that was closed again. */
export async function deadUrl(): Promise<string> {
  const { app, url } = await listen({} as NodeService);
  await app.close();
  return url;
}
