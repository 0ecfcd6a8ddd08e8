/** A min-heap of timed events; ties break by insertion order so a seed always replays the same run. */
export interface Timed<T> {
  at: number;
  seq: number;
  event: T;
}

export class EventQueue<T> {
  private heap: Array<Timed<T>> = [];
  private seq = 0;

  push(at: number, event: T): void {
    const item = { at, seq: this.seq++, event };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(item, h[p] as Timed<T>)) break;
      h[i] = h[p] as Timed<T>;
      i = p;
    }
    h[i] = item;
  }

  pop(): Timed<T> | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0] as Timed<T>;
    const last = h.pop() as Timed<T>;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as Timed<T>, h[m] as Timed<T>)) m = l;
        if (r < h.length && before(h[r] as Timed<T>, h[m] as Timed<T>)) m = r;
        if (m === i) break;
        const tmp = h[i] as Timed<T>;
        h[i] = h[m] as Timed<T>;
        h[m] = tmp;
        i = m;
      }
    }
    return top;
  }
}

function before<T>(a: Timed<T>, b: Timed<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
