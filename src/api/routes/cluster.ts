/** Cluster status and membership. Membership changes are NodeService calls; their refusals are NodeErrors. */
import type { FastifyInstance } from 'fastify';
import type { NodeService } from '../../node/service.js';
import { sendValue } from '../reply.js';
import { addMemberBody, memberParams, noQuery, transferLeaderBody } from '../schemas.js';
import type { AddMemberRequest } from '../wire.js';

export function registerClusterRoutes(app: FastifyInstance, service: NodeService): void {
  app.get('/v1/status', { schema: { querystring: noQuery } }, async (_request, reply) => sendValue(reply, await service.status()));

  app.get('/v1/members', { schema: { querystring: noQuery } }, async (_request, reply) => sendValue(reply, service.raftStatus().members));

  app.post<{ Body: AddMemberRequest }>('/v1/members', { schema: { body: addMemberBody, querystring: noQuery } }, async (request, reply) => {
    const { id, peerUrl, clientUrl, learner } = request.body;
    await service.addMember({ id, peerUrl, ...(clientUrl !== undefined ? { clientUrl } : {}), ...(learner !== undefined ? { learner } : {}) });
    return sendValue(reply, { id });
  });

  app.post<{ Params: { id: string } }>('/v1/members/:id/promote', { schema: { params: memberParams, querystring: noQuery } }, async (request, reply) => {
    await service.promoteMember(request.params.id);
    return sendValue(reply, { id: request.params.id });
  });

  app.delete<{ Params: { id: string } }>('/v1/members/:id', { schema: { params: memberParams, querystring: noQuery } }, async (request, reply) => {
    await service.removeMember(request.params.id);
    return sendValue(reply, { id: request.params.id });
  });

  app.post<{ Body: { to?: string } }>(
    '/v1/transfer-leader',
    {
      schema: { body: transferLeaderBody, querystring: noQuery },
      // `to` is optional, so is the body: a bare POST (no body, no content type) means "any up-to-date voter".
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      await service.transferLeader(request.body.to);
      return sendValue(reply, { leader: service.raftStatus().leader });
    },
  );
}
