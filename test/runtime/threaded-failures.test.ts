import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ThreadedFault } from '../../src/runtime/partition-task.js';
import {
  claimFirstFailure,
  createFailureWords,
  FAILED_BY_CALLER,
  FAILED_UNKNOWN,
  firstFailure,
  noteThread,
} from '../../src/runtime/run-failure.js';
import {
  type StrayError,
  startScenarioThreaded,
  type ThreadedRunError,
  type WorkerPool,
  watchWorkers,
} from '../../src/runtime/threaded.js';
import { small } from '../machine/scenarios.js';

// Each case fails one partition at 50 µs of a 150 µs run and checks what the run says about it.
// That the test itself finishes shows the main process survived the failure.
const sc = () => small({ duration: '150us' });

/** Runs with `fault` and returns the error the run rejected with. */
async function failWith(
  fault: ThreadedFault,
  options: { threads?: number; placement?: 'separate' | 'balanced' } = {},
): Promise<ThreadedRunError> {
  const run = await startScenarioThreaded(sc(), {
    threads: options.threads ?? 2,
    placement: options.placement ?? 'separate',
    injectFault: fault,
  });
  const err = (await run.done.then(
    () => {
      throw new Error('the run did not fail');
    },
    (e: unknown) => e,
  )) as ThreadedRunError;
  expect(err.code).toBe('ERR_WORKER_FAILED');
  // a survivor's stop is never the cause
  expect(err.failure.code).not.toBe('ERR_BARRIER_ABORTED');
  expect(err.message).not.toMatch(/stopped: /);
  return err;
}

const ENGINE = "the engine's worker (partition 0)";
const DEVICES = 'accelerator partition 1 (devices 0, 1)';

describe('threaded runtime: a partition that throws in an event', () => {
  it('a device partition: named with the accelerator, the simulated time and the error; the others stop and report', async () => {
    const err = await failWith(
      { accelerator: 1, atNs: 50_000, message: 'injected device fault' },
      { threads: 3 },
    );
    expect(err.message).toBe(
      'threaded run failed: accelerator partition 2 (device 1) failed at 50000 ns of simulated time, ' +
        'in accelerator 1 (rid 0x0101): injected device fault [ERR_WORKER]',
    );
    expect(err).toMatchObject({ partition: 2, accelerator: 1, rid: 0x0101, simulatedNs: 50_000 });
    expect(err.failure).toMatchObject({
      partition: 2,
      who: 'accelerator partition 2 (device 1)',
      code: 'ERR_WORKER',
      simulatedNs: 50_000,
      ended: ['stopped', 'stopped', 'failed'],
    });
    const r = err.partial!;
    expect([r.threads, r.partial, r.missingPartitions]).toEqual([3, true, []]);
    expect(r.failure).toEqual(err.failure);
    expect(r.totals.translations).toBeGreaterThan(0);
    expect(r.invariants.violations.map((v) => v.what)).toContain('run-failed');
  });

  it("the engine's partition: named as the engine's worker", async () => {
    const err = await failWith({ accelerator: -1, atNs: 50_000, message: 'injected engine fault' });
    expect(err.message).toBe(
      `threaded run failed: ${ENGINE} failed at 50000 ns of simulated time: injected engine fault [ERR_WORKER]`,
    );
    expect(err).toMatchObject({ partition: 0, accelerator: -1, simulatedNs: 50_000 });
    expect(err.failure.ended).toEqual(['failed', 'stopped']);
    const r = err.partial!;
    expect([r.threads, r.partial, r.missingPartitions]).toEqual([2, true, []]);
    expect(r.simulatedNs).toBe(50_000);
    expect(r.invariants.checked).toBeGreaterThan(0);
  });
});

describe('threaded runtime: a worker whose thread ends', () => {
  it('a device worker calling process.exit: "died: exit code N", its figures missing, the engine\'s kept', async () => {
    const err = await failWith({
      accelerator: 0,
      atNs: 50_000,
      message: 'x',
      kind: 'exit',
      exitCode: 3,
    });
    expect(err.message).toBe(`threaded run failed: ${DEVICES} died: exit code 3`);
    expect(err.failure).toMatchObject({
      partition: 1,
      code: 'ERR_WORKER_EXITED',
      exitCode: 3,
      ended: ['stopped', 'died'],
    });
    const r = err.partial!;
    expect([r.threads, r.partial, r.missingPartitions]).toEqual([2, true, [1]]);
    // the engine reported: its time and its checks are there
    expect(r.simulatedNs).toBeGreaterThan(0);
    expect(r.invariants.checked).toBeGreaterThan(0);
    expect(r.threadStats!.map((s) => s.partition)).toEqual([0]);
  });

  it("the engine's worker calling process.exit: the engine died, the devices' figures are kept", async () => {
    const err = await failWith({ accelerator: -1, atNs: 50_000, message: 'x', kind: 'exit' });
    expect(err.message).toBe(`threaded run failed: ${ENGINE} died: exit code 1`);
    expect(err.failure).toMatchObject({ partition: 0, exitCode: 1, ended: ['died', 'stopped'] });
    // the engine's last quantum boundary before its death
    expect(err.failure.simulatedNs).toBeGreaterThan(0);
    expect(err.failure.simulatedNs).toBeLessThanOrEqual(50_000);
    const r = err.partial!;
    expect([r.threads, r.partial, r.missingPartitions]).toEqual([2, true, [0]]);
    // the time the device partition reached, not the engine's clock it never ran
    expect(r.simulatedNs).toBeGreaterThan(0);
    expect(r.totals.jobs).toBeGreaterThan(0);
    expect(r.threadStats!.map((s) => s.partition)).toEqual([1]);
  });

  it.each([
    ['a device worker', 0, DEVICES, 1],
    ["the engine's worker", -1, ENGINE, 0],
  ] as const)('%s terminated from outside: died, exit code 1', async (_n, accelerator, who, p) => {
    const err = await failWith({ accelerator, atNs: 50_000, message: 'x', kind: 'terminate' });
    expect(err.message).toBe(`threaded run failed: ${who} died: exit code 1`);
    expect(err.failure).toMatchObject({ partition: p, code: 'ERR_WORKER_EXITED', exitCode: 1 });
    expect(err.failure.ended[p]).toBe('died');
    expect(err.partial!.missingPartitions).toEqual([p]);
    expect(err.partial!.threads).toBe(2);
  });
});

