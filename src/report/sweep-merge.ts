/**
 * Reading a sweep folder and merging its replicates (`svasim merge DIR`): the manifest
 * (`sweep.json`), the point reports (`points/<index>.json`, a run's `--json` document with
 * its `point` first) and the failed points (`points/<index>.error.json`), as the sweep folder
 * format lays them out; then, per grid point (one combination of the varied parameters), the
 * replicates merged exactly — counters summed, HdrHistograms added (so every percentile of a
 * grid point is the one a single run that saw every value would give) — and the chosen
 * metric's value per replicate (its spread).
 *
 * Merged figures are a function of the point reports' simulated figures alone: wall-clock
 * fields (`wallMs`, `windowWallMs`, `eventsPerWallSecond`, `threadStats`), the runtime, its
 * thread count and why it was chosen are never read, so the same reports merge to the same
 * bytes whatever machine ran them and whatever order the files are read in.
 *
 * Not here: running points (the `sweep` command), plots and tables (sweep-html.ts,
 * sweep-text.ts), interval logs, time series (a series is per run; replicates do not add up
 * interval by interval when their windows differ).
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';
import { type CodedError, codedError } from '../errors.js';
import {
  COUNTER_NAMES,
  Counter,
  type CounterName,
  Counters,
  type CounterTotals,
} from '../metrics/counters.js';
import { LATENCY_KINDS, type LatencyKind } from '../metrics/kinds.js';
import {
  LATENCY_MAX_NS,
  LATENCY_SIGNIFICANT_DIGITS,
  type LatencySummary,
} from '../metrics/recorder.js';
import type { JsonReport } from './json.js';

/** The `format` of a sweep manifest. */
export const SWEEP_FORMAT = 'svasim-sweep';

/** The manifest version this reader understands. */
export const SWEEP_VERSION = 1;

/** The `format` of `svasim merge --json`. */
export const SWEEP_MERGE_FORMAT = 'svasim-sweep-merge';

/** A value of a varied parameter: numbers as numbers, true/false as booleans, else strings. */
export type ParamValue = number | string | boolean;

/** One varied parameter: a scenario-input path and its values, in `--vary` order. */
export interface SweepAxis {
  readonly path: string;
  readonly values: readonly ParamValue[];
}

/** One point of the sweep: a grid point's parameters, one replicate of it, and its seed. */
export interface SweepPoint {
  readonly index: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly replicate: number;
  readonly seed: number;
}

/** `sweep.json`. */
export interface SweepManifest {
  readonly format: typeof SWEEP_FORMAT;
  readonly version: number;
  /** The SCENARIO argument as given: a preset name or a file path. */
  readonly scenario: string;
  readonly baseSeed: number;
  /** Overrides of the command line that are not varied (duration, profile, …). */
  readonly overrides: Readonly<Record<string, unknown>>;
  readonly axes: readonly SweepAxis[];
  /** Replicates per grid point. */
  readonly seeds: number;
  readonly points: readonly SweepPoint[];
}

/** A point report: the run's `--json` document with the point it ran. */
export type PointReport = JsonReport & { readonly point: SweepPoint };

/** `points/<index>.error.json`: a point that did not produce a report. */
export interface PointFailure {
  readonly point: SweepPoint;
  readonly error: { readonly code: string; readonly message: string; readonly exitStatus?: number };
}

/** Something in the folder that could not be used, and why. */
export interface FolderProblem {
  /** The file, relative to the sweep folder (`points/0003.json`). */
  readonly file: string;
  /** The point the file is of, when its name says (`points/0003.json`: 3). */
  readonly index?: number;
  readonly problem: string;
}

/** A sweep folder as read: the manifest, the reports and failures by point index. */
export interface SweepFolder {
  readonly dir: string;
  readonly manifest: SweepManifest;
  readonly reports: ReadonlyMap<number, PointReport>;
  readonly failures: ReadonlyMap<number, PointFailure>;
  /** Files left out (unreadable, not matching the manifest), in file-name order. */
  readonly problems: readonly FolderProblem[];
}

function bad(message: string): CodedError {
  return codedError('EINVAL', message);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

function isParamValue(x: unknown): x is ParamValue {
  return typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean';
}

/** Canonical JSON of a point's parameters (keys sorted), for comparing two of them. */
export function canonicalParams(params: Readonly<Record<string, ParamValue>>): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  );
}

