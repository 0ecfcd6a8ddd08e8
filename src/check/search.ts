/**
 * The linearizability search of one partition: Wing & Gong's depth-first search over a history's call
 * and return events (Wing & Gong 1993, "Testing and verifying concurrent objects"), with Lowe's cache of
 * (set of linearized operations, model state) pairs already explored (Lowe 2017, "Testing for
 * linearizability"), over a doubly linked list of events as Porcupine's checker.go keeps it
 * (github.com/anishathalye/porcupine). Written from those descriptions, not translated.
 *
 * The events are sorted by time, a call before a return at the same time (so an operation that returns
 * at t and one invoked at t count as concurrent). At each point the operations that may be linearized
 * next are those whose call comes before the first return left in the list; linearizing one removes
 * ("lifts") its call and return from the list, and backtracking puts them back (unlift, in exactly the
 * reverse order). If the first event left is a return, its operation was not placed in time: this branch
 * is dead. An `info` operation's return is at +∞: it may take effect at any point after its call, and
 * placing it after every other operation is the same as it never taking effect, since nothing observes it.
 *
 * Departures from Porcupine, for IPAM histories and their timeouts:
 * - the step may give several next states (a model that cannot know a generation may have to consider a
 *   release both succeeding and refused), and the search tries each;
 * - at each point, operations with a known outcome are tried before `info` ones. Any order is correct
 *   (the search is exhaustive); this one finds the usual truth first — most `info` operations of a
 *   chaos run either never took effect or did so long before anyone looked — instead of exploring the
 *   subsets of pending `info` operations first, which grow with every timeout;
 * - an `info` operation is never placed where it would change nothing (a release of a free address, a
 *   releaseOwner of an owner holding nothing): a linearization that places it there is the same, state
 *   for state, as one that places it after everything else, which its +∞ return allows. Without this
 *   rule every subset of such no-op timeouts would re-run the search below it;
 * - for the same reason the search is done as soon as only `info` operations are left: they can all go
 *   last, in any order, with whatever answers they had (an info step always has a next state);
 * - identical `info` operations are tried in call order only (twins, see frame()).
 * The last three are switched off when collecting end states (searchEndStates), where the state after
 * every operation matters.
 *
 * The search stops when it finds a complete linearization, when it has explored every reachable
 * (linearized set, state) pair without one (not linearizable), or when the caller's budget (states
 * explored, or a deadline on the caller's clock) runs out — then the answer is unknown, never "ok".
 */

export interface SearchOp {
  /** Invocation time. */
  readonly call: number;
  /** Completion time; +∞ for an operation whose effect is unknown (info). */
  readonly ret: number;
  /** An earlier info operation identical to this info one (same operation, same step): see Search.frame. */
  readonly twin?: number;
}

export interface SearchSpec<S> {
  /**
   * The states that can follow operation `op` (an index into the ops) from `state`; empty when it cannot
   * take effect there. `placed(j)` says whether op j is already placed, for a spec that can tell that a
   * next state dooms an operation still to come.
   */
  step(state: S, op: number, placed: (j: number) => boolean): readonly S[];
  hash(state: S): number;
  equal(a: S, b: S): boolean;
}

/** Shared by every search of one check: the total number of states explored and when to give up. */
export interface Budget {
  readonly maxStates: number;
  explored: number;
  readonly deadline?: number;
  readonly clock?: () => number;
}

export type SearchResult<S> =
  | { status: 'linearizable'; order: number[]; end: S }
  /** `longest`: the longest linearizable prefix found; `blocked`: the operation whose return was reached without placing it, at that prefix. */
  | { status: 'not-linearizable'; longest: number[]; blocked: number; stateAtLongest: S }
  | { status: 'unknown'; reason: 'states' | 'deadline'; longest: number[] };

/** Every distinct end state of a complete linearization (for cutting a history in two), up to `limit`. */
export type EndsResult<S> =
  | { status: 'linearizable'; ends: S[]; complete: boolean }
  | Exclude<SearchResult<S>, { status: 'linearizable' }>;

const NONE = -1;

