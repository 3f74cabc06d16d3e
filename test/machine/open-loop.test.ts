import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/machine/run.js';
import type { ScenarioInput } from '../../src/scenario/types.js';

/** One device with a 16-job work queue and one client offering `rate` jobs per second. */
const offered = (rate: string, arrival?: ScenarioInput['workload']): ScenarioInput => ({
  duration: '200us',
  devices: [{ count: 1, engines: 1, workQueue: { depth: 16 } }],
  clients: {
    count: 1,
    buffers: { count: 2, size: '64KiB', prefault: 'all' },
    churn: { enabled: false },
  },
  workload: arrival ?? { op: 'copy', jobBytes: '4KiB', arrival: { openLoop: { rate } } },
  memory: { frames: 4096 },
});

describe('open loop: no coordinated omission', () => {
  it('p99 grows with the offered load past capacity; offered and achieved rates differ', () => {
    const runs = ['500k/s', '5M/s', '50M/s'].map((rate) => runScenario(offered(rate)));
    const p99 = runs.map((r) => r.latency['job.latency'].p99);
    // capacity is ~550k jobs/s: below it p99 is a service time, past it the backlog's wait
    expect(p99[1]!).toBeGreaterThan(p99[0]! * 5);
    expect(p99[2]!).toBeGreaterThan(p99[1]!);
    // the schedule offered ~rate × 200us; past capacity the completions stop following it
    const [low, , high] = runs;
    expect(low!.totals.jobsOffered).toBeGreaterThan(60);
    expect(low!.totals.jobs).toBeGreaterThan(low!.totals.jobsOffered * 0.8);
    expect(high!.totals.jobsOffered).toBeGreaterThan(8_000);
    expect(high!.totals.jobs).toBeLessThan(high!.totals.jobsOffered / 4);
    // the backlog when the window closed: offered, not yet submitted
    expect(low!.backlog).toBeLessThan(3);
    expect(high!.backlog).toBeGreaterThan(high!.totals.jobsOffered - high!.totals.jobs - 20);
    for (const r of runs) expect(r.invariants.violations).toEqual([]);
  });

  it('a closed loop measures service time and offers nothing on a schedule', () => {
    const r = runScenario(
      offered('', {
        op: 'copy',
        jobBytes: '4KiB',
        arrival: { closedLoop: { queueDepth: 16 } },
      }),
    );
    expect(r.totals.jobsOffered).toBe(0);
    expect(r.totals.jobs).toBeGreaterThan(0);
  });
});
