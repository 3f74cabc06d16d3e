/**
 * The inline runtime's clock and event loop (DESIGN §2–3): integer nanoseconds of simulated
 * time, never wall-clock; events ordered by (time, source, sequence).
 */

import { type EventHandler, EventQueue } from './event-queue.js';
import { type KThread, spawn } from './kthread.js';

/** Simulated clock plus event queue. */
export class Simulator {
  /** Current simulated time in ns. */
  nowNs = 0;
  /** Events run so far. */
  events = 0;
  private readonly queue = new EventQueue();

  /** Schedules `handler` `delayNs` from now on behalf of `source`. */
  after(delayNs: number, source: number, handler: EventHandler): void {
    this.queue.push(this.nowNs + delayNs, source, handler);
  }

  /** Runs the earliest event; false when none is pending. */
  step(): boolean {
    const ev = this.queue.pop();
    if (!ev) return false;
    if (ev.timeNs < this.nowNs) {
      throw new Error(
        `simulated time went backwards: event at ${ev.timeNs} ns, clock at ${this.nowNs} ns`,
      );
    }
    this.nowNs = ev.timeNs;
    this.events++;
    ev.handler(this.nowNs);
    return true;
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
