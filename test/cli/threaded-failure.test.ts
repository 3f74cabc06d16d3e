import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ExitStatus, runCli } from '../../src/cli/main.js';
import { codedError, ErrorCode } from '../../src/errors.js';
import type { ThreadedFault } from '../../src/runtime/partition-task.js';
import { small } from '../machine/scenarios.js';
import { captureIo } from './io.js';

// The command line has no fault option: each test gives the threaded runs it starts a fault,
// or an outcome no single fault gives (`rejectWith`: the run rejects with this at once).
const injected = vi.hoisted(() => ({
  fault: undefined as ThreadedFault | undefined,
  rejectWith: undefined as Error | undefined,
}));
vi.mock('../../src/runtime/threaded.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/runtime/threaded.js')>();
  return {
    ...real,
    startScenarioThreaded: async (
      ...[sc, options]: Parameters<typeof real.startScenarioThreaded>
    ): ReturnType<typeof real.startScenarioThreaded> => {
      if (!injected.rejectWith) {
        return real.startScenarioThreaded(sc, { ...options, injectFault: injected.fault });
      }
      // no worker at all: the command only awaits `done` (and aborts on a second Ctrl-C)
      const run = { done: Promise.reject(injected.rejectWith), abort: () => {} };
      return run as unknown as Awaited<ReturnType<typeof real.startScenarioThreaded>>;
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'svasim-threaded-failure-'));
const scenario = join(dir, 'small.json');
writeFileSync(scenario, JSON.stringify(small({ duration: '150us' })));
const argv = (json: string) =>
  ['run', scenario, '--runtime', 'threaded', '--threads', '2', '--quiet', '--json', json] as const;

describe('svasim run --runtime threaded, a worker failing', () => {
  it('a device worker that dies: one line naming the partition, the partial JSON, exit 1', async () => {
    injected.fault = { accelerator: 1, atNs: 50_000, message: 'x', kind: 'exit', exitCode: 3 };
    const o = captureIo();
    const json = join(dir, 'device.json');
    expect(await runCli(argv(json), o)).toBe(ExitStatus.FAILED);
    const cause = o
      .errors()
      .split('\n')
      .filter((l) => l.includes('threaded run failed'));
    expect(cause).toEqual([
      'svasim: threaded run failed: accelerator partition 1 (devices 0, 1) died: exit code 3',
    ]);
    expect(o.text()).toMatch(/threaded runtime, 2 threads, partition 1 died, seed 3/);
    expect(o.text()).toMatch(/^ {2}partial: partition 1 reported nothing: /m);
    expect(o.text()).toMatch(/^ {2}1 +2 +missing +- +- +- +died$/m);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect([j.threads, j.partial, j.missingPartitions]).toEqual([2, true, [1]]);
    expect(j.failure).toMatchObject({ partition: 1, exitCode: 3, ended: ['stopped', 'died'] });
  });

  it("the engine's worker that dies: named, and its figures said missing rather than zero", async () => {
    injected.fault = { accelerator: -1, atNs: 50_000, message: 'x', kind: 'exit' };
    const o = captureIo();
    const json = join(dir, 'engine.json');
    expect(await runCli(argv(json), o)).toBe(ExitStatus.FAILED);
    expect(o.errors()).toMatch(
      /^svasim: threaded run failed: the engine's worker \(partition 0\) died: exit code 1$/m,
    );
    const text = o.text();
    expect(text).toMatch(/2 threads, partition 0 \(engine\) died/);
    expect(text).toMatch(/^invariants: not checked \(the engine's partition, which checks/m);
    expect(text).not.toMatch(/0 invariants checked|invariants: 0 checked/);
    expect(text).toMatch(/^ {2}translations +missing$/m);
    expect(text).not.toMatch(/^ {2}simulated 0 ns|window 0 ns/m);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(j.missingPartitions).toEqual([0]);
    expect(j.simulatedNs).toBeGreaterThan(0);
  });

  it('no partition reported: the cause alone, nothing written, exit 1', async () => {
    injected.fault = undefined;
    injected.rejectWith = codedError(
      ErrorCode.ERR_WORKER_FAILED,
      "threaded run failed: the engine's worker (partition 0) died: exit code 1",
      { partition: 0, partial: undefined },
    );
    const o = captureIo();
    const json = join(dir, 'none.json');
    try {
      expect(await runCli(argv(json), o)).toBe(ExitStatus.FAILED);
    } finally {
      injected.rejectWith = undefined;
    }
    expect(o.errors()).toBe(
      "svasim: threaded run failed: the engine's worker (partition 0) died: exit code 1; no partition reported",
    );
    expect(o.text()).toBe('');
    expect(existsSync(json)).toBe(false);
  });
});
