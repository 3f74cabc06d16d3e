/**
 * The task each worker of the threaded runtime runs (DESIGN §3): piscina starts it once per
 * worker and gets back its part of the report; it builds the scenario's model, runs partition
 * `partition` of it in quanta over the rings and the barrier, serves the control plane
 * (control.ts) over comlink at quantum boundaries, and keeps its live counters in shared
 * memory the main thread reads for progress.
 *
 * Failure: an error escaping the simulation is reported with the simulated time and, when an
 * accelerator's endpoint was handling the event, that accelerator; the barrier is aborted so
 * every other worker stops at its next arrival, and each returns the partial report of what it
 * ran. Nothing here waits without a deadline.
 */

import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import type { Device } from '../device/device.js';
import { codedError, ErrorCode } from '../errors.js';
import type { DeviceInfo } from '../kernel/iommu.js';
import { createScenarioRun, type ScenarioRun } from '../machine/run.js';
import type { RunOptions } from '../machine/run-options.js';
import type { Process } from '../mem/index.js';
import { COUNTER_COUNT } from '../metrics/counters.js';
import { initMetrics } from '../metrics/recorder.js';
import type { Report, ThreadStat } from '../report/types.js';
import { QuantumBarrier } from '../ring/barrier.js';
import type { Scenario } from '../scenario/types.js';
import { spawn } from '../sim/kthread.js';
import { nodeEndpoint } from './comlink-node.js';
import { controlError, type PartitionControl, type PartitionStats } from './control.js';
import { PostMessageQuantumDriver } from './postmessage-driver.js';
import { makeDriver, type RingQuantumDriver, type ThreadedBuffers } from './quantum-driver.js';

/** What the main thread hands a worker. */
export interface PartitionTask {
  readonly scenario: Scenario;
  readonly partition: number;
  readonly buffers: ThreadedBuffers;
  readonly durationNs?: number;
  readonly warmupNs?: number;
  readonly hlogIntervalNs?: number;
  /** Failure injection for tests (runner.ts `RunOptions.injectFault`). */
  readonly injectFault?: RunOptions['injectFault'];
  /** A trace window to record (runner.ts `RunOptions.trace`). */
  readonly trace?: RunOptions['trace'];
  /** Barrier spin before parking, µs (threaded.ts `ThreadedRunOptions.spinUs`). */
  readonly spinUs?: number;
  /** Keep each quantum's work (threaded.ts `ThreadedRunOptions.recordQuanta`). */
  readonly recordQuanta?: boolean;
  /** This worker's end of the control-plane channel. */
  readonly port: MessagePort;
  /**
   * Benchmark baseline only: this worker's ends of the per-accelerator postMessage channels
   * (by accelerator; null where it has none). When given, records travel by postMessage
   * instead of the rings (postmessage-driver.ts).
   */
  readonly dataPorts?: (MessagePort | null)[];
}

/** Where a failed run failed. */
export interface PartitionFailure {
  readonly message: string;
  readonly code: string;
  readonly partition: number;
  readonly simulatedNs: number;
  /** Device index of the accelerator that was handling the event, or −1 (the engine side). */
  readonly accelerator: number;
  readonly rid: number;
}

/** What a worker returns: its part of the report, and its failure if it failed. */
export interface PartitionResult {
  readonly report: Report;
  readonly failure?: PartitionFailure;
}

/** Float64 slots of one worker's live row: simulated time, events, then the counters. */
export const LIVE_HEADER = 2;
/** Float64 slots per worker in the live-counters buffer. */
export const LIVE_ROW = LIVE_HEADER + COUNTER_COUNT;

/** Longest a worker waits for control commands the main thread announced. */
const CONTROL_DEADLINE_MS = 30_000;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A kernel thread that completes without sleeping, with the value of `fn`. */
// biome-ignore lint/correctness/useYield: a thread that never sleeps is still a kernel thread
function* atOnce<T>(fn: () => T): Generator<never, T, unknown> {
  return fn();
}

/** Serves the control plane of one worker (see control.ts). */
class Control implements PartitionControl {
  private readonly run: ScenarioRun;
  private readonly driver: RingQuantumDriver;
  private readonly partition: number;
  /** Commands taken from the port (compared with the main thread's `posted` word). */
  taken = 0;
  /** Commands whose simulated work finished and whose answer waits for the event loop. */
  answersReady = 0;
  private readonly handles = new Map<number, object>();
  private nextHandle = 1;

  constructor(run: ScenarioRun, driver: RingQuantumDriver, partition: number) {
    this.run = run;
    this.driver = driver;
    this.partition = partition;
  }

  stats(): PartitionStats {
    this.taken++;
    const sim = this.run.sys.world!.sims[this.partition]!;
    return {
      partition: this.partition,
      simulatedNs: sim.nowNs,
      events: sim.events,
      quanta: this.driver.quanta,
      sentRecords: this.driver.sent,
    };
  }

