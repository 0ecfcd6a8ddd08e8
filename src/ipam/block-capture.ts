/**
 * One block of an incremental snapshot capture (snapshot-codec.ts SnapshotCapture): the block's wire form
 * as of the capture's index, encoded a bounded number of addresses at a time while commands keep changing
 * the block.
 *
 * Why not the whole block at once: a slice can hold far more addresses than a step may take (a /16 slice
 * 65,534, a /12 1,048,574), and the block an agent allocates from is exactly the one that changes while
 * the capture runs. Encoding it whole before its first change cost ≈ 0.5 µs per address on the loop (a
 * 10,000-address shared slice stalled every node of a cluster ≈ 70 ms at each policy snapshot; a full /12
 * would stall longer than an election timeout).
 *
 * Copy-on-write at the grain of one address instead. Before the block's first change the capture reads
 * its runs of taken offsets (cheap: a walk of the bitmap's runs, not of its addresses); before each change
 * to an address the cursor has not yet passed, it keeps what that address held (its generation and owner)
 * the first time it changes. The encoder walks the captured runs in order and reads each address from
 * that undo map or, when it never changed, from the live block. The wire form is
 * [nodeId, sliceIndex, runs, generationDeltas, owners]; every count is known from the capture (runs, size,
 * owner count), so each array's header goes out first and its elements follow in pieces: msgpack's
 * encoding of an array is its header followed by its elements' encodings, which is how the pieces add up
 * to exactly the bytes AllocationBlock.encode() gives (the property test compares the two encoders).
 */
import type { AllocationBlock } from './allocation-block.js';
import type { Offset } from './host-range.js';
import { arrayHeader, encodeOffset, type WireOffset } from './snapshot-wire.js';

/** What an address held as of the capture, kept before its first change. */
interface Held {
  generation: number;
  owner: string | undefined;
}

export class BlockCapture {
  /** Runs of taken offsets as of the capture: read before the first change or the first step. */
  private starts: Offset[] | undefined;
  private lengths: number[] = [];
  private size = 0;
  private ownerCount = 0;
  private readonly undo = new Map<Offset, Held>();
  /** The cursor: the next address is starts[run] + within; `position` counts the addresses encoded. */
  private run = 0;
  private within = 0;
  private position = 0;
  private previousGeneration = 0;
  private headWritten = false;
  /** Owner pairs come after every generation in the wire form: kept until the generations are out. */
  private readonly ownerPieces: Uint8Array[] = [];
  private finished = false;

  constructor(
    private readonly block: AllocationBlock,
    private readonly pack: (value: unknown) => Uint8Array,
  ) {
    block.watch((offset) => this.beforeChange(offset));
  }

  get done(): boolean {
    return this.finished;
  }

  /**
   * Encode at most `budget` addresses (at least one when any remain), handing the bytes to `out` in
   * order; returns how many addresses it encoded. The block's last step also writes its owners and
   * releases the block's hook.
   */
  step(budget: number, out: (bytes: Uint8Array) => void): number {
    if (this.finished) return 0;
    const starts = this.captureRuns();
    const lengths = this.lengths;
    if (!this.headWritten) {
      const runs: WireOffset[] = [];
      for (let r = 0; r < starts.length; r++) runs.push(encodeOffset(starts[r] as Offset), encodeOffset(lengths[r] as number));
      out(arrayHeader(5));
      out(this.pack(this.block.nodeId));
      out(this.pack(encodeOffset(this.block.index)));
      out(this.pack(runs));
      out(arrayHeader(this.size));
      this.headWritten = true;
    }
    const gens: number[] = [];
    const owners: Array<number | string> = [];
    const limit = Math.max(1, budget);
    while (gens.length < limit && this.run < starts.length) {
      const offset = offsetAt(starts[this.run] as Offset, this.within);
      const held = this.undo.size > 0 ? this.undo.get(offset) : undefined;
      let generation: number;
      let owner: string | undefined;
      if (held !== undefined) {
        this.undo.delete(offset);
        generation = held.generation;
        owner = held.owner;
      } else {
        generation = this.block.generationOf(offset) as number;
        owner = this.block.ownerOf(offset);
      }
      gens.push(generation - this.previousGeneration);
      this.previousGeneration = generation;
      if (owner !== undefined) owners.push(this.position, owner);
      this.position++;
      if (++this.within === lengths[this.run]) {
        this.run++;
        this.within = 0;
      }
    }
    if (gens.length > 0) out(elements(this.pack(gens), gens.length));
    if (owners.length > 0) this.ownerPieces.push(elements(this.pack(owners), owners.length));
    if (this.run === starts.length) {
      out(arrayHeader(2 * this.ownerCount));
      for (const piece of this.ownerPieces) out(piece);
      this.ownerPieces.length = 0;
      this.release();
    }
    return gens.length;
  }

  /** Stop: the block goes back to changing at no cost. */
  release(): void {
    this.finished = true;
    this.undo.clear();
    this.block.watch(undefined);
  }

  /** The block's hook: keep what `offset` held as of the capture, the first time it changes, unless already encoded. */
  private beforeChange(offset: Offset): void {
    const starts = this.captureRuns();
    // An address not taken now and never changed before was free as of the capture: it is in no run.
    if (this.run === starts.length || this.undo.has(offset) || !this.block.has(offset)) return;
    // Behind the cursor: already encoded.
    if (offset < offsetAt(starts[this.run] as Offset, this.within)) return;
    this.undo.set(offset, { generation: this.block.generationOf(offset) as number, owner: this.block.ownerOf(offset) });
  }

  /** The runs, size and owner count as of the capture: read once, before anything about the block moves. */
  private captureRuns(): Offset[] {
    if (this.starts !== undefined) return this.starts;
    const starts: Offset[] = [];
    this.block.forEachRun((start, length) => {
      starts.push(start);
      this.lengths.push(Number(length));
    });
    this.starts = starts;
    this.size = this.block.size;
    this.ownerCount = this.block.ownerCount;
    return starts;
  }
}

function offsetAt(start: Offset, k: number): Offset {
  return typeof start === 'number' ? start + k : start + BigInt(k);
}

/** The encodings of an array's elements: its packed form without the header. */
function elements(packed: Uint8Array, count: number): Uint8Array {
  return packed.subarray(count < 16 ? 1 : count < 0x10000 ? 3 : 5);
}
