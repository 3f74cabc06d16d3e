/**
 * Assembles the DESIGN §7 report of a run from the system's counters and recorders, the
 * invariant checker and what the run recorded.
 *
 * The measurement window. A run is an optional warm-up, the window (exactly the duration
 * asked for, or up to a stop) and the drain (clients finish their jobs, unbind and exit).
 * The run marks the counters and the bind counts where the window starts and ends
 * ({@link markPhase}), and the latency recorder keeps values only inside it (paused during
 * the warm-up and the drain); totals and per-device totals are the differences between the
 * marks — what completed inside the window, the way fio's `runtime` excludes its
 * `ramp_time`. The whole run's totals (`runTotals`) and
 * the drain's (`drain`) are reported beside them, so balance checks still see everything.
 */

import { Counters, type CounterTotals } from '../metrics/counters.js';
import { LatencyRecorder } from '../metrics/recorder.js';
import { REPORT_VERSION, type Report, type ReportSeries } from '../report/types.js';
import type { Scenario } from '../scenario/types.js';
import type { InvariantChecker } from './checks.js';
import type { TraceWindow } from './sampler.js';
import type { System } from './system.js';

/** What a run knows at its end besides the system. */
export interface RunOutcome {
  readonly scenario: Scenario;
  readonly checker: InvariantChecker;
  readonly series: ReportSeries;
  readonly trace: TraceWindow | null;
  /** Simulated time the run covered. */
  readonly simulatedNs: number;
  /** Events run over every partition this thread ran. */
  readonly events: number;
  readonly wallNs: number;
  /** Simulated time a stop request ended the running phase, or −1. */
  readonly stoppedAtNs: number;
  /** Where the window started (null: at time 0, nothing before it) and ended (null: now). */
  readonly windowStart: PhaseMark | null;
  readonly windowEnd: PhaseMark | null;
  /** Wall time the run started (process.hrtime.bigint, ns). */
  readonly wall0Ns: bigint;
  /** Open-loop jobs offered and not yet submitted when the window closed. */
  readonly backlogAtEnd: number;
  /** The window's interval histograms, when the run kept them. */
  readonly intervals:
    | { startNs: number; endNs: number; histograms: Record<string, string> }[]
    | null;
}

/** The counters, bind counts and histograms of one thread at a phase boundary. */
export interface PhaseMark {
  /** Simulated time of the boundary. */
  readonly atNs: number;
  /** Wall time of the boundary (process.hrtime.bigint, ns). */
  readonly wallNs: bigint;
  readonly counters: Float64Array;
  readonly devices: readonly Float64Array[];
  readonly binds: number;
  readonly unbinds: number;
}

/** Marks a phase boundary at `atNs` (see the file header). */
export function markPhase(sys: System, atNs: number): PhaseMark {
  return {
    atNs,
    wallNs: process.hrtime.bigint(),
    counters: sys.counters.values.slice(),
    devices: sys.deviceCounters.map((c) => c.values.slice()),
    binds: sys.sva.binds,
    unbinds: sys.sva.unbinds,
  };
}

/** The current counters and bind counts as a mark-like record (no histograms needed). */
function nowValues(sys: System): Pick<PhaseMark, 'counters' | 'devices' | 'binds' | 'unbinds'> {
  return {
    counters: sys.counters.values,
    devices: sys.deviceCounters.map((c) => c.values),
    binds: sys.sva.binds,
    unbinds: sys.sva.unbinds,
  };
}

type Values = Pick<PhaseMark, 'counters' | 'devices' | 'binds' | 'unbinds'>;

/**
 * Totals of `to − from` (from null: since the start). Binds and unbinds come from the kernel
 * layer's own counts; failed binds are in the counters (`bindErrors`, counted per device).
 */
function totalsBetween(from: Values | null, to: Values): CounterTotals {
  const v = to.counters.slice();
  if (from) for (let i = 0; i < v.length; i++) v[i]! -= from.counters[i]!;
  const t = new Counters(v).toTotals();
  t.binds = to.binds - (from?.binds ?? 0);
  t.unbinds = to.unbinds - (from?.unbinds ?? 0);
  return t;
}

/** Per-device totals of `to − from`. */
function devicesBetween(from: Values | null, to: Values): CounterTotals[] {
  return to.devices.map((d, i) => {
    const v = d.slice();
    const f = from?.devices[i];
    if (f) for (let k = 0; k < v.length; k++) v[k]! -= f[k]!;
    return new Counters(v).toTotals();
  });
}

/** The report of one thread's run (inline: the whole run). */
export function assembleReport(sys: System, o: RunOutcome): Report {
  const start = o.windowStart;
  const end = o.windowEnd ?? markPhase(sys, o.simulatedNs);
  const all = nowValues(sys);
  const totals = totalsBetween(start, end);
  const windowStartNs = start?.atNs ?? 0;
  const drainTotals = totalsBetween(end, all);
  const series = start ? seriesFrom(o.series, windowStartNs) : o.series;
  const histograms = sys.latency.encode();
  return {
    version: REPORT_VERSION,
    scenario: o.scenario,
    seed: o.scenario.seed,
    profile: o.scenario.profile,
    runtime: 'inline',
    threads: 1,
    simulatedNs: o.simulatedNs,
    warmupNs: windowStartNs,
    windowNs: end.atNs - windowStartNs,
    drainNs: Math.max(0, o.simulatedNs - end.atNs),
    wallMs: o.wallNs / 1e6,
    windowWallMs: Number(end.wallNs - (start?.wallNs ?? o.wall0Ns)) / 1e6,
    eventsPerWallSecond: o.wallNs > 0 ? o.events / (o.wallNs / 1e9) : 0,
    totals,
    latency: LatencyRecorder.summaryOfEncoded(histograms),
    devices: devicesBetween(start, end).map((t, i) => ({ rid: sys.devices[i]!.rid, ...t })),
    invariants: { checked: o.checker.checked, violations: o.checker.violations },
    failures: sys.failures.toReport(),
    histograms,
    runTotals: totalsBetween(null, all),
    backlog: o.backlogAtEnd,
    drain: {
      jobs: drainTotals.jobs,
      requests: drainTotals.translations + drainTotals.pageRequests,
      totals: drainTotals,
    },
    series,
    ...(o.trace ? { trace: o.trace.records } : {}),
    ...(o.intervals ? { intervalHistograms: o.intervals } : {}),
    ...(o.stoppedAtNs >= 0 ? { stoppedAtNs: o.stoppedAtNs } : {}),
  };
}

/** The points of `series` at or after `fromNs`. */
function seriesFrom(series: ReportSeries, fromNs: number): ReportSeries {
  const k = series.tNs.findIndex((t) => t >= fromNs);
  const i = k < 0 ? series.tNs.length : k;
  return {
    intervalNs: series.intervalNs,
    tNs: series.tNs.slice(i),
    requests: series.requests.slice(i),
    jobs: series.jobs.slice(i),
    prqOccupancy: series.prqOccupancy.slice(i),
    prqOccupancyMax: series.prqOccupancyMax.slice(i),
  };
}
