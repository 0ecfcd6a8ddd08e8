/**
 * What the HTTP API would answer to a read, computed from a real IpamStateMachine through the API's own
 * listing code (src/api/listing.ts, the GET /v1/networks handler's query), so tests compare the model
 * with what a client sees, not with a re-derivation.
 */
import { listAllocations, listSlices } from '../../../src/api/listing.js';
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from '../../../src/api/schemas.js';
import type { ReadQuery } from '../../../src/check/operations.js';
import type { IpamStateMachine } from '../../../src/ipam/state-machine.js';
import type { NodeService } from '../../../src/node/service.js';

/** The ok value, or the refusal code, the API gives for `read` against `sm`. */
export async function readFromStateMachine(sm: IpamStateMachine, read: ReadQuery): Promise<{ ok: true; value: unknown } | { ok: false; code: string }> {
  const service = { query: async <T,>(_c: unknown, fn: (s: IpamStateMachine) => T): Promise<T> => fn(sm) } as unknown as NodeService;
  switch (read.type) {
    case 'listNetworks':
      return { ok: true, value: sm.networks() };
    case 'listSlices': {
      const view = await listSlices(service, 'linearizable', read.network);
      return view ? { ok: true, value: view } : { ok: false, code: 'UnknownNetwork' };
    }
    case 'listAllocations': {
      const limit = Math.min(read.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);
      const view = await listAllocations(service, 'linearizable', read.network, {
        ...(read.node !== undefined ? { node: read.node } : {}),
        ...(read.owner !== undefined ? { owner: read.owner } : {}),
        limit,
      });
      return view ? { ok: true, value: JSON.parse(JSON.stringify(view)) as unknown } : { ok: false, code: 'UnknownNetwork' };
    }
  }
}
