/**
 * Hand-written histories whose answers come from the real IpamStateMachine, not from the test's author:
 * the order of the builder's calls is the order the commands take effect, the times are whatever the test
 * says. A test that wants a wrong answer takes a real one and changes it, so what is "wrong" is defined by
 * the state machine's semantics.
 */
import type { HistoryOp, Outcome, ProcessId } from '../../../src/check/history.js';
import type { Operation, ReadQuery, RecordedCommand } from '../../../src/check/operations.js';
import { IpamStateMachine, type AllocationResult } from '../../../src/index.js';
import { readFromStateMachine } from './sm-views.js';

export type Interval = [invoke: number, complete: number];

export const POD_NETWORK = { type: 'configureNetwork', name: 'pods', cidr: '10.200.0.0/24', slicePrefix: 28 } as const;

export class HistoryBuilder {
  readonly sm = new IpamStateMachine();
  readonly ops: HistoryOp[] = [];
  private nextId = 0;

  /** Record an operation with an outcome the test chose. */
  record(process: ProcessId, [invoke, complete]: Interval, op: Operation, outcome: Outcome): HistoryOp {
    const h: HistoryOp = { id: this.nextId++, process, invoke, complete, op, outcome };
    this.ops.push(h);
    return h;
  }

  /** Apply `command` to the state machine now and record its real answer (ok value or refusal code). */
  apply(process: ProcessId, at: Interval, command: RecordedCommand): HistoryOp {
    const r = this.sm.apply(command);
    return this.record(process, at, command, r.ok ? { type: 'ok', value: JSON.parse(JSON.stringify(r.value)) as unknown } : { type: 'fail', code: r.error.code });
  }

  /** Apply and return the allocation it made (throws if the command was refused). */
  allocate(process: ProcessId, at: Interval, command: RecordedCommand): AllocationResult & { id: number } {
    const h = this.apply(process, at, command);
    if (h.outcome.type !== 'ok') throw new Error(`${command.type} was refused: ${JSON.stringify(h.outcome)}`);
    return { ...(h.outcome.value as AllocationResult), id: h.id };
  }

  /** Record `command` as info: applied to the state machine now when `applied`, never otherwise. */
  info(process: ProcessId, at: Interval, command: RecordedCommand, applied: boolean): HistoryOp {
    if (applied) this.sm.apply(command);
    return this.record(process, at, command, { type: 'info', reason: 'Timeout' });
  }

  /** The state machine's answer to `read` now (as the API gives it). */
  async view(read: ReadQuery): Promise<Outcome> {
    const r = await readFromStateMachine(this.sm, read);
    return r.ok ? { type: 'ok', value: r.value } : { type: 'fail', code: r.code };
  }

  /** Read now and record the answer. */
  async read(process: ProcessId, at: Interval, read: ReadQuery): Promise<HistoryOp> {
    return this.record(process, at, read, await this.view(read));
  }

  /** The pods network (10.200.0.0/24, /28 slices) with slices for `nodes`, one operation each from process "setup", before time 0. */
  setup(nodes: string[] = ['n1', 'n2']): this {
    let t = -100;
    this.apply('setup', [t, t + 1], POD_NETWORK);
    for (const nodeId of nodes) {
      t += 2;
      this.apply('setup', [t, t + 1], { type: 'assignSlice', network: 'pods', nodeId });
    }
    return this;
  }
}
