/** POST /v1/commands: one command (plus an optional session) in, the state machine's answer out. */
import type { FastifyInstance } from 'fastify';
import type { IpamCommand } from '../../ipam/commands.js';
import type { NodeService } from '../../node/service.js';
import { parseCommandBody } from '../command-body.js';
import { sendError, sendValue } from '../reply.js';
import { commandBody, noQuery } from '../schemas.js';
import { CLUSTER_HEADER } from '../wire.js';

export function registerCommandRoutes(app: FastifyInstance, service: NodeService): void {
  app.post('/v1/commands', { schema: { body: commandBody, querystring: noQuery } }, async (request, reply) => {
    // Throws InvalidCommand (→ 400) before anything reaches the service: a bad body changes nothing.
    const { command, session } = parseCommandBody(request.body);
    void reply.header(CLUSTER_HEADER, service.clusterId);
    const pinned = request.headers[CLUSTER_HEADER];
    if (session !== undefined && pinned !== undefined && pinned !== service.clusterId) {
      // Not proposed: the id may be another client's session on this (restored) cluster.
      return sendError(reply, { code: 'UnknownSession', message: `session ${session.id} was opened on cluster ${JSON.stringify(String(pinned))}, this is cluster ${JSON.stringify(service.clusterId)} (restored from a backup, or another cluster): open a new session` });
    }
    // Session management commands travel the same path; IpamCommand gains them with the sessions work.
    const result = await service.submit(command as IpamCommand, session);
    // A refusal is the value every replica computed: passed through with its code's status.
    return result.ok ? sendValue(reply, result.value) : sendError(reply, result.error);
  });
}
