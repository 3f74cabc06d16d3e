/**
 * Reports for the report tests: a small real run (fixed seed, 300 µs of simulated time), and
 * copies with and without a time series. Until the runner fills `series`, the series is a
 * hand-made test pattern, not a measurement.
 */

import { runScenario } from '../../src/machine/run.js';
import type { Report, ReportSeries } from '../../src/report/types.js';
import { pasidsRunOut } from '../machine/scenarios.js';

let cached: Report | undefined;
let exhausted: Report | undefined;

/** A real report of a small run (computed once per test file; do not mutate it). */
export function smallReport(): Report {
  cached ??= runScenario({ duration: '300us', seed: 1 });
  return cached;
}

/**
 * A real report of a small run that runs out of PASIDs: 3 for 6 clients, so binds fail with
 * ENOSPC and are retried (computed once per test file; do not mutate it).
 */
export function exhaustedReport(): Report {
  exhausted ??= runScenario(pasidsRunOut());
  return exhausted;
}

/** A deterministic test-pattern series of `n` intervals over the report's simulated time. */
export function patternSeries(r: Report, n = 12): ReportSeries {
  const intervalNs = Math.max(1, Math.floor(r.simulatedNs / n));
  const idx = Array.from({ length: n }, (_, i) => i);
  return {
    intervalNs,
    tNs: idx.map((i) => i * intervalNs),
    requests: idx.map((i) => 40 + ((i * 7) % 11)),
    jobs: idx.map((i) => 10 + ((i * 3) % 5)),
    prqOccupancy: idx.map((i) => (i * 5) % 9),
    prqOccupancyMax: idx.map((i) => ((i * 5) % 9) + 3),
  };
}

/**
 * The small report with a time series: its own when the runner filled one, otherwise a
 * shallow copy with a test-pattern series of `n` intervals.
 */
export function reportWithSeries(n = 12): Report {
  const r = smallReport();
  return r.series !== undefined && r.series.tNs.length > 0
    ? r
    : { ...r, series: patternSeries(r, n) };
}

/** The small report without a time series (a shallow copy when the runner filled one). */
export function reportWithoutSeries(): Report {
  const { series: _series, ...r } = smallReport();
  return r;
}
