import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../src/sim/event-queue.js';

/** Pops everything as [time, target, arg] triples. */
function drain(q: EventQueue): number[][] {
  const out: number[][] = [];
  for (let t = q.pop(); t >= 0; t = q.pop()) out.push([t, q.poppedTarget, q.poppedArg]);
  return out;
}

describe('EventQueue lanes', () => {
  it('pop in exactly the (time, source, sequence) order of the heap alone', () => {
    const step = fc.record({
      advance: fc.nat(300),
      delay: fc.constantFrom(220, 220, 220, 500, 7, 0, 1000),
      source: fc.nat(5),
      popFirst: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400 }), (steps) => {
        const plain = new EventQueue();
        const laned = new EventQueue();
        laned.setLaneDelays([220, 500]);
        let now = 0;
        let arg = 0;
        const popped: [number[][], number[][]] = [[], []];
        for (const s of steps) {
          if (s.popFirst && plain.length > 0) {
            // the clock moves to the popped event, as a simulator's does
            const t = plain.pop();
            popped[0].push([t, plain.poppedTarget, plain.poppedArg]);
            const u = laned.pop();
            popped[1].push([u, laned.poppedTarget, laned.poppedArg]);
            now = Math.max(now, t);
          }
          now += s.advance;
          plain.push(now + s.delay, s.source, s.source, arg);
          laned.pushAfter(now, s.delay, s.source, s.source, arg);
          arg++;
          expect(laned.length).toBe(plain.length);
          expect(laned.peekTime()).toBe(plain.peekTime());
        }
        popped[0].push(...drain(plain));
        popped[1].push(...drain(laned));
        expect(popped[1]).toEqual(popped[0]);
      }),
    );
  });

  it('orders events due at the same instant by source, then by sequence, inside a lane', () => {
    const q = new EventQueue();
    q.setLaneDelays([220]);
    q.pushAfter(0, 220, 3, 30, 0);
    q.pushAfter(0, 220, 1, 10, 1);
    q.pushAfter(0, 220, 3, 31, 2);
    q.pushAfter(0, 220, 2, 20, 3);
    expect(drain(q).map(([, target]) => target)).toEqual([10, 20, 30, 31]);
  });

  it('refuses lanes once events are queued, and delays that are not positive integers', () => {
    const q = new EventQueue();
    expect(() => q.setLaneDelays([0])).toThrow(/lane delay/);
    q.push(5, 0, 0, 0);
    expect(() => q.setLaneDelays([220])).toThrow(/before any event/);
  });
});
