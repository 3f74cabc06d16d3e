import { describe, expect, it } from 'vitest';
import { createScenarioRun, runScenario } from '../../src/machine/run.js';
import { runScenarioThreaded } from '../../src/runtime/threaded.js';
import type { ScenarioInput } from '../../src/scenario/index.js';

// A function without PRI that handles its own faults (spec §10.2, preset gpu-own-faults): a
// job that faults completes with a page-fault status and the bytes done, the client touches
// the faulting pages on the CPU, and the rest of the job is resubmitted from there. With
// buffers the access pattern takes long to wrap (64 MiB), a fresh job instead of the rest
// faults again on its first page and no byte is ever moved.

/** One device, one client with two untouched 64 MiB buffers, one sequential 64 KiB copy at a time. */
function ownFaults(duration = '300us'): ScenarioInput {
  return {
    name: 'own-faults',
    profile: 'current',
    duration,
    devices: [{ count: 1, pri: false, blockOnFault: false, engines: 4, workQueue: { depth: 4 } }],
    clients: {
      count: 1,
      buffers: { count: 2, size: '64MiB', prefault: 'none' },
      churn: { enabled: false },
    },
    workload: {
      pattern: 'sequential',
      op: 'copy',
      jobBytes: '64KiB',
      arrival: { closedLoop: { queueDepth: 1 } },
    },
    memory: { frames: 65536 },
  };
}

describe('jobs without block-on-fault on a function without PRI', () => {
  it('resubmit the rest of a faulted job from the faulting page, issued when the job was', () => {
    const run = createScenarioRun(ownFaults());
    const accel = run.accels[0]!;
    const submitted: { src: number; dst: number; length: number; issuedNs: number }[] = [];
    const submit = accel.submit.bind(accel);
    accel.submit = (job) => {
      submitted.push({ src: job.src, dst: job.dst, length: job.length, issuedNs: job.issuedNs! });
      return submit(job);
    };
    const r = run.execute();
    expect(r.invariants.violations).toEqual([]);
    const src0 = submitted[0]!.src;
    const dst0 = submitted[0]!.dst;
    const at = (k: number) => ({
      off: submitted[k]!.src - src0,
      dstOff: submitted[k]!.dst - dst0,
      length: submitted[k]!.length,
    });
    // The first job (pages 0..15) faults on each page in turn: the first pass at page 0 moves
    // nothing, each rest then copies the page just touched and faults on the next one.
    const first = Array.from({ length: 17 }, (_, k) => at(k));
    expect(first).toEqual([
      { off: 0, dstOff: 0, length: 65536 },
      ...Array.from({ length: 16 }, (_, p) => ({
        off: p * 4096,
        dstOff: p * 4096,
        length: 65536 - p * 4096,
      })),
    ]);
    expect(new Set(submitted.slice(0, 17).map((s) => s.issuedNs))).toEqual(
      new Set([submitted[0]!.issuedNs]),
    );
    // The second job (pages 1..16) finds 1..15 present and faults on page 16 only.
    expect(at(17)).toEqual({ off: 4096, dstOff: 4096, length: 65536 });
    expect(at(18)).toEqual({ off: 65536, dstOff: 65536, length: 4096 });
    expect(submitted[18]!.issuedNs).toBe(submitted[17]!.issuedNs);
  });

  it('moves every byte of the jobs that complete, both ways, and fails none', () => {
    const r = runScenario(ownFaults());
    const t = r.runTotals!;
    expect(r.invariants.violations).toEqual([]);
    expect(t.jobsFailed).toBe(0);
    expect(t.dmaErrors).toBe(0);
    // Passes (t.jobs): the first job 17, each later one 2 (its last may have stopped after
    // its first pass, with 15 pages moved, when the stream stopped).
    // Pages read and written: 16 per completed job.
    const pages = t.dmaBytes / 8192;
    expect(Number.isInteger(pages)).toBe(true);
    const completed = (t.jobs - 15) >> 1;
    expect(completed).toBeGreaterThan(2);
    expect(pages).toBe(16 * completed + (t.jobs % 2 === 0 ? 15 : 0));
    // each completed job's latency runs from its first submission: the first one took 16
    // CPU faults (cpuFaultNs 1.5 us each) before it completed
    const latency = r.latency['job.latency'];
    expect(latency.count).toBe(completed);
    expect(latency.max).toBeGreaterThanOrEqual(16 * 1500);
  });

  it('the threaded runtime gives the inline result bit for bit', async () => {
    const sc = { ...ownFaults('100us'), devices: [{ ...ownFaults().devices![0]!, count: 2 }] };
    const inline = runScenario(sc);
    expect(inline.runTotals!.dmaBytes).toBeGreaterThan(0);
    const threaded = await runScenarioThreaded(sc, { threads: 2, onWarning: () => {} });
    expect(threaded.invariants.violations).toEqual([]);
    expect(threaded.totals).toEqual(inline.totals);
    expect(threaded.runTotals).toEqual(inline.runTotals);
    expect(threaded.devices).toEqual(inline.devices);
    expect(threaded.histograms).toEqual(inline.histograms);
    expect(threaded.simulatedNs).toBe(inline.simulatedNs);
  });
});
