/**
 * HdrHistogram outputs of `--hlog FILE` (DESIGN §5): an interval log in the format
 * HdrHistogram's `HistogramLogWriter` writes (log format version 1.3, one `Tag=<kind>` line
 * per interval per latency kind), readable by `HistogramLogReader`, `HistogramLogProcessor`
 * and the HdrHistogram plotter, and one percentile distribution (`.hgrm`) per kind.
 *
 * Units, fixed for every file written here:
 * - recorded values are modelled ns (the report's encodings are copied into the log as they
 *   are, so a reader recovers exactly the report's histograms);
 * - `Interval_Max` and every value of a `.hgrm` file are in µs: the max-value unit ratio and
 *   the output value unit scaling ratio are both `HLOG_VALUE_UNIT_RATIO` = 1000;
 * - timestamps and interval lengths are seconds of simulated time since the start of the run,
 *   written with 9 decimals (exact ns) where HdrHistogram writes 3: runs last micro- to
 *   milliseconds of simulated time, which 3 decimals would round to 0. Readers parse them as
 *   doubles either way.
 *
 * The intervals are the report's `intervalHistograms` (the run keeps them when asked:
 * `--hlog-interval`, 1 ms of simulated time by default on the command line); without them
 * each kind has one interval covering [0, simulatedNs]. Not here: recording the intervals
 * (the runner's business) and coordinated-omission correction (nothing is sampled; open-loop
 * latencies already run from the scheduled arrival).
 */

import { writeFile } from 'node:fs/promises';
import { parse as parsePath } from 'node:path';
import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
  HistogramLogWriter,
} from 'hdr-histogram-js';
import { LATENCY_KINDS, type LatencyKind } from '../metrics/kinds.js';
import { LATENCY_MAX_NS, LATENCY_SIGNIFICANT_DIGITS } from '../metrics/recorder.js';
import type { Report } from './types.js';

/** Divisor from recorded values (ns) to the values written in the log's max column and in `.hgrm` files (µs). */
export const HLOG_VALUE_UNIT_RATIO = 1000;

/** Percentile ticks per half distance of `.hgrm` files (HdrHistogram's default). */
export const HGRM_TICKS_PER_HALF_DISTANCE = 5;

/**
 * Histograms of one interval of simulated time, per kind (HdrHistogram compressed base64,
 * values in ns): the report's `intervalHistograms`.
 */
export interface IntervalHistograms {
  readonly startNs: number;
  readonly endNs: number;
  readonly histograms: Readonly<Record<string, string>>;
}

/** A report that may carry interval histograms. */
export type ReportWithIntervals = Report & {
  readonly intervalHistograms?: readonly IntervalHistograms[];
};

/** Options of `formatHlog`. */
export interface HlogOptions {
  /**
   * Wall-clock instant the log's StartTime and BaseTime name, ms since the epoch (default 0,
   * which keeps the file identical for identical reports).
   */
  readonly startTimeMs?: number;
}

/** Counts up to 2^53 per bucket, as the recorders use (their encodings decode into this). */
const BIT_BUCKET_SIZE = 64;

/** Decodes one of the report's encodings with the JS build (no WebAssembly needed). */
function decode(encoded: string): Histogram {
  return decodeFromCompressedBase64(encoded, BIT_BUCKET_SIZE, false);
}

let emptyEncoding: string | undefined;

/** The encoding of an empty histogram with the recorders' layout (for intervals without values). */
function emptyHistogramEncoding(): string {
  if (emptyEncoding === undefined) {
    const h = build({
      bitBucketSize: BIT_BUCKET_SIZE,
      autoResize: false,
      lowestDiscernibleValue: 1,
      highestTrackableValue: LATENCY_MAX_NS,
      numberOfSignificantValueDigits: LATENCY_SIGNIFICANT_DIGITS,
    });
    emptyEncoding = encodeIntoCompressedBase64(h);
  }
  return emptyEncoding;
}

/** Orders tags: known latency kinds in kind order, then anything else by name. */
function tagOrder(tags: Iterable<string>): string[] {
  const set = new Set(tags);
  const known: string[] = LATENCY_KINDS.filter((k) => set.has(k));
  const other = [...set].filter((t) => !(LATENCY_KINDS as readonly string[]).includes(t)).sort();
  return [...known, ...other];
}

