import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../src/sim/fifo.js';

describe('Fifo', () => {
  it('hands items back in the order they were pushed, across growth', () => {
    const q = new Fifo<number>(2);
    for (let i = 0; i < 100; i++) q.push(i);
    expect(q.length).toBe(100);
    const out: number[] = [];
    while (q.length > 0) out.push(q.shift()!);
    expect(out).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('peek shows the head without removing it; an empty queue gives undefined', () => {
    const q = new Fifo<string>();
    expect(q.peek()).toBeUndefined();
    expect(q.shift()).toBeUndefined();
    q.push('a');
    q.push('b');
    expect(q.peek()).toBe('a');
    expect(q.length).toBe(2);
    expect(q.shift()).toBe('a');
    expect(q.peek()).toBe('b');
  });

  it('keeps order when the ring wraps before it grows', () => {
    const q = new Fifo<number>(4);
    q.push(1);
    q.push(2);
    q.push(3);
    expect(q.shift()).toBe(1);
    expect(q.shift()).toBe(2);
    q.push(4);
    q.push(5);
    q.push(6); // wrapped: head is slot 2
    q.push(7); // full: grows while wrapped
    expect([q.shift(), q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([3, 4, 5, 6, 7]);
    expect(q.length).toBe(0);
  });

  it('behaves as an array used with push / shift for any sequence of operations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer(), fc.constant(null)), { maxLength: 300 }),
        (ops) => {
          const q = new Fifo<number>(1);
          const model: number[] = [];
          for (const op of ops) {
            if (op === null) expect(q.shift()).toBe(model.shift());
            else {
              q.push(op);
              model.push(op);
            }
            expect(q.length).toBe(model.length);
            expect(q.peek()).toBe(model[0]);
          }
        },
      ),
    );
  });
});
