/**
 * The rule `--runtime auto` follows (DESIGN §3): threaded where it is expected to pay, inline
 * otherwise, and why — the reason goes into the run line and the JSON report.
 *
 * The expected speed-up of the threaded runtime over the inline one, from figures measured
 * with 2 threads on 2 cores (BENCHMARKS.md "Threads": a 64-accelerator variant of dense-64 and the
 * default scenario):
 *
 *     speed-up(A) = 1 / (ENGINE_SHARE × THREAD_OVERHEAD + SYNC_US / (WORK_US × A))
 *
 * A quantum is one PCIe link latency of simulated time, and the work in it grows with the
 * accelerators busy at once (A: the accelerators that have clients), WORK_US each. The
 * engine's thread (VT-d units, kernel, processes) carries ENGINE_SHARE of it and cannot be
 * split, so more threads do not help it; splitting costs THREAD_OVERHEAD (messages through
 * the rings, colder caches, uneven quanta); every quantum costs SYNC_US at the barrier
 * (rounds and the late wake-ups of a shared host). The first term bounds the speed-up at
 * 1 / 0.874 ≈ 1.14 whatever A; the second makes small scenarios slow (the default scenario's
 * 8 accelerators: 0.19 expected, 0.22 measured; dense-64: 0.71 expected, 0.5–0.75 measured).
 * The rule picks threaded from {@link AUTO_MIN_ACCELERATORS} busy accelerators up — an
 * extrapolation of the measured figures, as no scenario measured here was faster threaded.
 */

import type { Scenario } from '../scenario/types.js';

/** Share of a run's work that is the engine thread's (its weight 1.7 per accelerator). */
export const ENGINE_SHARE = 1.7 / 2.7;
/** Work of the engine's thread over its share of the inline run's (1.25 × 1.11 uneven quanta). */
export const THREAD_OVERHEAD = 1.25 * 1.11;
/**
 * Wall µs lost per quantum at the barrier: 0.95 s over 48 209 quanta in a closed-loop 64-accelerator variant of dense-64 (1 024 clients, buffers prefaulted, no churn).
 */
export const SYNC_US = 19.7;
/** Inline work per quantum per busy accelerator, µs: 1.76 s / 48 209 quanta / 64 in the same variant. */
export const WORK_US = 0.57;

/** The speed-up the threaded runtime is expected to reach with `busy` busy accelerators. */
export function expectedSpeedup(busy: number): number {
  if (busy <= 0) return 0;
  return 1 / (ENGINE_SHARE * THREAD_OVERHEAD + SYNC_US / (WORK_US * busy));
}

/** Busy accelerators from which the threaded runtime is expected to be faster. */
export const AUTO_MIN_ACCELERATORS = Math.floor(
  SYNC_US / (WORK_US * (1 - ENGINE_SHARE * THREAD_OVERHEAD)) + 1,
);

/** The runtime `auto` picks for `sc` on a machine with `cores` cores, and why. */
export function autoRuntime(
  sc: Scenario,
  cores: number,
): { runtime: 'inline' | 'threaded'; reason: string } {
  const accelerators = sc.devices.reduce((n, g) => n + g.count, 0);
  const busy = Math.min(accelerators, sc.clients.count);
  if (cores < 2) return { runtime: 'inline', reason: `auto: ${cores} core` };
  const speedup = expectedSpeedup(busy);
  const reason = `auto: ${busy} busy accelerator${busy === 1 ? '' : 's'}, expected threaded speed-up ${speedup.toFixed(2)}x`;
  return { runtime: speedup > 1 ? 'threaded' : 'inline', reason };
}
