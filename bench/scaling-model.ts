/**
 * A model of how the threaded runtime scales with threads, built from what one 2-thread run
 * measures (DESIGN §3 "Two runtimes, one model"; the bench's `scaling model` rows).
 *
 * A threaded run is a sequence of Q barrier rounds (quanta). In each round every thread runs
 * its share of the quantum's events and then waits for the slowest, so the wall time is
 *
 *     T(P) = Q × (E[max over threads of the work of one quantum] + s)
 *
 * with s the cost of one bare barrier round (measured apart, no work). From a 2-thread run
 * with every accelerator off the engine's thread (placement `separate`) the model takes the
 * mean and standard deviation of the work of one quantum on the engine's thread (VT-d units,
 * kernel, processes) and on the device thread, and splits the device thread's share per
 * accelerator: mean / n and variance / n (accelerators independent). With P threads and
 * k accelerators on the engine's thread (placement `balanced` may put some there), thread 0
 * works N(μe + kμa, σe² + kσa²) per quantum and each device thread with m accelerators
 * N(mμa, mσa²); E[max] is estimated by sampling (seeded, so the model prints the same figures
 * for the same inputs).
 *
 * Assumptions, each a reason the model can be wrong: the quanta are the same whatever the
 * thread count (they are: quanta depend on the model only); the work of a quantum does not
 * grow when it is split (it does a little: more rings to poll, colder caches); the threads'
 * work in a quantum is independent (it is not: requests and their answers alternate); every
 * thread has a core of its own and nobody else takes it (on a shared host they do: the model
 * ignores stalls of the operating system); the engine's thread cannot be split, so its work
 * per quantum bounds the speed-up whatever P is (Amdahl).
 */

import { placeAccelerators } from '../src/machine/placement.js';

/** Per-quantum work of the two threads of a 2-thread `separate` run, and the bare sync cost. */
export interface ScalingCalibration {
  /** Accelerators of the scenario (all on the device thread in the calibration run). */
  readonly accelerators: number;
  /** Barrier rounds of the run. */
  readonly quanta: number;
  /** Engine thread: mean and standard deviation of the work of one quantum, µs. */
  readonly engineMeanUs: number;
  readonly engineSdUs: number;
  /** Device thread (every accelerator): mean and standard deviation per quantum, µs. */
  readonly devicesMeanUs: number;
  readonly devicesSdUs: number;
  /** One bare barrier round with this many parties, µs (by party count; missing: the 2-party cost). */
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

/** Seeded xorshift + Box–Muller normal samples. */
function normals(seed: number): () => number {
  let x = seed >>> 0 || 1;
  const u = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return (x + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** E[max_i max(0, N(mean_i, sd_i²))] by `samples` seeded samples. */
function expectedMax(threads: readonly { mean: number; sd: number }[], samples = 20_000): number {
  const z = normals(0x5eed);
  let sum = 0;
  for (let s = 0; s < samples; s++) {
    let m = 0;
    for (const t of threads) m = Math.max(m, t.mean + t.sd * z());
    sum += m;
  }
  return sum / samples;
}

/** Predicts the wall time of the run's quanta with `threads` threads and `placement`. */
export function predict(
  c: ScalingCalibration,
  threads: number,
  placement: 'separate' | 'balanced',
): ScalingPrediction {
  const muA = c.devicesMeanUs / c.accelerators;
  const varA = c.devicesSdUs ** 2 / c.accelerators;
  const where = placeAccelerators(c.accelerators, threads, placement);
  const counts = new Array<number>(threads).fill(0);
  for (const p of where) counts[p]!++;
  const work = counts.map((k, p) =>
    p === 0
      ? { mean: c.engineMeanUs + k * muA, sd: Math.sqrt(c.engineSdUs ** 2 + k * varA) }
      : { mean: k * muA, sd: Math.sqrt(k * varA) },
  );
  const perQuantumUs = expectedMax(work) + c.syncUs(threads);
  return { threads, placement, onEngine: counts[0]!, wallMs: (c.quanta * perQuantumUs) / 1000 };
}
