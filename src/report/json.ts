/**
 * The machine-readable report of `--json FILE` (DESIGN §7): the names of §7, in §7's order,
 * with `failures` (what failed inside the run: count, causes, the first records) right after
 * `invariants`, followed by the time series (when the run has one) and the HdrHistogram
 * encodings per latency kind (compressed base64, modelled ns, for merging and for the
 * HdrHistogram tools).
 *
 * Builds fresh objects key by key so the order in the file is §7's whatever order the runner
 * filled the report in. Not here: validating the report, any figure not in the report.
 */

import { writeFile } from 'node:fs/promises';
import type { CounterTotals } from '../metrics/counters.js';
import { LATENCY_KINDS, type LatencyKind } from '../metrics/kinds.js';
import type { LatencySummary } from '../metrics/recorder.js';
import type { Report, ReportSeries } from './types.js';

/**
 * The `--json` document: DESIGN §7's report plus `series` (optional) and `histograms`, and
 * `stoppedAtNs` / `interrupted` when the run was cut short, `partial` / `missingPartitions`
 * / `failure` when a threaded run failed (a gate must not take a partial run for a whole one);
 * the trace window stays out (the trace has its own file).
 */
export type JsonReport = Omit<Report, 'trace'>;

/** The report as the `--json` document, keys in DESIGN §7's order. */
export function toJsonReport(r: Report): JsonReport {
  const latency = {} as Record<LatencyKind, LatencySummary>;
  const histograms = {} as Record<LatencyKind, string>;
  for (const k of LATENCY_KINDS) {
    const s = r.latency[k];
    latency[k] = {
      count: s.count,
      min: s.min,
      mean: s.mean,
      p50: s.p50,
      p90: s.p90,
      p99: s.p99,
      p999: s.p999,
      max: s.max,
    };
    histograms[k] = r.histograms[k];
  }
  return {
    version: r.version,
    scenario: r.scenario,
    seed: r.seed,
    profile: r.profile,
    runtime: r.runtime,
    ...(r.runtimeChoice !== undefined ? { runtimeChoice: r.runtimeChoice } : {}),
    threads: r.threads,
    ...(r.placement !== undefined ? { placement: r.placement } : {}),
    ...(r.interrupted !== undefined ? { interrupted: r.interrupted } : {}),
    ...(r.stopSignal !== undefined ? { stopSignal: r.stopSignal } : {}),
    ...(r.stoppedAtNs !== undefined ? { stoppedAtNs: r.stoppedAtNs } : {}),
    ...(r.partial !== undefined ? { partial: r.partial } : {}),
    ...(r.missingPartitions !== undefined ? { missingPartitions: r.missingPartitions } : {}),
    ...(r.failure !== undefined ? { failure: r.failure } : {}),
    simulatedNs: r.simulatedNs,
    ...(r.windowNs !== undefined
      ? { warmupNs: r.warmupNs ?? 0, windowNs: r.windowNs, drainNs: r.drainNs ?? 0 }
      : {}),
    wallMs: r.wallMs,
    ...(r.windowWallMs !== undefined ? { windowWallMs: r.windowWallMs } : {}),
    eventsPerWallSecond: r.eventsPerWallSecond,
    totals: totalsInOrder(r.totals),
    latency,
    devices: r.devices.map((d) => ({ rid: d.rid, ...totalsInOrder(d) })),
    invariants: {
      checked: r.invariants.checked,
      violations: r.invariants.violations.map((v) => ({ what: v.what, detail: v.detail })),
    },
    ...(r.failures !== undefined
      ? {
          failures: {
            count: r.failures.count,
            causes: r.failures.causes.map((c) => ({ kind: c.kind, code: c.code, count: c.count })),
            first: r.failures.first.map((x) => ({
              tNs: x.tNs,
              kind: x.kind,
              code: x.code,
              message: x.message,
              ...(x.client !== undefined ? { client: x.client } : {}),
              ...(x.pid !== undefined ? { pid: x.pid } : {}),
              ...(x.rid !== undefined ? { rid: x.rid } : {}),
              ...(x.pasid !== undefined ? { pasid: x.pasid } : {}),
            })),
          },
        }
      : {}),
    ...(r.thresholds !== undefined
      ? {
          thresholds: r.thresholds.map((t) => ({
            key: t.key,
            op: t.op,
            limit: t.limit,
            actual: t.actual,
            ok: t.ok,
          })),
        }
      : {}),
    ...(r.runTotals !== undefined ? { runTotals: totalsInOrder(r.runTotals) } : {}),
    ...(r.backlog !== undefined ? { backlog: r.backlog } : {}),
    ...(r.drain !== undefined
      ? {
          drain: {
            jobs: r.drain.jobs,
            requests: r.drain.requests,
            totals: totalsInOrder(r.drain.totals),
          },
        }
      : {}),
    ...(r.threadStats !== undefined
      ? { threadStats: r.threadStats.map(({ quantumWorkUs: _q, ...t }) => t) }
      : {}),
    ...(r.series !== undefined ? { series: seriesInOrder(r.series) } : {}),
    histograms,
  };
}

/** Writes `toJsonReport(report)` to `file` as indented JSON with a final newline. */
export async function writeJsonReport(file: string, r: Report): Promise<void> {
  await writeFile(file, `${JSON.stringify(toJsonReport(r), null, 2)}\n`);
}

function totalsInOrder(t: CounterTotals): CounterTotals {
  return {
    translations: t.translations,
    iotlbHits: t.iotlbHits,
    iotlbMisses: t.iotlbMisses,
    devtlbHits: t.devtlbHits,
    devtlbMisses: t.devtlbMisses,
    walks: t.walks,
    pageRequests: t.pageRequests,
    pageResponses: {
      success: t.pageResponses.success,
      invalid: t.pageResponses.invalid,
      failure: t.pageResponses.failure,
    },
    autoResponses: t.autoResponses,
    prqOverflows: t.prqOverflows,
    stopMarkers: t.stopMarkers,
    faultRecords: t.faultRecords,
    dmaBytes: t.dmaBytes,
    dmaErrors: t.dmaErrors,
    jobs: t.jobs,
    jobsFailed: t.jobsFailed,
    binds: t.binds,
    unbinds: t.unbinds,
    bindErrors: t.bindErrors,
    invalidations: t.invalidations,
    jobsOffered: t.jobsOffered,
    allocFailures: t.allocFailures,
    hostileRequests: t.hostileRequests,
    atsTrustBreaches: t.atsTrustBreaches,
    staleByKernel: t.staleByKernel,
  };
}

function seriesInOrder(s: ReportSeries): ReportSeries {
  return {
    intervalNs: s.intervalNs,
    tNs: s.tNs,
    requests: s.requests,
    jobs: s.jobs,
    prqOccupancy: s.prqOccupancy,
    prqOccupancyMax: s.prqOccupancyMax,
  };
}