/** What is wrong with `x` as a point (`undefined` when it is one). */
function pointProblem(x: unknown): string | undefined {
  if (!isObject(x)) return 'not an object';
  if (!isUint(x.index)) return 'index is not a whole number';
  if (!isObject(x.params) || !Object.values(x.params).every(isParamValue)) {
    return 'params is not an object of numbers, strings and booleans';
  }
  if (!isUint(x.replicate)) return 'replicate is not a whole number';
  if (!isUint(x.seed)) return 'seed is not a whole number';
  return undefined;
}

/** Checks a parsed `sweep.json`; throws `EINVAL` naming the first thing wrong. */
function checkManifest(x: unknown, file: string): SweepManifest {
  const fail = (what: string): never => {
    throw bad(`${file}: ${what}; it is not a manifest \`svasim sweep\` wrote`);
  };
  if (!isObject(x)) return fail('the top level is not an object');
  if (x.format !== SWEEP_FORMAT) {
    return fail(`format is ${JSON.stringify(x.format)}, expected "${SWEEP_FORMAT}"`);
  }
  if (x.version !== SWEEP_VERSION) {
    throw bad(
      `${file}: version ${JSON.stringify(x.version)}; this svasim reads sweep folders of version ${SWEEP_VERSION}`,
    );
  }
  if (typeof x.scenario !== 'string') fail('scenario is not a string');
  if (!isUint(x.baseSeed)) fail('baseSeed is not a whole number');
  if (!isObject(x.overrides)) fail('overrides is not an object');
  if (!Array.isArray(x.axes)) return fail('axes is not an array');
  for (const [i, a] of x.axes.entries()) {
    if (!isObject(a) || typeof a.path !== 'string' || !Array.isArray(a.values)) {
      fail(`axes[${i}] is not { path, values }`);
    } else if (a.values.length === 0 || !a.values.every(isParamValue)) {
      fail(
        `axes[${i}] (${a.path}) has no values, or values that are not numbers, strings or booleans`,
      );
    }
  }
  if (!isUint(x.seeds) || x.seeds < 1) fail('seeds is not a whole number of 1 or more');
  if (!Array.isArray(x.points)) return fail('points is not an array');
  for (const [i, p] of x.points.entries()) {
    const problem = pointProblem(p);
    if (problem !== undefined) fail(`points[${i}]: ${problem}`);
    if ((p as SweepPoint).index !== i) fail(`points[${i}] has index ${(p as SweepPoint).index}`);
  }
  return x as unknown as SweepManifest;
}

/** What is wrong with a parsed point report (`undefined` when it can be merged). */
function reportProblem(x: Record<string, unknown>): string | undefined {
  if (!isObject(x.totals)) return 'no totals: not a run report';
  if (!isObject(x.latency)) return 'no latency: not a run report';
  if (!isObject(x.histograms)) return 'no histograms: not a run report';
  for (const k of LATENCY_KINDS) {
    if (typeof x.histograms[k] !== 'string') return `no histogram of ${k}`;
  }
  if (typeof x.simulatedNs !== 'number') return 'no simulatedNs: not a run report';
  // figures of part of a run would pass for a whole one's in the merge
  if (x.partial === true) return 'a partial report (a worker failed): run the point again';
  if (x.interrupted === true) {
    return 'the run was stopped before the end of its window: run the point again';
  }
  return undefined;
}

const POINT_FILE = /^(\d{4,})\.json$/;
const ERROR_FILE = /^(\d{4,})\.error\.json$/;

/**
 * Reads the sweep folder `dir`. Throws `ENOENT` when there is no such folder or no
 * `sweep.json` in it, `EINVAL` when `sweep.json` is not a manifest; anything wrong with a
 * point file is a problem listed in the result, and the point counts as not run.
 */