/**
 * The report's latency histograms as an HdrHistogram interval log (text, one line per
 * interval per kind that recorded anything).
 */
export function formatHlog(r: ReportWithIntervals, options: HlogOptions = {}): string {
  const intervals: readonly IntervalHistograms[] = r.intervalHistograms ?? [
    { startNs: 0, endNs: r.simulatedNs, histograms: r.histograms },
  ];
  // Each interval's histograms decoded once: total count and max of every tag.
  const decoded = intervals.map((iv) => {
    const m = new Map<string, { encoded: string; count: number; max: number }>();
    for (const [tag, encoded] of Object.entries(iv.histograms)) {
      if (!/^[^\s,]+$/.test(tag)) {
        throw new Error(`formatHlog: tag ${JSON.stringify(tag)} contains a comma or whitespace`);
      }
      const h = decode(encoded);
      m.set(tag, { encoded, count: h.totalCount, max: h.maxValue });
    }
    return m;
  });
  const withData = new Set<string>();
  for (const m of decoded) for (const [tag, x] of m) if (x.count > 0) withData.add(tag);
  const tags = tagOrder(withData);

  const startTimeMs = options.startTimeMs ?? 0;
  let out = '';
  const writer = new HistogramLogWriter((s) => {
    out += s;
  });
  writer.outputComment(
    `[Logged with svasim: run "${oneLine(r.scenario.name)}", seed ${r.seed}, profile ${r.profile}, ${r.runtime} runtime]`,
  );
  writer.outputComment(
    `[Values are modelled ns; Interval_Max in us (value / ${HLOG_VALUE_UNIT_RATIO}); timestamps are simulated seconds since BaseTime; one tag per latency kind]`,
  );
  writer.outputLogFormatVersion();
  const startSec = (startTimeMs / 1000).toFixed(3);
  writer.outputComment(
    `[StartTime: ${startSec} (seconds since epoch), ${new Date(startTimeMs).toISOString()}]`,
  );
  writer.outputComment(`[BaseTime: ${startSec} (seconds since epoch)]`);
  writer.outputLegend();
  const order = intervals
    .map((_, i) => i)
    .sort((a, b) => intervals[a]!.startNs - intervals[b]!.startNs);
  for (const i of order) {
    const iv = intervals[i]!;
    const m = decoded[i]!;
    for (const tag of tags) {
      const x = m.get(tag);
      const encoded = x?.encoded ?? emptyHistogramEncoding();
      const max = x?.max ?? 0;
      out += `Tag=${tag},${(iv.startNs / 1e9).toFixed(9)},${((iv.endNs - iv.startNs) / 1e9).toFixed(9)},${(max / HLOG_VALUE_UNIT_RATIO).toFixed(3)},${encoded}\n`;
    }
  }
  return out;
}

/**
 * The percentile distribution of one latency kind in HdrHistogram's `.hgrm` text format
 * (`outputPercentileDistribution`), values in µs.
 */
export function formatPercentileDistribution(r: Report, kind: LatencyKind): string {
  return decode(r.histograms[kind]).outputPercentileDistribution(
    HGRM_TICKS_PER_HALF_DISTANCE,
    HLOG_VALUE_UNIT_RATIO,
  );
}

/** Where `writeHlog` puts the `.hgrm` file of `kind` beside the log `file`. */
export function hgrmPath(file: string, kind: LatencyKind): string {
  const p = parsePath(file);
  const stem = p.ext === '' ? file : file.slice(0, file.length - p.ext.length);
  return `${stem}.${kind}.hgrm`;
}

/**
 * Writes the interval log to `file` and, beside it, `<file minus extension>.<kind>.hgrm` for
 * every kind with data; resolves to the paths written, the log first.
 */
export async function writeHlog(
  file: string,
  r: ReportWithIntervals,
  options: HlogOptions = {},
): Promise<string[]> {
  await writeFile(file, formatHlog(r, options));
  const written = [file];
  for (const kind of LATENCY_KINDS) {
    if (r.latency[kind].count === 0) continue;
    const path = hgrmPath(file, kind);
    await writeFile(path, formatPercentileDistribution(r, kind));
    written.push(path);
  }
  return written;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}
