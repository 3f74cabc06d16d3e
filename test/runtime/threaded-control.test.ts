import { describe, expect, it } from 'vitest';
import { startScenarioThreaded } from '../../src/runtime/threaded.js';
import { small } from '../machine/scenarios.js';

// A run long enough to be still going while a test talks to it; each test stops it.
const long = () => small({ duration: '2s', devices: [{ count: 2, workQueue: { depth: 8 } }] });

describe('threaded runtime: stop and control plane', () => {
  it('stops at a quantum boundary on stop() and reports the time run, invariants intact', async () => {
    let stopped = false;
    const run = await startScenarioThreaded(long(), {
      threads: 2,
      progressEveryMs: 10,
      onProgress: (p) => {
        // live counters move while the workers run
        if (!stopped && p.simulatedNs > 0 && p.requests > 0) {
          stopped = true;
          run.stop();
        }
      },
    });
    const r = await run.done;
    expect(stopped).toBe(true);
    expect(r.stoppedAtNs).toBeGreaterThan(0);
    expect(r.stoppedAtNs).toBeLessThan(2e9);
    expect(r.simulatedNs).toBeGreaterThanOrEqual(r.stoppedAtNs!);
    expect(r.invariants.violations).toEqual([]);
    expect(r.runTotals!.binds).toBe(r.runTotals!.unbinds);
    // stopped soon after the first requests: the jobs may all finish in the drain
    expect(r.runTotals!.jobs).toBeGreaterThan(0);
  });

  it('an AbortSignal stops the run the same way', async () => {
    const ac = new AbortController();
    const run = await startScenarioThreaded(long(), {
      threads: 2,
      signal: ac.signal,
      progressEveryMs: 10,
      onProgress: (p) => {
        if (p.jobs > 0) ac.abort();
      },
    });
    const r = await run.done;
    expect(r.stoppedAtNs).toBeDefined();
    expect(r.invariants.violations).toEqual([]);
  });

  it('binds, shares a PASID and unbinds through comlink at quantum boundaries', async () => {
    const run = await startScenarioThreaded(long(), { threads: 2 });
    const rid = 0x0100;
    const { pid, atNs } = await run.command(0, 'createProcess');
    expect(atNs).toBeGreaterThanOrEqual(0);
    const { addr } = await run.command(0, 'mmap', pid, 1 << 20, 'rw');
    expect(addr % 4096).toBe(0);
    const a = await run.command(0, 'bindDevice', rid, pid, 0);
    const b = await run.command(0, 'bindDevice', rid + 1, pid, 0);
    expect(a.pasid).toBeGreaterThan(0);
    expect(b.pasid).toBe(a.pasid); // one PASID per mm, shared across devices
    expect(await run.command(0, 'getPasid', a.handle)).toBe(a.pasid);
    const again = await run.command(0, 'bindDevice', rid, pid, 0);
    expect(again.handle).toBe(a.handle); // refcounted bind of the same (device, mm)
    await run.command(0, 'unbindDevice', again.handle);
    await run.command(0, 'unbindDevice', a.handle);
    await run.command(0, 'unbindDevice', b.handle);
    await run.command(0, 'exitProcess', pid);
    await expect(run.command(0, 'bindDevice', 0x7777, null, 0)).rejects.toMatchObject({
      code: 'ENOENT',
    });
    await expect(run.command(1, 'createProcess')).rejects.toMatchObject({
      code: 'ERR_ENGINE_ONLY',
    });
    const stats = await run.command(1, 'stats');
    expect(stats.partition).toBe(1);
    expect(stats.events).toBeGreaterThan(0);
    run.stop();
    const r = await run.done;
    expect(r.invariants.violations).toEqual([]);
    await expect(run.command(0, 'stats')).rejects.toMatchObject({ code: 'ERR_RUN_ENDED' });
  });
});
