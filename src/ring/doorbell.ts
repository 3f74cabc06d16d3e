/**
 * Doorbells: wake-ups between threads over one Int32 "bell" word plus one "sleepers" word of
 * a SharedArrayBuffer (DESIGN §3, PLATFORM.md). The bell is a free-running counter; ringing
 * it adds one, so "something happened since I looked" is "the bell no longer holds the value I
 * read". A waiter spins on the bell for a short while (a wake-up through the kernel costs tens
 * of microseconds, a spinning hand-off well under one), then parks with `Atomics.wait` —
 * always with a timeout, always on exactly the value its decision to sleep was made with.
 *
 * The protocol a waiter follows (the caller's half; {@link Doorbell.wait} is the rest):
 *
 *   const seen = bell.read();        // 1. read the bell
 *   if (ring.available() > 0) ...    // 2. re-check the condition after reading it
 *   else bell.wait(seen);            // 3. sleep only if the bell still holds `seen`
 *
 * and a ringer: make the change visible first (publish the ring tail, release the head), then
 * `ring()`. Any ring after step 1 changes the bell, so step 3 returns at once instead of
 * sleeping through it.
 *
 * Cheap common path: `ring()` is one `Atomics.add` plus one `Atomics.load` of the sleepers
 * word; it calls `Atomics.notify` (a futex syscall) only when a waiter has announced itself.
 * That is Dekker's pattern and it is safe because every Atomics operation is sequentially
 * consistent: the waiter does add(sleepers) then wait(bell) (whose compare is atomic with its
 * enqueue), the ringer does add(bell) then load(sleepers). In the single total order, either
 * the ringer's load sees the waiter's announcement (so it notifies; if the waiter is not yet
 * enqueued, its compare comes after add(bell) and fails with 'not-equal'), or the load came
 * first, so add(bell) came before the waiter's compare, which then fails. No order loses the
 * wake-up.
 *
 * Threads that must not block. Node does NOT throw on `Atomics.wait` on the main thread (unlike
 * browsers: measured on Node 20.20, it blocks and returns 'timed-out'), but blocking there
 * freezes the event loop, and PLATFORM.md allows it in workers only. A doorbell on a thread
 * that cannot block (by default: the main thread, `isMainThread`) therefore never parks: it
 * spins for at most `spinNs` and returns 'timeout', and its caller must yield to the event loop
 * (`await new Promise((r) => setImmediate(r))`) before calling again. It never throws for this.
 *
 * Not modelled: priority, fairness between several waiters on one bell (all are woken).
 */

import { isMainThread } from 'node:worker_threads';
import { RingErrorCode, ringError } from './errors.js';

/** Why {@link Doorbell.wait} returned. */
export type WakeReason =
  /** The bell changed while spinning, or a notify woke the parked thread. */
  | 'changed'
  /** The park timed out (or, on a thread that cannot block, the spin ended) with no ring. */
  | 'timeout'
  /** The bell differed from `expected` when `wait()` first read it, or when `Atomics.wait`
   * compared it after the spin: a ring had landed before this thread could park. */
  | 'not-equal';

/** Default spin before parking: 30 µs, inside the 20–50 µs the prototype found best. */
export const DEFAULT_SPIN_NS = 30_000;

/** Default park timeout: a safety net, never the wake-up mechanism. */
export const DEFAULT_PARK_TIMEOUT_MS = 50;

/**
 * Bell reads between two clock reads while spinning: a clock read costs ~30–50 ns, a bell read
 * a few, so checking the clock every iteration would make the clock the spin's main cost.
 */
export const SPIN_CHECK_EVERY = 128;

/** True when this thread may park with `Atomics.wait` (any worker thread; not the main thread). */
export const CAN_BLOCK_HERE: boolean = !isMainThread;

/** Options of a {@link Doorbell}. */
export interface DoorbellOptions {
  /** Whether `wait()` may park with `Atomics.wait`. Default {@link CAN_BLOCK_HERE}. */
  canBlock?: boolean;
}

/** A wake-up word shared by threads: `ring()` on one side, `wait()` on the other. */
export class Doorbell {
  /** The shared control words. */
  readonly i32: Int32Array;
  /** Index of the bell word (a free-running counter, rung with `Atomics.add`). */
  readonly bellIndex: number;
  /** Index of the sleepers word (number of threads parked or about to park on the bell). */
  readonly sleepersIndex: number;
  /** Whether `wait()` parks with `Atomics.wait`; when false it only spins (see file header). */
  readonly canBlock: boolean;

  /**
   * A view of the bell at `i32[bellIndex]` with its sleepers count at `i32[sleepersIndex]`;
   * every thread builds its own over the same SharedArrayBuffer. The two words should sit on
   * different cache lines (see `RingWord`).
   */
  constructor(
    i32: Int32Array,
    bellIndex: number,
    sleepersIndex: number,
    options: DoorbellOptions = {},
  ) {
    if (!(i32.buffer instanceof SharedArrayBuffer)) {
      throw ringError(
        RingErrorCode.EINVAL,
        'a doorbell needs an Int32Array over a SharedArrayBuffer',
      );
    }
    for (const index of [bellIndex, sleepersIndex]) {
      if (!Number.isInteger(index) || index < 0 || index >= i32.length) {
        throw ringError(
          RingErrorCode.EINVAL,
          `doorbell word index ${index} is outside the ${i32.length}-word view`,
        );
      }
    }
    if (bellIndex === sleepersIndex) {
      throw ringError(RingErrorCode.EINVAL, 'the bell and sleepers words must differ');
    }
    this.i32 = i32;
    this.bellIndex = bellIndex;
    this.sleepersIndex = sleepersIndex;
    this.canBlock = options.canBlock ?? CAN_BLOCK_HERE;
  }

