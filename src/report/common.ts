/**
 * Figures every report output derives the same way from a run's `Report` (DESIGN §5, §7):
 * the request count of the benchmarks, rates per simulated and per wall second, the slowdown,
 * hit rates, the kinds that recorded something, and HTML/ANSI-free text helpers.
 *
 * Nothing here measures or estimates: every figure is arithmetic on the report's own fields.
 * Not here: layout of any particular output (terminal, JSON, HdrHistogram log, HTML).
 */

import type { CounterTotals } from '../metrics/counters.js';
import { LATENCY_KINDS, type LatencyKind } from '../metrics/kinds.js';
import { formatNs } from '../scenario/units.js';
import type { Report } from './types.js';

/** Requests as the benchmarks count them: ATS translation requests plus page requests. */
export function requestsOf(t: CounterTotals): number {
  return t.translations + t.pageRequests;
}

/** `n` per second of a span of `ns`; 0 when the span is empty. */
export function perSecond(n: number, ns: number): number {
  return ns > 0 ? n / (ns / 1e9) : 0;
}

/** Wall time over simulated time (how many times slower than the modelled machine); NaN if none simulated. */
/** The measurement window of a report, ns (older reports: the whole simulated time). */
export function windowOf(r: Report): number {
  return r.windowNs ?? r.simulatedNs;
}

/** Wall time of the window, ns (older reports: the whole run's). */
export function windowWallOf(r: Report): number {
  return (r.windowWallMs ?? r.wallMs) * 1e6;
}

/** The window, warm-up and drain in words, e.g. `window 2ms (drain 9.9ms, 11.9ms simulated)`. */
export function windowText(r: Report): string {
  const parts: string[] = [];
  if (r.warmupNs) parts.push(`after ${formatNs(r.warmupNs)} of warm-up`);
  if (r.drainNs !== undefined) parts.push(`drain ${formatNs(r.drainNs)}`);
  parts.push(`${formatNs(r.simulatedNs)} simulated`);
  return `window ${formatNs(windowOf(r))} (${parts.join(', ')})`;
}

export function slowdownOf(r: Report): number {
  return r.simulatedNs > 0 ? (r.wallMs * 1e6) / r.simulatedNs : Number.NaN;
}

/** `hits / (hits + misses)` as a fraction, or NaN when there was no lookup. */
export function hitRate(hits: number, misses: number): number {
  const n = hits + misses;
  return n > 0 ? hits / n : Number.NaN;
}

/** A fraction as a percentage with one decimal (`'97.3%'`), `'-'` for NaN. */
export function formatPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(100 * fraction).toFixed(1)}%` : '-';
}

/** The latency kinds of the report that recorded at least one value, in kind order. */
export function kindsWithData(r: Report): LatencyKind[] {
  return LATENCY_KINDS.filter((k) => r.latency[k].count > 0);
}

/** Number of threads as `1 thread` / `2 threads`. */
export function threadsText(n: number): string {
  return `${n} thread${n === 1 ? '' : 's'}`;
}

/**
 * The lines saying a threaded run failed and what its figures are (none for a run that did
 * not fail): the first failure, and which partitions' figures are missing (DESIGN §3: the
 * engine's partition counts the VT-d units and the kernel layer, the accelerators' partitions
 * the device TLBs and the jobs).
 */
export function runFailureLines(r: Report): string[] {
  const f = r.failure;
  if (!f) return [];
  const lines = [`FAILED: ${f.who} ${f.cause}`];
  const missing = r.missingPartitions ?? [];
  const reported = f.ended.flatMap((_, p) => (missing.includes(p) ? [] : [p]));
  const counted =
    reported.length === 1
      ? `what partition ${reported[0]} counted until it stopped`
      : `what partitions ${reported.join(', ')} counted until they stopped`;
  const none = `${missing.length === 1 ? 'partition' : 'partitions'} ${missing.join(', ')}`;
  if (missing.includes(0)) {
    lines.push(
      `partial: ${none} reported nothing: the engine's VT-d, kernel and invariant figures are missing (shown as "missing", not zero); the rest is ${counted}`,
    );
  } else if (missing.length > 0) {
    lines.push(
      `partial: ${none} reported nothing: the jobs, device TLB and latency figures of their accelerators are missing; the rest is ${counted}`,
    );
  } else lines.push(`partial: the figures are ${counted}`);
  return lines;
}

/** Words of a failed run for the headline: `partition 1 failed`, `partition 0 (engine) died`. */
export function failureHeadline(f: NonNullable<Report['failure']>): string {
  if (f.partition === -1) return 'aborted by the caller';
  if (f.partition < 0) return 'a worker failed';
  const p = f.partition === 0 ? 'partition 0 (engine)' : `partition ${f.partition}`;
  return `${p} ${f.exitCode !== undefined ? 'died' : 'failed'}`;
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
