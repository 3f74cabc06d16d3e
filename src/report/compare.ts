/**
 * `svasim compare A.json B.json [...]`: two or more run reports (`svasim run --json`
 * documents, or point reports of a sweep) side by side — the totals (window, requests, jobs,
 * their rates, every counter that is not the same in all of them) and the latency summaries
 * of every kind that recorded anything, each figure with its relative difference against the
 * first report (`+12.3 %`).
 *
 * Reads the reports as they are: the figures compared are the reports' own (latency summaries
 * as the run computed them from its histograms). Not here: merging replicates
 * (sweep-merge.ts), the HTML page (compare-html.ts).
 */

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { codedError } from '../errors.js';
import { COUNTER_NAMES, counterOf } from '../metrics/counters.js';
import { LATENCY_KINDS, type LatencyKind } from '../metrics/kinds.js';
import { formatNs, formatRate } from '../scenario/units.js';
import { perSecond, requestsOf } from './common.js';
import type { JsonReport } from './json.js';
import type { SweepPoint } from './sweep-folder.js';
import { paramsLabel } from './sweep-merge.js';
import { type Cell, paint, textTable } from './sweep-text.js';

/** A report read for comparing: where it came from, its label, the document. */
export interface ComparedReport {
  readonly file: string;
  readonly label: string;
  readonly report: JsonReport & { readonly point?: SweepPoint };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const WHAT =
  'give reports `svasim run --json FILE` wrote, or point reports of a sweep (DIR/points/<index>.json)';

/**
 * Reads one run report. Throws `ENOENT` (no such file), `EISDIR`, `EACCES`, or `EINVAL` for
 * a file that is not JSON or not a run report, saying what to give instead.
 */
export function readRunReport(file: string): ComparedReport['report'] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw codedError('ENOENT', `cannot read ${file}: no such file`);
    if (code === 'EISDIR') throw codedError('EISDIR', `${file} is a folder; ${WHAT}`);
    if (code === 'EACCES') throw codedError('EACCES', `cannot read ${file}: permission denied`);
    throw e;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw codedError('EINVAL', `${file}: not JSON (${(e as Error).message}); ${WHAT}`);
  }
  if (isObject(doc) && doc.format === 'svasim-sweep') {
    throw codedError(
      'EINVAL',
      `${file} is a sweep manifest, not a run report: merge the sweep with \`svasim merge\`, or ${WHAT}`,
    );
  }
  if (isObject(doc) && doc.format === 'svasim-sweep-merge') {
    throw codedError(
      'EINVAL',
      `${file} is a merged sweep (\`svasim merge --json\`), not a run report; ${WHAT}`,
    );
  }
  const missing = !isObject(doc)
    ? 'the top level is not an object'
    : !isObject(doc.scenario) || typeof doc.scenario.name !== 'string'
      ? 'no scenario'
      : !isObject(doc.totals)
        ? 'no totals'
        : !isObject(doc.latency)
          ? 'no latency'
          : !isObject(doc.histograms)
            ? 'no histograms'
            : typeof doc.simulatedNs !== 'number'
              ? 'no simulatedNs'
              : undefined;
  if (missing !== undefined) {
    throw codedError('EINVAL', `${file}: not a svasim run report (${missing}); ${WHAT}`);
  }
  return doc as unknown as ComparedReport['report'];
}

function distinct(xs: readonly string[]): boolean {
  return new Set(xs).size === xs.length;
}

/**
 * Labels of the reports: the grid point and replicate of point reports of one sweep, else
 * `scenario/profile`, else the file's basename — the first of these that tells every report
 * apart — else the paths as given.
 */
export function reportLabels(
  files: readonly string[],
  reports: readonly ComparedReport['report'][],
): string[] {
  if (reports.every((r) => r.point !== undefined)) {
    const labels = reports.map((r) => {
      const p = r.point!;
      const params = paramsLabel(p.params, Object.keys(p.params));
      return `${params}${params ? ' ' : ''}#${p.replicate}`;
    });
    if (distinct(labels)) return labels;
  }
  const sp = reports.map((r) => `${r.scenario.name}/${r.profile}`);
  if (distinct(sp)) return sp;
  const base = files.map((f) => basename(f));
  if (distinct(base)) return base;
  return [...files];
}

/** Reads every file and labels the reports. */
export function readCompared(files: readonly string[]): ComparedReport[] {
  const reports = files.map(readRunReport);
  const labels = reportLabels(files, reports);
  return reports.map((report, i) => ({ file: files[i]!, label: labels[i]!, report }));
}

