/**
 * The inline runtime's clock and event loop (DESIGN §2–3): integer nanoseconds of simulated
 * time, never wall-clock; events ordered by (time, source, sequence).
 *
 * Components are {@link Endpoint}s registered with a small integer id. A message event calls
 * `handle(slot, now)` with the message slot (≥ 0); a timer event calls `handle(-1 - code, now)`.
 * Rare control-path events may use closures ({@link Simulator.call}).
 */

import { EventQueue } from './event-queue.js';
import { type KThread, spawn } from './kthread.js';
import { MessagePool } from './message.js';

/** A component that receives events. */
export interface Endpoint {
  /** Message slot (≥ 0) or timer (−1 − code). */
  handle(arg: number, nowNs: number): void;
}

const CALLBACK = -1;

/** Simulated clock, event queue, message pool and endpoint table. */
export class Simulator {
  /** Current simulated time in ns. */
  nowNs = 0;
  /** Events run so far. */
  events = 0;
  /** Message slots shared by every component of this thread. */
  readonly pool = new MessagePool();
  private readonly queue = new EventQueue();
  private readonly endpoints: Endpoint[] = [];
  private readonly callbacks: ((nowNs: number) => void)[] = [];
  private readonly freeCallbacks: number[] = [];
  /** Depth of event handlers currently running (0 outside the loop). */
  private depth = 0;

  /** Registers a component; returns its endpoint id (also usable as its event source id). */
  register(ep: Endpoint): number {
    this.endpoints.push(ep);
    return this.endpoints.length - 1;
  }

  /** True while an event handler is running. */
  get inEvent(): boolean {
    return this.depth > 0;
  }

  /** Delivers message `slot` to endpoint `dest` after `delayNs`, ordered under `source`. */
  send(delayNs: number, source: number, dest: number, slot: number): void {
    this.queue.push(this.nowNs + delayNs, source, dest, slot);
  }

  /** Fires timer `code` (≥ 0) at endpoint `dest` after `delayNs`. */
  timer(delayNs: number, source: number, dest: number, code: number): void {
    this.queue.push(this.nowNs + delayNs, source, dest, -1 - code);
  }

  /** Runs `fn` after `delayNs` (control path only: allocates a closure slot). */
  call(delayNs: number, source: number, fn: (nowNs: number) => void): void {
    let i = this.freeCallbacks.pop();
    if (i === undefined) {
      i = this.callbacks.length;
      this.callbacks.push(fn);
    } else {
      this.callbacks[i] = fn;
    }
    this.queue.push(this.nowNs + delayNs, source, CALLBACK, i);
  }

  /** Time of the next pending event (Infinity when none). */
  get nextEventNs(): number {
    return this.queue.peekTime();
  }

  /** Runs the earliest event; false when none is pending. */
  step(): boolean {
    const t = this.queue.pop();
    if (t < 0) return false;
    if (t < this.nowNs) {
      throw new Error(`simulated time went backwards: event at ${t} ns, clock at ${this.nowNs} ns`);
    }
    this.nowNs = t;
    this.events++;
    const target = this.queue.poppedTarget;
    const arg = this.queue.poppedArg;
    this.depth++;
    try {
      if (target === CALLBACK) {
        const fn = this.callbacks[arg]!;
        this.callbacks[arg] = undefined as never;
        this.freeCallbacks.push(arg);
        fn(t);
      } else {
        this.endpoints[target]!.handle(arg, t);
      }
    } finally {
      this.depth--;
    }
    return true;
  }

  /** Runs every event up to and including time `endNs`; the clock ends at `endNs`. */
  runUntil(endNs: number): void {
    while (this.queue.peekTime() <= endNs) this.step();
    if (endNs > this.nowNs) this.nowNs = endNs;
  }

  /**
   * Runs kernel thread `body` to completion, advancing simulated time as far as it needs;
   * throws what the thread threw, or a deadlock error if it waits with nothing pending.
   */
  runThread<T>(what: string, body: KThread<T>): T {
    const r = spawn(body);
    while (!r.finished) {
      if (!this.step()) {
        throw new Error(
          `${what}: kernel thread blocked at ${this.nowNs} ns with no pending event (deadlock)`,
        );
      }
    }
    if (r.error !== undefined) throw r.error;
    return r.value as T;
  }
}
