/**
 * The metric `svasim merge --metric` shows against the varied parameters: a latency kind and
 * a statistic (`prq.service.p99`), a counter of the totals (`prqOverflows`), or a total
 * derived from the counters as the scenario thresholds derive theirs (`jobs.perSecond`,
 * `iotlb.hitRate`), read from one run's figures or from the merge of several — counts per
 * run, rates over the summed windows, latencies from the (merged) histogram.
 *
 * Not here: merging (sweep-merge.ts), formatting values (sweep-text.ts).
 */

import { codedError } from '../errors.js';
import {
  COUNTER_NAMES,
  type CounterName,
  type CounterTotals,
  counterOf,
} from '../metrics/counters.js';
import { LATENCY_KINDS, type LatencyKind } from '../metrics/kinds.js';
import type { LatencySummary } from '../metrics/recorder.js';

/** Statistics of a latency kind a metric may name. */
export const LATENCY_STATS = ['p50', 'p90', 'p99', 'p999', 'max', 'min', 'mean', 'count'] as const;

/** One statistic of a latency kind. */
export type LatencyStat = (typeof LATENCY_STATS)[number];

/** Totals derived from the counters a metric may name (the scenario thresholds' keys). */
export const DERIVED_METRICS = [
  'requests',
  'requests.perSecond',
  'jobs.perSecond',
  'jobsOffered.perSecond',
  'iotlb.hitRate',
  'devtlb.hitRate',
] as const;

/** The metric `svasim merge` shows without `--metric`. */
export const DEFAULT_METRIC = 'prq.service.p99';

/** What a metric's value is: modelled ns, a count per run, a rate per simulated second, a fraction. */
export type MetricUnit = 'ns' | 'count' | 'perSecond' | 'fraction';

/** The figures a metric is read from: one run's, or the merge of several. */
export interface Figures {
  /** Runs merged into these figures (1 for one run). */
  readonly runs: number;
  /** The measurement windows, summed, ns. */
  readonly windowNs: number;
  readonly totals: CounterTotals;
  readonly latency: Readonly<Record<LatencyKind, LatencySummary>>;
}

/** A metric: its name, unit, the latency kind it reads (if any), and how it is read. */
export interface Metric {
  readonly name: string;
  readonly unit: MetricUnit;
  readonly kind?: LatencyKind;
  /**
   * The value of the metric in `f`. A count (a counter, `requests`, `<kind>.count`) is per
   * run: the merged count over `f.runs`; rates divide the merged count by the summed windows.
   */
  value(f: Figures): number;
}

function rate(n: number, f: Figures): number {
  return f.windowNs > 0 ? n / (f.windowNs / 1e9) : 0;
}

function fraction(hits: number, misses: number): number {
  return hits + misses > 0 ? hits / (hits + misses) : 0;
}

const DERIVED: Record<(typeof DERIVED_METRICS)[number], [MetricUnit, (f: Figures) => number]> = {
  requests: ['count', (f) => (f.totals.translations + f.totals.pageRequests) / f.runs],
  'requests.perSecond': [
    'perSecond',
    (f) => rate(f.totals.translations + f.totals.pageRequests, f),
  ],
  'jobs.perSecond': ['perSecond', (f) => rate(f.totals.jobs, f)],
  'jobsOffered.perSecond': ['perSecond', (f) => rate(f.totals.jobsOffered, f)],
  'iotlb.hitRate': ['fraction', (f) => fraction(f.totals.iotlbHits, f.totals.iotlbMisses)],
  'devtlb.hitRate': ['fraction', (f) => fraction(f.totals.devtlbHits, f.totals.devtlbMisses)],
};

/**
 * The metric `name` names: `<latency kind>.<stat>` (stat one of `LATENCY_STATS`), a counter
 * of the totals (`prqOverflows`, `pageResponses.failure`) or a derived total
 * (`DERIVED_METRICS`). Throws `EINVAL` saying what the name may be.
 */
export function parseMetric(name: string): Metric {
  if (Object.hasOwn(DERIVED, name)) {
    const [unit, value] = DERIVED[name as keyof typeof DERIVED];
    return { name, unit, value };
  }
  if ((COUNTER_NAMES as readonly string[]).includes(name)) {
    const c = name as CounterName;
    return { name, unit: 'count', value: (f) => counterOf(f.totals, c) / f.runs };
  }
  const kind = LATENCY_KINDS.find((k) => name.startsWith(`${k}.`) || name === k);
  if (kind !== undefined) {
    const stat = name.slice(kind.length + 1);
    if (!(LATENCY_STATS as readonly string[]).includes(stat)) {
      throw codedError(
        'EINVAL',
        `metric '${name}': ${stat === '' ? `${kind} needs a statistic` : `no statistic '${stat}' of ${kind}`}; ` +
          `give ${kind}.<stat> with <stat> one of ${LATENCY_STATS.join(', ')} (e.g. ${kind}.p99)`,
      );
    }
    const s = stat as LatencyStat;
    return s === 'count'
      ? { name, unit: 'count', kind, value: (f) => f.latency[kind].count / f.runs }
      : { name, unit: 'ns', kind, value: (f) => f.latency[kind][s] };
  }
  throw codedError(
    'EINVAL',
    `unknown metric '${name}': give a latency kind and a statistic (<kind>.<stat>, kinds ` +
      `${LATENCY_KINDS.join(', ')}; stats ${LATENCY_STATS.join(', ')}), a counter ` +
      `(${COUNTER_NAMES.join(', ')}) or a total (${DERIVED_METRICS.join(', ')})`,
  );
}