/** xorshift32 from a fixed seed: the same Zobrist keys every run, so a check is reproducible. */
function zobrist(n: number): Uint32Array {
  const keys = new Uint32Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    keys[i] = x >>> 0;
  }
  return keys;
}

/** A linearized set as stored in the cache: leading all-ones words and trailing zero words dropped. */
export interface StoredBits {
  readonly ones: number;
  readonly words: Uint32Array;
}

/** @internal exported for tests. */
export function storeBits(bits: Uint32Array): StoredBits {
  let lo = 0;
  while (lo < bits.length && bits[lo] === 0xffffffff) lo++;
  let hi = bits.length;
  while (hi > lo && bits[hi - 1] === 0) hi--;
  return { ones: lo, words: bits.slice(lo, hi) };
}

/** @internal exported for tests: `bits` equals the stored set, word for word. */
export function sameBits(bits: Uint32Array, s: StoredBits): boolean {
  for (let i = 0; i < s.ones; i++) if (bits[i] !== 0xffffffff) return false;
  const n = s.words.length;
  for (let i = 0; i < n; i++) if (bits[s.ones + i] !== s.words[i]) return false;
  for (let i = s.ones + n; i < bits.length; i++) if (bits[i] !== 0) return false;
  return true;
}

interface Frame<S> {
  readonly state: S;
  /** The operation whose linearization led here (NONE at the root). */
  readonly via: number;
  /** Operations that may be linearized next, known outcomes first. */
  readonly candidates: number[];
  next: number;
  successors: readonly S[] | undefined;
  nextSuccessor: number;
}

class Search<S> {
  private readonly n: number;
  /** Linked list over events 0..2n-1 (2i: call of op i, 2i+1: its return) and the head sentinel 2n. */
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly head: number;
  private readonly bits: Uint32Array;
  private readonly keys: Uint32Array;
  private linHash = 0;
  private readonly cache = new Map<number, Array<{ bits: StoredBits; state: S }>>();
  private readonly stack: Frame<S>[] = [];
  private longest: number[] = [];
  private blocked = NONE;
  private stateAtLongest: S;
  private iterations = 0;
  /** Operations with a known outcome not yet placed: at 0 the rest are info and can all go last. */
  private knownLeft: number;

