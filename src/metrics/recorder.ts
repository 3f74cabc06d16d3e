/**
 * Per-thread latency recorders — DESIGN §2 (modelled ns), §3 (worker summaries), §7 (report).
 *
 * One HdrHistogram per latency kind, WebAssembly build of hdr-histogram-js (≈ 30 ns per
 * record against ≈ 140 ns for the JS build, PLATFORM.md). Each thread records into its own
 * recorder; a worker returns `encode()` (HdrHistogram V2 compressed base64, the format the
 * HdrHistogram tools read) and the parent merges encodings with `mergeEncoded()`. Merging is
 * exact: the merged counts equal those of one recorder that saw every value, so the merged
 * summary and its re-encoding are bit for bit those of the inline runtime.
 *
 * Histogram layout, the same everywhere so that encodings merge and compare byte for byte:
 * - range 1 ns .. 3_600_000_000_000 ns (one simulated hour), fixed — no auto-resize, whose
 *   layout would depend on the largest value seen; values outside are clamped into range
 *   (< 1 ns is recorded as 1 ns, > 1 h as 1 h);
 * - 3 significant digits: values up to 2047 ns are exact, larger ones within 1/2048 (< 0.05 %);
 * - 64-bit counts, so no bucket overflows however long the run (≈ 0.3 MB per histogram,
 *   ≈ 2.4 MB per recorder).
 *
 * Not provided: interval snapshots for HdrHistogram logs, coordinated-omission correction
 * (the simulator records every event, nothing is sampled). WebAssembly memory is not garbage
 * collected: call `destroy()` on recorders that are no longer needed.
 */

import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
  initWebAssembly,
  initWebAssemblySync,
} from 'hdr-histogram-js';
import { LATENCY_KIND_COUNT, LATENCY_KINDS, type LatencyKind, LatencyKindIndex } from './kinds.js';

/** Largest value a recorder holds, ns (one simulated hour); larger values are clamped. */
export const LATENCY_MAX_NS = 3_600_000_000_000;

/** Significant decimal digits every latency histogram keeps. */
export const LATENCY_SIGNIFICANT_DIGITS = 3;

/** Count width of every latency histogram (bits). */
const BIT_BUCKET_SIZE = 64;

let ready = false;
let pending: Promise<void> | undefined;

/**
 * Loads the hdr-histogram-js WebAssembly module once per thread; later calls return at
 * once. Must complete before the first `new LatencyRecorder()`.
 */
export function initMetrics(): Promise<void> {
  if (ready) return Promise.resolve();
  pending ??= initWebAssembly().then(
    () => {
      ready = true;
    },
    (err: unknown) => {
      pending = undefined;
      throw err;
    },
  );
  return pending;
}

/** Synchronous `initMetrics()` for worker entry points that cannot await; idempotent. */
export function initMetricsSync(): void {
  if (ready) return;
  initWebAssemblySync();
  ready = true;
}

/** Percentiles of one latency kind, modelled ns (all 0 when nothing was recorded). */
export interface LatencySummary {
  /** Number of values recorded. */
  count: number;
  /** Smallest value (lowest equivalent value of its bucket). */
  min: number;
  /** Arithmetic mean over bucket midpoints (not rounded). */
  mean: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** 99.9th percentile. */
  p999: number;
  /** Largest value (highest equivalent value of its bucket, ≤ 0.05 % above the true max). */
  max: number;
}

/** `encode()` output: one compressed base64 HdrHistogram per kind. */
export type EncodedLatencies = Record<LatencyKind, string>;

function newHistogram(): Histogram {
  return build({
    useWebAssembly: true,
    bitBucketSize: BIT_BUCKET_SIZE,
    autoResize: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_MAX_NS,
    numberOfSignificantValueDigits: LATENCY_SIGNIFICANT_DIGITS,
  });
}

function kindIndexOf(kind: LatencyKind | number): number {
  const i = typeof kind === 'number' ? kind : LatencyKindIndex[kind];
  if (!(i >= 0 && i < LATENCY_KIND_COUNT) || !Number.isInteger(i)) {
    throw new Error(`unknown latency kind ${String(kind)}`);
  }
  return i;
}

/**
 * Decodes one kind's encoding the way the recorder holds its histograms (WebAssembly once
 * `initMetrics` has run, plain JavaScript before), so what is read from it — a plot's
 * percentiles — agrees with the recorder's summary to the nanosecond. Destroy it after use.
 */
export function decodeLatency(encoded: string): Histogram {
  return decodeFromCompressedBase64(encoded, BIT_BUCKET_SIZE, ready);
}

/** Count, min, mean, p50, p90, p99, p99.9 and max of one histogram, modelled ns. */
export function summarizeHistogram(h: Histogram): LatencySummary {
  const count = h.totalCount;
  return count === 0
    ? { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }
    : {
        count,
        // Percentiles 0 and 100 give the lowest / highest equivalent value of the end
        // buckets, which survive encode → decode (the raw min / max do not).
        min: h.getValueAtPercentile(0),
        mean: h.mean,
        p50: h.getValueAtPercentile(50),
        p90: h.getValueAtPercentile(90),
        p99: h.getValueAtPercentile(99),
        p999: h.getValueAtPercentile(99.9),
        max: h.getValueAtPercentile(100),
      };
}

/** One HdrHistogram per latency kind, recorded by kind index without allocation. */
export class LatencyRecorder {
  private hists: Histogram[];
  /**
   * While true, `record` keeps nothing: the run's warm-up and drain, outside the measurement
   * window (machine/report.ts).
   */
  paused = false;

