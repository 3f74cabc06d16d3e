/**
 * The terminal summary of a run (DESIGN §5 "Terminal"): the run line, throughput per
 * simulated and per wall second, hit rates, page requests by outcome, PRQ overflows, stop
 * markers, fault records, binds, invalidations, latency percentiles per kind in modelled time,
 * what failed inside the run (binds, allocations: the first few logged, when any did), the
 * invariants, and optionally the scenario's thresholds.
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
  failureHeadline,
  formatPercent,
  hitRate,
  perSecond,
  requestsOf,
  runFailureLines,
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
 * and waiting for the others, and the waiting share of its wall time; in a failed run also how
 * each ended, with a row for each thread that reported nothing.
 */
function threadRows(r: Report, stats: readonly ThreadStat[]): string[][] {
  const ended = r.failure?.ended;
  const rows = [['threads', 'accelerators', 'quanta', 'work', 'waiting', 'waiting share']];
  if (ended) rows[0]!.push('ended');
  const label = (p: number): string => (p === 0 ? '  0 (engine)' : `  ${p}`);
  const partitions = ended ? ended.map((_, p) => p) : stats.map((s) => s.partition);
  for (const p of partitions) {
    const s = stats.find((x) => x.partition === p);
    if (!s) {
      const accelerators = r.placement?.filter((x) => x === p).length;
      rows.push([label(p), accelerators === undefined ? '-' : String(accelerators)]);
      rows.at(-1)!.push('missing', '-', '-', '-', ended?.[p] ?? '');
      continue;
    }
    const wall = s.workMs + s.waitMs;
    rows.push([
      label(p),
      String(s.accelerators),
      String(s.quanta),
      formatNs(s.workMs * 1e6),
      formatNs(s.waitMs * 1e6),
      formatPercent(wall > 0 ? s.waitMs / wall : 0),
      ...(ended ? [ended[p] ?? ''] : []),
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
      `svasim run "${r.scenario.name}": ${r.runtime} runtime${r.runtimeChoice ? ` (${r.runtimeChoice})` : ''}, ${threadsText(r.threads)}${r.failure ? `, ${failureHeadline(r.failure)}` : ''}, seed ${r.seed}, profile ${r.profile}`,
      'bold',
    ),
  );
  lines.push(
    `  ${windowText(r)} in ${formatNs(r.wallMs * 1e6)} wall: slowdown ${
      Number.isFinite(slowdown) ? `${slowdown.toPrecision(3)}x` : '-'
    }, ${formatRate(r.eventsPerWallSecond).replace('/s', ' events/s')}`,
  );
  lines.push(...runFailureLines(r).map((x) => paint(`  ${x}`, 'bad')));
  lines.push('');

  if (r.drain && r.drainNs !== undefined && r.drainNs > 0) {
    lines.push(
      `  the drain (clients finish, unbind, exit) is simulated, not measured: ${r.drain.jobs} jobs and ${r.drain.requests} requests finished in it`,
    );
    lines.push('');
  }

  if ((r.threadStats && r.threadStats.length > 0) || r.failure) {
    lines.push(...table(threadRows(r, r.threadStats ?? [])));
    lines.push('');
  }

  // Without the engine's report the engine's counters are absent, not zero.
  const engineMissing = r.missingPartitions?.includes(0) === true;
  const eng = (cells: readonly Cell[]): Cell[] =>
    engineMissing ? [cells[0]!, ...cells.slice(1).map((): Cell => 'missing')] : [...cells];

  const requests = requestsOf(t);
  lines.push(
    ...table([
      ['throughput', 'total', 'per simulated s', 'per wall s'],
      eng([
        '  requests',
        String(requests),
        formatRate(perSecond(requests, ns)),
        formatRate(perSecond(requests, wallNs)),
      ]),
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
      eng([
        '  DMA bytes',
        formatBytes(t.dmaBytes),
        `${formatBytes(perSecond(t.dmaBytes, ns))}/s`,
        `${formatBytes(perSecond(t.dmaBytes, wallNs))}/s`,
      ]),
    ]),
  );
  lines.push('');

  lines.push(
    ...table([
      ['hit rates', 'rate', 'hits', 'lookups'],
      eng([
        '  IOTLB',
        formatPercent(hitRate(t.iotlbHits, t.iotlbMisses)),
        String(t.iotlbHits),
        String(t.iotlbHits + t.iotlbMisses),
      ]),
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
  // every event below is counted on the engine's partition, but for the jobs that failed and
  // the hostile requests (counted by the devices)
  const deviceSide = new Set(['  jobs failed', '  hostile requests']);
  const engineSide = (rows: Cell[][]): Cell[][] =>
    rows.map((row, i) => (i === 0 || deviceSide.has(row[0] as string) ? row : eng(row)));
  lines.push(
    ...table(
      engineSide([
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
        ['  bind errors', counted(t.bindErrors)],
        ...(t.allocFailures > 0 ? [['  alloc failures', counted(t.allocFailures)] as Cell[]] : []),
        ['  invalidations', String(t.invalidations)],
        // hostile accelerators (scenario adversary): what they sent, what the ATS trust gap let through
        ...(t.hostileRequests > 0
          ? [['  hostile requests', String(t.hostileRequests)] as Cell[]]
          : []),
        ...(t.atsTrustBreaches > 0
          ? [['  ATS trust breaches', counted(t.atsTrustBreaches)] as Cell[]]
          : []),
        // DMA through translations the kernel's own flushes left stale (v5.8 bugs, not violations)
        ...(t.staleByKernel > 0
          ? [['  kernel-stale DMA', counted(t.staleByKernel)] as Cell[]]
          : []),
      ]),
    ),
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
  if (engineMissing) {
    lines.push(
      "  the walks, PRQ service and unbind drains are timed on the engine's partition: missing",
    );
  }
  lines.push('');

  const f = r.failures;
  if (f !== undefined && f.count > 0) {
    lines.push(...failureLines(f, paint));
    lines.push('');
  }

  const v = r.invariants.violations;
  const found =
    v.length === 0
      ? paint('no violations', 'good')
      : paint(`${v.length} violation${v.length === 1 ? '' : 's'}`, 'bad');
  lines.push(
    engineMissing
      ? `${paint('invariants', 'bold')}: not checked (the engine's partition, which checks them, reported nothing); ${found} from the other partitions`
      : `${paint('invariants', 'bold')}: ${r.invariants.checked} checked, ${found}`,
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

/** Failure records the summary lists (the JSON keeps more). */
const FAILURES_SHOWN = 5;

/**
 * The failures of the run: how many of each kind and code, then the first few with their
 * simulated time, who (client, process, device) and the message.
 */
function failureLines(
  f: NonNullable<Report['failures']>,
  paint: (text: string, style: Style | undefined) => string,
): string[] {
  const causes = f.causes.map((c) => `${c.count} ${c.kind} ${c.code}`).join(', ');
  const lines = [
    `${paint('failures', 'bold')} in the run (warm-up, window and drain): ${paint(String(f.count), 'bad')} (${causes})`,
  ];
  const shown = f.first.slice(0, FAILURES_SHOWN);
  const times = shown.map((x) => formatNs(x.tNs));
  const width = Math.max(...times.map((t) => t.length));
  for (const [i, x] of shown.entries()) {
    const who = [
      x.client !== undefined ? `client ${x.client}` : '',
      x.pid !== undefined ? `pid ${x.pid}` : '',
      x.rid !== undefined ? `rid ${x.rid.toString(16).padStart(4, '0')}` : '',
      x.pasid !== undefined ? `PASID ${x.pasid}` : '',
    ].filter((w) => w !== '');
    lines.push(
      `  ${times[i]!.padStart(width)}  ${x.kind} ${x.code} (${who.join(', ')}): ${x.message}`,
    );
  }
  if (f.count > shown.length) {
    lines.push(
      `  and ${f.count - shown.length} more ${
        f.first.length < f.count
          ? `(the JSON report keeps the first ${f.first.length})`
          : 'in the JSON report'
      }`,
    );
  }
  return lines;
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
