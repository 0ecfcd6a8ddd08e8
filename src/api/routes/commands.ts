/** POST /v1/commands: one command (plus an optional session) in, the state machine's answer out. */
import type { FastifyInstance } from 'fastify';
import type { IpamCommand } from '../../ipam/commands.js';
import type { NodeService } from '../../node/service.js';
import { parseCommandBody } from '../command-body.js';
import { sendError, sendValue } from '../reply.js';
import { commandBody, noQuery } from '../schemas.js';

export function registerCommandRoutes(app: FastifyInstance, service: NodeService): void {
  app.post('/v1/commands', { schema: { body: commandBody, querystring: noQuery } }, async (request, reply) => {
    // Throws InvalidCommand (→ 400) before anything reaches the service: a bad body changes nothing.
    const { command, session } = parseCommandBody(request.body);
    // Session management commands travel the same path; IpamCommand gains them with the sessions work.
    const result = await service.submit(command as IpamCommand, session);
    // A refusal is the value every replica computed: passed through with its code's status.
    return result.ok ? sendValue(reply, result.value) : sendError(reply, result.error);
  });
}
