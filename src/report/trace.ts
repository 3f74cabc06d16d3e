/**
 * Chrome trace-event JSON (`--trace FILE`) of a bounded window of simulated time, the format
 * Perfetto and chrome://tracing open. Every latency span recorded in the window becomes an
 * async slice on the track of its kind (spans of one kind overlap — many translations are in
 * flight at once — which async slices allow and complete events on one thread do not); PRQ
 * occupancy samples become a counter track. Timestamps are simulated time: the format counts
 * microseconds, so 1 ns is 0.001.
 *
 * Not here: per-device tracks (spans are recorded by kind, not by device) and flow arrows
 * between a page request and its response.
 */

import { writeFile } from 'node:fs/promises';
import { LATENCY_KINDS } from '../metrics/kinds.js';
import type { Report, TraceRecord } from './types.js';

/** One event of the trace-event format (the fields this writer uses). */
export interface TraceEvent {
  name: string;
  ph: 'b' | 'e' | 'C' | 'M';
  pid: number;
  tid?: number;
  ts?: number;
  cat?: string;
  id?: number;
  args?: Record<string, unknown>;
}

const PID = 1;

/** Builds the trace-event document of `records` (a report's `trace`). */
export function toTraceEvents(
  report: Pick<Report, 'scenario' | 'seed'>,
  records: readonly TraceRecord[],
): {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns';
  otherData: Record<string, unknown>;
} {
  const ev: TraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: PID, args: { name: `svasim: ${report.scenario.name}` } },
  ];
  LATENCY_KINDS.forEach((kind, i) => {
    ev.push({ name: 'thread_name', ph: 'M', pid: PID, tid: i + 1, args: { name: kind } });
  });
  let id = 0;
  const sorted = [...records].sort((a, b) => a.startNs - b.startNs);
  for (const r of sorted) {
    if (r.kind === 'prq') {
      ev.push({
        name: 'PRQ occupancy',
        ph: 'C',
        pid: PID,
        ts: r.startNs / 1000,
        args: { entries: r.value ?? 0 },
      });
      continue;
    }
    const tid = LATENCY_KINDS.indexOf(r.kind) + 1;
    id++;
    const common = { name: r.kind, cat: r.kind, pid: PID, tid, id };
    ev.push({ ...common, ph: 'b', ts: r.startNs / 1000, args: { ns: r.durNs } });
    ev.push({ ...common, ph: 'e', ts: (r.startNs + r.durNs) / 1000 });
  }
  const first = sorted[0]?.startNs ?? 0;
  const last = sorted.reduce((m, r) => Math.max(m, r.startNs + r.durNs), first);
  return {
    traceEvents: ev,
    displayTimeUnit: 'ns',
    otherData: {
      producer: 'svasim',
      scenario: report.scenario.name,
      seed: report.seed,
      timeBase: 'simulated time (1 µs of trace time = 1 µs simulated)',
      windowNs: [first, last],
    },
  };
}

/** Writes the trace of `report` (which must carry `trace`) to `file`. */
export async function writeTrace(file: string, report: Report): Promise<void> {
  if (!report.trace) throw new Error('the report has no trace window: run it with a trace');
  await writeFile(file, `${JSON.stringify(toTraceEvents(report, report.trace))}\n`);
}
