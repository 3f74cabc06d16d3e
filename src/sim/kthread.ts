/**
 * Kernel threads as coroutines in modelled time.
 *
 * A kernel code path that sleeps (qi_submit_sync spinning on its status word, the drain loop
 * in `intel_svm_drain_prq` waiting on `prq_complete`) is written as a generator that yields a
 * {@link Waitable}. The scheduler resumes it, synchronously and in a deterministic order,
 * when the waitable completes — no Promise and no microtask in the model, so resumption
 * happens at the simulated instant the event fired, whichever runtime drives the model.
 *
 * `Completion` mirrors Linux's `struct completion`: `complete()` wakes every waiter,
 * `reinit()` re-arms it (`reinit_completion`).
 */

/** Something a kernel thread can wait for. */
export interface Waitable {
  /** True once the awaited condition holds; a thread yielding a done waitable continues at once. */
  readonly done: boolean;
  /** Registers a one-shot callback run when the waitable becomes done. */
  onDone(cb: () => void): void;
}

/**
 * Linux-style completion: one-shot event with any number of waiters, re-armable.
 *
 * Almost every completion has one waiter at a time (the thread that sleeps on it), and a
 * run holds one or more per client: the first waiter sits in a field and only further ones
 * take an array, so an idle completion is one small object and completing it allocates
 * nothing.
 */
export class Completion implements Waitable {
  /** The first waiter, then the others in registration order (null: none). */
  private first: (() => void) | null = null;
  private rest: (() => void)[] | null = null;
  private isDone = false;

  /** True after complete() until the next reinit(). */
  get done(): boolean {
    return this.isDone;
  }

  /** Registers a waiter; runs it at once if already complete. */
  onDone(cb: () => void): void {
    if (this.isDone) cb();
    else if (this.first === null) this.first = cb;
    else if (this.rest === null) this.rest = [cb];
    else this.rest.push(cb);
  }

  /**
   * Marks the completion done and wakes every waiter in registration order. Waiters that
   * register while it runs (after a reinit()) wait for the next complete().
   */
  complete(): void {
    this.isDone = true;
    const first = this.first;
    const rest = this.rest;
    this.first = null;
    this.rest = null;
    if (first !== null) first();
    if (rest !== null) for (const cb of rest) cb();
  }

  /** Re-arms the completion (`reinit_completion`). */
  reinit(): void {
    this.isDone = false;
  }
}

/** A waitable that is already satisfied. */
export const DONE: Waitable = Object.freeze({ done: true, onDone: (cb: () => void) => cb() });

/** The body of a kernel thread: yields what it waits for, returns its result. */
export type KThread<T> = Generator<Waitable, T, void>;

/** Outcome of a kernel thread, filled in when it finishes. */
export interface KThreadResult<T> {
  finished: boolean;
  value?: T;
  error?: unknown;
}

/**
 * Runs `body` until it finishes or blocks on a waitable that is not done; when that waitable
 * completes the thread resumes from the completing callback. Returns the live result record;
 * `onExit` is called once when the thread returns or throws.
 */
export function spawn<T>(
  body: KThread<T>,
  onExit?: (result: KThreadResult<T>) => void,
): KThreadResult<T> {
  const result: KThreadResult<T> = { finished: false };
  const step = (): void => {
    for (;;) {
      let r: IteratorResult<Waitable, T>;
      try {
        r = body.next();
      } catch (error) {
        result.finished = true;
        result.error = error;
        onExit?.(result);
        return;
      }
      if (r.done) {
        result.finished = true;
        result.value = r.value;
        onExit?.(result);
        return;
      }
      if (!r.value.done) {
        r.value.onDone(step);
        return;
      }
    }
  };
  step();
  return result;
}
