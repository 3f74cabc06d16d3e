/**
 * The task each worker of the threaded runtime runs (DESIGN §3): piscina starts it once per
 * worker and gets back its part of the report; it builds the scenario's model, runs partition
 * `partition` of it in quanta over the rings and the barrier, serves the control plane
 * (control.ts) over comlink at quantum boundaries, and keeps its live counters in shared
 * memory the main thread reads for progress.
 *
 * Failure: an error escaping the simulation is reported with the simulated time and, when an
 * accelerator's endpoint was handling the event, that accelerator; the partition claims the
 * run's first failure (run-failure.ts) and aborts the barrier, so every other worker stops at
 * its next arrival, and each returns the partial report of what it ran. An exception or a
 * rejection escaping asynchronously (a timer, a microtask, outside the task's own try/catch)
 * is caught by process-level handlers installed while the task runs and fails the partition
 * the same way, named as such, instead of killing the thread; the event loop turns every
 * {@link EVENT_LOOP_EVERY_QUANTA} quanta and once at the end, so such an error surfaces while
 * the partition still runs. Nothing here waits without a deadline.
 */

import { type MessagePort, parentPort, threadId } from 'node:worker_threads';
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
import { claimFirstFailure, noteThread, oneLine, partitionName } from './run-failure.js';

/**
 * A fault for tests of the threaded runtime's failure paths: at `atNs` of simulated time an
 * endpoint of accelerator `accelerator` (−1: of the engine side, partition 0) fails in the
 * partition that runs it, in the way `kind` says:
 *
 * - `throw` (default): the endpoint throws `message` inside the simulation;
 * - `exit`: the worker calls `process.exit(exitCode ?? 1)` (its thread ends);
 * - `terminate`: the worker asks the main thread to terminate it (`Worker.terminate()`) and
 *   waits for it;
 * - `uncaught`: a `setTimeout` callback throws `message` later, outside the task's try/catch;
 * - `rejection`: a promise rejected with `message` is left unhandled.
 */
export interface ThreadedFault {
  readonly accelerator: number;
  readonly atNs: number;
  readonly message: string;
  readonly kind?: 'throw' | 'exit' | 'terminate' | 'uncaught' | 'rejection';
  readonly exitCode?: number;
}

/** The message a worker posts on its parent port for a `terminate` fault (tests only). */
export interface TerminateRequest {
  readonly svasimTerminate: number;
}

/** Longest a worker waits for the main thread to terminate it (`terminate` faults). */
const TERMINATE_WAIT_MS = 10_000;

/**
 * Quanta between two turns of the worker's event loop: where escaped errors surface and
 * control messages arrive. One turn (a setImmediate, some µs) per this many quanta.
 */
export const EVENT_LOOP_EVERY_QUANTA = 256;

/** What an injected fault of `kind` does instead of throwing inside the simulation. */
function faultAct(fault: ThreadedFault): (() => void) | undefined {
  switch (fault.kind ?? 'throw') {
    case 'throw':
      return undefined;
    case 'exit':
      return () => process.exit(fault.exitCode ?? 1);
    case 'terminate':
      return () => {
        parentPort?.postMessage({ svasimTerminate: threadId } satisfies TerminateRequest);
        // parks this thread until Worker.terminate() ends it (terminate interrupts the wait)
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, TERMINATE_WAIT_MS);
        throw new Error(
          `${fault.message}: the main thread did not terminate this worker within ${TERMINATE_WAIT_MS} ms`,
        );
      };
    case 'uncaught':
      return () => {
        setTimeout(() => {
          throw new Error(fault.message);
        }, 0);
      };
    case 'rejection':
      return () => {
        void Promise.reject(new Error(fault.message));
      };
    default:
      throw codedError(ErrorCode.EINVAL, `unknown fault kind '${String(fault.kind)}'`);
  }
}

/** What the main thread hands a worker. */
export interface PartitionTask {
  readonly scenario: Scenario;
  readonly partition: number;
  readonly buffers: ThreadedBuffers;
  readonly durationNs?: number;
  readonly warmupNs?: number;
  readonly hlogIntervalNs?: number;
  /** Failure injection for tests (see {@link ThreadedFault}). */
  readonly injectFault?: ThreadedFault;
  /** A trace window to record (runner.ts `RunOptions.trace`). */
  readonly trace?: RunOptions['trace'];
  /** Barrier spin before parking, µs (threaded.ts `ThreadedRunOptions.spinUs`). */
  readonly spinUs?: number;
  /** Check untranslated DMA too (run-options.ts `RunOptions.checkUntranslatedDma`). */
  readonly checkUntranslatedDma?: boolean;
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
  /** The partition's name, then `cause`. */
  readonly message: string;
  /** What happened, in one line, to be read after the partition's name ("failed at …: …"). */
  readonly cause: string;
  readonly code: string;
  readonly partition: number;
  readonly simulatedNs: number;
  /** Device index of the accelerator that was handling the event, or −1 (the engine side). */
  readonly accelerator: number;
  readonly rid: number;
}

