/**
 * A model of how the threaded runtime scales with threads, built from what one 2-thread run
 * measures (DESIGN §3 "Two runtimes, one model"; the bench's `model` rows).
 *
 * A threaded run is a sequence of Q barrier rounds (quanta); the quanta depend on the model
 * only, not on the thread count. Each thread runs its share of every quantum's events; the
 * model charges the run the work of its busiest thread plus one bare barrier round per
 * quantum:
 *
 *     T(P) = max over threads of W_p + Q × s(P)
 *
 * From a 2-thread run with every accelerator off the engine's thread (placement `separate`)
 * it takes the engine thread's work W_e (VT-d units, kernel, processes, and its ring traffic)
 * and the device thread's work W_d, split evenly per accelerator; with P threads and k
 * accelerators on the engine's thread (placement `balanced` may put some there) thread 0
 * works W_e + k W_d / n and a device thread with m accelerators m W_d / n. s(P) is a bare
 * barrier round of P parties with no work, measured apart.
 *
 * What it leaves out, each a reason it errs (the bench prints the error against measured 2-
 * and 3-thread runs): quanta are uneven — in each one every thread waits for the slowest, so
 * the run costs the sum over quanta of the largest share, not the largest sum; the operating
 * system takes cores away (other processes, V8's own threads), and every thread then waits
 * for the one that lost its core; splitting the accelerators over more threads adds rings to
 * poll. The engine's thread cannot be split, so W_e bounds the speed-up whatever P is
 * (Amdahl).
 */

import { placeAccelerators } from '../src/machine/placement.js';

/** The two threads of a 2-thread `separate` run, and the bare sync cost. */
export interface ScalingCalibration {
  /** Accelerators of the scenario (all on the device thread in the calibration run). */
  readonly accelerators: number;
  /** Barrier rounds of the run. */
  readonly quanta: number;
  /** Wall ms of work of the engine's thread and of the device thread (every accelerator). */
  readonly engineWorkMs: number;
  readonly devicesWorkMs: number;
  /** One bare barrier round with this many parties, µs. */
  readonly syncUs: (parties: number) => number;
}

/** A prediction for P threads. */
export interface ScalingPrediction {
  readonly threads: number;
  readonly placement: 'separate' | 'balanced';
  /** Accelerators on the engine's thread. */
  readonly onEngine: number;
  /** Predicted wall time of the run's quanta, ms. */
  readonly wallMs: number;
}

/** Predicts the wall time of the run's quanta with `threads` threads and `placement`. */
export function predict(
  c: ScalingCalibration,
  threads: number,
  placement: 'separate' | 'balanced',
): ScalingPrediction {
  const perAccelerator = c.devicesWorkMs / c.accelerators;
  const where = placeAccelerators(c.accelerators, threads, placement);
  const counts = new Array<number>(threads).fill(0);
  for (const p of where) counts[p]!++;
  const work = counts.map((k, p) => (p === 0 ? c.engineWorkMs : 0) + k * perAccelerator);
  const wallMs = Math.max(...work) + (c.quanta * c.syncUs(threads)) / 1000;
  return { threads, placement, onEngine: counts[0]!, wallMs };
}
