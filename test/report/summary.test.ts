import { describe, expect, it } from 'vitest';
import { LATENCY_KINDS } from '../../src/metrics/kinds.js';
import { formatSummary } from '../../src/report/summary.js';
import type { Report, ThreadStat } from '../../src/report/types.js';
import { formatNs, formatRate } from '../../src/scenario/units.js';
import { exhaustedReport, smallReport } from './fixture.js';

const ZERO = { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };

/** The lines of the table whose header line starts with `header`, up to the next blank line. */
function section(text: string, header: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(header));
  expect(start, `section ${header}`).toBeGreaterThanOrEqual(0);
  const end = lines.indexOf('', start);
  return lines.slice(start, end < 0 ? undefined : end);
}

describe('formatSummary()', () => {
  it('states the run: scenario, runtime, threads, seed, simulated and wall time, slowdown, events/s', () => {
    const r = smallReport();
    const [first, second] = formatSummary(r).split('\n');
    expect(first).toBe(
      `svasim run "${r.scenario.name}": inline runtime, 1 thread, seed 1, profile ${r.profile}`,
    );
    expect(second).toContain(
      `window ${formatNs(r.windowNs!)} (drain ${formatNs(r.drainNs!)}, ${formatNs(r.simulatedNs)} simulated) in ${formatNs(r.wallMs * 1e6)} wall`,
    );
    expect(second).toContain(`slowdown ${((r.wallMs * 1e6) / r.simulatedNs).toPrecision(3)}x`);
    expect(second).toContain(`${formatRate(r.eventsPerWallSecond).replace('/s', '')} events/s`);
  });

  it('counts requests as translations plus page requests, per simulated and per wall second of the window', () => {
    const r = smallReport();
    const requests = r.totals.translations + r.totals.pageRequests;
    const row = section(formatSummary(r), 'throughput').find((l) => l.startsWith('  requests'));
    expect(row?.split(/\s+/).filter(Boolean)).toEqual([
      'requests',
      String(requests),
      formatRate(requests / (r.windowNs! / 1e9)),
      formatRate(requests / (r.windowWallMs! / 1e3)),
    ]);
  });

  it('lists hit rates, page requests by outcome, overflows, stop markers, faults, binds, invalidations', () => {
    const r = smallReport();
    const text = formatSummary(r);
    const t = r.totals;
    const value = (label: string) =>
      section(text, 'events')
        .find((l) => l.trimStart().startsWith(`${label} `))
        ?.trim()
        .split(/\s{2,}/)[1];
    expect(value('page requests')).toBe(String(t.pageRequests));
    expect(value('success')).toBe(String(t.pageResponses.success));
    expect(value('invalid')).toBe(String(t.pageResponses.invalid));
    expect(value('failure')).toBe(String(t.pageResponses.failure));
    expect(value('auto-responses')).toBe(String(t.autoResponses));
    expect(value('PRQ overflows')).toBe(String(t.prqOverflows));
    expect(value('stop markers')).toBe(String(t.stopMarkers));
    expect(value('fault records')).toBe(String(t.faultRecords));
    expect(value('binds')).toBe(String(t.binds));
    expect(value('unbinds')).toBe(String(t.unbinds));
    expect(value('bind errors')).toBe(String(t.bindErrors));
    expect(value('invalidations')).toBe(String(t.invalidations));
    const hits = section(text, 'hit rates');
    expect(hits[1]).toMatch(/^ {2}IOTLB\s+\d+\.\d%\s+\d+\s+\d+$/);
    expect(hits[2]).toMatch(/^ {2}device TLB\s+\d+\.\d%\s+\d+\s+\d+$/);
  });

  it('prints every percentile of every kind with data in readable units, in aligned columns', () => {
    const r = smallReport();
    const rows = section(formatSummary(r), 'latency');
    expect(rows[0]?.split(/\s+/)).toEqual([
      'latency',
      '(modelled)',
      'count',
      'min',
      'mean',
      'p50',
      'p90',
      'p99',
      'p99.9',
      'max',
    ]);
    const kinds = LATENCY_KINDS.filter((k) => r.latency[k].count > 0);
    // the table, then what job.latency runs from (closed loop here: the service time)
    expect(rows).toHaveLength(kinds.length + 2);
    expect(rows.at(-1)).toBe('  job.latency runs from submission (closed loop: the service time)');
    rows.pop();
    kinds.forEach((k, i) => {
      const s = r.latency[k];
      expect(rows[i + 1]?.trim().split(/\s+/)).toEqual([
        k,
        String(s.count),
        ...[s.min, s.mean, s.p50, s.p90, s.p99, s.p999, s.max].map(formatNs),
      ]);
    });
    // right-aligned columns: every row ends at the same column
    expect(new Set(rows.map((l) => l.length)).size).toBe(1);
  });

  it('skips kinds that recorded nothing', () => {
    const r = smallReport();
    const quiet: Report = { ...r, latency: { ...r.latency, 'inv.devtlb': ZERO } };
    const rows = section(formatSummary(quiet), 'latency');
    expect(rows.some((l) => l.includes('inv.devtlb'))).toBe(false);
    expect(rows.some((l) => l.includes('inv.iotlb'))).toBe(true);
  });

  it('is plain ASCII without colour, and wraps verdicts in ANSI escapes with colour', () => {
    const r = smallReport();
    const plain = formatSummary(r);
    expect([...plain].every((c) => c === '\n' || (c >= ' ' && c <= '~'))).toBe(true);
    const colored = formatSummary(r, { color: true });
    expect(colored).toContain('\x1b[32mno violations\x1b[39m');
    const ESC = String.fromCharCode(27);
    expect(colored.replaceAll(new RegExp(`${ESC}\\[\\d+m`, 'g'), '')).toBe(plain);
  });

  it('reports the invariants checked and lists every violation', () => {
    const r = smallReport();
    expect(formatSummary(r)).toContain(
      `invariants: ${r.invariants.checked} checked, no violations`,
    );
    const broken: Report = {
      ...r,
      invariants: {
        checked: 9,
        violations: [
          { what: 'frame-leak', detail: '12 frames in use at the end, expected 10' },
          { what: 'bonds', detail: '1 handles still bound at the end' },
        ],
      },
    };
    const lines = formatSummary(broken).split('\n');
    const at = lines.indexOf('invariants: 9 checked, 2 violations');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 3)).toEqual([
      '  frame-leak: 12 frames in use at the end, expected 10',
      '  bonds: 1 handles still bound at the end',
    ]);
  });

  it('lists thresholds with limit, actual and verdict only when given', () => {
    const r = smallReport();
    expect(formatSummary(r)).not.toContain('thresholds');
    const text = formatSummary(r, {
      thresholds: [
        { key: 'prq.service.p99', limit: 50_000, actual: 70_300, ok: false },
        { key: 'iommu.walk.max', op: '<=', limit: 10_000, actual: 2_000, ok: true },
        { key: 'jobs', op: '>=', limit: 100, actual: 120, ok: true },
        { key: 'iotlb.hitRate', op: '>=', limit: 0.9, actual: 0.5, ok: false },
        { key: 'jobs.perSecond', op: '>=', limit: 1e6, actual: 2.5e6, ok: true },
      ],
    });
    const rows = section(text, 'thresholds');
    // each in its unit: a time, a count, a percentage, a rate
    expect(rows.slice(1).map((l) => l.trim().split(/\s+/))).toEqual([
      ['prq.service.p99', '<=', '50us', '70.3us', 'MISSED'],
      ['iommu.walk.max', '<=', '10us', '2us', 'ok'],
      ['jobs', '>=', '100', '120', 'ok'],
      ['iotlb.hitRate', '>=', '90.0%', '50.0%', 'MISSED'],
      ['jobs.perSecond', '>=', '1M/s', '2.5M/s', 'ok'],
    ]);
  });

  it('shows the failure counters and the first failures when binds or allocations failed', () => {
    const r = exhaustedReport();
    const f = r.failures!;
    const text = formatSummary(r);
    const events = section(text, 'events');
    expect(
      events
        .find((l) => l.startsWith('  bind errors'))
        ?.split(/\s+/)
        .at(-1),
    ).toBe(String(r.totals.bindErrors));
    expect(
      events
        .find((l) => l.startsWith('  alloc failures'))
        ?.split(/\s+/)
        .at(-1),
    ).toBe(String(r.totals.allocFailures));
    const lines = section(text, 'failures');
    expect(lines[0]).toBe(
      `failures in the run (warm-up, window and drain): ${f.count} (${f.count} bind ENOSPC)`,
    );
    const x = f.first[0]!;
    expect(lines[1]).toMatch(
      new RegExp(
        `^ +${formatNs(x.tNs)}  bind ENOSPC \\(client ${x.client}, pid ${x.pid}, rid 0${x.rid!.toString(16)}\\): ENOSPC: PASID space \\[1, 3\\] exhausted`,
      ),
    );
    // this run's log holds all its failures; a longer one keeps only the first
    expect(f.first).toHaveLength(f.count);
    expect(f.count).toBeGreaterThan(5);
    expect(lines).toHaveLength(7);
    expect(lines[6]).toBe(`  and ${f.count - 5} more in the JSON report`);
    const long = section(formatSummary({ ...r, failures: { ...f, count: 1000 } }), 'failures');
    expect(long[0]).toMatch(/^failures in the run \(warm-up, window and drain\): 1000 /);
    expect(long[6]).toBe(`  and 995 more (the JSON report keeps the first ${f.first.length})`);
  });

  it('has no failure lines and no alloc failures row when nothing failed', () => {
    const text = formatSummary(smallReport());
    expect(text).not.toMatch(/^failures/m);
    expect(text).not.toMatch(/alloc failures/);
  });

  it('shows DMA through kernel-stale translations after the invalidations, only when there is some', () => {
    const r = smallReport();
    expect(r.totals.staleByKernel).toBe(0);
    expect(formatSummary(r)).not.toMatch(/kernel-stale/);
    const events = section(
      formatSummary({ ...r, totals: { ...r.totals, staleByKernel: 7 } }),
      'events',
    );
    const at = events.findIndex((l) => l.startsWith('  invalidations'));
    expect(events[at + 1]).toMatch(/^ {2}kernel-stale DMA +7$/);
  });
});