  /**
   * The bell's current value: read it BEFORE checking the condition you might sleep on, then
   * pass that same value to {@link wait}.
   */
  read(): number {
    // Bell: written by ringers only (Atomics.add). SeqCst load: acquire, so everything the
    // ringer published before ringing is visible after we see its ring. Reading it after the
    // condition check instead of before would let a ring between the two go unnoticed.
    return Atomics.load(this.i32, this.bellIndex);
  }

  /**
   * Rings the bell: call it after making the change visible (after `publish()` or `release()`,
   * never before: a waiter woken before the tail moved would find nothing and sleep again).
   * Notifies only when someone announced it sleeps. Returns whether a notify was issued.
   */
  ring(): boolean {
    // Bell: any ringer may add. SeqCst RMW: release of everything this thread stored before
    // (the published tail), and ordered before the sleepers load below. Were this a plain
    // store, a waiter could compare against the old value after we skipped the notify: a
    // lost wake-up, the waiter would sleep until its timeout.
    Atomics.add(this.i32, this.bellIndex, 1);
    // Sleepers: written by waiters (add before parking, sub after). SeqCst load, ordered after
    // the add above: if it reads 0, every waiter that has not announced yet will compare after
    // our add and not sleep; if non-zero we must notify (see the file header's argument).
    if (Atomics.load(this.i32, this.sleepersIndex) === 0) return false;
    // Bell: wakes every thread parked on it. A notify with no one enqueued yet is harmless:
    // that waiter's compare sees the new bell value and returns 'not-equal'.
    Atomics.notify(this.i32, this.bellIndex);
    return true;
  }

  /**
   * Waits until the bell differs from `expected` — the value the caller read BEFORE its final
   * check of the condition it sleeps on. Spins about `spinNs` first (0 parks at once: use it
   * when there are more busy threads than cores), then parks with `Atomics.wait` for at most
   * `timeoutMs` (always finite). On a thread that cannot block (see `canBlock`) it never parks:
   * after the spin it returns 'timeout' and the caller must yield to its event loop.
   *
   * `expected` is never re-read here. Re-reading the bell just before parking would swallow a
   * ring that landed between the caller's check and the park — the message is in the ring, the
   * bell moved, and the thread would sleep on the new value until its timeout (the prototype
   * deadlocked this way when timeouts were long).
   */
  wait(
    expected: number,
    spinNs: number = DEFAULT_SPIN_NS,
    timeoutMs: number = DEFAULT_PARK_TIMEOUT_MS,
  ): WakeReason {
    if (!(spinNs >= 0 && spinNs < Number.POSITIVE_INFINITY)) {
      throw ringError(RingErrorCode.EINVAL, `spinNs must be a finite number >= 0, got ${spinNs}`);
    }
    if (!(timeoutMs >= 0 && timeoutMs < Number.POSITIVE_INFINITY)) {
      throw ringError(
        RingErrorCode.EINVAL,
        `timeoutMs must be a finite number >= 0 (a park always has a timeout), got ${timeoutMs}`,
      );
    }
    const i32 = this.i32;
    const bell = this.bellIndex;
    // Bell: written by ringers. SeqCst load (acquire). If it already moved, a ring happened
    // after the caller's read: do not spin or sleep at all.
    if (Atomics.load(i32, bell) !== expected) return 'not-equal';

    if (spinNs > 0) {
      const deadlineMs = performance.now() + spinNs / 1e6;
      for (;;) {
        for (let k = 0; k < SPIN_CHECK_EVERY; k++) {
          // Bell: written by ringers. SeqCst load (acquire) each iteration; a plain read could
          // be hoisted out of the loop by the JIT and spin forever on a stale value.
          if (Atomics.load(i32, bell) !== expected) return 'changed';
        }
        if (performance.now() >= deadlineMs) break;
      }
    }
    if (!this.canBlock) return 'timeout';

    // Sleepers: shared by waiters, read by ringers. SeqCst add announces us BEFORE the compare
    // inside Atomics.wait; announcing after it would let a ringer skip the notify between our
    // compare and our announcement: a lost wake-up until the timeout.
    Atomics.add(i32, this.sleepersIndex, 1);
    // Bell: compare-and-park on exactly `expected`, atomically with respect to notify. A ring
    // since the caller's read makes it return 'not-equal' at once.
    const result = Atomics.wait(i32, bell, expected, timeoutMs);
    // Sleepers: withdraw the announcement (SeqCst). Leaving it up only costs ringers a
    // needless notify syscall, never correctness.
    Atomics.sub(i32, this.sleepersIndex, 1);
    return result === 'ok' ? 'changed' : result === 'timed-out' ? 'timeout' : 'not-equal';
  }

  /** Number of threads currently announced as parked (or about to park); for tests and stats. */
  sleepers(): number {
    // Sleepers: written by waiters. SeqCst load; the value may be stale the moment it returns.
    return Atomics.load(this.i32, this.sleepersIndex);
  }
}
