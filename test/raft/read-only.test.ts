/**
 * ReadOnly: the leader's pending ReadIndex requests (§6.4 of the dissertation). A read is answered only
 * after a majority of voters has acknowledged a heartbeat round that started after the read arrived; an
 * acknowledgement can never be claimed ahead of time or taken back by a late, reordered answer.
 */
import { describe, expect, it } from 'vitest';
import { ReadOnly } from '../../src/raft/read-only.js';

const five = ['1', '2', '3', '4', '5'];
const three = ['1', '2', '3'];

describe('ReadOnly', () => {
  it('starts empty: nothing to carry on a heartbeat', () => {
    const r = new ReadOnly();
    expect(r.pendingCount).toBe(0);
    expect(r.heartbeatSeq()).toBe(0);
    expect(r.ack('2', 1, three, '1')).toEqual([]);
  });

  it('a heartbeat round carries the newest read; once all are answered it carries nothing again', () => {
    const r = new ReadOnly();
    expect(r.add(7, 'a')).toBe(1);
    expect(r.add(8, 'b')).toBe(2);
    expect(r.heartbeatSeq()).toBe(2);
    expect(r.ack('2', 2, three, '1')).toEqual([{ index: 7, ctx: 'a' }, { index: 8, ctx: 'b' }]);
    expect(r.pendingCount).toBe(0);
    expect(r.heartbeatSeq()).toBe(0);
  });

  it('on five voters a read waits for two follower acknowledgements, and reads are released in order', () => {
    const r = new ReadOnly();
    r.add(3, 'a');
    r.add(4, 'b');
    expect(r.ack('2', 2, five, '1')).toEqual([]);
    expect(r.ack('3', 1, five, '1')).toEqual([{ index: 3, ctx: 'a' }]);
    expect(r.ack('4', 2, five, '1')).toEqual([{ index: 4, ctx: 'b' }]);
  });

  it('an acknowledgement of a round that has not happened yet (seq from the future) is ignored', () => {
    const r = new ReadOnly();
    r.add(3, 'a');
    expect(r.ack('2', 9, three, '1')).toEqual([]); // no such round: not even read 1 is confirmed by it
    r.add(4, 'b');
    r.add(5, 'c');
    expect(r.ack('3', 0, three, '1')).toEqual([]); // an answer to a heartbeat that carried no read
    expect(r.pendingCount).toBe(3);
    expect(r.ack('3', 2, three, '1')).toEqual([{ index: 3, ctx: 'a' }, { index: 4, ctx: 'b' }]);
  });

  it('a late answer of an older round does not take back a newer acknowledgement', () => {
    const r = new ReadOnly();
    r.add(3, 'a');
    r.add(4, 'b');
    r.ack('2', 1, five, '1');
    expect(r.ack('3', 2, five, '1')).toEqual([{ index: 3, ctx: 'a' }]); // 1, 2 (seq 1) and 3 → seq 1 safe
    r.ack('3', 1, five, '1'); // a reordered, older answer from 3
    expect(r.ack('4', 2, five, '1')).toEqual([{ index: 4, ctx: 'b' }]); // 1, 3 and 4 acked seq 2
  });

  it('without voters nothing is confirmed', () => {
    const r = new ReadOnly();
    r.add(3, 'a');
    expect(r.ack('2', 1, [], '1')).toEqual([]);
    expect(r.pendingCount).toBe(1);
  });

  it('a single voter (the leader) confirms its own reads as soon as any ack is processed', () => {
    const r = new ReadOnly();
    r.add(3, 'a');
    expect(r.ack('1', 1, ['1'], '1')).toEqual([{ index: 3, ctx: 'a' }]);
  });

  it('reset voids every pending read; sequence numbers keep growing so old answers cannot match new reads', () => {
    const r = new ReadOnly();
    r.add(3, 'a');
    r.ack('2', 1, five, '1');
    r.reset();
    expect(r.pendingCount).toBe(0);
    expect(r.heartbeatSeq()).toBe(0);
    expect(r.add(9, 'z')).toBe(2);
    expect(r.ack('3', 1, five, '1')).toEqual([]);
    expect(r.ack('3', 2, five, '1')).toEqual([]);
    expect(r.ack('4', 2, five, '1')).toEqual([{ index: 9, ctx: 'z' }]);
  });
});
