/**
 * Deadlines (src/node/deadlines.ts): one FIFO and one timer for request deadlines of one duration. Each
 * expires once its time has passed unless settled first, in the order they were set, and a settled one
 * never expires, wherever it sits in the queue. Driven by fake timers and an injected clock.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Deadlines } from '../../src/node/deadlines.js';

let clock = 0;
const now = (): number => clock;
const advance = (ms: number): void => {
  clock += ms;
  vi.advanceTimersByTime(ms);
};

beforeEach(() => {
  vi.useFakeTimers();
  clock = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

it('a deadline expires once its time has passed, not before, and only once', () => {
  const d = new Deadlines(100, now);
  const expired: string[] = [];
  d.add(() => expired.push('a'));
  advance(99);
  expect(expired).toEqual([]);
  advance(1);
  expect(expired).toEqual(['a']);
  advance(1000);
  expect(expired).toEqual(['a']);
  expect(d.pending).toBe(0);
});

it('deadlines expire in the order they were set, each at its own time, with one timer for all of them', () => {
  const d = new Deadlines(100, now);
  const expired: number[] = [];
  for (let i = 0; i < 5; i++) {
    d.add(() => expired.push(i));
    advance(10);
  }
  expect(vi.getTimerCount()).toBe(1);
  advance(50); // t = 100: the first
  expect(expired).toEqual([0]);
  advance(25); // t = 125: the second and third
  expect(expired).toEqual([0, 1, 2]);
  advance(100);
  expect(expired).toEqual([0, 1, 2, 3, 4]);
  expect(vi.getTimerCount()).toBe(0);
});

it('a settled deadline never expires, at the head or behind deadlines still running', () => {
  const d = new Deadlines(100, now);
  const expired: string[] = [];
  const a = d.add(() => expired.push('a'));
  d.add(() => expired.push('b'));
  const c = d.add(() => expired.push('c'));
  d.add(() => expired.push('d'));
  a.settle(); // the head, answered in order
  c.settle(); // behind b, answered out of order
  expect(d.pending).toBe(2);
  advance(100);
  expect(expired).toEqual(['b', 'd']);
  expect(d.pending).toBe(0);
});

it('answers in order empty the queue as they come; a timer armed for a settled head only re-arms for the next', () => {
  const d = new Deadlines(100, now);
  const expired: number[] = [];
  const first = d.add(() => expired.push(1));
  first.settle();
  expect(d.pending).toBe(0);
  advance(50);
  d.add(() => expired.push(2)); // due at 150; the timer still aims at 100
  advance(50); // t = 100: the early timer fires, nothing is due, it re-arms for 150
  expect(expired).toEqual([]);
  expect(vi.getTimerCount()).toBe(1);
  advance(50);
  expect(expired).toEqual([2]);
});

it('settling after expiry, or twice, changes nothing', () => {
  const d = new Deadlines(100, now);
  const expired: string[] = [];
  const a = d.add(() => expired.push('a'));
  advance(100);
  a.settle();
  a.settle();
  d.add(() => expired.push('b'));
  advance(100);
  expect(expired).toEqual(['a', 'b']);
});

it('after close nothing expires, and new deadlines are inert', () => {
  const d = new Deadlines(100, now);
  const expired: string[] = [];
  d.add(() => expired.push('a'));
  d.close();
  d.add(() => expired.push('b')).settle();
  d.add(() => expired.push('c'));
  advance(1000);
  expect(expired).toEqual([]);
  expect(vi.getTimerCount()).toBe(0);
  expect(d.pending).toBe(0);
});

it('a long run of answered requests leaves nothing behind', () => {
  const d = new Deadlines(100, now);
  const expired: number[] = [];
  const open = [];
  for (let i = 0; i < 5000; i++) {
    open.push(d.add(() => expired.push(i)));
    // Answers arrive in order, a few requests behind.
    if (open.length > 3) open.shift()?.settle();
  }
  expect(d.pending).toBe(3);
  advance(100);
  expect(expired).toEqual([4997, 4998, 4999]);
  expect(d.pending).toBe(0);
});