  constructor(
    private readonly ops: readonly SearchOp[],
    private readonly info: (op: number) => boolean,
    private readonly spec: SearchSpec<S>,
    initial: S,
    private readonly budget: Budget,
    /** Take the info shortcuts (false when every end state matters). */
    private readonly shortcuts = true,
  ) {
    this.n = ops.length;
    this.knownLeft = ops.filter((_, i) => !info(i)).length;
    this.head = 2 * this.n;
    this.next = new Int32Array(2 * this.n + 1).fill(NONE);
    this.prev = new Int32Array(2 * this.n + 1).fill(NONE);
    this.bits = new Uint32Array(Math.ceil(this.n / 32));
    this.keys = zobrist(this.n);
    this.stateAtLongest = initial;
    const events: number[] = [];
    for (let i = 0; i < this.n; i++) events.push(2 * i, 2 * i + 1);
    const time = (e: number): number => {
      const op = ops[e >> 1] as SearchOp;
      return e & 1 ? op.ret : op.call;
    };
    // By time; at equal times calls before returns (concurrent, as Porcupine), then by op for a fixed order.
    events.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b);
    let last = this.head;
    for (const e of events) {
      this.next[last] = e;
      this.prev[e] = last;
      last = e;
    }
    this.stack.push(this.frame(initial, NONE));
  }

  /** Remove op's call and return from the list (the call is never the last event: its return follows it). */
  private lift(op: number): void {
    const call = 2 * op;
    const ret = call + 1;
    this.next[this.prev[call] as number] = this.next[call] as number;
    this.prev[this.next[call] as number] = this.prev[call] as number;
    this.next[this.prev[ret] as number] = this.next[ret] as number;
    if (this.next[ret] !== NONE) this.prev[this.next[ret] as number] = this.prev[ret] as number;
  }

  /** Undo lift(op): the removed nodes still point at their old neighbours (dancing links). */
  private unlift(op: number): void {
    const call = 2 * op;
    const ret = call + 1;
    if (this.next[ret] !== NONE) this.prev[this.next[ret] as number] = ret;
    this.next[this.prev[ret] as number] = ret;
    this.prev[this.next[call] as number] = call;
    this.next[this.prev[call] as number] = call;
  }

  private frame(state: S, via: number): Frame<S> {
    const known: number[] = [];
    const unknown: number[] = [];
    for (let e = this.next[this.head] as number; e !== NONE && (e & 1) === 0; e = this.next[e] as number) {
      const op = e >> 1;
      if (!this.info(op)) {
        known.push(op);
        continue;
      }
      // Identical info operations are interchangeable (same step, both may take effect any time after
      // their calls, the twin's call first), so only the first one not yet linearized is tried: a
      // linearization that places a later twin first has a mirror image that places the earlier one, with
      // the same states. k identical timeouts cost k+1 orders instead of 2^k subsets.
      const twin = this.ops[op]?.twin;
      if (this.shortcuts && twin !== undefined && !this.linearized(twin)) continue;
      unknown.push(op);
    }
    // Info operations newest first: when an answered operation cannot be placed because a timed-out one
    // took effect just before it, the culprit is almost always the latest one still pending (older ones
    // mostly never took effect — they would have been needed earlier).
    return { state, via, candidates: known.concat(unknown.reverse()), next: 0, successors: undefined, nextSuccessor: 0 };
  }

  private get complete(): boolean {
    return this.shortcuts ? this.knownLeft === 0 : this.next[this.head] === NONE;
  }

  /** The first return event left in the list (calls of pending operations may come before it). */
  private firstReturn(): number {
    let e = this.next[this.head] as number;
    while (e !== NONE && (e & 1) === 0) e = this.next[e] as number;
    return e;
  }

  /** The operations not yet placed (all info when the search completes early): they go last. */
  private unplaced(): number[] {
    const out: number[] = [];
    for (let e = this.next[this.head] as number; e !== NONE; e = this.next[e] as number) if ((e & 1) === 0) out.push(e >> 1);
    return out;
  }

  private cacheKey(state: S): number {
    return (this.linHash ^ Math.imul(this.spec.hash(state), 0x9e3779b1)) >>> 0;
  }

  /** Record (current linearized set, state) unless it was explored before. */
  private remember(state: S): boolean {
    const key = this.cacheKey(state);
    let bucket = this.cache.get(key);
    if (bucket !== undefined) {
      for (const entry of bucket) if (sameBits(this.bits, entry.bits) && this.spec.equal(entry.state, state)) return false;
    } else {
      this.cache.set(key, (bucket = []));
    }
    bucket.push({ bits: storeBits(this.bits), state });
    this.budget.explored++;
    return true;
  }

  private outOfBudget(): 'states' | 'deadline' | undefined {
    if (this.budget.explored >= this.budget.maxStates) return 'states';
    if (this.budget.deadline !== undefined && this.budget.clock !== undefined && (++this.iterations & 255) === 0 && this.budget.clock() >= this.budget.deadline) return 'deadline';
    return undefined;
  }

  private path(): number[] {
    return this.stack.slice(1).map((f) => f.via);
  }

  /** Try the current frame's next (candidate, successor) pairs; descend into the first unexplored one. */
  private advance(frame: Frame<S>): boolean {
    while (frame.next < frame.candidates.length) {
      const op = frame.candidates[frame.next] as number;
      frame.successors ??= this.spec.step(frame.state, op, this.isPlaced);
      while (frame.nextSuccessor < frame.successors.length) {
        const state = frame.successors[frame.nextSuccessor++] as S;
        // An info operation that would change nothing here can as well go last (see the module comment).
        if (this.shortcuts && this.info(op) && this.spec.equal(state, frame.state)) continue;
        this.toggle(op);
        if (this.remember(state)) {
          this.lift(op);
          if (!this.info(op)) this.knownLeft--;
          this.stack.push(this.frame(state, op));
          return true;
        }
        this.toggle(op);
      }
      frame.next++;
      frame.successors = undefined;
      frame.nextSuccessor = 0;
    }
    return false;
  }

  private toggle(op: number): void {
    const w = op >>> 5;
    this.bits[w] = (this.bits[w] as number) ^ (1 << (op & 31));
    this.linHash ^= this.keys[op] as number;
  }

  private linearized(op: number): boolean {
    return (((this.bits[op >>> 5] as number) >>> (op & 31)) & 1) === 1;
  }

  private readonly isPlaced = (op: number): boolean => this.linearized(op);

  /** Dead end at the top frame: remember it if it is the deepest so far, then pop it. */
  private backtrack(): void {
    const frame = this.stack[this.stack.length - 1] as Frame<S>;
    // The first return left belongs to an operation that could not be placed before it (there is none only
    // after a complete linearization, in ends mode).
    const first = this.firstReturn();
    if (first !== NONE && (this.blocked === NONE || this.stack.length - 1 > this.longest.length)) {
      this.longest = this.path();
      this.blocked = first >> 1;
      this.stateAtLongest = frame.state;
    }
    this.stack.pop();
    if (frame.via !== NONE) {
      this.unlift(frame.via);
      this.toggle(frame.via);
      if (!this.info(frame.via)) this.knownLeft++;
    }
  }

  /** Find one complete linearization. */
  run(): SearchResult<S> {
    for (;;) {
      const top = this.stack[this.stack.length - 1] as Frame<S>;
      if (this.complete) return { status: 'linearizable', order: [...this.path(), ...this.unplaced()], end: top.state };
      const cut = this.outOfBudget();
      if (cut !== undefined) return { status: 'unknown', reason: cut, longest: this.longest.length >= this.stack.length - 1 ? this.longest : this.path() };
      if (this.advance(top)) continue;
      if (this.stack.length === 1) {
        this.backtrack();
        return { status: 'not-linearizable', longest: this.longest, blocked: this.blocked, stateAtLongest: this.stateAtLongest };
      }
      this.backtrack();
    }
  }

  /** Explore every linearization; collect distinct end states, stopping once there are more than `limit`. */
  ends(limit: number): EndsResult<S> {
    const ends: S[] = [];
    for (;;) {
      const top = this.stack[this.stack.length - 1] as Frame<S>;
      if (this.complete) {
        if (!ends.some((e) => this.spec.equal(e, top.state))) ends.push(top.state);
        if (ends.length > limit) return { status: 'linearizable', ends, complete: false };
        if (this.stack.length === 1) return { status: 'linearizable', ends, complete: true };
        this.backtrack();
        continue;
      }
      const cut = this.outOfBudget();
      if (cut !== undefined) return ends.length > 0 ? { status: 'linearizable', ends, complete: false } : { status: 'unknown', reason: cut, longest: this.longest };
      if (this.advance(top)) continue;
      const root = this.stack.length === 1;
      this.backtrack();
      if (root) {
        if (ends.length > 0) return { status: 'linearizable', ends, complete: true };
        return { status: 'not-linearizable', longest: this.longest, blocked: this.blocked, stateAtLongest: this.stateAtLongest };
      }
    }
  }
}

/**
 * Search for a linearization of `ops` from `initial`. `info(i)` says whether op i's effect is unknown
 * (its `ret` should then be +∞); it only orders the candidates.
 */
export function searchLinearization<S>(ops: readonly SearchOp[], info: (op: number) => boolean, spec: SearchSpec<S>, initial: S, budget: Budget): SearchResult<S> {
  return new Search(ops, info, spec, initial, budget).run();
}

/** Every distinct end state of the linearizations of `ops` from `initial` (at most limit + 1 collected). */
export function searchEndStates<S>(ops: readonly SearchOp[], info: (op: number) => boolean, spec: SearchSpec<S>, initial: S, budget: Budget, limit: number): EndsResult<S> {
  return new Search(ops, info, spec, initial, budget, false).ends(limit);
}
