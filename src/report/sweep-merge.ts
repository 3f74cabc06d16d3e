/**
 * Merging a sweep's replicates (`svasim merge DIR`): per grid point (one combination of the
 * varied parameters) the finished replicates merged exactly — counters summed, HdrHistograms
 * added (so every percentile of a grid point is the one a single run that saw every value
 * would give) — and the chosen metric read from the merge and from each replicate alone (its
 * spread); then the `--json` document of it all.
 *
 * Merged figures are a function of the point reports' simulated figures alone: wall-clock
 * fields (`wallMs`, `windowWallMs`, `eventsPerWallSecond`, `threadStats`), the runtime, its
 * thread count and why it was chosen are never read, and histograms are decoded and added in
 * the JavaScript build of hdr-histogram-js whether or not WebAssembly is loaded, so the same
 * reports merge to the same bytes whatever machine ran them and whatever order the files are
 * read in.
 *
 * Not here: reading the folder (sweep-folder.ts), metrics (sweep-metric.ts), tables and
 * pages (sweep-text.ts, sweep-html.ts), interval logs, time series (a series is per run;
 * replicates do not add up interval by interval when their windows differ).
 */

import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';
import {
  COUNTER_NAMES,
  Counter,
  Counters,
  type CounterTotals,
  counterOf,
} from '../metrics/counters.js';
import { LATENCY_KINDS, type LatencyKind } from '../metrics/kinds.js';
import {
  LATENCY_MAX_NS,
  LATENCY_SIGNIFICANT_DIGITS,
  type LatencySummary,
  summarizeHistogram,
} from '../metrics/recorder.js';
import {
  canonicalParams,
  type FolderProblem,
  type ParamValue,
  type PointFailure,
  type PointReport,
  type SweepFolder,
  type SweepManifest,
  type SweepPoint,
} from './sweep-folder.js';
import type { Figures, Metric } from './sweep-metric.js';

/** The `format` of `svasim merge --json`. */
export const SWEEP_MERGE_FORMAT = 'svasim-sweep-merge';

/** Count width of the recorders' histograms (bits); their encodings decode into it. */
const BIT_BUCKET_SIZE = 64;

/**
 * An empty histogram with the recorders' layout, in the JavaScript build: merging never
 * depends on whether WebAssembly is loaded, so its results are the same in every process.
 */
function emptyHistogram(): Histogram {
  return build({
    bitBucketSize: BIT_BUCKET_SIZE,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_MAX_NS,
    numberOfSignificantValueDigits: LATENCY_SIGNIFICANT_DIGITS,
  });
}

/** Decodes a report's histogram encoding (JavaScript build). */
function decode(encoded: string): Histogram {
  return decodeFromCompressedBase64(encoded, BIT_BUCKET_SIZE, false);
}

/**
 * The sum of HdrHistogram encodings (compressed base64, the recorders' layout): the merged
 * encoding and its summary. Exact: every bucket's count is the sum of the buckets' counts.
 */
export function mergeEncodings(encodings: readonly string[]): {
  encoded: string;
  summary: LatencySummary;
} {
  const sum = emptyHistogram();
  for (const e of encodings) sum.add(decode(e));
  return { encoded: encodeIntoCompressedBase64(sum), summary: summarizeHistogram(sum) };
}

/** The summary of one encoding (ns). */
export function summaryOfEncoding(encoded: string): LatencySummary {
  return summarizeHistogram(decode(encoded));
}

// ---------------------------------------------------------------------------------------
// Merging

/** Counters of several runs added up, nested and ordered as the report's totals. */
export function sumTotals(list: readonly CounterTotals[]): CounterTotals {
  const sum = new Counters();
  for (const t of list)
    for (const name of COUNTER_NAMES) sum.add(Counter[name], counterOf(t, name));
  return sum.toTotals();
}

/** The merged figures of a grid point's finished replicates. */
export interface MergedFigures extends Figures {
  /** Simulated time of the runs (warm-up, window and drain), summed, ns. */
  readonly simulatedNs: number;
  readonly histograms: Readonly<Record<LatencyKind, string>>;
  /** Invariant checks and violations, summed. */
  readonly invariants: { readonly checked: number; readonly violations: number };
  /** Failures inside the runs (binds, allocations), summed. */
  readonly failures: number;
}

/** The metric's value in one replicate. */
export interface ReplicateValue {
  readonly replicate: number;
  readonly seed: number;
  readonly value: number;
}

