/**
 * Run a recorded operation through an IpamClient and turn what happens into an Outcome, so a chaos client
 * records exactly what the checker will read:
 *
 *   const outcome = await recorder.run('c3', op, () => perform(client, op));
 *
 * Commands go through submit() (refusals come back as data); reads use the client's linearizable default.
 */
import type { IpamClient } from '../api/client.js';
import type { Outcome } from './history.js';
import { isRead, type Operation } from './operations.js';
import { outcomeOfError, outcomeOfRefusal } from './outcomes.js';

export async function perform(client: IpamClient, op: Operation): Promise<Outcome> {
  try {
    if (!isRead(op)) {
      const r = await client.submit(op);
      return r.ok ? { type: 'ok', value: r.value } : outcomeOfRefusal(r.error);
    }
    switch (op.type) {
      case 'listNetworks':
        return { type: 'ok', value: await client.networks() };
      case 'listSlices':
        return { type: 'ok', value: await client.slices(op.network) };
      case 'listAllocations':
        return {
          type: 'ok',
          value: await client.allocations(op.network, {
            ...(op.node !== undefined ? { node: op.node } : {}),
            ...(op.owner !== undefined ? { owner: op.owner } : {}),
            ...(op.limit !== undefined ? { limit: op.limit } : {}),
          }),
        };
    }
  } catch (e) {
    return outcomeOfError(e);
  }
}
