/**
 * Raw HTTP to whichever node leads, as a real client must do it: requests go to the current leader;
 * a NotLeader answer names the new one (its URL, or its id, resolved through the cluster's layout) and
 * the same request is sent there; NoLeader / ProposalDropped / Overloaded / Timeout wait briefly and
 * retry. With a session in the body a re-sent command is applied at most once (exactly-once sessions),
 * so the retry is safe; the latency of the operation includes it. Without this, one election on a
 * loaded machine would turn the rest of a row into NotLeader errors.
 */
import { JsonHttp, type JsonAnswer } from './http.js';
import { sleep } from './proc.js';

const TRANSIENT = new Set(['NoLeader', 'ProposalDropped', 'Overloaded', 'Timeout']);

export class LeaderHttp {
  private readonly pools = new Map<string, JsonHttp>();
  /** Leader changes followed, for the row's notes. */
  redirects = 0;

  constructor(
    private current: string,
    private readonly connections: number,
    private readonly urlOf: (nodeId: string) => string | undefined,
  ) {}

  get url(): string {
    return this.current;
  }

  private pool(url: string): JsonHttp {
    let p = this.pools.get(url);
    if (!p) this.pools.set(url, (p = new JsonHttp(url, this.connections)));
    return p;
  }

  async post(path: string, body: unknown, deadlineMs = 30_000): Promise<JsonAnswer> {
    return this.send((p) => p.post(path, body, deadlineMs), deadlineMs);
  }

  async get(path: string, deadlineMs = 30_000): Promise<JsonAnswer> {
    return this.send((p) => p.get(path, deadlineMs), deadlineMs);
  }

  private async send(request: (p: JsonHttp) => Promise<JsonAnswer>, deadlineMs: number): Promise<JsonAnswer> {
    const deadline = performance.now() + deadlineMs;
    for (;;) {
      const a = await request(this.pool(this.current));
      const err = (a.body as { ok?: boolean; error?: { code?: string; leader?: { id?: string; clientUrl?: string } } }).error;
      if (a.status === 200 || !err?.code || performance.now() > deadline) return a;
      if (err.code === 'NotLeader') {
        const next = err.leader?.clientUrl ?? (err.leader?.id ? this.urlOf(err.leader.id) : undefined);
        if (next && next !== this.current) {
          this.current = next;
          this.redirects++;
          continue;
        }
        await sleep(20);
      } else if (TRANSIENT.has(err.code)) await sleep(20);
      else return a;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }
}