/** One grid point: its parameters, its replicates, the merge of those that finished. */
export interface GridPoint {
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Replicates merged (finished), by replicate number. */
  readonly merged: readonly SweepPoint[];
  /** Replicates not run yet (no file). */
  readonly missing: readonly SweepPoint[];
  /** Replicates that failed (`.error.json`). */
  readonly failed: readonly PointFailure[];
  /** Replicates whose file was left out (unreadable, not matching the manifest). */
  readonly leftOut: readonly SweepPoint[];
  /** The merge of the finished replicates; absent when none finished. */
  readonly figures?: MergedFigures;
  /** The metric of the merged figures; absent when none finished. */
  readonly value?: number;
  /** The metric of each finished replicate alone, by replicate number. */
  readonly spread: readonly ReplicateValue[];
}

/** A sweep merged: its manifest, the metric, every grid point, and what is missing. */
export interface SweepMerge {
  readonly manifest: SweepManifest;
  readonly metric: Metric;
  /** Grid points in the manifest's order (first axis slowest). */
  readonly grid: readonly GridPoint[];
  /** Points not run yet, by index. */
  readonly missing: readonly SweepPoint[];
  /** Failed points, by index. */
  readonly failed: readonly PointFailure[];
  /** Points whose file was left out (see `problems`), by index. */
  readonly leftOut: readonly SweepPoint[];
  readonly problems: readonly FolderProblem[];
}

function figuresOf(reports: readonly PointReport[]): MergedFigures {
  const histograms = {} as Record<LatencyKind, string>;
  const latency = {} as Record<LatencyKind, LatencySummary>;
  for (const k of LATENCY_KINDS) {
    const m = mergeEncodings(reports.map((r) => r.histograms[k]));
    histograms[k] = m.encoded;
    latency[k] = m.summary;
  }
  let windowNs = 0;
  let simulatedNs = 0;
  let checked = 0;
  let violations = 0;
  let failures = 0;
  for (const r of reports) {
    windowNs += r.windowNs ?? r.simulatedNs;
    simulatedNs += r.simulatedNs;
    checked += r.invariants?.checked ?? 0;
    violations += r.invariants?.violations?.length ?? 0;
    failures += r.failures?.count ?? 0;
  }
  return {
    runs: reports.length,
    windowNs,
    simulatedNs,
    totals: sumTotals(reports.map((r) => r.totals)),
    latency,
    histograms,
    invariants: { checked, violations },
    failures,
  };
}

/**
 * One report's figures for reading `metric`: the latency summary of the metric's kind is
 * recomputed from the report's encoding, as merged ones are, so a grid point of one
 * replicate reads the same value from both.
 */
function figuresOfOne(r: PointReport, metric: Metric): Figures {
  const latency = { ...r.latency };
  if (metric.kind !== undefined)
    latency[metric.kind] = summaryOfEncoding(r.histograms[metric.kind]);
  return { runs: 1, windowNs: r.windowNs ?? r.simulatedNs, totals: r.totals, latency };
}

/**
 * Merges the replicates of every grid point of a sweep folder and reads `metric` from each
 * merge and each replicate. The result depends on the folder's files' contents only.
 */
export function mergeSweep(folder: SweepFolder, metric: Metric): SweepMerge {
  const { manifest } = folder;
  // grid points in the order of their first point; replicates in manifest order
  const groups = new Map<string, SweepPoint[]>();
  for (const p of manifest.points) {
    const key = canonicalParams(p.params);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [p]);
    else g.push(p);
  }
  const grid: GridPoint[] = [];
  const missing: SweepPoint[] = [];
  const failed: PointFailure[] = [];
  const leftOut: SweepPoint[] = [];
  const unusable = new Set(
    folder.problems.flatMap((x) => (x.index === undefined ? [] : [x.index])),
  );
  for (const replicates of groups.values()) {
    const merged: SweepPoint[] = [];
    const reports: PointReport[] = [];
    const gMissing: SweepPoint[] = [];
    const gFailed: PointFailure[] = [];
    const gLeftOut: SweepPoint[] = [];
    for (const p of replicates) {
      const r = folder.reports.get(p.index);
      const f = folder.failures.get(p.index);
      if (r !== undefined) {
        merged.push(p);
        reports.push(r);
      } else if (f !== undefined) gFailed.push(f);
      else if (unusable.has(p.index)) gLeftOut.push(p);
      else gMissing.push(p);
    }
    missing.push(...gMissing);
    failed.push(...gFailed);
    leftOut.push(...gLeftOut);
    const spread = reports.map((r, i) => ({
      replicate: merged[i]!.replicate,
      seed: merged[i]!.seed,
      value: metric.value(figuresOfOne(r, metric)),
    }));
    if (reports.length === 0) {
      grid.push({
        params: replicates[0]!.params,
        merged,
        missing: gMissing,
        failed: gFailed,
        leftOut: gLeftOut,
        spread,
      });
      continue;
    }
    const figures = figuresOf(reports);
    grid.push({
      params: replicates[0]!.params,
      merged,
      missing: gMissing,
      failed: gFailed,
      leftOut: gLeftOut,
      figures,
      value: metric.value(figures),
      spread,
    });
  }
  const byIndex = (a: SweepPoint, b: SweepPoint): number => a.index - b.index;
  missing.sort(byIndex);
  failed.sort((a, b) => byIndex(a.point, b.point));
  leftOut.sort(byIndex);
  return { manifest, metric, grid, missing, failed, leftOut, problems: folder.problems };
}