/** A failed two-thread run's partial report: what the partitions other than `missing` had. */
function failed(missing: number[], over: Partial<Report> = {}): Report {
  const r = smallReport();
  const stat = (partition: number): ThreadStat => ({
    partition,
    accelerators: partition === 0 ? 0 : 2,
    quanta: 149,
    workMs: 40,
    waitMs: 60,
    workSdUs: 1,
    sentRecords: 10,
  });
  return {
    ...r,
    runtime: 'threaded',
    threads: 2,
    placement: [1, 1],
    threadStats: [0, 1].filter((p) => !missing.includes(p)).map(stat),
    partial: true,
    missingPartitions: missing,
    ...over,
  };
}

describe('formatSummary() of a failed threaded run', () => {
  it('heads with the threads the run started and who failed, then says what the figures are', () => {
    const r = failed([1], {
      failure: {
        partition: 1,
        who: 'accelerator partition 1 (devices 0, 1)',
        cause: 'died: exit code 3',
        code: 'ERR_WORKER_EXITED',
        exitCode: 3,
        ended: ['stopped', 'died'],
      },
    });
    const lines = formatSummary(r).split('\n');
    expect(lines[0]).toBe(
      `svasim run "${r.scenario.name}": threaded runtime, 2 threads, partition 1 died, seed 1, profile ${r.profile}`,
    );
    expect(lines.slice(2, 4)).toEqual([
      '  FAILED: accelerator partition 1 (devices 0, 1) died: exit code 3',
      '  partial: partition 1 reported nothing: the jobs, device TLB and latency figures of their accelerators are missing; the rest is what partition 0 counted until it stopped',
    ]);
    const threads = section(formatSummary(r), 'threads');
    expect(threads[0]).toMatch(/ {3}ended$/);
    expect(threads.slice(1).map((l) => l.trim().split(/\s{2,}/))).toEqual([
      ['0 (engine)', '0', '149', '40ms', '60ms', '60.0%', 'stopped'],
      ['1', '2', 'missing', '-', '-', '-', 'died'],
    ]);
    // the engine reported: its figures are figures
    expect(formatSummary(r)).toContain(`invariants: ${r.invariants.checked} checked`);
    expect(section(formatSummary(r), 'events')[1]).toMatch(/^ {2}translations +\d+$/);
  });

  it("says the engine's figures are missing instead of printing them as zeros", () => {
    const r = failed([0], {
      totals: { ...smallReport().totals, translations: 0, iotlbHits: 0, iotlbMisses: 0 },
      invariants: { checked: 0, violations: [{ what: 'run-failed', detail: 'stopped' }] },
      failure: {
        partition: 0,
        who: "the engine's worker (partition 0)",
        cause: 'died: exit code 1',
        code: 'ERR_WORKER_EXITED',
        exitCode: 1,
        ended: ['died', 'stopped'],
      },
    });
    const text = formatSummary(r);
    expect(text.split('\n')[0]).toContain('2 threads, partition 0 (engine) died,');
    expect(text).toContain(
      "  partial: partition 0 reported nothing: the engine's VT-d, kernel and invariant figures are missing",
    );
    expect(text).toContain(
      "invariants: not checked (the engine's partition, which checks them, reported nothing); 1 violation from the other partitions",
    );
    expect(text).not.toMatch(/0 checked/);
    const events = section(text, 'events').map((l) => l.trim().split(/\s{2,}/));
    expect(events.find((x) => x[0] === 'translations')).toEqual(['translations', 'missing']);
    expect(events.find((x) => x[0] === 'jobs failed')).toEqual([
      'jobs failed',
      String(r.totals.jobsFailed),
    ]);
    const rates = section(text, 'hit rates').map((l) => l.trim().split(/\s{2,}/));
    expect(rates[1]).toEqual(['IOTLB', 'missing', 'missing', 'missing']);
    expect(rates[2]![0]).toBe('device TLB');
    expect(rates[2]![1]).not.toBe('missing');
    const throughput = section(text, 'throughput').map((l) => l.trim().split(/\s{2,}/));
    expect(throughput[1]).toEqual(['requests', 'missing', 'missing', 'missing']);
    expect(throughput[2]![1]).toBe(String(r.totals.jobs));
  });

  it('prints nothing of the kind for a run that did not fail', () => {
    const text = formatSummary(smallReport());
    expect(text).not.toMatch(/FAILED|partial:|missing/);
  });
});
