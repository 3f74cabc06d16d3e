/**
 * The terminal summary of a run: throughput, hit rates, page requests by outcome, overflows,
 * fault records, and latency percentiles per kind in modelled time.
 */

import { LATENCY_KINDS } from '../metrics/kinds.js';
import { formatBytes, formatNs } from '../scenario/units.js';
import type { Report } from '../sim/runner.js';

function pct(a: number, b: number): string {
  return b > 0 ? `${((100 * a) / b).toFixed(1)} %` : '–';
}

function perSec(n: number, ns: number): string {
  const v = ns > 0 ? n / (ns / 1e9) : 0;
  return v >= 1e6
    ? `${(v / 1e6).toFixed(2)} M/s`
    : v >= 1e3
      ? `${(v / 1e3).toFixed(1)} k/s`
      : `${v.toFixed(0)} /s`;
}

/** Formats a report as the terminal summary. */
export function formatSummary(r: Report): string {
  const t = r.totals;
  const ns = r.simulatedNs;
  const lines: string[] = [];
  lines.push(
    `svasim ${r.scenario.name} — profile ${r.profile}, seed ${r.seed}, ${r.runtime} runtime`,
  );
  lines.push(
    `simulated ${formatNs(ns)} in ${(r.wallMs / 1000).toFixed(2)} s wall (${(r.eventsPerWallSecond / 1e6).toFixed(2)} M events/s)`,
  );
  lines.push('');
  const rows: [string, string][] = [
    ['jobs', `${t.jobs} (${perSec(t.jobs, ns)}), ${t.jobsFailed} failed`],
    [
      'DMA',
      `${formatBytes(t.dmaBytes)} (${perSec(t.dmaBytes, ns).replace('/s', 'B/s')}), ${t.dmaErrors} errors`,
    ],
    [
      'translations',
      `${t.translations} (${perSec(t.translations, ns)}), IOTLB hit rate ${pct(t.iotlbHits, t.iotlbHits + t.iotlbMisses)}, ${t.walks} walks`,
    ],
    ['device TLB', `hit rate ${pct(t.devtlbHits, t.devtlbHits + t.devtlbMisses)}`],
    [
      'page requests',
      `${t.pageRequests}: kernel answered ${t.pageResponses.success} success / ${t.pageResponses.invalid} invalid / ${t.pageResponses.failure} failure, hardware ${t.autoResponses}`,
    ],
    ['PRQ overflows', String(t.prqOverflows)],
    ['fault records', String(t.faultRecords)],
    ['binds', `${t.binds} binds, ${t.unbinds} unbinds, ${t.bindErrors} errors`],
    ['invalidations', String(t.invalidations)],
  ];
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(15)} ${v}`);
  lines.push('');
  lines.push(
    `  ${'latency'.padEnd(15)} ${'count'.padStart(8)} ${'p50'.padStart(9)} ${'p90'.padStart(9)} ${'p99'.padStart(9)} ${'p99.9'.padStart(9)} ${'max'.padStart(9)}`,
  );
  for (const k of LATENCY_KINDS) {
    const s = r.latency[k];
    if (s.count === 0) continue;
    lines.push(
      `  ${k.padEnd(15)} ${String(s.count).padStart(8)} ${formatNs(s.p50).padStart(9)} ${formatNs(s.p90).padStart(9)} ${formatNs(s.p99).padStart(9)} ${formatNs(s.p999).padStart(9)} ${formatNs(s.max).padStart(9)}`,
    );
  }
  lines.push('');
  const v = r.invariants.violations;
  lines.push(
    `invariants: ${r.invariants.checked} checks, ${v.length === 0 ? 'no violation' : `${v.length} violations`}`,
  );
  for (const x of v.slice(0, 10)) lines.push(`  ${x.what}: ${x.detail}`);
  return lines.join('\n');
}