  /** Runs `body` as a kernel thread at the next quantum boundary; resolves with its value. */
  private atBoundary<T>(what: string, body: () => Generator<unknown, T, unknown>): Promise<T> {
    this.taken++;
    if (this.partition !== 0) {
      return Promise.reject(
        controlError(
          ErrorCode.ERR_ENGINE_ONLY,
          `${what} runs on the engine's worker (partition 0)`,
        ),
      );
    }
    const at = this.driver.agreedNextNs;
    const sys = this.run.sys;
    if (!Number.isFinite(at)) {
      return Promise.reject(controlError(ErrorCode.ERR_RUN_ENDED, `${what}: the run has ended`));
    }
    return new Promise<T>((resolve, reject) => {
      sys.kernelThreadsRunning++;
      sys.sim.call(Math.max(0, at - sys.sim.nowNs), -1, () => {
        const done = (r: { error?: unknown; value?: unknown }): void => {
          sys.kernelThreadsRunning--;
          this.answersReady++;
          if (r.error !== undefined) reject(r.error);
          else resolve(r.value as T);
        };
        // a bad argument is the caller's error, never the simulation's
        let thread: Generator<unknown, T, unknown>;
        try {
          thread = body();
        } catch (error) {
          done({ error });
          return;
        }
        spawn(thread as never, done);
      });
    });
  }

  /** Processes created through the control plane: their pids stay valid after they are freed. */
  private readonly created = new Map<number, Process>();

  private process(pid: number): Process {
    const p = this.created.get(pid) ?? this.run.sys.processById(pid);
    if (!p) throw controlError('ENOENT', `no process ${pid}`);
    return p;
  }

  private device(rid: number): Device<DeviceInfo> {
    const d = this.run.sys.deviceOf(rid);
    if (!d) throw controlError('ENOENT', `no device with rid 0x${rid.toString(16)}`);
    return d;
  }

  createProcess(): Promise<{ pid: number; atNs: number }> {
    const sys = this.run.sys;
    return this.atBoundary('createProcess', () =>
      atOnce(() => {
        const p = sys.createProcess();
        this.created.set(p.id, p);
        return { pid: p.id, atNs: sys.sim.nowNs };
      }),
    );
  }

  mmap(pid: number, length: number, prot: 'r' | 'rw' | 'rx' | 'rwx'): Promise<{ addr: number }> {
    return this.atBoundary('mmap', () =>
      atOnce(() => ({ addr: this.process(pid).mmap({ length, prot }) })),
    );
  }

  bindDevice(
    rid: number,
    pid: number | null,
    flags: number,
  ): Promise<{ handle: number; pasid: number; atNs: number }> {
    const sys = this.run.sys;
    return this.atBoundary('bindDevice', () => {
      const dev = this.device(rid);
      const p = pid === null ? null : this.process(pid);
      // a new bond gets a handle carrying its id; a repeated bind returns the same handle
      const newHandle = (): { id: number } => {
        const h = { id: this.nextHandle++ };
        this.handles.set(h.id, h);
        return h;
      };
      return (function* () {
        const h = yield* sys.sva.bind(dev.info, p, flags, newHandle);
        const id = (h.handle as { id: number }).id;
        return { handle: id, pasid: h.svm.pasid, atNs: sys.sim.nowNs };
      })();
    });
  }

