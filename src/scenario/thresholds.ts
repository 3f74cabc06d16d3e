/**
 * Thresholds of a scenario (DESIGN §5 `thresholds`) checked against a run's report
 * (DESIGN §7): a `<latency kind>.<stat>` key bounds `report.latency[kind][stat]` (ns), a
 * counter key (`prqOverflows`, `pageResponses.failure` — the report's totals flattened, as
 * `COUNTER_NAMES` lists them) bounds that total. A value above its limit misses it; the
 * command line turns a miss into exit status 1.
 *
 * Keys are checked when the scenario resolves; a key the report does not hold here is a
 * mismatch between the two and throws `EINVAL`.
 */

import { COUNTER_NAMES } from '../metrics/counters.js';
import { invalidInput } from './units.js';

/** The outcome of one threshold: its limit, the run's value, and whether the run met it. */
export interface ThresholdResult {
  key: string;
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
}

const COUNTERS: ReadonlySet<string> = new Set(COUNTER_NAMES);

/** The report's value for `key`: a counter (dotted path into totals) or a latency statistic. */
function actualOf(key: string, report: ThresholdReport): number {
  let value: unknown;
  if (COUNTERS.has(key)) {
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
 * the run's value exceeds the limit (or is NaN). Throws `EINVAL` for a key the report does
 * not hold.
 */
export function evaluateThresholds(
  thresholds: Record<string, number>,
  report: ThresholdReport,
): ThresholdResult[] {
  return Object.entries(thresholds).map(([key, limit]) => {
    const actual = actualOf(key, report);
    return { key, limit, actual, ok: actual <= limit };
  });
}
