/**
 * The terminal summary of a run (DESIGN §5 "Terminal"): the run line, throughput per
 * simulated and per wall second, hit rates, page requests by outcome, PRQ overflows, stop
 * markers, fault records, binds, invalidations, latency percentiles per kind in modelled time,
 * the invariants, and optionally the scenario's thresholds.
 *
 * Plain text in aligned columns; the only non-ASCII character that can appear is in names the
 * user chose (the scenario name). ANSI colour only when asked for (`color: true`); deciding
 * whether the terminal wants it (isatty, NO_COLOR) is the caller's business. Not here:
 * checking thresholds (the caller passes the results in), the progress bar.
 */

import { styleText } from 'node:util';
import { COUNTER_NAMES } from '../metrics/counters.js';
import { LATENCY_KINDS } from '../metrics/kinds.js';
import { formatBytes, formatNs, formatRate } from '../scenario/units.js';
import {
  formatPercent,
  hitRate,
  perSecond,
  requestsOf,
  slowdownOf,
  threadsText,
  windowOf,
  windowText,
  windowWallOf,
} from './common.js';
import type { Report, ThreadStat } from './types.js';

/** One threshold of the scenario, checked by the caller: `key` is `<kind>.<stat>`, limit and actual in ns. */
export interface ThresholdResult {
  readonly key: string;
  /** `<=` an upper bound (the default), `>=` a lower one. */
  readonly op?: '<=' | '>=';
  readonly limit: number;
  readonly actual: number;
  readonly ok: boolean;
}

/** Options of `formatSummary`. */
export interface SummaryOptions {
  /** Emphasise headers and colour verdicts (Node's util.styleText; default false). */
  readonly color?: boolean;
  /** Threshold results to list after the invariants (section omitted when absent). */
  readonly thresholds?: readonly ThresholdResult[];
}

type Style = 'bold' | 'good' | 'bad';

const COUNTERS: ReadonlySet<string> = new Set(COUNTER_NAMES);

/**
 * Node's styles for each of ours: util.styleText writes the escapes; the caller has already
 * decided colour for the stream the text goes to (`validateStream: false`).
 */
const STYLE: Record<Style, 'bold' | 'green' | 'red'> = { bold: 'bold', good: 'green', bad: 'red' };

/** A table cell: text, optionally styled (styles are applied after padding). */
type Cell = string | readonly [string, Style];

/**
 * The threads table of a threaded run: each thread's accelerators, quanta, wall time working
 * and waiting for the others, and the waiting share of its wall time.
 */
function threadRows(stats: readonly ThreadStat[]): string[][] {
  const rows = [['threads', 'accelerators', 'quanta', 'work', 'waiting', 'waiting share']];
  for (const s of stats) {
    const wall = s.workMs + s.waitMs;
    rows.push([
      s.partition === 0 ? '  0 (engine)' : `  ${s.partition}`,
      String(s.accelerators),
      String(s.quanta),
      formatNs(s.workMs * 1e6),
      formatNs(s.waitMs * 1e6),
      formatPercent(wall > 0 ? s.waitMs / wall : 0),
    ]);
  }
  return rows;
}

