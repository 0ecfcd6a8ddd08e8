/**
 * Client sessions: exactly-once execution of retried requests (Raft dissertation §6.3, "Implementing
 * linearizable semantics"). A client opens a session (a replicated command, so every replica knows it),
 * numbers its requests 1, 2, 3, … and tags each log entry with (session, seq). The state machine executes
 * a (session, seq) once and caches its result; if the log holds the request twice (the leader crashed
 * after appending it and the client retried through the next leader), the second copy answers from the
 * cache and changes nothing.
 *
 * Rules (all decided by data in the log, so every replica decides the same):
 * - Log time: every entry carries the proposing leader's clock; the state keeps logTime = max(logTime,
 *   time). Expiry compares lastActive against logTime, never against a local clock (§6.3: "the leader
 *   augments each command with its current time"), so all replicas expire the same sessions at the same
 *   entry, and a replica restored from a snapshot continues exactly as the others.
 * - A session not used for more than ttlMs of log time is dropped when an entry advances logTime. The
 *   sessions are kept in a Map re-inserted on every use; lastActive is logTime at that use and logTime is
 *   monotone, so the Map is ordered by lastActive and expiry pops from the front: O(expired) per entry.
 * - A request under a session id that was issued but is gone is SessionExpired and is never executed:
 *   executing it could apply a request a second time (its first execution's cached result is gone).
 * - `ack` (client: "I have every response with seq < ack") moves the session's ack floor up and drops the
 *   cached results below it; a request with seq below the floor that is not cached is SessionSeqTooOld.
 * - Bounds: MAX_RESULTS_PER_SESSION unacknowledged results per session and MAX_CACHED_RESULTS in all
 *   (SessionBusy, not executed, retryable after an ack), MAX_SESSIONS live sessions (TooManySessions on
 *   openSession). A full table refuses new sessions instead of evicting the least recently used one: an
 *   eviction would turn a live client's next retry into SessionExpired, and a client opening sessions in
 *   a loop could evict everybody.
 *
 * The SessionTable is the one owner of this state (GUIDE §2 example 12): the state machine changes it only
 * through the methods below (each step journalled with its inverse), the snapshot codec through
 * encode()/decode().
 */
import { describe } from './address.js';
import { COMMAND_TYPES, MAX_SESSION_TTL_MS, MIN_SESSION_TTL_MS, type CommandType } from './commands.js';
import { decodeResult, encodeResult, type ApplyResult, type CommandResult, type WireResult } from './results.js';
import { invalidSnapshot as bad } from './snapshot-wire.js';

/**
 * Default session TTL: 10 minutes of log time. A session must outlive any realistic gap between a
 * client's retries (a leader election is seconds; a node agent restarting, a VM paused or a host
 * rebooting takes minutes), because expiry is what turns a retry into SessionExpired. It must also let
 * dead clients' sessions go: at MAX_SESSIONS = 100,000 and 10 min, clients can churn through about 166
 * new sessions a second before openSession is refused. etcd's client sessions default to 60 s but are
 * kept alive by a background lease heartbeat; these sessions have none (any request keeps one alive), so
 * the default is longer. Operators change it with `configureSessions` (1 s … 24 h).
 */
export const DEFAULT_SESSION_TTL_MS = 600_000;
/** Live sessions at most (a cluster's node agents and API clients: thousands, with headroom). */
export const MAX_SESSIONS = 100_000;
/** Unacknowledged cached results per session: a client pipelining more than this must send `ack`. */
export const MAX_RESULTS_PER_SESSION = 1_024;
/**
 * Cached results in all sessions: bounds memory (a cached allocation result is ≈ 200 bytes of heap, so
 * ≈ 200 MB at the bound) and snapshot size whatever the clients do, since 100,000 sessions × 1,024
 * results would not fit.
 */
export const MAX_CACHED_RESULTS = 1_048_576;
/** Session ids are 1 … MAX_SESSION_ID − 1 (exact doubles; see MAX_GENERATION in state.ts). */
export const MAX_SESSION_ID = Number.MAX_SAFE_INTEGER;

/** One executed request's answer, in its canonical wire form (never handed out, so nobody can mutate it). */
export interface CachedResult {
  readonly type: CommandType;
  readonly ok: boolean;
  readonly wire: WireResult;
}

export class Session {
  /** seq → cached result, for every executed seq ≥ ackFloor. */
  readonly results = new Map<number, CachedResult>();
  /**
   * Set while a snapshot capture has not yet encoded this session's results: runs once before the
   * SessionTable next changes them (copy-on-write, as AllocationBlock.watch). lastActive and ackFloor are
   * captured eagerly, so only the results need it.
   */
  preserve: (() => void) | undefined;
  constructor(
    readonly id: number,
    /** logTime of the last request under this session (or of its opening). */
    public lastActive: number,
    /** The client has every response with seq < ackFloor; those results are dropped. Starts at 1. */
    public ackFloor: number,
  ) {}
}

