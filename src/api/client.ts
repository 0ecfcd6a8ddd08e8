/**
 * IpamClient: the typed client of the HTTP API, for the CLI and for embedding hosts (CNI plugins, agents).
 *
 * Leader discovery: the client remembers the endpoint that last answered a leader-only request (a command,
 * a membership change, a linearizable read) and starts there. A NotLeader answer names the leader's client
 * URL, which the next attempt goes to at once; without one the client moves on to the next endpoint. Any
 * other transient failure (no leader, overloaded, connection refused, attempt timeout) moves to the next
 * endpoint after a capped exponential backoff with full jitter, until the call's deadline (timeoutMs) or
 * its retry budget runs out: then IpamClientError 'Unavailable'.
 *
 * Exactly once: with `session: true` the client opens a session on first use and sends every command with
 * the same {id, seq} on each of its retries, so a command whose reply was lost (leader crash after commit)
 * is answered from the node's cache on the retry instead of being applied twice. Without a session, a
 * command is re-sent only after failures that prove it was never proposed (see retry.ts); after an
 * ambiguous one the client gives up with 'OutcomeUnknown' rather than risk a second allocation.
 */
import { parseCommand, type Allocate, type AllocateFirst, type AllocateSpecific, type AssignSlice, type AssignSpecificSlice, type ConfigureNetwork, type IpamCommand, type Mark, type Release, type ReleaseOwner, type ReleaseSlice } from '../ipam/commands.js';
import { OverlayError } from '../ipam/errors.js';
import type { ApplyResult, ResultOf } from '../ipam/state-machine.js';
import type { Consistency, LeaderRef, MemberView, NodeStatusView, SessionRef } from '../node/service.js';
import { SessionTracker } from './client-session.js';
import { backoffDelay, DEFAULT_BACKOFF, networkErrorText, ruleForCode, ruleForNetworkError, type Backoff, type RetryRule } from './retry.js';
import { CLUSTER_HEADER, SNAPSHOT_CONTENT_TYPE, SNAPSHOT_HEADERS, type AddMemberRequest, type AllocationsView, type NetworkSlicesView, type NetworkSummary, type NetworkUsageView, type SessionClosed, type SessionOpened, type WireError } from './wire.js';

export interface IpamClientOptions {
  /** Client URLs of the cluster's nodes, e.g. http://127.0.0.1:8001. */
  endpoints: string[];
  token?: string;
  /** Deadline of one call, every retry included (default 10 000 ms). */
  timeoutMs?: number;
  /** Attempts after the first before giving up (default 50). */
  retries?: number;
  /** Open an exactly-once session and send every command under it. */
  session?: boolean;
  /** Longest single HTTP attempt (default 5 000 ms, never past the call's deadline). */
  attemptTimeoutMs?: number;
  backoff?: Partial<Backoff>;
  /** Jitter source (tests pass a fixed one). */
  random?: () => number;
}

/**
 * - refused: the cluster answered and said no (a state-machine refusal or a membership refusal): exit 1.
 * - invalid: the request was malformed, checked here or at the server's boundary: exit 2.
 * - unauthorized: missing or wrong token: exit 2.
 * - unavailable: no endpoint gave an answer before the deadline or the retry budget ran out: exit 3.
 * - outcome-unknown: a command without a session failed after it may have been applied: exit 3.
 */
export type ClientErrorKind = 'refused' | 'invalid' | 'unauthorized' | 'unavailable' | 'outcome-unknown';