/** Formats a report as the terminal summary (several lines, no trailing newline). */
export function formatSummary(r: Report, options: SummaryOptions = {}): string {
  const color = options.color === true;
  const paint = (text: string, style: Style | undefined): string =>
    color && style !== undefined ? styleText(STYLE[style], text, { validateStream: false }) : text;

  /** Left-aligns the first column and right-aligns the others; the first row is a header. */
  const table = (rows: readonly (readonly Cell[])[], headerStyle: Style = 'bold'): string[] => {
    const widths: number[] = [];
    for (const row of rows) {
      row.forEach((c, i) => {
        widths[i] = Math.max(widths[i] ?? 0, textOf(c).length);
      });
    }
    return rows.map((row, ri) =>
      row
        .map((c, i) => {
          const text = textOf(c);
          const w = widths[i] ?? 0;
          const padded = i === 0 ? text.padEnd(w) : text.padStart(w);
          const style = ri === 0 && i === 0 ? headerStyle : styleOf(c);
          return paint(padded, style);
        })
        .join('   ')
        .trimEnd(),
    );
  };

  const t = r.totals;
  // rates: what completed in the window, over the window's simulated and wall time
  const ns = windowOf(r);
  const wallNs = windowWallOf(r);
  const lines: string[] = [];

  const slowdown = slowdownOf(r);
  lines.push(
    paint(
      `svasim run "${r.scenario.name}": ${r.runtime} runtime${r.runtimeChoice ? ` (${r.runtimeChoice})` : ''}, ${threadsText(r.threads)}, seed ${r.seed}, profile ${r.profile}`,
      'bold',
    ),
  );
  lines.push(
    `  ${windowText(r)} in ${formatNs(r.wallMs * 1e6)} wall: slowdown ${
      Number.isFinite(slowdown) ? `${slowdown.toPrecision(3)}x` : '-'
    }, ${formatRate(r.eventsPerWallSecond).replace('/s', ' events/s')}`,
  );
  lines.push('');

  if (r.drain && r.drainNs !== undefined && r.drainNs > 0) {
    lines.push(
      `  the drain (clients finish, unbind, exit) is simulated, not measured: ${r.drain.jobs} jobs and ${r.drain.requests} requests finished in it`,
    );
    lines.push('');
  }

  if (r.threadStats && r.threadStats.length > 0) {
    lines.push(...table(threadRows(r.threadStats)));
    lines.push('');
  }

  const requests = requestsOf(t);
  lines.push(
    ...table([
      ['throughput', 'total', 'per simulated s', 'per wall s'],
      [
        '  requests',
        String(requests),
        formatRate(perSecond(requests, ns)),
        formatRate(perSecond(requests, wallNs)),
      ],
      [
        '  jobs',
        String(t.jobs),
        formatRate(perSecond(t.jobs, ns)),
        formatRate(perSecond(t.jobs, wallNs)),
      ],
      // open loop: what the schedule offered beside what completed (the achieved rate), and
      // what was still waiting when the window closed
      ...(t.jobsOffered > 0
        ? [
            [
              '  jobs offered',
              String(t.jobsOffered),
              formatRate(perSecond(t.jobsOffered, ns)),
              formatRate(perSecond(t.jobsOffered, wallNs)),
            ],
            ['  backlog at the end', String(r.backlog ?? 0), '', ''],
          ]
        : []),
      [
        '  DMA bytes',
        formatBytes(t.dmaBytes),
        `${formatBytes(perSecond(t.dmaBytes, ns))}/s`,
        `${formatBytes(perSecond(t.dmaBytes, wallNs))}/s`,
      ],
    ]),
  );
  lines.push('');

  lines.push(
    ...table([
      ['hit rates', 'rate', 'hits', 'lookups'],
      [
        '  IOTLB',
        formatPercent(hitRate(t.iotlbHits, t.iotlbMisses)),
        String(t.iotlbHits),
        String(t.iotlbHits + t.iotlbMisses),
      ],
      [
        '  device TLB',
        formatPercent(hitRate(t.devtlbHits, t.devtlbMisses)),
        String(t.devtlbHits),
        String(t.devtlbHits + t.devtlbMisses),
      ],
    ]),
  );
  lines.push('');

  const counted = (n: number): Cell => (n > 0 ? [String(n), 'bad'] : String(n));
  lines.push(
    ...table([
      ['events', 'count'],
      ['  translations', String(t.translations)],
      ['  page walks', String(t.walks)],
      ['  page requests', String(t.pageRequests)],
      ['    success', String(t.pageResponses.success)],
      ['    invalid', String(t.pageResponses.invalid)],
      ['    failure', String(t.pageResponses.failure)],
      ['    auto-responses', String(t.autoResponses)],
      ['  PRQ overflows', counted(t.prqOverflows)],
      ['  stop markers', String(t.stopMarkers)],
      ['  fault records', String(t.faultRecords)],
      ['  jobs failed', String(t.jobsFailed)],
      ['  DMA errors', String(t.dmaErrors)],
      ['  binds', String(t.binds)],
      ['  unbinds', String(t.unbinds)],
      ['  bind errors', String(t.bindErrors)],
      ['  invalidations', String(t.invalidations)],
      // hostile accelerators (scenario adversary): what they sent, what the ATS trust gap let through
      ...(t.hostileRequests > 0 ? [['  hostile requests', String(t.hostileRequests)]] : []),
      ...(t.atsTrustBreaches > 0 ? [['  ATS trust breaches', counted(t.atsTrustBreaches)]] : []),
    ]),
  );
  lines.push('');

  const latencyRows: Cell[][] = [
    ['latency (modelled)', 'count', 'min', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'max'],
  ];
  for (const k of LATENCY_KINDS) {
    const s = r.latency[k];
    if (s.count === 0) continue;
    latencyRows.push([
      `  ${k}`,
      String(s.count),
      ...[s.min, s.mean, s.p50, s.p90, s.p99, s.p999, s.max].map(formatNs),
    ]);
  }
  if (latencyRows.length === 1) lines.push(paint('latency: no value recorded', 'bold'));
  else {
    lines.push(...table(latencyRows));
    if (r.latency['job.latency'].count > 0) {
      lines.push(
        'openLoop' in r.scenario.workload.arrival
          ? "  job.latency runs from each job's scheduled arrival: waiting for the work queue counts"
          : '  job.latency runs from submission (closed loop: the service time)',
      );
    }
  }
  lines.push('');

  const v = r.invariants.violations;
  lines.push(
    `${paint('invariants', 'bold')}: ${r.invariants.checked} checked, ${
      v.length === 0
        ? paint('no violations', 'good')
        : paint(`${v.length} violation${v.length === 1 ? '' : 's'}`, 'bad')
    }`,
  );
  for (const x of v) lines.push(`  ${paint(x.what, 'bad')}: ${x.detail}`);

  const th = options.thresholds;
  if (th !== undefined) {
    lines.push('');
    if (th.length === 0) lines.push(`${paint('thresholds', 'bold')}: none set`);
    else {
      lines.push(
        ...table([
          ['thresholds', 'limit', 'actual', ''],
          ...th.map((x): Cell[] => [
            `  ${x.key}`,
            `${x.op ?? '<='} ${thresholdValue(x.key, x.limit)}`,
            thresholdValue(x.key, x.actual),
            x.ok ? ['ok', 'good'] : ['MISSED', 'bad'],
          ]),
        ]),
      );
    }
  }
  return lines.join('\n');
}

/** A threshold's value in its own unit: a count, a fraction, a rate or a time. */
function thresholdValue(key: string, v: number): string {
  if (COUNTERS.has(key)) return String(v);
  if (key.endsWith('.hitRate')) return formatPercent(v);
  if (key.endsWith('.perSecond')) return formatRate(v);
  return formatNs(v);
}

function textOf(c: Cell): string {
  return typeof c === 'string' ? c : c[0];
}

function styleOf(c: Cell): Style | undefined {
  return typeof c === 'string' ? undefined : c[1];
}