export function cacheable(type: CommandType, result: ApplyResult<CommandResult>): CachedResult {
  return { type, ok: result.ok, wire: encodeResult(type, result) };
}

export function replay(c: CachedResult): ApplyResult<CommandResult> {
  return decodeResult(c.type, c.ok, c.wire);
}

export class SessionTable {
  /** max(time) over every applied entry that carried one (ms; the proposing leaders' clocks). */
  logTime = 0;
  ttlMs = DEFAULT_SESSION_TTL_MS;
  /** Next session id to issue; ids below it were issued once and are never issued again. */
  nextId = 1;
  /** Live sessions, ordered by lastActive (ties in order of use). */
  private readonly live = new Map<number, Session>();
  private cachedCount = 0;

  get size(): number {
    return this.live.size;
  }

  /** Cached results over all sessions. */
  get cached(): number {
    return this.cachedCount;
  }

  get(id: number): Session | undefined {
    return this.live.get(id);
  }

  /** True when `id` was issued at some point (live, expired or closed). */
  wasIssued(id: number): boolean {
    return id >= 1 && id < this.nextId;
  }

  /** The sessions that logTime has expired, oldest first (stops at the first live one: O(expired)). */
  expired(): Session[] {
    const out: Session[] = [];
    for (const s of this.live.values()) {
      if (this.logTime - s.lastActive <= this.ttlMs) break;
      out.push(s);
    }
    return out;
  }

  // --- mutations: the state machine journals each with its inverse ------------------------------------

  /** A new session with the next id, active now. The caller checked the bounds. */
  open(): Session {
    const s = new Session(this.nextId, this.logTime, 1);
    this.nextId += 1;
    this.live.set(s.id, s);
    return s;
  }

  /** Inverse of open(): forget the newest session and give its id back. */
  unopen(s: Session): void {
    this.remove(s.id);
    this.nextId = s.id;
  }

  remove(id: number): Session | undefined {
    const s = this.live.get(id);
    if (s === undefined) return undefined;
    this.live.delete(id);
    this.cachedCount -= s.results.size;
    return s;
  }

  /** Put back a session remove() took out (an undo); call reorder() once the undo is complete. */
  reinsert(s: Session): void {
    this.live.set(s.id, s);
    this.cachedCount += s.results.size;
  }

  /** The session was used now: move it to the back (the Map stays ordered by lastActive). */
  touch(s: Session): void {
    this.live.delete(s.id);
    s.lastActive = this.logTime;
    this.live.set(s.id, s);
  }

  cache(s: Session, seq: number, result: CachedResult): void {
    beforeChange(s);
    s.results.set(seq, result);
    this.cachedCount += 1;
  }

  uncache(s: Session, seq: number): void {
    beforeChange(s);
    if (s.results.delete(seq)) this.cachedCount -= 1;
  }

  /** Raise the ack floor to `ack`, dropping the cached results below it; returns what was dropped. */
  acknowledge(s: Session, ack: number): Array<[number, CachedResult]> {
    beforeChange(s);
    const dropped: Array<[number, CachedResult]> = [];
    for (const entry of s.results) if (entry[0] < ack) dropped.push(entry);
    for (const [seq] of dropped) s.results.delete(seq);
    this.cachedCount -= dropped.length;
    s.ackFloor = ack;
    return dropped;
  }

  /** Inverse of acknowledge(). */
  unacknowledge(s: Session, floor: number, dropped: Array<[number, CachedResult]>): void {
    beforeChange(s);
    for (const [seq, r] of dropped) s.results.set(seq, r);
    this.cachedCount += dropped.length;
    s.ackFloor = floor;
  }

  /**
   * Re-establish the lastActive order after an undo put sessions back out of order. Ties are ordered by
   * id; the order among equal lastActive is not observable (they expire together, snapshots sort them).
   */
  reorder(): void {
    const all = this.ordered();
    this.live.clear();
    for (const s of all) this.live.set(s.id, s);
  }

  /** Sessions by (lastActive, id): the canonical order. */
  ordered(): Session[] {
    return [...this.live.values()].sort((a, b) => a.lastActive - b.lastActive || a.id - b.id);
  }

  // --- snapshot wire form -----------------------------------------------------------------------------
  //   [logTime, ttlMs, nextSessionId, sessions]
  //   session = [id, lastActive, ackFloor, results]        sorted by (lastActive, id)
  //   results = [[seq, commandType, ok, wireResult], …]    sorted by seq, every seq ≥ ackFloor

  encode(): unknown[] {
    return [this.logTime, this.ttlMs, this.nextId, this.ordered().map((s) => encodeSession(s.id, s.lastActive, s.ackFloor, s.results))];
  }

  /**
   * For an incremental snapshot (snapshot-codec.ts SnapshotCapture): the scalars and, in canonical
   * order, each live session with the fields that change without going through its results. The
   * results themselves are encoded later (encodeSession), or before their first change (Session.preserve).
   */
  capture(): { head: [logTime: number, ttlMs: number, nextId: number]; sessions: Array<{ session: Session; lastActive: number; ackFloor: number }> } {
    return {
      head: [this.logTime, this.ttlMs, this.nextId],
      sessions: this.ordered().map((session) => ({ session, lastActive: session.lastActive, ackFloor: session.ackFloor })),
    };
  }