export class IpamClientError extends Error {
  override readonly name = 'IpamClientError';
  constructor(
    readonly code: string,
    message: string,
    readonly kind: ClientErrorKind,
    /** The HTTP status of the answer this error reports, when there was one. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Codes of the API layer itself (status-codes.ts): the request never reached the service. */
const BOUNDARY_CODES = new Set(['InvalidRequest', 'NotFound', 'PayloadTooLarge', 'UnsupportedMediaType']);

type Answer<T> = { ok: true; value: T } | { ok: false; error: WireError; status: number };

interface Request {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  /** Safe to re-send after an ambiguous failure. */
  idempotent: boolean;
  /** A success proves the endpoint leads (remember it). */
  leaderOnly: boolean;
  /** Only this endpoint, once (per-node status). */
  endpoint?: string;
  /**
   * A 200 answer is a body to stream (GET /v1/snapshot): the attempt returns the open response once its
   * headers arrive, and the attempt timeout stops there (the caller bounds the body's reading).
   */
  stream?: boolean;
  /**
   * A command under a session: a SessionExpired or UnknownSession answer after an attempt whose outcome
   * was unknown becomes OutcomeUnknown (that attempt may have been applied before the session went).
   */
  sessionBound?: boolean;
  /** Sent as CLUSTER_HEADER: the cluster the request's session was opened on (when known). */
  cluster?: string | undefined;
  /** Called with a reader of the headers of each answer that has an API envelope, in order: the last is the call's. */
  onAnswer?: (header: (name: string) => string | undefined) => void;
}

/** Refusals meaning the session no longer exists on the cluster: the command was not applied. */
const SESSION_GONE: ReadonlySet<string> = new Set(['SessionExpired', 'UnknownSession']);

/**
 * A snapshot being downloaded (GET /v1/snapshot): the file header's fields from the response headers,
 * and the body. The body is a saved snapshot file that checks itself; read it to the end and validate it
 * (src/backup/save.ts does both), or abort().
 */
export interface SnapshotDownload {
  /** The node that answered (the leader). */
  endpoint: string;
  index: number;
  term: number;
  clusterId: string;
  stateHash: string;
  takenAt: number;
  /** Length of the whole file. */
  bytes: number;
  body: ReadableStream<Uint8Array>;
  abort(reason?: unknown): void;
}

interface OpenStream {
  response: Response;
  abort(reason?: unknown): void;
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '');

/**
 * undici and one connection pool for every IpamClient in the process (as fetch has its global one); idle
 * keep-alive sockets do not hold the process open. Not undici's global dispatcher: Node's built-in fetch
 * may have installed its own (older) undici there. Loaded on the first call, not with this module: the CLI
 * registers its client commands in every process, `serve` included, and undici's import is ~80 ms of a
 * node's start.
 */
let http: Promise<{ request: typeof import('undici').request; agent: import('undici').Agent }> | undefined;
const undici = () => (http ??= import('undici').then(({ request, Agent }) => ({ request, agent: new Agent() })));

export class IpamClient {
  private readonly endpoints: string[];
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly attemptTimeoutMs: number;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly authorization: string | undefined;
  private readonly useSession: boolean;
  /** The endpoint that last answered a leader-only request, or the leader a NotLeader named. */
  private preferred: string | undefined;
  private session: Promise<SessionTracker> | undefined;

  constructor(options: IpamClientOptions) {
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) throw new IpamClientError('InvalidRequest', 'at least one endpoint is needed', 'invalid');
    this.endpoints = options.endpoints.map((e) => {
      let url: URL;
      try {
        url = new URL(e);
      } catch {
        throw new IpamClientError('InvalidRequest', `endpoint ${JSON.stringify(e)} is not a URL`, 'invalid');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new IpamClientError('InvalidRequest', `endpoint ${JSON.stringify(e)} must be http:// or https://`, 'invalid');
      return trimSlash(url.href);
    });
    const positive = (v: number | undefined, name: string, fallback: number): number => {
      if (v === undefined) return fallback;
      if (!Number.isFinite(v) || v < 0) throw new IpamClientError('InvalidRequest', `${name} must be a non-negative number, got ${String(v)}`, 'invalid');
      return v;
    };
    this.timeoutMs = positive(options.timeoutMs, 'timeoutMs', 10_000);
    // Enough attempts at the capped backoff (≈ 250 ms apart) that the deadline, not the count, ends them.
    this.retries = positive(options.retries, 'retries', 50);
    this.attemptTimeoutMs = positive(options.attemptTimeoutMs, 'attemptTimeoutMs', 5_000);
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.random = options.random ?? Math.random;
    this.authorization = options.token !== undefined ? `Bearer ${options.token}` : undefined;
    this.useSession = options.session === true;
  }

  // --- commands --------------------------------------------------------------------------------------

  /**
   * Submit one command; a refusal comes back as `{ ok: false, error }` (the state machine's answer).
   * Throws IpamClientError for a malformed command (before sending) and for cluster conditions.
   */
  async submit<C extends IpamCommand>(command: C): Promise<ApplyResult<ResultOf<C>>> {
    let checked: IpamCommand;
    try {
      checked = parseCommand(command);
    } catch (e) {
      if (e instanceof OverlayError) throw new IpamClientError(e.code, e.message, 'invalid');
      throw e;
    }
    const answer = await this.submitChecked<ResultOf<C>>(checked);
    if (answer.ok) return { ok: true, value: answer.value };
    if (BOUNDARY_CODES.has(answer.error.code) || answer.error.code === 'Unauthorized') this.unwrap(answer);
    return { ok: false, error: answer.error as Extract<ApplyResult, { ok: false }>['error'] };
  }

  /**
   * Under a session: a command refused because the session is gone (expired or closed) was not applied,
   * so it is sent once more under a new session. Unless an earlier attempt of
   * it had an unknown outcome: that attempt may have been applied under the old session, whose cached
   * answer is gone, so re-sending could apply it twice; the caller gets OutcomeUnknown (request()).
   */
  private async submitChecked<T>(command: IpamCommand): Promise<Answer<T>> {
    if (!this.useSession) return this.request<T>({ method: 'POST', path: '/v1/commands', body: command, idempotent: false, leaderOnly: true });
    for (let reopened = false; ; reopened = true) {
      const opening = this.openedSession();
      const tracker = await opening;
      const seq = tracker.begin();
      let answer: Answer<T>;
      try {
        // The body is rebuilt per attempt only for the ack; id and seq never change across retries.
        answer = await this.request<T>({ method: 'POST', path: '/v1/commands', body: () => withSession(command, tracker.ref(seq)), idempotent: true, leaderOnly: true, sessionBound: true, cluster: tracker.cluster });
      } finally {
        tracker.end(seq);
      }
      if (answer.ok || !SESSION_GONE.has(answer.error.code)) return answer;
      if (this.session === opening) this.session = undefined; // the next command opens a new one
      if (reopened) return answer;
    }
  }

  /** Submit and unwrap: the typed result, or IpamClientError(kind 'refused') with the state machine's code. */
  async command<C extends IpamCommand>(command: C): Promise<ResultOf<C>> {
    const r = await this.submit(command);
    if (!r.ok) throw new IpamClientError(r.error.code, r.error.message, 'refused');
    return r.value;
  }

  configureNetwork(c: Omit<ConfigureNetwork, 'type'>): Promise<ResultOf<ConfigureNetwork>> {
    return this.command<ConfigureNetwork>({ type: 'configureNetwork', ...c });
  }
  assignSlice(c: Omit<AssignSlice, 'type'>): Promise<ResultOf<AssignSlice>> {
    return this.command<AssignSlice>({ type: 'assignSlice', ...c });
  }
  assignSpecificSlice(c: Omit<AssignSpecificSlice, 'type'>): Promise<ResultOf<AssignSpecificSlice>> {
    return this.command<AssignSpecificSlice>({ type: 'assignSpecificSlice', ...c });
  }
  releaseSlice(c: Omit<ReleaseSlice, 'type'>): Promise<ResultOf<ReleaseSlice>> {
    return this.command<ReleaseSlice>({ type: 'releaseSlice', ...c });
  }
  allocate(c: Omit<Allocate, 'type'>): Promise<ResultOf<Allocate>> {
    return this.command<Allocate>({ type: 'allocate', ...c });
  }
  allocateFirst(c: Omit<AllocateFirst, 'type'>): Promise<ResultOf<AllocateFirst>> {
    return this.command<AllocateFirst>({ type: 'allocateFirst', ...c });
  }
  allocateSpecific(c: Omit<AllocateSpecific, 'type'>): Promise<ResultOf<AllocateSpecific>> {
    return this.command<AllocateSpecific>({ type: 'allocateSpecific', ...c });
  }
  mark(c: Omit<Mark, 'type'>): Promise<ResultOf<Mark>> {
    return this.command<Mark>({ type: 'mark', ...c });
  }
  release(c: Omit<Release, 'type'>): Promise<ResultOf<Release>> {
    return this.command<Release>({ type: 'release', ...c });
  }
  releaseOwner(c: Omit<ReleaseOwner, 'type'>): Promise<ResultOf<ReleaseOwner>> {
    return this.command<ReleaseOwner>({ type: 'releaseOwner', ...c });
  }

  // --- sessions ---------------------------------------------------------------------------------------

  /**
   * Open a new session and send the following commands under it (commands open one on first use when
   * `session` is set). Safe to retry after an ambiguous failure: a session opened by a lost attempt is
   * never used and expires on the node.
   */
  async openSession(): Promise<number> {
    const opening = this.requestSession();
    this.session = opening;
    return (await opening).id;
  }

  private requestSession(): Promise<SessionTracker> {
    // The cluster that issued the id (CLUSTER_HEADER): the session's commands name it, so a cluster
    // restored from a backup, which numbers its sessions again from the backup's counter, refuses them.
    let cluster: string | undefined;
    const onAnswer = (header: (name: string) => string | undefined): void => {
      cluster = header(CLUSTER_HEADER);
    };
    const opening = this.request<SessionOpened>({ method: 'POST', path: '/v1/commands', body: { type: 'openSession' }, idempotent: true, leaderOnly: true, onAnswer }).then(
      (answer) => new SessionTracker(this.unwrap(answer).session, cluster),
    );
    // A failed open is forgotten so the next command tries again (unless a newer open replaced it already).
    opening.catch(() => {
      if (this.session === opening) this.session = undefined;
    });
    return opening;
  }

  /** Close the current session (its cached results are dropped on the node); the next command opens a new one. */
  async closeSession(): Promise<SessionClosed | undefined> {
    const current = this.session;
    this.session = undefined;
    if (current === undefined) return undefined;
    const { id } = await current;
    return this.unwrap(await this.request<SessionClosed>({ method: 'POST', path: '/v1/commands', body: { type: 'closeSession', session: id }, idempotent: true, leaderOnly: true }));
  }

  /** The session id in use, if one is open. */
  async sessionId(): Promise<number | undefined> {
    return this.session ? (await this.session).id : undefined;
  }

  private openedSession(): Promise<SessionTracker> {
    // One open at a time: concurrent first commands share it instead of opening one session each.
    this.session ??= this.requestSession();
    return this.session;
  }

  // --- queries ------------------------------------------------------------------------------------------

  networks(options: { consistency?: Consistency } = {}): Promise<NetworkSummary[]> {
    return this.read<NetworkSummary[]>('/v1/networks', options.consistency);
  }
  network(name: string, options: { consistency?: Consistency } = {}): Promise<NetworkUsageView> {
    return this.read<NetworkUsageView>(`/v1/networks/${encodeURIComponent(name)}`, options.consistency);
  }
  slices(network: string, options: { consistency?: Consistency } = {}): Promise<NetworkSlicesView> {
    return this.read<NetworkSlicesView>(`/v1/networks/${encodeURIComponent(network)}/slices`, options.consistency);
  }
  /** One page (at most `limit`, default 10,000); pass a truncated page's `next` as `after` for the next. */
  allocations(network: string, options: { node?: string; owner?: string; limit?: number; after?: string; consistency?: Consistency } = {}): Promise<AllocationsView> {
    const extra = new URLSearchParams();
    if (options.node !== undefined) extra.set('node', options.node);
    if (options.owner !== undefined) extra.set('owner', options.owner);
    if (options.limit !== undefined) extra.set('limit', String(options.limit));
    if (options.after !== undefined) extra.set('after', options.after);
    return this.read<AllocationsView>(`/v1/networks/${encodeURIComponent(network)}/allocations`, options.consistency, extra);
  }

  /** One node's view; `endpoint` asks that node only (no retry elsewhere), otherwise any node that answers. */
  async status(options: { endpoint?: string } = {}): Promise<NodeStatusView> {
    return this.unwrap(await this.request<NodeStatusView>({ method: 'GET', path: '/v1/status', idempotent: true, leaderOnly: false, ...(options.endpoint !== undefined ? { endpoint: trimSlash(options.endpoint) } : {}) }));
  }
  async members(): Promise<MemberView[]> {
    return this.unwrap(await this.request<MemberView[]>({ method: 'GET', path: '/v1/members', idempotent: true, leaderOnly: false }));
  }

  private async read<T>(path: string, consistency: Consistency | undefined, extra = new URLSearchParams()): Promise<T> {
    if (consistency !== undefined) extra.set('consistency', consistency);
    const query = extra.size > 0 ? `?${extra.toString()}` : '';
    // A stale read can be answered by any node; a linearizable one proves nothing about leadership either
    // (followers may serve it by ReadIndex), so neither moves the preferred endpoint.
    return this.unwrap(await this.request<T>({ method: 'GET', path: `${path}${query}`, idempotent: true, leaderOnly: false }));
  }

  // --- membership ------------------------------------------------------------------------------------------

  async addMember(member: AddMemberRequest): Promise<void> {
    await this.unwrap(await this.request({ method: 'POST', path: '/v1/members', body: member, idempotent: false, leaderOnly: true }));
  }
  async promoteMember(id: string): Promise<void> {
    await this.unwrap(await this.request({ method: 'POST', path: `/v1/members/${encodeURIComponent(id)}/promote`, body: {}, idempotent: false, leaderOnly: true }));
  }
  async removeMember(id: string): Promise<void> {
    await this.unwrap(await this.request({ method: 'DELETE', path: `/v1/members/${encodeURIComponent(id)}`, idempotent: false, leaderOnly: true }));
  }
  /** Resolves with the leader the node reports once the transfer is done. */
  async transferLeader(to?: string): Promise<{ leader: LeaderRef | null }> {
    return this.unwrap(await this.request<{ leader: LeaderRef | null }>({ method: 'POST', path: '/v1/transfer-leader', body: to !== undefined ? { to } : {}, idempotent: false, leaderOnly: true }));
  }

  // --- snapshots ------------------------------------------------------------------------------------------

  /**
   * Start downloading a consistent snapshot from the leader (followers redirect to it). Resolves once the
   * headers are in; the body is the caller's to read. Retries like a read until a node answers.
   */
  async snapshot(): Promise<SnapshotDownload> {
    const open = this.unwrap(await this.request<OpenStream>({ method: 'GET', path: '/v1/snapshot', idempotent: true, leaderOnly: true, stream: true }));
    const { response, abort } = open;
    const h = (name: string): string => response.headers.get(name) ?? '';
    const number = (name: string): number => {
      const text = h(name);
      return /^\d{1,16}$/.test(text) ? Number(text) : NaN;
    };
    const d = {
      endpoint: new URL(response.url).origin,
      index: number(SNAPSHOT_HEADERS.index),
      term: number(SNAPSHOT_HEADERS.term),
      clusterId: h(SNAPSHOT_HEADERS.clusterId),
      stateHash: h(SNAPSHOT_HEADERS.stateHash),
      takenAt: number(SNAPSHOT_HEADERS.takenAt),
      bytes: number('content-length'),
    };
    const bad = [d.index, d.term, d.takenAt, d.bytes].some((n) => !Number.isSafeInteger(n)) || !/^[0-9a-f]{64}$/.test(d.stateHash) || d.clusterId === '';
    if (!response.headers.get('content-type')?.startsWith(SNAPSHOT_CONTENT_TYPE) || bad || response.body === null) {
      abort();
      throw new IpamClientError('BadResponse', `${d.endpoint} answered GET /v1/snapshot without a snapshot (content type ${JSON.stringify(response.headers.get('content-type'))})`, 'unavailable', response.status);
    }
    return { ...d, body: response.body, abort };
  }

  // --- transport ------------------------------------------------------------------------------------------

  private unwrap<T>(answer: Answer<T>): T {
    if (answer.ok) return answer.value;
    const { code, message } = answer.error;
    const kind: ClientErrorKind = code === 'Unauthorized' ? 'unauthorized' : BOUNDARY_CODES.has(code) ? 'invalid' : 'refused';
    throw new IpamClientError(code, message, kind, answer.status);
  }

  /**
   * One call: attempts across endpoints until an answer that is final (success or a refusal), or the
   * deadline or retry budget is spent. Returns refusals as data; throws only when no final answer came.
   */
  private async request<T>(req: Omit<Request, 'body'> & { body?: unknown }): Promise<Answer<T>> {
    const deadline = Date.now() + this.timeoutMs;
    const only = req.endpoint;
    let target = only ?? this.preferred ?? (this.endpoints[0] as string);
    let failures = 0;
    let hops = 0;
    let last = 'no attempt made';
    let ambiguous: string | undefined;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - Date.now();
      if (attempt > 0 && (remaining <= 0 || attempt > this.retries || only !== undefined)) {
        throw new IpamClientError('Unavailable', `gave up after ${attempt} attempt(s) in ${this.timeoutMs} ms: last ${last}`, 'unavailable');
      }
      // An attempt cut short by the call's own deadline says nothing about the endpoint.
      const cutByDeadline = remaining < this.attemptTimeoutMs;
      const outcome = await this.attempt<T>(target, req, Math.max(1, Math.min(this.attemptTimeoutMs, remaining)));
      let failure: { rule: RetryRule; text: string; leaderUrl?: string };
      if (outcome.kind === 'answer') {
        const answer = outcome.answer;
        if (answer.ok) {
          if (req.leaderOnly) this.preferred = target;
          return answer;
        }
        if (ambiguous !== undefined && req.sessionBound && SESSION_GONE.has(answer.error.code)) {
          throw new IpamClientError('OutcomeUnknown', `the command may or may not have been applied: an attempt failed with an unknown outcome (${ambiguous}), then its session was gone ([${answer.error.code}] ${answer.error.message}); re-read the state before retrying`, 'outcome-unknown');
        }
        const rule = ruleForCode(answer.error.code);
        if (rule === 'never') return answer;
        failure = { rule, text: `[${answer.error.code}] ${answer.error.message}`, ...(answer.error.leader?.clientUrl !== undefined ? { leaderUrl: answer.error.leader.clientUrl } : {}) };
      } else {
        failure = outcome;
      }
      // Keep the last real answer when the deadline cut the final attempt: it is what the operator needs.
      if (!(cutByDeadline && outcome.kind !== 'answer' && failure.text === 'attempt timed out' && last !== 'no attempt made')) last = `${target}: ${failure.text}`;
      if (failure.rule === 'ifSafe') ambiguous ??= `${target}: ${failure.text}`;
      if (failure.rule === 'ifSafe' && !req.idempotent) {
        throw new IpamClientError('OutcomeUnknown', `the command may or may not have been applied (${target}: ${failure.text}); it was not retried because it carries no session`, 'outcome-unknown');
      }
      if (failure.leaderUrl !== undefined && only === undefined && hops < this.endpoints.length + 1) {
        // Follow the named leader at once; a chain longer than the cluster means an election in progress.
        hops++;
        target = trimSlash(failure.leaderUrl);
        this.preferred = target;
        continue;
      }
      hops = 0;
      // Whatever this endpoint was, it is not a leader that answers now: the next call starts elsewhere.
      if (this.preferred === target) this.preferred = undefined;
      target = this.nextEndpoint(target);
      await sleep(Math.min(backoffDelay(failures++, this.backoff, this.random), Math.max(0, deadline - Date.now())));
    }
  }

  private nextEndpoint(current: string): string {
    const i = this.endpoints.indexOf(current);
    // A learned leader URL outside the list: start over at the first endpoint.
    return this.endpoints[(i + 1) % this.endpoints.length] as string;
  }

  private async attempt<T>(
    base: string,
    req: Omit<Request, 'body'> & { body?: unknown },
    timeoutMs: number,
  ): Promise<{ kind: 'answer'; answer: Answer<T> } | { kind: 'failed'; rule: RetryRule; text: string }> {
    const body = typeof req.body === 'function' ? (req.body as () => unknown)() : req.body;
    const headers: Record<string, string> = { accept: req.stream ? `${SNAPSHOT_CONTENT_TYPE}, application/json` : 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    if (req.cluster !== undefined) headers[CLUSTER_HEADER] = req.cluster;
    let status: number;
    let header: (name: string) => string | undefined;
    let text: string;
    // The attempt's own timer and controller, held strongly here, and the attempt raced against them:
    // AbortSignal.timeout() holds its signal weakly and fetch follows a signal through weak references,
    // so after a garbage collection an abort can fail to reach a fetch (nodejs/node#55428) or a body read
    // (nodejs/node#56917), and the call would hang past its deadline. A streamed body outlives the attempt
    // timeout, which then covers only the wait for the headers.
    const controller = new AbortController();
    const expired = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }));
    expired.catch(() => undefined); // a later abort of a stream must not be an unhandled rejection
    const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    const url = `${base}${req.path}`;
    const json = body !== undefined ? JSON.stringify(body) : undefined;
    try {
      if (req.stream === true) {
        // fetch for the snapshot download: its body is a web ReadableStream, which SnapshotDownload hands out.
        const response = await Promise.race([
          // NotLeader is a 307 to the leader: followed here, with the request's own session and seq.
          fetch(url, { method: req.method, headers, ...(json !== undefined ? { body: json } : {}), redirect: 'manual', signal: controller.signal }),
          expired,
        ]);
        if (response.status === 200) {
          clearTimeout(timer);
          const open: OpenStream = { response, abort: (reason) => controller.abort(reason) };
          return { kind: 'answer', answer: { ok: true, value: open as T } };
        }
        status = response.status;
        header = (name) => response.headers.get(name) ?? undefined;
        text = await Promise.race([response.text(), expired]);
      } else {
        // undici's request() for every API call: the same kind of keep-alive pool as fetch without the
        // Fetch standard's objects and streams, about 4× less CPU per call (a scratch loop against a bare
        // fastify route in one process: 2,100–3,200 calls/s with fetch, 10,500–14,000 with request()).
        // It follows no redirect: a 307 (NotLeader) comes back as an answer and is followed above.
        const { request, agent } = await undici();
        const response = await Promise.race([request(url, { method: req.method, headers, ...(json !== undefined ? { body: json } : {}), signal: controller.signal, dispatcher: agent }), expired]);
        status = response.statusCode;
        header = (name) => {
          const v = response.headers[name];
          return Array.isArray(v) ? v[0] : v;
        };
        text = await Promise.race([response.body.text(), expired]);
      }
    } catch (e) {
      return { kind: 'failed', rule: ruleForNetworkError(e), text: networkErrorText(e) };
    } finally {
      clearTimeout(timer);
    }
    const envelope = parseEnvelope<T>(text);
    if (envelope === undefined) {
      // Not our server's answer (a proxy's error page, a truncated body): a gateway failure is transient.
      const rule: RetryRule = status === 502 || status === 503 || status === 504 ? 'ifSafe' : 'never';
      if (rule === 'never') return { kind: 'answer', answer: { ok: false, error: { code: 'BadResponse', message: `HTTP ${status} from ${base} without an API envelope` }, status } };
      return { kind: 'failed', rule, text: `HTTP ${status} without an API envelope` };
    }
    req.onAnswer?.(header);
    return { kind: 'answer', answer: envelope.ok ? envelope : { ...envelope, status } };
  }
}

function parseEnvelope<T>(text: string): { ok: true; value: T } | { ok: false; error: WireError } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as { ok?: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } };
  if (e.ok === true && 'value' in e) return { ok: true, value: e.value as T };
  if (e.ok === false && typeof e.error?.code === 'string' && typeof e.error.message === 'string') return { ok: false, error: e.error as WireError };
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `{ ...command, session }` without the spread: V8 builds a spread plus a new key on a slow path (≈ 2 µs). */
function withSession(command: IpamCommand, session: SessionRef): IpamCommand & { session: SessionRef } {
  const body = Object.assign({}, command) as IpamCommand & { session: SessionRef };
  body.session = session;
  return body;
}