export function readSweepFolder(dir: string): SweepFolder {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st === undefined) throw codedError('ENOENT', `no folder ${dir}`);
  if (!st.isDirectory()) {
    throw bad(`${dir} is a file; give the sweep folder (the --out of \`svasim sweep\`)`);
  }
  const manifestFile = join(dir, 'sweep.json');
  let text: string;
  try {
    text = readFileSync(manifestFile, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') {
      throw codedError(
        'ENOENT',
        `${dir} has no sweep.json: it is not a sweep folder (\`svasim sweep --out ${dir}\` writes ` +
          'sweep.json before any point runs)',
      );
    }
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw bad(`${manifestFile}: not JSON (${(e as Error).message})`);
  }
  const manifest = checkManifest(parsed, manifestFile);

  const reports = new Map<number, PointReport>();
  const failures = new Map<number, PointFailure>();
  const problems: FolderProblem[] = [];
  const pointsDir = join(dir, 'points');
  const names = statSync(pointsDir, { throwIfNoEntry: false })?.isDirectory()
    ? readdirSync(pointsDir).sort()
    : [];
  for (const name of names) {
    // `.<name>.tmp`: a point being written (the rename has not happened yet)
    if (name.startsWith('.')) continue;
    const file = `points/${name}`;
    const m = POINT_FILE.exec(name) ?? ERROR_FILE.exec(name);
    if (m === null) {
      problems.push({ file, problem: 'not a point file (<index>.json or <index>.error.json)' });
      continue;
    }
    const index = Number(m[1]);
    const expected = manifest.points[index];
    if (expected === undefined) {
      problems.push({ file, problem: `sweep.json has no point ${index}` });
      continue;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(join(pointsDir, name), 'utf8'));
    } catch (e) {
      problems.push({ file, index, problem: `unreadable: ${(e as Error).message}` });
      continue;
    }
    if (!isObject(doc)) {
      problems.push({ file, index, problem: 'the top level is not an object' });
      continue;
    }
    const pp = pointProblem(doc.point);
    if (pp !== undefined) {
      problems.push({ file, index, problem: `point: ${pp}` });
      continue;
    }
    const point = doc.point as SweepPoint;
    if (
      point.index !== index ||
      point.replicate !== expected.replicate ||
      point.seed !== expected.seed ||
      canonicalParams(point.params) !== canonicalParams(expected.params)
    ) {
      problems.push({
        file,
        index,
        problem: `its point ${JSON.stringify(point)} is not point ${index} of sweep.json (${JSON.stringify(expected)}): a file of another sweep?`,
      });
      continue;
    }
    if (name.endsWith('.error.json')) {
      const err = doc.error;
      if (!isObject(err) || typeof err.code !== 'string' || typeof err.message !== 'string') {
        problems.push({ file, index, problem: 'error is not { code, message }' });
        continue;
      }
      failures.set(index, {
        point,
        error: {
          code: err.code,
          message: err.message,
          ...(typeof err.exitStatus === 'number' ? { exitStatus: err.exitStatus } : {}),
        },
      });
    } else {
      const rp = reportProblem(doc);
      if (rp !== undefined) {
        problems.push({ file, index, problem: rp });
        continue;
      }
      reports.set(index, doc as unknown as PointReport);
    }
  }
  // a point that ran again after failing: its report stands, the old error does not
  for (const index of reports.keys()) {
    if (failures.delete(index)) {
      problems.push({
        file: `points/${pointFileName(index)}.error.json`,
        problem: 'the point has a report too: the error is of an earlier attempt, left out',
      });
    }
  }
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { dir, manifest, reports, failures, problems };
}

/** The file name of point `index` without extension (`0007`). */
export function pointFileName(index: number): string {
  return String(index).padStart(4, '0');
}

// ---------------------------------------------------------------------------------------
// Metrics

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

/** The value of a flattened counter name in nested totals. */
export function counterOf(t: CounterTotals, name: CounterName): number {
  switch (name) {
    case 'pageResponses.success':
      return t.pageResponses.success;
    case 'pageResponses.invalid':
      return t.pageResponses.invalid;
    case 'pageResponses.failure':
      return t.pageResponses.failure;
    default:
      return t[name];
  }
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
      throw bad(
        `metric '${name}': ${stat === '' ? `${kind} needs a statistic` : `no statistic '${stat}' of ${kind}`}; ` +
          `give ${kind}.<stat> with <stat> one of ${LATENCY_STATS.join(', ')} (e.g. ${kind}.p99)`,
      );
    }
    const s = stat as LatencyStat;
    return s === 'count'
      ? { name, unit: 'count', kind, value: (f) => f.latency[kind].count / f.runs }
      : { name, unit: 'ns', kind, value: (f) => f.latency[kind][s] };
  }
  throw bad(
    `unknown metric '${name}': give a latency kind and a statistic (<kind>.<stat>, kinds ` +
      `${LATENCY_KINDS.join(', ')}; stats ${LATENCY_STATS.join(', ')}), a counter ` +
      `(${COUNTER_NAMES.join(', ')}) or a total (${DERIVED_METRICS.join(', ')})`,
  );
}

// ---------------------------------------------------------------------------------------
// Histograms

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

/** Count, min, mean, p50…max of a histogram, as the recorders summarise theirs (ns). */
export function summarizeHistogram(h: Histogram): LatencySummary {
  const count = h.totalCount;
  return count === 0
    ? { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }
    : {
        count,
        min: h.getValueAtPercentile(0),
        mean: h.mean,
        p50: h.getValueAtPercentile(50),
        p90: h.getValueAtPercentile(90),
        p99: h.getValueAtPercentile(99),
        p999: h.getValueAtPercentile(99.9),
        max: h.getValueAtPercentile(100),
      };
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
