import { describe, expect, it } from 'vitest';
import { createScenarioRun } from '../../src/machine/run.js';

/** One device with a 2-entry work queue and 6 clients that each want 4 jobs in flight. */
function contended(open = false) {
  return createScenarioRun({
    name: 'contended',
    seed: 3,
    duration: '300us',
    devices: [{ count: 1, workQueue: { depth: 2 } }],
    clients: {
      count: 6,
      buffers: { count: 2, size: '16KiB', prefault: 'all' },
      churn: { enabled: false },
    },
    workload: {
      jobBytes: '4KiB',
      arrival: open ? { openLoop: { rate: '2M/s' } } : { closedLoop: { queueDepth: 4 } },
    },
    memory: { frames: 4096 },
  });
}

describe('JobStream', () => {
  it('wakes clients waiting for a work-queue entry instead of polling: no event does nothing', () => {
    const run = contended();
    const r = run.execute();
    expect(r.invariants.violations).toEqual([]);
    expect(r.totals.jobs).toBeGreaterThan(20);
    // one: the sampler's tick after the window, where it stops re-arming
    expect(run.sys.sim.noopEvents).toBe(1);
    // the streams get an event per control message only: start, stop, resubmit
    const byKind = run.sys.sim.eventsByKind();
    expect(byKind.JobStream ?? 0).toBeLessThanOrEqual(2 * 6);
  });

  it('hands freed entries to waiting clients in the order they started waiting', () => {
    const run = contended();
    run.execute();
    const jobs = Array.from({ length: 6 }, (_, c) => run.streams[0]!.completedJobs(c));
    // every client gets its turn (when the client whose job completed took the freed entry
    // first, and the others polled every 1 us, this run gave one client all 185 jobs)
    expect(Math.min(...jobs)).toBeGreaterThan(0);
    expect(Math.max(...jobs)).toBeLessThanOrEqual(Math.min(...jobs) + 4);
  });

  it('open loop: arrivals beyond the queue wait, and no timer fires stale', () => {
    const run = contended(true);
    const r = run.execute();
    expect(r.invariants.violations).toEqual([]);
    expect(r.totals.jobs).toBeGreaterThan(20);
    // one stale arrival per client at most (the timer armed when its stream stopped), and
    // the sampler's last tick
    expect(run.sys.sim.noopEvents).toBeLessThanOrEqual(6 + 1);
  });
});
