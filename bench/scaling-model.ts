/**
 * A model of how the threaded runtime scales with threads, built from what one 2-thread run
 * measures (DESIGN §3 "Two runtimes, one model"; the bench's `model` rows).
 *
 * A threaded run is a sequence of Q barrier rounds (quanta); the quanta depend on the model
 * only, not on the thread count. In each round every thread runs its share of the quantum's
 * events and then waits for the slowest, so
 *
 *     T(P) = Σ over quanta q of max over threads p of w(p, q) + Q × s(P)
 *
 * The calibration is a 2-thread run with every accelerator off the engine's thread
 * (placement `separate`) that kept the work of each quantum on both threads: e(q) on the
 * engine's thread (VT-d units, kernel, processes, and its ring traffic) and d(q) on the
 * device thread (all n accelerators). With P threads and k accelerators on the engine's
 * thread (placement `balanced` may put some there), thread 0 works e(q) + k d(q) / n and a
 * device thread with m accelerators m d(q) / n in quantum q: the device thread's work is
 * split in proportion to the accelerators, quantum by quantum. s(P) is a bare barrier
 * round of P parties with no work, measured apart.
 *
 * What it leaves out, each a reason it errs (the bench prints its error against measured 2-
 * and 3-thread runs): the wake-up of a thread that parked, and the cores the operating
 * system gives to other threads (other processes, V8's compiler and collector): every thread
 * then waits for the one that lost its core, and the calibration run's waits are not used;
 * accelerators are not equally busy in every quantum; more device threads mean more rings
 * to poll. The engine's thread cannot be split, so Σ e(q) bounds the speed-up whatever P is
 * (Amdahl).
 */

import { placeAccelerators } from '../src/machine/placement.js';

/** The two threads of a 2-thread `separate` run, quantum by quantum, and the sync cost. */
export interface ScalingCalibration {
  /** Accelerators of the scenario (all on the device thread in the calibration run). */
  readonly accelerators: number;
  /** Work of each quantum on the engine's thread and on the device thread, µs. */
  readonly engineUs: Float32Array;
  readonly devicesUs: Float32Array;
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
  const where = placeAccelerators(c.accelerators, threads, placement);
  const counts = new Array<number>(threads).fill(0);
  for (const p of where) counts[p]!++;
  const engineShare = counts[0]! / c.accelerators;
  const busiestDevice = Math.max(0, ...counts.slice(1)) / c.accelerators;
  const quanta = Math.min(c.engineUs.length, c.devicesUs.length);
  let sumUs = 0;
  for (let q = 0; q < quanta; q++) {
    const d = c.devicesUs[q]!;
    sumUs += Math.max(c.engineUs[q]! + engineShare * d, busiestDevice * d);
  }
  const wallMs = (sumUs + quanta * c.syncUs(threads)) / 1000;
  return { threads, placement, onEngine: counts[0]!, wallMs };
}