/** What a worker returns: its part of the report, and its failure if it failed. */
export interface PartitionResult {
  /** Its part of the report; null when it failed before its partition was built. */
  readonly report: Report | null;
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
  /** Quanta since the event loop last turned (see {@link EVENT_LOOP_EVERY_QUANTA}). */
  quantaSinceTurn = 0;
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
  const words = new Int32Array(buffers.failure);
  noteThread(words, partition, threadId);
  const who = partitionName(partition, buffers.placement);
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
  // An error that escaped asynchronously: this partition's failure, whatever surfaces next.
  // (set by the handlers below, from outside this function's control flow)
  let escaped = null as { error: Error & { code?: string }; origin: string } | null;
  const onEscape =
    (origin: string) =>
    (e: unknown): void => {
      if (escaped) return;
      escaped = { error: e instanceof Error ? e : new Error(String(e)), origin };
      claimFirstFailure(words, partition);
      barrier.abort(`${who} failed: ${origin}: ${oneLine(escaped.error.message)}`);
    };
  const onUncaught = onEscape('uncaught exception outside its events');
  const onRejection = onEscape('unhandled rejection outside its events');
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  /** Throws the escaped error, if any, after a turn of the event loop. */
  const checkEscaped = (): void => {
    if (escaped) throw escaped.error;
  };
  try {
    const fault = task.injectFault;
    run = createScenarioRun(scenario, {
      durationNs: task.durationNs,
      warmupNs: task.warmupNs,
      hlogIntervalNs: task.hlogIntervalNs,
      checkUntranslatedDma: task.checkUntranslatedDma,
      injectFault: fault && { ...fault, act: faultAct(fault) },
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
    // command counted after this load is seen at the next boundary. Every
    // EVENT_LOOP_EVERY_QUANTA quanta the loop turns anyway.
    d.controlCheck = () =>
      ++ctl.quantaSinceTurn >= EVENT_LOOP_EVERY_QUANTA ||
      Atomics.load(posted, partition) !== ctl.taken ||
      ctl.answersReady > 0;
    Comlink.expose(ctl, nodeEndpoint(port));
    const steps = run.steps();
    for (;;) {
      const r = steps.next();
      if (r.done) {
        live[0] = r.value.simulatedNs;
        // a timer turn: callbacks queued during the run (timeouts of 0, immediates,
        // microtasks) run while the handlers above still catch what escapes them
        await new Promise((resolve) => setTimeout(resolve, 0));
        checkEscaped();
        return { report: withThreadStat(r.value, partition, buffers, driver) };
      }
      if (r.value === 'control') {
        await takeCommands(ctl, posted, partition);
        checkEscaped();
      }
    }
  } catch (e) {
    const caught = e as Error & { code?: string };
    const err = escaped?.error ?? caught;
    const where = run?.failurePoint() ?? { simulatedNs: 0, accelerator: -1, rid: -1 };
    const aborted = !escaped && caught.code === ErrorCode.ERR_BARRIER_ABORTED;
    const code = err.code ?? (escaped ? ErrorCode.ERR_WORKER_UNCAUGHT : ErrorCode.ERR_WORKER);
    const inAccelerator =
      where.accelerator >= 0
        ? `, in accelerator ${where.accelerator} (rid 0x${where.rid.toString(16).padStart(4, '0')})`
        : '';
    const cause = aborted
      ? `stopped: ${oneLine(err.message)}`
      : `failed at ${where.simulatedNs} ns of simulated time${inAccelerator}: ${
          escaped ? `${escaped.origin}: ` : ''
        }${oneLine(err.message)} [${code}]`;
    const message = `${who} ${cause}`;
    if (!aborted) {
      // claim before the abort: whoever sees the abort sees this claim (run-failure.ts)
      claimFirstFailure(words, partition);
      barrier.abort(message);
    }
    const failure: PartitionFailure = {
      message,
      cause,
      code,
      partition,
      simulatedNs: where.simulatedNs,
      accelerator: where.accelerator,
      rid: where.rid,
    };
    // no partition was built: nothing to report, but the failure (plain data, unlike an
    // error's fields, crosses the thread whole)
    if (!run) return { report: null, failure };
    return {
      report: withThreadStat(run.partialReport(message), partition, buffers, driver),
      failure,
    };
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
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
  ctl.quantaSinceTurn = 0;
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
