/**
 * Request deadlines that all run for the same time (the node's request timeout).
 *
 * Why not a setTimeout per request: every command on the leader used to create a timer, race it against
 * the proposal with Promise.race and clear it in a finally: a Timeout object and four promises on the
 * path every command takes. Deadlines of one duration expire in the order they were set, so one FIFO and
 * one timer armed for its head serve them all. Answers come back in log order, so a settled deadline
 * is usually at the head and leaves the queue at once; one settled out of order waits there until the
 * deadlines before it go.
 */
export interface Deadline {
  /** The request finished (either way) before its deadline: it will not expire. */
  settle(): void;
}

interface Waiting extends Deadline {
  at: number;
  expire: (() => void) | undefined;
}

export class Deadlines {
  private items: Waiting[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly ms: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Call `expire` once `ms` have passed, unless the returned deadline is settled first. */
  add(expire: () => void): Deadline {
    // Closed with its node: the stopped replica settles every request itself.
    if (this.closed) return { settle: () => undefined };
    const item: Waiting = {
      at: this.now() + this.ms,
      expire,
      settle: () => {
        item.expire = undefined;
        this.dropSettled();
      },
    };
    this.items.push(item);
    if (this.timer === undefined) this.arm(item.at);
    return item;
  }

  /** Deadlines not yet expired or settled (for tests and status). */
  get pending(): number {
    let n = 0;
    for (let i = this.head; i < this.items.length; i++) if (this.items[i]?.expire) n++;
    return n;
  }

  /** Stop the timer; nothing expires from now on (the node is stopping, and its replica settles every request). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.head = 0;
  }

  private arm(at: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - this.now()));
    // Pending requests do not keep a process alive by themselves: the node's ticker and sockets do.
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.now();
    while (this.head < this.items.length) {
      const item = this.items[this.head] as Waiting;
      if (item.expire && item.at > now) break;
      this.head++;
      const expire = item.expire;
      item.expire = undefined;
      expire?.();
    }
    this.compact();
    const next = this.items[this.head];
    if (next && !this.closed) this.arm(next.at);
  }

  private dropSettled(): void {
    while (this.head < this.items.length && !this.items[this.head]?.expire) this.head++;
    // The armed timer may now be early: it re-arms for the new head when it fires, one wake-up per
    // timeout period at most (cheaper than clearing and re-arming it on every answer).
    this.compact();
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
