/**
 * The report a run returns (DESIGN §7): the types every output format reads. The machine
 * assembles it (`machine/report.ts`); the formats in this folder only read it.
 */

import type { CounterTotals } from '../metrics/counters.js';
import type { LatencyKind } from '../metrics/kinds.js';
import type { LatencySummary } from '../metrics/recorder.js';
import type { Scenario } from '../scenario/types.js';

/** Report format version. */
export const REPORT_VERSION = 1;

/** One invariant violation. */
export interface Violation {
  readonly what: string;
  readonly detail: string;
}

/** The JSON report of DESIGN §7. */
export interface Report {
  version: number;
  scenario: Scenario;
  seed: number;
  profile: string;
  runtime: 'inline' | 'threaded';
  threads: number;
  simulatedNs: number;
  wallMs: number;
  eventsPerWallSecond: number;
  totals: CounterTotals;
  latency: Record<LatencyKind, LatencySummary>;
  devices: ({ rid: number } & CounterTotals)[];
  invariants: { checked: number; violations: Violation[] };
  /** Histogram encodings per kind (HdrHistogram compressed base64), for merging and logs. */
  histograms: Record<LatencyKind, string>;
  /** Time series over simulated time, one point per interval (for plots). */
  series?: ReportSeries;
  /** Set when a stop request ended the running phase early: the simulated time it ended. */
  stoppedAtNs?: number;
  /** Spans and counter samples of the traced window, when the run was asked for a trace. */
  trace?: TraceRecord[];
}

/**
 * One record of a trace window: a latency span of one kind (`startNs` + `durNs`, ending
 * when it was recorded), or a sample of the PRQ occupancy (`kind: 'prq'`, `value`).
 */
export interface TraceRecord {
  readonly kind: LatencyKind | 'prq';
  readonly startNs: number;
  readonly durNs: number;
  readonly value?: number;
}

/**
 * Time series of a run over simulated time: point i covers [tNs[i], tNs[i] + intervalNs).
 * The arrays have equal lengths.
 */
export interface ReportSeries {
  /** Width of one interval, ns. */
  intervalNs: number;
  /** Start of each interval, ns of simulated time. */
  tNs: number[];
  /**
   * Requests that reached the VT-d units in the interval (DESIGN §9: ATS translation
   * requests, page requests, untranslated DMA requests).
   */
  requests: number[];
  /** Jobs completed in the interval. */
  jobs: number[];
  /** Page requests waiting in the page request queues (all units) at the end of the interval. */
  prqOccupancy: number[];
  /** Largest PRQ occupancy seen in the interval. */
  prqOccupancyMax: number[];
}
