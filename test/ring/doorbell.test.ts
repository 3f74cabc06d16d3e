import { isMainThread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CAN_BLOCK_HERE, Doorbell } from '../../src/ring/index.js';
import { startTsWorker, yieldToEventLoop } from './worker-harness.js';

const BELL = 0;
const SLEEPERS = 16; // its own cache line

function bell(options: { canBlock?: boolean } = {}): Doorbell {
  return new Doorbell(new Int32Array(new SharedArrayBuffer(128)), BELL, SLEEPERS, options);
}

describe('Doorbell', () => {
  it('counts rings and skips the notify while nobody sleeps', () => {
    const b = bell();
    expect(b.read()).toBe(0);
    expect(b.ring()).toBe(false);
    expect(b.ring()).toBe(false);
    expect(b.read()).toBe(2);
    Atomics.store(b.i32, SLEEPERS, 1); // a waiter announced itself
    expect(b.ring()).toBe(true);
  });

  it("returns 'not-equal' at once when the bell moved since the caller read it", () => {
    const b = bell();
    const seen = b.read();
    b.ring();
    expect(b.wait(seen, 1_000_000, 10_000)).toBe('not-equal');
  });

  it('never parks on a thread that cannot block: spins at most spinNs, then says timeout', () => {
    const b = bell();
    expect(b.canBlock).toBe(!isMainThread);
    expect(CAN_BLOCK_HERE).toBe(!isMainThread);
    const nb = bell({ canBlock: false });
    // A 10 s timeout would freeze the event loop if it parked; it returns after the spin.
    expect(nb.wait(nb.read(), 0, 10_000)).toBe('timeout');
    expect(nb.wait(nb.read(), 20_000, 10_000)).toBe('timeout');
    expect(nb.sleepers()).toBe(0);
  });

  it('rejects an unbounded park and a negative spin with EINVAL', () => {
    const b = bell({ canBlock: false });
    const einval = expect.objectContaining({ code: 'EINVAL' });
    expect(() => b.wait(0, 0, Number.POSITIVE_INFINITY)).toThrow(einval);
    expect(() => b.wait(0, -1, 1)).toThrow(einval);
    expect(() => b.wait(0, Number.NaN, 1)).toThrow(einval);
  });

  it('rejects word indices outside the view and a non-shared buffer', () => {
    const einval = expect.objectContaining({ code: 'EINVAL' });
    const i32 = new Int32Array(new SharedArrayBuffer(128));
    expect(() => new Doorbell(i32, 0, 32)).toThrow(einval);
    expect(() => new Doorbell(i32, 3, 3)).toThrow(einval);
    expect(() => new Doorbell(new Int32Array(32), 0, 16)).toThrow(einval);
  });
});

describe('Doorbell.wait() in a worker', () => {
  it('parks: times out when unrung, wakes when rung after the waiter announced itself', async () => {
    const sab = new SharedArrayBuffer(128);
    const b = new Doorbell(new Int32Array(sab), BELL, SLEEPERS);
    const w = startTsWorker('./doorbell-probe.worker.ts', {
      sab,
      bellIndex: BELL,
      sleepersIndex: SLEEPERS,
    });
    try {
      const phase1 = await w.next<Record<string, unknown>>();
      expect(phase1).toEqual({
        canBlock: true,
        CAN_BLOCK_HERE: true,
        stale: 'not-equal',
        unrung: 'timeout',
        spunThenUnrung: 'timeout',
      });
      // Phase 2: ring only once the worker has announced it sleeps, so ring() must notify.
      let polls = 0;
      while (b.sleepers() === 0) {
        if (w.failure()) throw w.failure();
        if (++polls > 1_000_000) throw new Error('worker never parked');
        await yieldToEventLoop();
      }
      expect(b.ring()).toBe(true);
      const phase2 = await w.next<{ woke: string; sleepersAfter: number }>();
      // 'not-equal' when the ring landed between its announcement and its compare.
      expect(['changed', 'not-equal']).toContain(phase2.woke);
      expect(phase2.sleepersAfter).toBe(0);
    } finally {
      await w.stop();
    }
  });
});
