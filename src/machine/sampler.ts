/**
 * What a run records besides counters and histograms: the time series of the report
 * (requests, jobs and PRQ occupancy over simulated time) and the optional trace window
 * (latency spans and PRQ samples between two instants). Both only read the model: the
 * sampler is an endpoint registered after every model endpoint and sends nothing, so the
 * model's events and their keys are untouched.
 */

import { codedError, ErrorCode } from '../errors.js';
import { Counter } from '../metrics/counters.js';
import { LATENCY_KINDS } from '../metrics/kinds.js';
import type { ReportSeries, TraceRecord } from '../report/types.js';
import type { Simulator } from '../sim/simulator.js';
import type { TraceOptions } from './run-options.js';
import type { System } from './system.js';

/** Default cap on the records of a trace window. */
const TRACE_MAX_RECORDS = 200_000;

/** The phase of the run the sampler needs to know about. */
export interface RunPhase {
  /** Simulated time the running phase ends at. */
  readonly endNs: number;
  /** True once the clients are being stopped. */
  readonly stopping: boolean;
}

/** A trace window being recorded. */
export interface TraceWindow {
  readonly options: TraceOptions;
  readonly records: TraceRecord[];
}

/**
 * Wraps the latency recorder so every span recorded inside the window is kept too (the
 * recorder is called when a span ends, with its length); PRQ samples are added by the
 * sampler.
 */
export function startTrace(sys: System, t: TraceOptions): TraceWindow {
  const records: TraceRecord[] = [];
  const max = t.maxRecords ?? TRACE_MAX_RECORDS;
  const rec = sys.latency;
  const record = rec.record.bind(rec);
  const sims = sys.world ? sys.world.sims : [sys.sim];
  rec.record = (kindIndex: number, ns: number) => {
    record(kindIndex, ns);
    const sim = sims.find((s) => s.inEvent) ?? sims[0]!;
    const end = sim.nowNs;
    if (end >= t.startNs && end <= t.endNs && records.length < max) {
      records.push({ kind: LATENCY_KINDS[kindIndex]!, startNs: end - ns, durNs: ns });
    }
  };
  return { options: t, records };
}

/**
 * The time series of the report: every `intervalNs` (1/100 of the duration) of the running
 * phase, the requests and jobs counted in the interval and the PRQ occupancy, the largest
 * of 8 sub-samples and the value at the end. One sampler endpoint per thread, on `sim` (the
 * first partition the thread runs; it reads the thread's counters). Threaded runs merge the
 * workers' series by adding them up (each worker counts what its partition counted; PRQs
 * are the engine's, sampled only with `engineSide`).
 */
export function startSampler(
  sys: System,
  sim: Simulator,
  engineSide: boolean,
  durationNs: number,
  phase: RunPhase,
  trace: TraceWindow | null,
): ReportSeries {
  const intervalNs = Math.max(1000, Math.ceil(durationNs / 100));
  const subNs = Math.max(1, Math.floor(intervalNs / 8));
  const series: ReportSeries = {
    intervalNs,
    tNs: [],
    requests: [],
    jobs: [],
    prqOccupancy: [],
    prqOccupancyMax: [],
  };
  const c = sys.counters.values;
  let lastRequests = 0;
  let lastJobs = 0;
  let max = 0;
  let sub = 0;
  const prq = (): number => {
    if (!engineSide) return 0;
    let n = 0;
    for (const u of sys.iommus) n += u.prq.pending;
    return n;
  };
  const traceMax = trace?.options.maxRecords ?? TRACE_MAX_RECORDS;
  const id = sim.register({
    handle: (_arg, nowNs) => {
      if (nowNs > phase.endNs || phase.stopping) {
        sim.noop(); // the one tick after the window: the sampler stops re-arming
        return;
      }
      const occ = prq();
      if (occ > max) max = occ;
      if (trace && engineSide && trace.records.length < traceMax) {
        const tw = trace.options;
        if (nowNs >= tw.startNs && nowNs <= tw.endNs) {
          trace.records.push({ kind: 'prq', startNs: nowNs, durNs: 0, value: occ });
        }
      }
      if (++sub === 8) {
        sub = 0;
        const requests = c[Counter.translations]! + c[Counter.pageRequests]!;
        const jobs = c[Counter.jobs]!;
        series.tNs.push(nowNs - intervalNs);
        series.requests.push(requests - lastRequests);
        series.jobs.push(jobs - lastJobs);
        series.prqOccupancy.push(occ);
        series.prqOccupancyMax.push(max);
        lastRequests = requests;
        lastJobs = jobs;
        max = 0;
      }
      const next = sub === 7 ? intervalNs - 7 * subNs : subNs;
      sim.timer(next, id, id, 0);
    },
  });
  sim.timer(subNs, id, id, 0);
  return series;
}

/** The latency histograms of successive intervals of the window (HdrHistogram interval logs). */
export interface IntervalLog {
  readonly records: { startNs: number; endNs: number; histograms: Record<string, string> }[];
  /** Closes the interval in progress at the window's end, `endNs`. */
  flush(endNs: number): void;
}

/**
 * Cuts the window into intervals of `intervalNs` from `startNs` (the end of the warm-up): a
 * timer on `sim` at each boundary inside the window takes the recorder's interval histograms,
 * and `flush` takes the last, shorter one at the window's end. One timer endpoint per thread,
 * registered at the same point of construction in every runtime, so its ties with other
 * events at a boundary break the same way and each thread's intervals hold the same values.
 */
export function startIntervalLog(
  sys: System,
  sim: Simulator,
  phase: RunPhase,
  startNs: number,
  intervalNs: number,
): IntervalLog {
  if (!Number.isSafeInteger(intervalNs) || intervalNs < 1) {
    throw codedError(
      ErrorCode.EINVAL,
      `hlog interval must be a whole number of ns ≥ 1, got ${intervalNs}`,
    );
  }
  sys.latency.startIntervals();
  const records: IntervalLog['records'] = [];
  let last = startNs;
  const id = sim.register({
    handle: (_arg, nowNs) => {
      // the interval that reaches the window's end is closed by flush, after every event of it
      if (nowNs >= phase.endNs || phase.stopping) {
        sim.noop();
        return;
      }
      records.push({ startNs: last, endNs: nowNs, histograms: sys.latency.takeInterval() });
      last = nowNs;
      sim.timer(intervalNs, id, id, 0);
    },
  });
  sim.timer(startNs + intervalNs, id, id, 0);
  return {
    records,
    flush: (endNs) => {
      if (endNs > last)
        records.push({ startNs: last, endNs, histograms: sys.latency.takeInterval() });
      last = endNs;
    },
  };
}
