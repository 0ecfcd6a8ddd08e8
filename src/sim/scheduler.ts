/**
 * Virtual time: the one queue of timed events that every part of the simulation schedules into, and the
 * clock that jumps to each event as it is taken. Nothing in the simulation reads a wall clock.
 */
import { EventQueue } from './event-queue.js';
import type { Message, NodeId } from '../raft/types.js';

/**
 * Everything that can happen. Node events carry the node's life (its crash count when scheduled) so that
 * a tick, a ready or a disk completion scheduled before a crash is dropped after it.
 */
export type SimEvent =
  | { kind: 'tick'; node: NodeId; life: number }
  | { kind: 'deliver'; msg: Message }
  /** The replica's Scheduler.soon(): run its next piece of work (a Ready). */
  | { kind: 'ready'; node: NodeId; life: number }
  /** The node's storage write in flight becomes durable, or fails. */
  | { kind: 'disk'; node: NodeId; life: number; outcome: 'complete' | 'fail' }
  | { kind: 'client' }
  | { kind: 'read' }
  | { kind: 'fault' }
  | { kind: 'restart'; node: NodeId }
  | { kind: 'crash'; node: NodeId; life: number }
  | { kind: 'isolate'; node: NodeId };

export class Scheduler {
  private readonly queue = new EventQueue<SimEvent>();
  private time = 0;

  /** Virtual milliseconds: the time of the event being processed. */
  get now(): number {
    return this.time;
  }

  at(time: number, event: SimEvent): void {
    this.queue.push(time, event);
  }

  /** Advance the clock to the next event and return it; undefined when nothing is left to happen. */
  next(): SimEvent | undefined {
    const item = this.queue.pop();
    if (!item) return undefined;
    this.time = item.at;
    return item.event;
  }
}