  /** Validate everything into a fresh table; InvalidSnapshot on any inconsistency. */
  static decode(raw: unknown): SessionTable {
    if (!Array.isArray(raw) || raw.length !== 4) bad(`sessions must be an array of 4, got ${describe(raw)}`);
    const [logTime, ttlMs, nextId, sessions] = raw as unknown[];
    if (!Array.isArray(sessions)) bad('sessions must be an array');
    const decoder = SessionTable.decoder(logTime, ttlMs, nextId, sessions.length);
    for (const rawSession of sessions) decoder.add(rawSession);
    return decoder.table;
  }

  /**
   * Decode a table a session at a time (the snapshot restore runs between event-loop turns): the head
   * now, then add() once per session in wire order. Each add validates that session against the head and
   * the ones before it; `table` is complete after the last.
   */
  static decoder(logTime: unknown, ttlMs: unknown, nextId: unknown, count: number): { table: SessionTable; add(raw: unknown): Session } {
    const t = new SessionTable();
    t.logTime = safe(logTime, 0, Number.MAX_SAFE_INTEGER, 'logTime');
    t.ttlMs = safe(ttlMs, MIN_SESSION_TTL_MS, MAX_SESSION_TTL_MS, 'session ttlMs');
    t.nextId = safe(nextId, 1, MAX_SESSION_ID, 'nextSessionId');
    if (count > MAX_SESSIONS) bad(`${count} sessions exceed the bound of ${MAX_SESSIONS}`);
    let prev: Session | undefined;
    const add = (rawSession: unknown): Session => {
      if (!Array.isArray(rawSession) || rawSession.length !== 4) bad(`session must be an array of 4, got ${describe(rawSession)}`);
      const [id, lastActive, ackFloor, results] = rawSession as unknown[];
      const s = new Session(safe(id, 1, t.nextId - 1, 'session id (below nextSessionId)'), safe(lastActive, 0, t.logTime, `session ${describe(id)} lastActive (at most logTime)`), safe(ackFloor, 1, Number.MAX_SAFE_INTEGER, `session ${describe(id)} ackFloor`));
      if (t.live.has(s.id)) bad(`session ${s.id} appears twice`);
      if (prev !== undefined && (prev.lastActive > s.lastActive || (prev.lastActive === s.lastActive && prev.id > s.id))) bad(`sessions out of (lastActive, id) order at session ${s.id}`);
      prev = s;
      if (!Array.isArray(results)) bad(`session ${s.id}: results must be an array`);
      if (results.length > MAX_RESULTS_PER_SESSION) bad(`session ${s.id}: ${results.length} cached results exceed the bound of ${MAX_RESULTS_PER_SESSION}`);
      let prevSeq = 0;
      for (const rawResult of results) {
        if (!Array.isArray(rawResult) || rawResult.length !== 4) bad(`session ${s.id}: cached result must be an array of 4, got ${describe(rawResult)}`);
        const [seq, type, ok, wire] = rawResult as unknown[];
        const n = safe(seq, 1, Number.MAX_SAFE_INTEGER, `session ${s.id} cached seq`);
        if (n < s.ackFloor) bad(`session ${s.id}: cached seq ${n} is below the ack floor ${s.ackFloor}`);
        if (n <= prevSeq) bad(`session ${s.id}: cached seqs out of order or repeated at ${n}`);
        prevSeq = n;
        if (typeof type !== 'string' || !(COMMAND_TYPES as readonly string[]).includes(type)) bad(`session ${s.id} seq ${n}: unknown command type ${describe(type)}`);
        if (typeof ok !== 'boolean') bad(`session ${s.id} seq ${n}: ok must be a boolean`);
        decodeResult(type as CommandType, ok, wire); // validates
        s.results.set(n, { type: type as CommandType, ok, wire: wire as WireResult });
      }
      t.live.set(s.id, s);
      t.cachedCount += s.results.size;
      if (t.cachedCount > MAX_CACHED_RESULTS) bad(`more than ${MAX_CACHED_RESULTS} cached results`);
      return s;
    };
    return { table: t, add };
  }
}

/** One session's wire form: [id, lastActive, ackFloor, [[seq, commandType, ok, wireResult], …] by seq]. */
export function encodeSession(id: number, lastActive: number, ackFloor: number, results: ReadonlyMap<number, CachedResult>): unknown[] {
  return [id, lastActive, ackFloor, [...results].sort((a, b) => a[0] - b[0]).map(([seq, r]) => [seq, r.type, r.ok, r.wire])];
}

function beforeChange(s: Session): void {
  const preserve = s.preserve;
  if (preserve === undefined) return;
  s.preserve = undefined;
  preserve();
}

function safe(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad(`${what} must be an integer in ${min}..${max}, got ${describe(v)}`);
  return v;
}
