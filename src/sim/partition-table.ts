/**
 * Which links between nodes are cut. Links are directed: cutting a→b loses what a sends to b but not what b
 * sends to a, which is how a one-way partition (a node that can send but not receive) is modelled. It has
 * no dependency on the simulator, so a scenario harness can drive the same table with its
 * `partition` / `isolate` / `heal` commands and ask `blocks()` for each message.
 */
export class PartitionTable {
  /** from → the nodes it cannot reach. */
  private readonly cut = new Map<string, Set<string>>();

  /** Lose everything `from` sends to `to` (one way). */
  cutLink(from: string, to: string): void {
    let targets = this.cut.get(from);
    if (!targets) this.cut.set(from, (targets = new Set()));
    targets.add(to);
  }

  /** No traffic between any node of `a` and any node of `b`, in either direction. */
  split(a: Iterable<string>, b: Iterable<string>): void {
    const right = [...b];
    for (const x of a) {
      for (const y of right) {
        this.cutLink(x, y);
        this.cutLink(y, x);
      }
    }
  }

  /** Cut `node` off from every other node of `all`, both ways. */
  isolate(node: string, all: Iterable<string>): void {
    this.split([node], [...all].filter((other) => other !== node));
  }

  /** Every link works again. */
  heal(): void {
    this.cut.clear();
  }

  blocks(from: string, to: string): boolean {
    return this.cut.get(from)?.has(to) ?? false;
  }
}
