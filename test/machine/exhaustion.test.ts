import { describe, expect, it } from 'vitest';
import { RETRY_FIRST_NS, RETRY_MAX_NS } from '../../src/machine/clients.js';
import { FAILURES_KEPT } from '../../src/machine/failures.js';
import { runScenario } from '../../src/machine/run.js';
import type { FailureRecord, Report } from '../../src/report/types.js';
import { framesRunOut, pasidsRunOut, small } from './scenarios.js';

/** The run went to its end with every invariant holding. */
function expectCleanRun(r: Report, windowNs: number): void {
  expect(r.windowNs).toBe(windowNs);
  expect(r.stoppedAtNs).toBeUndefined();
  expect(r.invariants.violations).toEqual([]);
  expect(r.invariants.checked).toBeGreaterThan(0);
}

/** The failure log's records, which must hold every failure of the run. */
function allRecords(r: Report): FailureRecord[] {
  const f = r.failures!;
  expect(f.count, 'the log keeps every failure of this run').toBeLessThanOrEqual(FAILURES_KEPT);
  expect(f.first).toHaveLength(f.count);
  return f.first;
}

describe('a scenario that runs out of PASIDs (ENOSPC)', () => {
  it('counts each failed bind in bindErrors and allocFailures, logs it with its time, and runs to its end', () => {
    const r = runScenario(pasidsRunOut());
    expectCleanRun(r, 300_000);
    const rt = r.runTotals!;
    expect(rt.bindErrors).toBeGreaterThan(0);
    // every bind failed for want of a PASID: an allocation failure too
    expect(rt.allocFailures).toBe(rt.bindErrors);
    const f = r.failures!;
    expect(f.count).toBe(rt.bindErrors);
    expect(f.causes).toEqual([{ kind: 'bind', code: 'ENOSPC', count: rt.bindErrors }]);
    const first = f.first[0]!;
    expect(first.kind).toBe('bind');
    expect(first.code).toBe('ENOSPC');
    expect(first.message).toMatch(/^ENOSPC: PASID space \[1, 3\] exhausted \(3 PASIDs in use\)/);
    expect(r.devices.map((d) => d.rid)).toContain(first.rid);
    expect(first.client).toBeGreaterThanOrEqual(0);
    expect(first.client).toBeLessThan(6);
    expect(first.pid).toBeGreaterThan(0);
    const times = f.first.map((x) => x.tNs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // the window's count, per device as in the totals; the clients that got a PASID worked
    expect(r.totals.bindErrors).toBe(rt.bindErrors - r.drain!.totals.bindErrors);
    expect(r.devices.reduce((n, d) => n + d.bindErrors, 0)).toBe(r.totals.bindErrors);
    expect(r.devices.reduce((n, d) => n + d.allocFailures, 0)).toBe(r.totals.allocFailures);
    expect(r.totals.binds).toBeGreaterThanOrEqual(3);
    expect(r.totals.jobs).toBeGreaterThan(0);
  });

  it('retries a failed bind after a backoff that doubles in simulated time', () => {
    // no churn: 3 clients hold the 3 PASIDs all run, the other 3 retry all run
    const r = runScenario(
      pasidsRunOut({ clients: { ...small().clients, churn: { enabled: false } } }),
    );
    expectCleanRun(r, 300_000);
    expect(r.runTotals!.binds).toBe(3);
    const byClient = new Map<number, number[]>();
    for (const x of r.failures!.first) {
      byClient.set(x.client!, [...(byClient.get(x.client!) ?? []), x.tNs]);
    }
    expect(byClient.size).toBe(3);
    for (const times of byClient.values()) {
      expect(times.length).toBeGreaterThanOrEqual(4);
      for (let k = 1; k < times.length; k++) {
        const ceiling = Math.min(RETRY_MAX_NS, RETRY_FIRST_NS * 2 ** (k - 1));
        const gap = times[k]! - times[k - 1]!;
        // half of the ceiling fixed, half drawn; a failing bind takes a few hundred ns
        expect(gap).toBeGreaterThanOrEqual(ceiling / 2);
        expect(gap).toBeLessThanOrEqual(ceiling + 2_000);
      }
    }
  });

  it('counts the window only: failures in the warm-up are in runTotals, not in totals', () => {
    const r = runScenario(pasidsRunOut(), { warmupNs: 100_000 });
    expectCleanRun(r, 300_000);
    const records = allRecords(r);
    const inWindow = records.filter((x) => x.tNs >= 100_000 && x.tNs <= 400_000).length;
    expect(inWindow).toBeLessThan(records.length);
    expect(r.totals.bindErrors).toBe(inWindow);
    expect(r.totals.allocFailures).toBe(inWindow);
    expect(r.runTotals!.bindErrors).toBe(records.length);
  });

  it('logs the same failures for the same seed', () => {
    expect(runScenario(pasidsRunOut()).failures).toEqual(runScenario(pasidsRunOut()).failures);
  });
});

describe('a scenario that runs out of frames (ENOMEM)', () => {
  it('answers a page fault it cannot serve with Invalid Request: the job fails, the run goes on', () => {
    const r = runScenario(framesRunOut());
    expectCleanRun(r, 1_000_000);
    const rt = r.runTotals!;
    const f = r.failures!;
    expect(f.causes).toHaveLength(1);
    expect(f.causes[0]).toMatchObject({ kind: 'pageFault', code: 'ENOMEM' });
    const n = f.causes[0]!.count;
    expect(n).toBeGreaterThan(0);
    expect(f.count).toBe(n);
    expect(rt.allocFailures).toBe(n);
    expect(rt.bindErrors).toBe(0);
    // each fault the kernel could not serve got Invalid Request and failed its job
    expect(rt.jobsFailed).toBe(n);
    expect(rt.pageResponses.invalid).toBeGreaterThanOrEqual(n);
    const x = f.first[0]!;
    expect(x.message).toMatch(
      /^page request at 0x[0-9a-f]+000: out of simulated physical memory: cannot allocate a frame; 199 of 199 frames in use/,
    );
    expect(x.pasid).toBeGreaterThanOrEqual(1);
    expect(x.pasid).toBeLessThanOrEqual(6);
    expect(r.devices.map((d) => d.rid)).toContain(x.rid);
    expect(x.pid).toBeGreaterThan(0);
    expect(x.client).toBeUndefined();
    expect(r.totals.jobs).toBeGreaterThan(rt.jobsFailed);
  });

  it('ends the life of a client that cannot prefault: its process exits, a new one tries later', () => {
    // 3 clients of 36 frames (32 of buffers, 4 of tables) fit beside the machine's 86
    const r = runScenario(
      small({
        memory: { frames: 220 },
        clients: {
          ...small().clients,
          buffers: { count: 2, size: '64KiB', prefault: 'all' },
        },
      }),
    );
    // every frame of the processes that gave up came back (the frame-leak check)
    expectCleanRun(r, 300_000);
    const rt = r.runTotals!;
    const kinds = new Set(r.failures!.causes.map((c) => c.kind));
    expect(kinds.has('prefault')).toBe(true);
    expect(r.failures!.causes.every((c) => c.code === 'ENOMEM')).toBe(true);
    expect(rt.allocFailures).toBe(r.failures!.count);
    expect(rt.bindErrors).toBe(0);
    const pre = r.failures!.first.find((x) => x.kind === 'prefault')!;
    expect(pre.message).toMatch(/^out of simulated physical memory: cannot allocate a frame/);
    expect(pre.client).toBeGreaterThanOrEqual(0);
    expect(pre.pid).toBeGreaterThan(0);
    expect(pre.rid).toBeUndefined();
    // the clients that fitted worked, and slots came back after a failed prefault
    expect(rt.jobs).toBeGreaterThan(0);
    expect(rt.binds).toBeGreaterThan(3);
  });

  it('fails the job of a client whose CPU touch after a device fault runs out (no block-on-fault)', () => {
    const r = runScenario(
      framesRunOut({
        duration: '300us',
        devices: [{ count: 2, workQueue: { depth: 8 }, engines: 4, blockOnFault: false }],
      }),
    );
    expectCleanRun(r, 300_000);
    const rt = r.runTotals!;
    const f = r.failures!;
    expect(f.causes).toEqual([{ kind: 'cpuFault', code: 'ENOMEM', count: f.count }]);
    expect(f.count).toBeGreaterThan(0);
    expect(rt.allocFailures).toBe(f.count);
    expect(rt.jobsFailed).toBe(f.count);
    expect(r.devices.reduce((n, d) => n + d.jobsFailed, 0)).toBe(r.totals.jobsFailed);
    expect(f.first[0]).toMatchObject({ kind: 'cpuFault', code: 'ENOMEM' });
    expect(f.first[0]!.client).toBeGreaterThanOrEqual(0);
  });
});

describe('a scenario that runs out of nothing', () => {
  it('logs no failure', () => {
    const r = runScenario(small());
    expect(r.failures).toEqual({ count: 0, causes: [], first: [] });
    expect(r.runTotals!.bindErrors).toBe(0);
    expect(r.runTotals!.allocFailures).toBe(0);
  });
});