/**
 * `x` against `base` as a relative difference with one decimal: `+12.3 %`, `-4.0 %`; `=`
 * when equal, `from 0` when the first is 0 and `x` is not.
 */
export function relativeDifference(base: number, x: number): string {
  if (x === base) return '=';
  if (base === 0) return 'from 0';
  const d = (100 * (x - base)) / Math.abs(base);
  return `${d >= 0 ? '+' : '-'}${Math.abs(d).toFixed(1)} %`;
}

/** The window of a report, ns (older reports: the whole simulated time). */
function windowNs(r: JsonReport): number {
  return r.windowNs ?? r.simulatedNs;
}

/** One compared row: a name, the value of each report, how to print a value. */
export interface CompareRow {
  readonly name: string;
  readonly values: readonly number[];
  readonly text: (v: number) => string;
}

function rowCells(row: CompareRow): Cell[] {
  const base = row.values[0]!;
  return [
    `  ${row.name}`,
    row.text(base),
    ...row.values.slice(1).map((v) => {
      const d = relativeDifference(base, v);
      return `${row.text(v)} (${d})`;
    }),
  ];
}

/** Latency statistics compared, in the run summary's order. */
const STATS = ['count', 'min', 'mean', 'p50', 'p90', 'p99', 'p999', 'max'] as const;

/** The rows of the totals: window, requests, jobs, their rates, the counters that differ. */
export function totalsRows(list: readonly ComparedReport[]): CompareRow[] {
  const rs = list.map((c) => c.report);
  const n = String;
  const rows: CompareRow[] = [
    { name: 'window', values: rs.map(windowNs), text: formatNs },
    { name: 'requests', values: rs.map((r) => requestsOf(r.totals)), text: n },
    { name: 'jobs', values: rs.map((r) => r.totals.jobs), text: n },
    {
      name: 'requests per simulated s',
      values: rs.map((r) => perSecond(requestsOf(r.totals), windowNs(r))),
      text: formatRate,
    },
    {
      name: 'jobs per simulated s',
      values: rs.map((r) => perSecond(r.totals.jobs, windowNs(r))),
      text: formatRate,
    },
  ];
  for (const name of COUNTER_NAMES) {
    if (name === 'jobs') continue;
    const values = rs.map((r) => counterOf(r.totals, name));
    if (values.some((v) => v !== values[0])) rows.push({ name, values, text: n });
  }
  return rows;
}

/** The latency kinds that recorded something in at least one report, in kind order. */
export function comparedKinds(list: readonly ComparedReport[]): LatencyKind[] {
  return LATENCY_KINDS.filter((k) => list.some((c) => (c.report.latency[k]?.count ?? 0) > 0));
}

/** The rows of one latency kind: count, min, mean, p50 … max. */
export function latencyRows(list: readonly ComparedReport[], kind: LatencyKind): CompareRow[] {
  return STATS.map((s) => ({
    name: s === 'p999' ? 'p99.9' : s,
    values: list.map((c) => c.report.latency[kind]?.[s] ?? 0),
    text: s === 'count' ? String : formatNs,
  }));
}

/** Options of `formatCompare`. */
export interface CompareOptions {
  readonly color?: boolean;
}

/** The reports side by side as terminal text, differences against the first. */
export function formatCompare(
  list: readonly ComparedReport[],
  options: CompareOptions = {},
): string {
  const color = options.color === true;
  const lines = [
    paint(
      color,
      `svasim compare: ${list.length} reports; differences against the first (${list[0]!.label})`,
      'bold',
    ),
  ];
  const w = Math.max(...list.map((c) => c.label.length));
  for (const c of list) {
    const r = c.report;
    lines.push(
      `  ${c.label.padEnd(w)}   ${c.file}: scenario ${r.scenario.name}, profile ${r.profile}, seed ${r.seed}`,
    );
  }
  lines.push('');
  const head: Cell[] = ['totals', ...list.map((c) => c.label)];
  const totals = totalsRows(list);
  lines.push(...textTable([head, ...totals.map(rowCells)], color));
  if (totals.length === 5) lines.push('  every counter is the same in all reports');
  for (const kind of comparedKinds(list)) {
    lines.push('');
    lines.push(
      ...textTable(
        [
          [`${kind} (modelled)`, ...list.map((c) => c.label)],
          ...latencyRows(list, kind).map(rowCells),
        ],
        color,
      ),
    );
  }
  if (comparedKinds(list).length === 0) lines.push('', 'latency: no value recorded in any report');
  return lines.join('\n');
}
