import { describe, expect, it } from 'vitest';
import { Completion, DONE, type KThread, spawn } from '../../src/sim/kthread.js';
import { Simulator } from '../../src/sim/simulator.js';

describe('spawn()', () => {
  it('runs through done waitables and parks on pending ones', () => {
    const c = new Completion();
    const trace: string[] = [];
    function* body(): KThread<number> {
      trace.push('a');
      yield c;
      trace.push('b');
      return 42;
    }
    const r = spawn(body());
    expect(trace).toEqual(['a']);
    expect(r.finished).toBe(false);
    c.complete();
    expect(trace).toEqual(['a', 'b']);
    expect(r).toMatchObject({ finished: true, value: 42 });
  });

  it('captures what the thread throws', () => {
    function* body(): KThread<void> {
      yield DONE;
      throw Object.assign(new Error('boom'), { code: 'EINVAL' });
    }
    const r = spawn(body());
    expect(r.finished).toBe(true);
    expect((r.error as { code: string }).code).toBe('EINVAL');
  });

  it('re-armed completions block again (reinit_completion)', () => {
    const c = new Completion();
    c.complete();
    c.reinit();
    let resumed = false;
    spawn(
      (function* () {
        yield c;
        resumed = true;
      })(),
    );
    expect(resumed).toBe(false);
    c.complete();
    expect(resumed).toBe(true);
  });
});

describe('Completion', () => {
  it('wakes every waiter once, in registration order', () => {
    const c = new Completion();
    const order: number[] = [];
    for (let i = 0; i < 5; i++) c.onDone(() => order.push(i));
    c.complete();
    expect(order).toEqual([0, 1, 2, 3, 4]);
    c.complete();
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('runs a waiter at once when already done', () => {
    const c = new Completion();
    c.complete();
    let ran = false;
    c.onDone(() => {
      ran = true;
    });
    expect(ran).toBe(true);
  });

  it('keeps waiters that register during complete() after a reinit() for the next one', () => {
    const c = new Completion();
    const order: string[] = [];
    c.onDone(() => {
      order.push('a');
      c.reinit();
      c.onDone(() => order.push('later'));
    });
    c.onDone(() => order.push('b'));
    c.complete();
    expect(order).toEqual(['a', 'b']);
    c.complete();
    expect(order).toEqual(['a', 'b', 'later']);
  });
});

describe('Simulator.runThread()', () => {
  it('advances simulated time until the thread finishes', () => {
    const sim = new Simulator();
    const c = new Completion();
    sim.call(250, 1, () => c.complete());
    sim.call(900, 1, () => {});
    const v = sim.runThread(
      'test',
      (function* () {
        yield c;
        return sim.nowNs;
      })(),
    );
    expect(v).toBe(250);
    expect(sim.nowNs).toBe(250);
  });

  it('reports a deadlock when the thread waits with nothing pending', () => {
    const sim = new Simulator();
    expect(() =>
      sim.runThread(
        'stuck',
        (function* () {
          yield new Completion();
        })(),
      ),
    ).toThrow(/stuck: kernel thread blocked at 0 ns/);
  });
});