  /** An empty recorder; `initMetrics()` must have completed in this thread. */
  constructor() {
    if (!ready) {
      throw new Error('LatencyRecorder: call `await initMetrics()` (or initMetricsSync()) first');
    }
    this.hists = [];
    for (let i = 0; i < LATENCY_KIND_COUNT; i++) this.hists.push(newHistogram());
  }

  /**
   * A recorder holding the sum of every encoding in `encodings` (e.g. the summaries of all
   * workers of a run). The caller destroys it when done.
   */
  static decodeMerge(encodings: readonly Partial<EncodedLatencies>[]): LatencyRecorder {
    const r = new LatencyRecorder();
    for (const e of encodings) r.mergeEncoded(e);
    return r;
  }

  /**
   * Records `ns` (integer modelled ns) for the kind at `kindIndex` (`LatencyKindIndex[...]`).
   * Values below 1 count as 1 and values above `LATENCY_MAX_NS` as `LATENCY_MAX_NS`;
   * NaN is a broken invariant and throws.
   */
  record(kindIndex: number, ns: number): void {
    if (this.paused) return;
    if (ns < 1) ns = 1;
    else if (ns > LATENCY_MAX_NS) ns = LATENCY_MAX_NS;
    else if (Number.isNaN(ns)) throw new Error(`latency kind ${kindIndex}: NaN recorded`);
    this.hists[kindIndex]!.recordValue(ns);
    if (this.intervalHists !== null) this.intervalHists[kindIndex]!.recordValue(ns);
  }

  /** The histograms of the current interval (see {@link startIntervals}), or null. */
  private intervalHists: Histogram[] | null = null;

  /** From now on, every value is kept in the current interval's histograms too. */
  startIntervals(): void {
    if (this.intervalHists !== null) return;
    this.intervalHists = [];
    for (let i = 0; i < LATENCY_KIND_COUNT; i++) this.intervalHists.push(newHistogram());
  }

  /** The current interval's histograms, encoded as `encode()` does; starts the next interval. */
  takeInterval(): EncodedLatencies {
    const out = {} as EncodedLatencies;
    const hists = this.intervalHists;
    if (hists === null) throw new Error('takeInterval: startIntervals() was not called');
    for (let i = 0; i < LATENCY_KIND_COUNT; i++) {
      out[LATENCY_KINDS[i]!] = encodeIntoCompressedBase64(hists[i]!);
      hists[i]!.reset();
    }
    return out;
  }

  /** The histogram of one kind, for log writers and plots; owned by this recorder. */
  histogram(kind: LatencyKind | number): Histogram {
    return this.hists[kindIndexOf(kind)]!;
  }

  /** Number of values recorded for one kind. */
  count(kind: LatencyKind | number): number {
    return this.hists[kindIndexOf(kind)]!.totalCount;
  }

  /**
   * Every kind as a compressed base64 HdrHistogram (V2 encoding, no timestamps), the same
   * string for the same recorded values whatever the order they were recorded in.
   */
  encode(): EncodedLatencies {
    const out = {} as EncodedLatencies;
    for (let i = 0; i < LATENCY_KIND_COUNT; i++) {
      out[LATENCY_KINDS[i]!] = encodeIntoCompressedBase64(this.hists[i]!);
    }
    return out;
  }

  /**
   * Adds the values of another recorder's `encode()` output into this one. Kinds missing
   * from `encoded` are left as they are; an unknown kind name throws.
   */
  mergeEncoded(encoded: Partial<EncodedLatencies>): void {
    for (const [kind, text] of Object.entries(encoded)) {
      if (!Object.hasOwn(LatencyKindIndex, kind)) {
        throw new Error(`mergeEncoded: unknown latency kind ${JSON.stringify(kind)}`);
      }
      if (text === undefined) continue;
      const decoded = decodeFromCompressedBase64(text, BIT_BUCKET_SIZE, true);
      try {
        this.hists[LatencyKindIndex[kind as LatencyKind]]!.add(decoded);
      } finally {
        decoded.destroy();
      }
    }
  }

  /** Adds every value of `other` (a recorder in this thread) into this one. */
  merge(other: LatencyRecorder): void {
    for (let i = 0; i < LATENCY_KIND_COUNT; i++) this.hists[i]!.add(other.hists[i]!);
  }

  /**
   * The summary of every kind of an `encode()` output, read from the decoded encodings: the
   * figures a report prints then agree to the nanosecond with what any reader of its
   * histograms (plots, logs) gets — a live histogram and its decoded encoding can differ by
   * one bucket at the ends when a kind has a single value.
   */
  static summaryOfEncoded(encoded: EncodedLatencies): Record<LatencyKind, LatencySummary> {
    const out = {} as Record<LatencyKind, LatencySummary>;
    for (const kind of LATENCY_KINDS) {
      const h = decodeLatency(encoded[kind]);
      try {
        out[kind] = summarizeHistogram(h);
      } finally {
        h.destroy();
      }
    }
    return out;
  }

  /** Count, min, mean, p50, p90, p99, p99.9 and max of every kind, modelled ns. */
  summary(): Record<LatencyKind, LatencySummary> {
    const out = {} as Record<LatencyKind, LatencySummary>;
    for (let i = 0; i < LATENCY_KIND_COUNT; i++) {
      out[LATENCY_KINDS[i]!] = summarizeHistogram(this.hists[i]!);
    }
    return out;
  }

  /** Empties every histogram. */
  reset(): void {
    for (const h of this.hists) h.reset();
  }

  /** Frees the WebAssembly memory of every histogram; the recorder is unusable afterwards. */
  destroy(): void {
    for (const h of this.hists) h.destroy();
    for (const h of this.intervalHists ?? []) h.destroy();
    this.intervalHists = null;
    this.hists = [];
  }
}