/** The smallest and largest of the replicates' values (`undefined` without replicates). */
export function spreadRange(g: GridPoint): { min: number; max: number } | undefined {
  if (g.spread.length === 0) return undefined;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const s of g.spread) {
    min = Math.min(min, s.value);
    max = Math.max(max, s.value);
  }
  return { min, max };
}

/** A point as the merged JSON lists it. */
function pointJson(p: SweepPoint) {
  return { index: p.index, params: p.params, replicate: p.replicate, seed: p.seed };
}

/**
 * The `--json` document of a merge: per grid point the merged counters, latency summaries
 * recomputed from the merged histograms, the merged encodings and the metric's spread; the
 * missing and failed points; no wall-clock figure. Keys in a fixed order, so the same point
 * reports give the same bytes.
 */
export function mergeJson(m: SweepMerge) {
  const man = m.manifest;
  return {
    format: SWEEP_MERGE_FORMAT,
    version: 1,
    scenario: man.scenario,
    baseSeed: man.baseSeed,
    overrides: man.overrides,
    axes: man.axes.map((a) => ({ path: a.path, values: a.values })),
    seeds: man.seeds,
    metric: m.metric.name,
    points: m.grid.map((g) => {
      const range = spreadRange(g);
      const f = g.figures;
      return {
        params: g.params,
        replicates: g.merged.map(pointJson),
        missing: g.missing.map((p) => p.index),
        failed: g.failed.map((x) => x.point.index),
        leftOut: g.leftOut.map((p) => p.index),
        metric:
          g.value === undefined
            ? null
            : {
                value: g.value,
                min: range!.min,
                max: range!.max,
                perReplicate: g.spread.map((s) => ({
                  replicate: s.replicate,
                  seed: s.seed,
                  value: s.value,
                })),
              },
        merged:
          f === undefined
            ? null
            : {
                runs: f.runs,
                simulatedNs: f.simulatedNs,
                windowNs: f.windowNs,
                totals: f.totals,
                latency: Object.fromEntries(
                  LATENCY_KINDS.map((k) => {
                    const s = f.latency[k];
                    return [
                      k,
                      {
                        count: s.count,
                        min: s.min,
                        mean: s.mean,
                        p50: s.p50,
                        p90: s.p90,
                        p99: s.p99,
                        p999: s.p999,
                        max: s.max,
                      },
                    ];
                  }),
                ),
                invariants: f.invariants,
                failures: f.failures,
                histograms: Object.fromEntries(LATENCY_KINDS.map((k) => [k, f.histograms[k]])),
              },
      };
    }),
    missing: m.missing.map(pointJson),
    failed: m.failed.map((x) => ({ ...pointJson(x.point), error: x.error })),
    problems: m.problems.map((p) => ({
      file: p.file,
      ...(p.index !== undefined ? { index: p.index } : {}),
      problem: p.problem,
    })),
  };
}

/** `mergeJson` as text: indented, with a final newline. */
export function formatMergeJson(m: SweepMerge): string {
  return `${JSON.stringify(mergeJson(m), null, 2)}\n`;
}

/** A parameter value as the table and the plots print it. */
export function paramText(v: ParamValue): string {
  return typeof v === 'string' ? v : String(v);
}

/** `path=value, …` of the parameters in `paths` (the axes other than the one plotted). */
export function paramsLabel(
  params: Readonly<Record<string, ParamValue>>,
  paths: readonly string[],
): string {
  return paths.map((p) => `${p}=${paramText(params[p]!)}`).join(', ');
}