  getPasid(handle: number): Promise<number> {
    this.taken++;
    const h = this.handles.get(handle);
    if (!h) return Promise.reject(controlError('ENOENT', `no handle ${handle}`));
    try {
      return Promise.resolve(this.run.sys.sva.getPasid(h));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  unbindDevice(handle: number): Promise<{ atNs: number }> {
    const sys = this.run.sys;
    const h = this.handles.get(handle);
    return this.atBoundary('unbindDevice', function* () {
      if (!h) throw controlError('ENOENT', `no handle ${handle}`);
      yield* sys.sva.unbind(h);
      return { atNs: sys.sim.nowNs };
    });
  }

  exitProcess(pid: number): Promise<{ atNs: number }> {
    const sys = this.run.sys;
    return this.atBoundary('exitProcess', () =>
      atOnce(() => {
        this.process(pid).exit();
        return { atNs: sys.sim.nowNs };
      }),
    );
  }
}

/** Runs one partition of a threaded run; piscina calls it once per worker. */
export async function runPartitionTask(task: PartitionTask): Promise<PartitionResult> {
  const { scenario, partition, buffers, port } = task;
  await initMetrics();
  const barrier = new QuantumBarrier(
    buffers.barrier,
    0,
    partition,
    task.spinUs !== undefined ? { spinNs: task.spinUs * 1000 } : {},
  );
  const live = new Float64Array(buffers.live, partition * LIVE_ROW * 8, LIVE_ROW);
  const posted = new Int32Array(buffers.control);
  let driver: RingQuantumDriver | null = null;
  let run: ScenarioRun | null = null;
  try {
    run = createScenarioRun(scenario, {
      durationNs: task.durationNs,
      warmupNs: task.warmupNs,
      hlogIntervalNs: task.hlogIntervalNs,
      injectFault: task.injectFault,
      trace: task.trace,
      deviceBuffers: buffers.deviceBuffers,
      placement: buffers.placement,
      counters: live.subarray(LIVE_HEADER),
      driver: {
        partition,
        partitions: buffers.partitions,
        make: (world) => {
          driver = task.dataPorts
            ? new PostMessageQuantumDriver(world, partition, task.dataPorts, barrier)
            : makeDriver(world, partition, buffers, barrier);
          if (task.recordQuanta) driver.recordQuanta();
          const sim = world.sims[partition]!;
          // live progress: plain stores once per quantum, read by the main thread (a torn
          // read of a float64 is not possible on the 64-bit targets Node runs on)
          driver.onBarrier = () => {
            live[0] = sim.nowNs;
            live[1] = sim.events;
          };
          return driver;
        },
      },
    });
    const d = driver as RingQuantumDriver | null;
    if (!d) throw new Error('threaded runtime: the run built no quantum driver');
    const ctl = new Control(run, d, partition);
    // posted[p]: the main thread's count of commands sent to this worker. SeqCst load; a
    // command counted after this load is seen at the next boundary.
    d.controlCheck = () => Atomics.load(posted, partition) !== ctl.taken || ctl.answersReady > 0;
    Comlink.expose(ctl, nodeEndpoint(port));
    const steps = run.steps();
    for (;;) {
      const r = steps.next();
      if (r.done) {
        live[0] = r.value.simulatedNs;
        return { report: withThreadStat(r.value, partition, buffers, driver) };
      }
      if (r.value === 'control') await takeCommands(ctl, posted, partition);
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    const where = run?.failurePoint() ?? { simulatedNs: 0, accelerator: -1, rid: -1 };
    const aborted = err.code === ErrorCode.ERR_BARRIER_ABORTED;
    const who =
      where.accelerator >= 0
        ? `accelerator ${where.accelerator} (rid 0x${where.rid.toString(16).padStart(4, '0')})`
        : `the engine side (partition ${partition})`;
    const message = aborted
      ? `partition ${partition} stopped: ${err.message}`
      : `${who} failed at ${where.simulatedNs} ns of simulated time: ${err.message}`;
    if (!aborted) barrier.abort(message);
    const failure: PartitionFailure = {
      message,
      code: err.code ?? ErrorCode.ERR_WORKER,
      partition,
      simulatedNs: where.simulatedNs,
      accelerator: where.accelerator,
      rid: where.rid,
    };
    if (!run) throw codedError(failure.code as ErrorCode, message, { ...failure });
    return {
      report: withThreadStat(run.partialReport(message), partition, buffers, driver),
      failure,
    };
  } finally {
    port.close();
    for (const p of task.dataPorts ?? []) p?.close();
  }
}

/** `report` with this thread's {@link ThreadStat} (the driver's timing). */
function withThreadStat(
  report: Report,
  partition: number,
  buffers: ThreadedBuffers,
  driver: RingQuantumDriver | null,
): Report {
  const t = driver?.timing ?? { quanta: 0, workNs: 0, waitNs: 0, workSqNs2: 0, sent: 0 };
  const mean = t.quanta > 0 ? t.workNs / t.quanta : 0;
  const variance = t.quanta > 0 ? Math.max(0, t.workSqNs2 / t.quanta - mean * mean) : 0;
  const stat: ThreadStat = {
    partition,
    accelerators: buffers.placement.filter((p) => p === partition).length,
    quanta: t.quanta,
    workMs: t.workNs / 1e6,
    waitMs: t.waitNs / 1e6,
    workSdUs: Math.sqrt(variance) / 1e3,
    sentRecords: t.sent,
    ...(driver?.quantumWorkUs ? { quantumWorkUs: driver.quantumWorkUs } : {}),
  };
  return { ...report, threadStats: [stat] };
}

/** Lets the event loop run until every announced command was taken and answered. */
async function takeCommands(ctl: Control, posted: Int32Array, partition: number): Promise<void> {
  const deadline = performance.now() + CONTROL_DEADLINE_MS;
  ctl.answersReady = 0;
  await yieldToEventLoop();
  // posted[p]: SeqCst load; the main thread adds after posting, so the message is queued
  while (Atomics.load(posted, partition) !== ctl.taken) {
    if (performance.now() > deadline) {
      throw new Error(
        `control plane: ${Atomics.load(posted, partition) - ctl.taken} announced commands never arrived within ${CONTROL_DEADLINE_MS} ms`,
      );
    }
    await yieldToEventLoop();
  }
}

export default runPartitionTask;