describe('threaded runtime: an error escaping a worker asynchronously', () => {
  it('a timer callback throwing in a device worker fails its partition, named, with partial reports', async () => {
    const err = await failWith({
      accelerator: 0,
      atNs: 50_000,
      message: 'thrown from a timer',
      kind: 'uncaught',
    });
    expect(err.message).toMatch(
      /^threaded run failed: accelerator partition 1 \(devices 0, 1\) failed at \d+ ns of simulated time: uncaught exception outside its events: thrown from a timer \[ERR_WORKER_UNCAUGHT\]$/,
    );
    expect(err.failure).toMatchObject({
      partition: 1,
      code: 'ERR_WORKER_UNCAUGHT',
      ended: ['stopped', 'failed'],
    });
    expect(err.failure.simulatedNs).toBeGreaterThanOrEqual(50_000);
    expect(err.partial!.missingPartitions).toEqual([]);
  });

  it("an unhandled rejection in the engine's worker fails the engine's partition", async () => {
    const err = await failWith({
      accelerator: -1,
      atNs: 50_000,
      message: 'rejected',
      kind: 'rejection',
    });
    expect(err.message).toMatch(
      /^threaded run failed: the engine's worker \(partition 0\) failed at \d+ ns of simulated time: unhandled rejection outside its events: rejected \[ERR_WORKER_UNCAUGHT\]$/,
    );
    expect(err.failure).toMatchObject({ partition: 0, ended: ['failed', 'stopped'] });
    // the event loop turns every 256 quanta: the rejection surfaces before the run's end
    expect(err.failure.simulatedNs).toBeGreaterThanOrEqual(50_000);
    expect(err.failure.simulatedNs).toBeLessThan(150_000);
    expect(err.partial!.partial).toBe(true);
  });
});

describe('threaded runtime: the caller aborting', () => {
  it('names the caller, not a partition, and every partition stopped', async () => {
    const run = await startScenarioThreaded(sc(), { threads: 2 });
    run.abort('enough');
    const err = (await run.done.catch((e: unknown) => e)) as ThreadedRunError;
    expect(err.code).toBe('ERR_WORKER_FAILED');
    expect(err.message).toBe('threaded run failed: the caller aborted the run: enough');
    expect(err.failure).toMatchObject({
      partition: -1,
      code: 'ERR_RUN_ABORTED',
      ended: ['stopped', 'stopped'],
    });
    expect(err.partial!.missingPartitions).toEqual([]);
  });
});

describe('threaded runtime: injectFault', () => {
  it('refuses an accelerator the scenario does not have, before starting any worker', async () => {
    await expect(
      startScenarioThreaded(sc(), { injectFault: { accelerator: 2, atNs: 0, message: 'x' } }),
    ).rejects.toMatchObject({
      code: 'EINVAL',
      message:
        'injectFault.accelerator must be -1 (the engine side) or a device index below 2, got 2',
    });
  });
});

describe('the first-failure word', () => {
  it('keeps the first claim and ignores the later ones', () => {
    const words = new Int32Array(createFailureWords(3));
    expect(firstFailure(words)).toBeNull();
    expect(claimFirstFailure(words, 2)).toBe(true);
    expect(claimFirstFailure(words, 0)).toBe(false);
    expect(claimFirstFailure(words, FAILED_BY_CALLER)).toBe(false);
    expect(firstFailure(words)).toBe(2);
    const byCaller = new Int32Array(createFailureWords(2));
    claimFirstFailure(byCaller, FAILED_BY_CALLER);
    claimFirstFailure(byCaller, 0);
    expect(firstFailure(byCaller)).toBe(FAILED_BY_CALLER);
  });
});

describe('watchWorkers()', () => {
  /** A pool of two workers as piscina builds it: its own 'error' listener re-emits on the pool. */
  function fakePool() {
    const pool = Object.assign(new EventEmitter(), {
      threads: [41, 42].map((threadId) => Object.assign(new EventEmitter(), { threadId })),
    });
    for (const w of pool.threads) w.on('error', (e) => pool.emit('error', e));
    return pool;
  }

  it('records the error of a worker with no task, naming its partition, instead of throwing', async () => {
    const pool = fakePool();
    const words = new Int32Array(createFailureWords(2));
    noteThread(words, 0, 41);
    noteThread(words, 1, 42);
    const seen: StrayError[] = [];
    const watch = watchWorkers(pool as unknown as WorkerPool, words, 2, (x) => seen.push(x));
    const late = new Error('thrown after the task returned');
    pool.threads[1]!.emit('error', late);
    // an error of no worker of ours (a replacement piscina started)
    pool.emit('error', new Error('elsewhere'));
    await Promise.resolve();
    expect(seen.map((x) => [x.partition, x.error.message])).toEqual([
      [1, 'thrown after the task returned'],
      [FAILED_UNKNOWN, 'elsewhere'],
    ]);
    expect(watch.strays).toEqual(seen);
    pool.threads[0]!.emit('exit', 7);
    expect(watch.exits.get(41)).toBe(7);
  });
});
