/**
 * GET /v1/snapshot: the node's IPAM state as a saved snapshot file (src/backup/snapshot-file.ts), for
 * `raft-ipam snapshot save`. Behind the bearer token like every non-probe route.
 *
 * Consistency: the node takes a linearizable read point (ReadIndex, leader only: a follower answers
 * NotLeader, a 307 to the leader) and captures the state once that point is applied, so the file holds
 * every write acknowledged before the request. The capture is encoded a step at a time between the
 * node's other work, the SHA-256 is computed a slice per event-loop turn, and the bytes go out in 64 KiB
 * pieces as the socket takes them: a large state never holds off heartbeats.
 *
 * Headers give what the file header holds (index, term, source cluster, state hash) so a client can log
 * them before the body arrives; the file checks itself (header CRC, payload SHA-256), so a body cut
 * short or damaged on the way is refused by the reader, not trusted.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { encodeSnapshotHeader, sha256Stepwise } from '../../backup/snapshot-file.js';
import type { NodeService } from '../../node/service.js';
import { noQuery } from '../schemas.js';
import { SNAPSHOT_CONTENT_TYPE, SNAPSHOT_HEADERS } from '../wire.js';

const PIECE_BYTES = 64 * 1024;

export function registerSnapshotRoutes(app: FastifyInstance, service: NodeService): void {
  app.get('/v1/snapshot', { schema: { querystring: noQuery } }, async (_request, reply) => {
    const s = await service.exportSnapshot();
    const stateHash = await sha256Stepwise(s.data);
    const header = encodeSnapshotHeader({ clusterId: s.clusterId, index: s.index, term: s.term, takenAt: s.takenAt, payloadLength: s.data.length, stateHash });
    return reply
      .code(200)
      .type(SNAPSHOT_CONTENT_TYPE)
      .header('content-length', String(header.length + s.data.length))
      .header('content-disposition', `attachment; filename="${s.clusterId}-${s.index}.snap"`)
      .header('cache-control', 'no-store')
      .header(SNAPSHOT_HEADERS.index, String(s.index))
      .header(SNAPSHOT_HEADERS.term, String(s.term))
      .header(SNAPSHOT_HEADERS.clusterId, s.clusterId)
      .header(SNAPSHOT_HEADERS.stateHash, stateHash)
      .header(SNAPSHOT_HEADERS.takenAt, String(s.takenAt))
      .send(Readable.from(pieces(header, s.data), { objectMode: false }));
  });
}

function* pieces(header: Uint8Array, data: Uint8Array): Generator<Buffer> {
  yield Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  for (let at = 0; at < data.length; at += PIECE_BYTES) yield Buffer.from(data.buffer, data.byteOffset + at, Math.min(PIECE_BYTES, data.length - at));
}
