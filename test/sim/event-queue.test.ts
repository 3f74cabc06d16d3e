import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../src/sim/event-queue.js';

describe('EventQueue', () => {
  it('pops in (time, source, sequence) order whatever the insertion order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ t: fc.integer({ min: 0, max: 20 }), src: fc.integer({ min: 0, max: 3 }) }),
          {
            maxLength: 200,
          },
        ),
        (evs) => {
          const q = new EventQueue();
          const seq = new Map<number, number>();
          const expected = evs.map((e) => {
            const n = seq.get(e.src) ?? 0;
            seq.set(e.src, n + 1);
            return { ...e, n };
          });
          const out: typeof expected = [];
          for (const [i, e] of expected.entries()) q.push(e.t, e.src, 0, i);
          while (q.length > 0) {
            q.pop();
            out.push(expected[q.poppedArg]!);
          }
          const sorted = [...expected].sort((a, b) => a.t - b.t || a.src - b.src || a.n - b.n);
          expect(out).toEqual(sorted);
        },
      ),
    );
  });

  it('rejects negative or fractional times', () => {
    const q = new EventQueue();
    expect(() => q.push(-1, 0, 0, 0)).toThrow(/non-negative integer/);
    expect(() => q.push(1.5, 0, 0, 0)).toThrow(/non-negative integer/);
  });

  it('reports the earliest time, Infinity when empty', () => {
    const q = new EventQueue();
    expect(q.peekTime()).toBe(Number.POSITIVE_INFINITY);
    q.push(7, 1, 0, 0);
    q.push(3, 2, 0, 0);
    expect(q.peekTime()).toBe(3);
  });
});
