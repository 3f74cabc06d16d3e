/**
 * A kernel sleep in modelled time (`schedule_timeout` / `usleep_range` as a kernel thread
 * sees it): one timer endpoint, re-armed for each sleep.
 */

import { Completion } from '../sim/kthread.js';
import type { Endpoint, Simulator } from '../sim/simulator.js';

/** A one-shot sleep in modelled time, reusable (no allocation per sleep). */
export class KernelTimer implements Endpoint {
  readonly done = new Completion();
  private readonly sim: Simulator;
  private readonly id: number;
  constructor(sim: Simulator) {
    this.sim = sim;
    this.id = sim.register(this);
  }

  /** Arms the timer for `ns` and returns the completion to yield on. */
  sleep(ns: number, source: number): Completion {
    this.done.reinit();
    this.sim.timer(ns, source, this.id, 0);
    return this.done;
  }
  /** Timer fired. */
  handle(): void {
    this.done.complete();
  }
}
