/**
 * The testbench driver of the programmatic API: many coroutines (the script's async calls),
 * one simulated clock — the cocotb / SimPy model.
 *
 * An async call issues its transaction at once, at the current simulated time, and waits
 * on a condition ({@link Testbench.until}); it never runs the simulator itself. The simulator
 * advances only in a *drive*, a macrotask (`setImmediate`) scheduled when the first waiter
 * arrives. A macrotask runs only after the microtask queue drained, i.e. once every caller
 * of the script is waiting, so calls issued in the same turn (`Promise.all`) overlap in
 * simulated time. A drive runs events one by one; after each it checks the waiters in the
 * order they were issued and settles those whose condition holds. As soon as one settled it
 * stops, at that event's simulated time, and yields: the continuations run at that same
 * time and may issue more; the next drive goes on from there. When no event is left, every
 * remaining waiter is settled with `false` (nothing can satisfy it any more). The same script
 * therefore gives the same simulated times on every run: ties go in event order, then issue
 * order.
 *
 * A drive runs only while someone waits: transactions posted without waiting (fire and
 * forget) stay in the event queue until the script waits for something (`run`, `sleep`,
 * `idle`, or any call).
 *
 * A broken invariant thrown by an event (ERR_INVARIANT, STYLE.md kind 4) rejects every
 * waiter with it: the model is not run further for them.
 *
 * Not modelled: waiting on wall-clock timers inside a script (a `setTimeout` lets a drive run
 * in between, and simulated time moves on without the script).
 */

import { codedError, ErrorCode } from '../errors.js';

interface Waiter {
  readonly done: () => boolean;
  readonly resolve: (reached: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/** Runs the simulator for the script's waiters (see the file header). */
export class Testbench {
  /** Runs one step of the model (one event, or one quantum); false when nothing is pending. */
  private readonly step: () => boolean;
  private readonly waiters: Waiter[] = [];
  private scheduled = false;
  /** Drives run so far (each ends where a waiter settled or the queue ran dry). */
  drives = 0;

  constructor(step: () => boolean) {
    this.step = step;
  }

  /** Waiters not settled yet. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Resolves `true` at the first simulated instant `done()` holds (checked now, then after
   * every event), or `false` once no event is left to run and it still does not hold.
   */
  until(done: () => boolean): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.waiters.push({ done, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.drive);
  }

  /** Settles the waiters whose condition holds, in issue order; true when any did. */
  private settleReady(): boolean {
    let any = false;
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i]!;
      if (w.done()) {
        this.waiters.splice(i, 1);
        w.resolve(true);
        any = true;
      } else i++;
    }
    return any;
  }

  private readonly drive = (): void => {
    this.scheduled = false;
    this.drives++;
    try {
      while (!this.settleReady() && this.waiters.length > 0) {
        if (!this.step()) {
          for (const w of this.waiters.splice(0)) w.resolve(false);
        }
      }
    } catch (error) {
      for (const w of this.waiters.splice(0)) w.reject(error);
    }
    if (this.waiters.length > 0) this.schedule();
  };
}

/** The error of a call whose answer can no longer come: the model ran out of events. */
export function stalled(what: string, nowNs: number): Error {
  return codedError(
    ErrorCode.ERR_INVARIANT,
    `${what}: blocked at ${nowNs} ns with no pending event (deadlock)`,
  );
}
