/**
 * Thresholds of a scenario (DESIGN §5 `thresholds`) checked against a run's report
 * (DESIGN §7): a `<latency kind>.<stat>` key bounds `report.latency[kind][stat]` (ns), a
 * counter key (`prqOverflows`, `pageResponses.failure` — the report's totals flattened, as
 * `COUNTER_NAMES` lists them) bounds that total, and the derived keys bound a hit rate
 * (`iotlb.hitRate`, a fraction) or a rate per simulated second of the window
 * (`jobs.perSecond`, the achieved rate; `requests.perSecond`; `jobsOffered.perSecond`). A
 * number is an upper bound, `{ atLeast }` a lower one; the command line turns a miss into
 * exit status 1.
 *
 * Keys are checked when the scenario resolves; a key the report does not hold here is a
 * mismatch between the two and throws `EINVAL`.
 */

import { COUNTER_NAMES, type CounterTotals } from '../metrics/counters.js';
import type { ThresholdBound } from './types.js';
import { invalidInput } from './units.js';

/** The outcome of one threshold: its bound, the run's value, and whether the run met it. */
export interface ThresholdResult {
  key: string;
  /** `<=` an upper bound, `>=` a lower one. */
  op: '<=' | '>=';
  limit: number;
  actual: number;
  ok: boolean;
}

/**
 * The parts of a report thresholds read: `latency[kind][stat]` in ns and the totals. Typed
 * as objects, not `Record<string, number>`, so the runner's `Report` (whose latency summaries
 * are interfaces without an index signature) fits as it is.
 */
export interface ThresholdReport {
  latency: Readonly<Record<string, object>>;
  totals: object;
  /** The window the rates divide by, ns (older reports: the whole simulated time). */
  windowNs?: number;
  simulatedNs?: number;
}

const COUNTERS: ReadonlySet<string> = new Set(COUNTER_NAMES);

/** The report's value for `key`: a counter (dotted path into totals) or a latency statistic. */
function actualOf(key: string, report: ThresholdReport): number {
  let value: unknown;
  const t = report.totals as CounterTotals;
  const seconds = (report.windowNs ?? report.simulatedNs ?? Number.NaN) / 1e9;
  const rate = (n: number): number => (seconds > 0 ? n / seconds : 0);
  const hitRate = (hits: number, misses: number): number =>
    hits + misses > 0 ? hits / (hits + misses) : 0;
  if (key === 'iotlb.hitRate') value = hitRate(t.iotlbHits, t.iotlbMisses);
  else if (key === 'devtlb.hitRate') value = hitRate(t.devtlbHits, t.devtlbMisses);
  else if (key === 'jobs.perSecond') value = rate(t.jobs);
  else if (key === 'requests.perSecond') value = rate(t.translations + t.pageRequests);
  else if (key === 'jobsOffered.perSecond') value = rate(t.jobsOffered);
  else if (COUNTERS.has(key)) {
    value = report.totals;
    for (const part of key.split('.')) {
      value =
        typeof value === 'object' && value !== null
          ? (value as Record<string, unknown>)[part]
          : undefined;
    }
  } else {
    const dot = key.lastIndexOf('.');
    const kind = dot < 0 ? undefined : report.latency[key.slice(0, dot)];
    value = (kind as Record<string, unknown> | undefined)?.[key.slice(dot + 1)];
  }
  if (typeof value !== 'number') {
    throw invalidInput(
      `threshold '${key}': the report has no number there (got ${typeof value}); expected a ` +
        '<latency kind>.<stat> key or a counter name of the totals',
    );
  }
  return value;
}

/**
 * Checks every threshold against `report`, in the order of `thresholds`: `ok` is false when
 * the run's value is past its bound (or is NaN). Throws `EINVAL` for a key the report does
 * not hold.
 */
export function evaluateThresholds(
  thresholds: Record<string, ThresholdBound>,
  report: ThresholdReport,
): ThresholdResult[] {
  return Object.entries(thresholds).map(([key, bound]) => {
    const actual = actualOf(key, report);
    if (typeof bound === 'number')
      return { key, op: '<=', limit: bound, actual, ok: actual <= bound };
    return { key, op: '>=', limit: bound.atLeast, actual, ok: actual >= bound.atLeast };
  });
}
