/**
 * A value per taken offset of one block (its generations; owners are bytes, owner-arena.ts), in the cheapest structure the
 * slice allows.
 *
 * A Map keyed by offset costs ≈ 28 B per entry at V8's capacity, doubled in the worst case by its
 * power-of-two growth: at 1,000,000 owned addresses the two maps of the blocks took ≈ 60 MB. A slice of at
 * most 2^16 offsets (every IPv4 slice of /16 or smaller, IPv6 slices of /112 or smaller) uses a plain array
 * indexed by offset instead: 8 B per slot up to the highest offset used, no hashing. A larger slice keeps
 * the Map, so one address high in a huge slice never sizes an array to its offset.
 */
import type { Offset } from './host-range.js';

/** Offsets of a slice at most this long are array indexes. */
export const DENSE_SLOTS_MAX = 2 ** 16;

export interface OffsetSlots<V> {
  readonly size: number;
  get(offset: Offset): V | undefined;
  set(offset: Offset, value: V): void;
  delete(offset: Offset): void;
  /** Every entry (ascending for an array, insertion order for a map) until `visit` returns false. */
  forEach(visit: (value: V, offset: Offset) => boolean | void): void;
}

/** Slots for the offsets of a slice whose highest offset is `lastOffset`. */
export function offsetSlots<V>(lastOffset: Offset): OffsetSlots<V> {
  return typeof lastOffset === 'number' && lastOffset < DENSE_SLOTS_MAX ? new ArraySlots<V>() : new MapSlots<V>();
}

class ArraySlots<V> implements OffsetSlots<V> {
  // Holes and undefined both mean "no value"; V never includes undefined.
  private readonly slots: Array<V | undefined> = [];
  size = 0;

  get(offset: Offset): V | undefined {
    return this.slots[offset as number];
  }

  set(offset: Offset, value: V): void {
    if (this.slots[offset as number] === undefined) this.size++;
    this.slots[offset as number] = value;
  }

  delete(offset: Offset): void {
    if (this.slots[offset as number] === undefined) return;
    this.slots[offset as number] = undefined;
    this.size--;
  }

  forEach(visit: (value: V, offset: Offset) => boolean | void): void {
    const slots = this.slots;
    for (let o = 0; o < slots.length; o++) {
      const v = slots[o];
      if (v !== undefined && visit(v, o) === false) return;
    }
  }
}

class MapSlots<V> implements OffsetSlots<V> {
  private readonly map = new Map<Offset, V>();

  get size(): number {
    return this.map.size;
  }

  get(offset: Offset): V | undefined {
    return this.map.get(offset);
  }

  set(offset: Offset, value: V): void {
    this.map.set(offset, value);
  }

  delete(offset: Offset): void {
    this.map.delete(offset);
  }

  forEach(visit: (value: V, offset: Offset) => boolean | void): void {
    for (const [offset, value] of this.map) if (visit(value, offset) === false) return;
  }
}
