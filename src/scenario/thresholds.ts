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
 *
 * Failures inside a run (a bind refused for want of a PASID, a frame allocation that ran out:
 * `bindErrors`, `allocFailures`) are outcomes the run answers and goes on from, but a run in
 * which they happened did not do what its scenario describes: {@link unallowedFailures}
 * lists the ones of the whole run that no threshold of the scenario bounds, and the command
 * line exits with a status of its own for them. A threshold on the counter (`bindErrors:
 * 1000`) allows them and decides as every threshold does, on the window's count.
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

/** The failure counters a run must keep at 0 unless a threshold of the scenario bounds them. */
export const FAILURE_COUNTERS = ['bindErrors', 'allocFailures'] as const;

/** One of the failure counters. */
export type FailureCounter = (typeof FAILURE_COUNTERS)[number];

/** A failure counter no threshold bounds that is above 0 in the run. */
export interface UnallowedFailure {
  readonly key: FailureCounter;
  /** Its count over the whole run. */
  readonly count: number;
  /** The errno names its logged failures carry (`ENOSPC`, `ENOMEM`), first seen first. */
  readonly codes: readonly string[];
}

/** The parts of a report {@link unallowedFailures} reads. */
export interface FailureReport {
  readonly totals: { readonly bindErrors: number; readonly allocFailures: number };
  /** The whole run's totals (warm-up and drain too), when the report has them. */
  readonly runTotals?: { readonly bindErrors: number; readonly allocFailures: number };
  /** The run's failure log: counts by kind and code. */
  readonly failures?: { readonly causes: readonly { kind: string; code: string }[] };
}

/**
 * The failure counters above 0 over the whole run (its `runTotals`, else the window's totals)
 * that `thresholds` has no key for, in {@link FAILURE_COUNTERS} order.
 */
export function unallowedFailures(
  thresholds: Record<string, ThresholdBound>,
  report: FailureReport,
): UnallowedFailure[] {
  const t = report.runTotals ?? report.totals;
  const causes = report.failures?.causes ?? [];
  const codes = (pick: (c: { kind: string; code: string }) => boolean): string[] => [
    ...new Set(causes.filter(pick).map((c) => c.code)),
  ];
  const out: UnallowedFailure[] = [];
  for (const key of FAILURE_COUNTERS) {
    if (t[key] <= 0 || Object.hasOwn(thresholds, key)) continue;
    out.push({
      key,
      count: t[key],
      codes:
        key === 'bindErrors'
          ? codes((c) => c.kind === 'bind')
          : codes((c) => c.code === 'ENOSPC' || c.code === 'ENOMEM'),
    });
  }
  return out;
}

/**
 * One line that says what failed and how to allow it, e.g. "63 binds failed (ENOSPC) and 63
 * allocations failed (ENOSPC) in the run; set thresholds `bindErrors: 63, allocFailures: 63`
 * to allow them".
 */
export function unallowedFailuresMessage(list: readonly UnallowedFailure[]): string {
  const what = list.map((f) => {
    const noun = f.key === 'bindErrors' ? 'bind' : 'allocation';
    const codes = f.codes.length > 0 ? ` (${f.codes.join(', ')})` : '';
    return `${f.count} ${noun}${f.count === 1 ? '' : 's'} failed${codes}`;
  });
  const bounds = list.map((f) => `${f.key}: ${f.count}`).join(', ');
  const allow =
    list.length === 1
      ? `set a threshold \`${bounds}\` to allow ${list[0]!.count === 1 ? 'it' : 'them'}`
      : `set thresholds \`${bounds}\` to allow them`;
  return `${what.join(' and ')} in the run; ${allow}`;
}
