/**
 * The threaded runtime (DESIGN §3): the engine side (VT-d units, kernel layer, processes) in
 * one worker, the accelerators in device workers — or partly on the engine's worker with the
 * `balanced` placement — exchanging their messages over per-accelerator SharedArrayBuffer
 * rings and agreeing on every quantum through one barrier. For the same seed and scenario the
 * result equals the inline run, counters and histogram encodings bit for bit.
 *
 * The three planes: data over the rings only (quantum-driver.ts); control — programmatic
 * commands and stats — over comlink, one MessagePort per worker (control.ts); lifecycle with
 * piscina, which starts the workers (`atomics: 'disabled'`: the tasks are long-lived),
 * propagates their failures and returns their partial reports as task results. Live counters
 * live in shared memory: progress reads them without stopping anybody.
 *
 * Each worker builds the whole model from the scenario, so endpoint ids agree everywhere, and
 * runs only its partition; the devices' data buffers are shared memory. Simulated physical
 * memory is touched only by the engine's worker: DMA is carried out at the VT-d unit, which
 * moves the bytes between frames and the device's buffer (device workers never read or write
 * a frame, let alone a page table or PASID table).
 *
 * Stop: `stop()` (SIGINT in the CLI) sets the barrier's STOP bit; every thread sees it after
 * the same round and ends the running phase there; the clients then finish as at the end of a
 * run, and the report covers the time run (`stoppedAtNs`). `abort()` ends the run at once;
 * the workers return partial reports.
 *
 * Failure (run-failure.ts): the first partition to fail claims the run's failure word and
 * aborts the barrier; the survivors stop at their next arrival and return partial reports. A
 * worker that throws in an event, lets an exception or a rejection escape asynchronously, or
 * exits (process.exit, Worker.terminate) — noticed by the main thread, which claims and aborts
 * in its name — fails the run with ERR_WORKER_FAILED naming that partition ("the engine's
 * worker (partition 0)", "accelerator partition 2 (device 1)") and why (its error's message and
 * code, or its exit code), never a survivor's ERR_BARRIER_ABORTED. The partial report says it
 * is partial, which partitions reported nothing and how each ended; the threads are those the
 * run started. Workers failing with no task in flight (piscina's pool 'error') are recorded,
 * never left to throw in the main thread.
 */

import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { Piscina } from 'piscina';
import { DEVICE_BUFFER_BYTES } from '../device/device.js';
import { codedError, ErrorCode } from '../errors.js';
import { type Placement, placeAccelerators } from '../machine/placement.js';
import { COUNTER_NAMES, Counter, Counters, type CounterTotals } from '../metrics/counters.js';
import { initMetrics, LatencyRecorder } from '../metrics/recorder.js';
import type { PartitionEnd, Report, ReportSeries, RunFailure } from '../report/types.js';
import { QuantumBarrier } from '../ring/barrier.js';
import { resolveScenario } from '../scenario/defaults.js';
import type { Scenario, ScenarioInput } from '../scenario/types.js';
import { nodeEndpoint } from './comlink-node.js';
import { ControlErrorCode, controlError, type PartitionControl } from './control.js';
import {
  LIVE_HEADER,
  LIVE_ROW,
  type PartitionResult,
  type PartitionTask,
  type TerminateRequest,
} from './partition-task.js';
import { CONTROL_STOP, createRings, type ThreadedBuffers } from './quantum-driver.js';
import {
  claimFirstFailure,
  createFailureWords,
  exitCodeInMessage,
  FAILED_BY_CALLER,
  FAILED_UNKNOWN,
  firstFailure,
  oneLine,
  partitionName,
  partitionOfThread,
  threadOf,
} from './run-failure.js';

function flat(t: CounterTotals): Float64Array {
  const c = new Counters();
  COUNTER_NAMES.forEach((name, i) => {
    const [a, b] = name.split('.') as [keyof CounterTotals, string | undefined];
    const v = b === undefined ? (t[a] as number) : (t[a] as unknown as Record<string, number>)[b]!;
    c.add(i as never, v);
  });
  return c.values;
}

function addTotals(a: CounterTotals, b: CounterTotals): CounterTotals {
  const x = new Counters(flat(a));
  const y = new Counters(flat(b));
  x.mergeFrom(y);
  return x.toTotals();
}

/** Live progress of a threaded run, read from shared memory. */
export interface ThreadedProgress {
  /** Simulated time the engine's worker reached, ns. */
  readonly simulatedNs: number;
  /** The run's simulated duration, ns. */
  readonly durationNs: number;
  /** Requests that reached the VT-d units so far (translations + page requests). */
  readonly requests: number;
  /** Events run so far, over all workers. */
  readonly events: number;
  /** Jobs completed so far. */
  readonly jobs: number;
}

/** Options of a threaded run. */
export interface ThreadedRunOptions {
  /**
   * Worker threads in all, the engine's included (default: the CPU cores, at least 2). At
   * most one more than the accelerators; more threads than cores is allowed (for tests) and
   * warned about.
   */
  readonly threads?: number;
  /** Accelerators on threads (default `balanced`), or the partition of each accelerator. */
  readonly placement?: Placement | readonly number[];
  /** The measurement window, overriding the scenario's duration. */
  readonly durationNs?: number;
  /** Simulated time run before the window and not measured (default 0). */
  readonly warmupNs?: number;
  /** Interval of the latency histograms kept for HdrHistogram logs (RunOptions.hlogIntervalNs). */
  readonly hlogIntervalNs?: number;
  /** Called about every `progressEveryMs` of wall time with live counters. */
  readonly onProgress?: (p: ThreadedProgress) => void;
  readonly progressEveryMs?: number;
  /** Aborting it stops the run at the next quantum boundary (as `stop()`). */
  readonly signal?: AbortSignal;
  /** Receives warnings (default: `process.emitWarning`). */
  readonly onWarning?: (message: string) => void;
  /** Failure injection for tests (partition-task.ts `ThreadedFault`). */
  readonly injectFault?: PartitionTask['injectFault'];
  /** A trace window to record (runner.ts `RunOptions.trace`). */
  readonly trace?: PartitionTask['trace'];
  /**
   * How records cross threads: `rings` (default), or `postMessage` — one message per record,
   * the baseline DESIGN §9 compares against (postmessage-driver.ts).
   */
  readonly transport?: 'rings' | 'postMessage';
  /**
   * How long a thread spins at the barrier before it parks, µs (default: the barrier's, 30 µs
   * while every thread has a core). Longer spins hide wake-up delays when every thread has a
   * core to itself and cost everyone dearly when the machine is busy with other work.
   */
  readonly spinUs?: number;
  /**
   * Keep the wall time of each quantum's work per thread (`ThreadStat.quantumWorkUs`): for
   * the scaling model of the benchmarks; costs 4 bytes per quantum per thread.
   */
  readonly recordQuanta?: boolean;
  /** Check untranslated DMA too (`RunOptions.checkUntranslatedDma`). */
  readonly checkUntranslatedDma?: boolean;
}

/** A threaded run in progress. */
export interface ThreadedRun {
  /** The report; rejects with a {@link ThreadedRunError} when a worker failed. */
  readonly done: Promise<Report>;
  /** Threads in use, the engine's included. */
  readonly threads: number;
  /** Partition of each accelerator. */
  readonly placement: readonly number[];
  /** Live counters, read without stopping the workers. */
  progress(): ThreadedProgress;
  /** Stops the run at the next quantum boundary; the report covers the time run. */
  stop(): void;
  /** Ends the run at once: every worker returns its partial report; `done` rejects. */
  abort(reason: string): void;
  /**
   * Sends a control-plane command to worker `partition` (0: the engine's). It takes effect at
   * the next quantum boundary; simulation commands resolve when their simulated work is done.
   */
  command<K extends keyof PartitionControl>(
    partition: number,
    method: K,
    ...args: Parameters<PartitionControl[K]>
  ): Promise<Awaited<ReturnType<PartitionControl[K]>>>;
}

/** The error a failed threaded run rejects with (ERR_WORKER_FAILED). */
export type ThreadedRunError = Error & {
  code: string;
  /**
   * The partition that failed first (0: the engine's), or −1 when the caller aborted the run
   * (run-failure.ts); `failure` says who and why.
   */
  partition: number;
  /** Device index of the accelerator whose event failed, or −1 (not in an accelerator's event). */
  accelerator: number;
  rid: number;
  /** Simulated time the failing partition had reached, ns (0 when unknown). */
  simulatedNs: number;
  /** Which partition failed first and why, and how every partition ended. */
  failure: RunFailure;
  /**
   * What the partitions that reported had counted and recorded until they stopped (`partial`
   * set, `missingPartitions` naming the others); undefined when no partition reported.
   */
  partial: Report | undefined;
};

function workerEntry(): { filename: string; fromSources: boolean } {
  const here = import.meta.url;
  return {
    filename: new URL('../../workers/partition.worker.mjs', here).href,
    fromSources: here.endsWith('.ts'),
  };
}

function einval(message: string): Error & { code: string } {
  return codedError(ErrorCode.EINVAL, message);
}

function resolveInput(input: Scenario | ScenarioInput): Scenario {
  return 'memory' in input && typeof (input as Scenario).duration === 'number'
    ? (input as Scenario)
    : resolveScenario(input as ScenarioInput);
}

/** Starts a scenario in worker threads; see {@link ThreadedRun}. */
export async function startScenarioThreaded(
  input: Scenario | ScenarioInput = {},
  options: ThreadedRunOptions = {},
): Promise<ThreadedRun> {
  const scenario = resolveInput(input);
  await initMetrics();
  const accelerators = scenario.devices.reduce((n, g) => n + g.count, 0);
  const asked = options.threads ?? Math.max(2, availableParallelism());
  if (!Number.isInteger(asked) || asked < 2) {
    throw einval(`threads must be an integer of at least 2 for the threaded runtime, got ${asked}`);
  }
  if (accelerators < 1) throw einval('the threaded runtime needs at least one accelerator');
  const threads = Math.min(asked, accelerators + 1);
  const warn = options.onWarning ?? ((m: string) => process.emitWarning(m));
  if (threads > availableParallelism()) {
    warn(
      `${threads} busy threads on ${availableParallelism()} cores: threads will park at every quantum and the run will be slow (results are unchanged)`,
    );
  }
  const placement =
    typeof options.placement === 'object'
      ? checkPlacement(options.placement, accelerators, threads)
      : placeAccelerators(accelerators, threads, options.placement ?? 'balanced');
  const fault = options.injectFault;
  if (
    fault &&
    !(
      Number.isInteger(fault.accelerator) &&
      fault.accelerator >= -1 &&
      fault.accelerator < accelerators
    )
  ) {
    throw einval(
      `injectFault.accelerator must be -1 (the engine side) or a device index below ${accelerators}, got ${fault.accelerator}`,
    );
  }
  const { rings, ringOffsets } = createRings(threads);
  const barrierView = QuantumBarrier.create(threads, { canBlock: false });
  const buffers: ThreadedBuffers = {
    partitions: threads,
    placement,
    rings,
    ringOffsets,
    barrier: barrierView.sab,
    deviceBuffers: new SharedArrayBuffer(accelerators * DEVICE_BUFFER_BYTES),
    live: new SharedArrayBuffer(threads * LIVE_ROW * 8),
    control: new SharedArrayBuffer(threads * 4),
    failure: createFailureWords(threads),
  };
  const failureWords = new Int32Array(buffers.failure);
  const live = new Float64Array(buffers.live);
  const posted = new Int32Array(buffers.control);
  const durationNs = options.durationNs ?? scenario.duration;
  const entry = workerEntry();
  const pool = new Piscina({
    filename: entry.filename,
    minThreads: threads,
    maxThreads: threads,
    atomics: 'disabled',
    idleTimeout: 1000,
    workerData: { fromSources: entry.fromSources },
  });
  /**
   * Claims the first failure for partition `p` (run-failure.ts) and aborts the barrier in its
   * name, so the survivors stop at their next arrival instead of waiting for it.
   */
  const abortFor = (p: number, reason: string): void => {
    claimFirstFailure(failureWords, p);
    const party =
      p >= 0 ? new QuantumBarrier(buffers.barrier, 0, p, { canBlock: false }) : barrierView;
    party.abort(reason);
  };
  const watch = watchWorkers(pool, failureWords, threads, (stray) =>
    abortFor(
      stray.partition,
      `${partitionName(stray.partition, placement)} failed outside its task: ${oneLine(stray.error.message)}`,
    ),
  );
  if (options.injectFault?.kind === 'terminate') {
    // tests only: a worker asks to be terminated as a thread would be from outside
    pool.on('message', (m: Partial<TerminateRequest>) => {
      if (typeof m?.svasimTerminate !== 'number') return;
      void pool.threads.find((w) => w.threadId === m.svasimTerminate)?.terminate();
    });
  }
  /** How each partition's worker ended when its task did not return: by partition. */
  const lost: (LostPartition | undefined)[] = [];
  const remotes: Comlink.Remote<PartitionControl>[] = [];
  const tasks: Promise<PartitionResult | null>[] = [];
  // baseline transport: one channel per accelerator off the engine's thread
  const dataPorts: (MessagePort | null)[][] | null =
    options.transport === 'postMessage'
      ? Array.from({ length: threads }, () => placement.map(() => null))
      : null;
  if (dataPorts) {
    placement.forEach((p, i) => {
      if (p === 0) return;
      const ch = new MessageChannel();
      dataPorts[0]![i] = ch.port1;
      dataPorts[p]![i] = ch.port2;
    });
  }
  for (let p = 0; p < threads; p++) {
    const { port1, port2 } = new MessageChannel();
    remotes.push(Comlink.wrap<PartitionControl>(nodeEndpoint(port1)));
    const task: PartitionTask = {
      scenario,
      partition: p,
      buffers,
      durationNs: options.durationNs,
      warmupNs: options.warmupNs,
      hlogIntervalNs: options.hlogIntervalNs,
      injectFault: options.injectFault,
      trace: options.trace,
      spinUs: options.spinUs,
      recordQuanta: options.recordQuanta,
      checkUntranslatedDma: options.checkUntranslatedDma,
      port: port2,
      dataPorts: dataPorts?.[p],
    };
    const mine = (dataPorts?.[p] ?? []).filter((x): x is MessagePort => x !== null);
    tasks.push(
      (pool.run(task, { transferList: [port2, ...mine] }) as Promise<PartitionResult>).catch(
        (e: unknown) => {
          // The task did not return: its worker exited (piscina rejects with "worker exited
          // with code: N"; our 'exit' listener ran before this callback), or an error escaped
          // the task's own handling (it arrives as a structured clone: message and stack, no
          // code). Stop the others now, in this partition's name.
          const error = e as Error & { code?: string };
          const tid = threadOf(failureWords, p);
          const exitCode = watch.exits.get(tid) ?? exitCodeInMessage(error.message);
          const code = error.code ?? ErrorCode.ERR_WORKER;
          const gone: LostPartition =
            exitCode !== undefined
              ? {
                  code: ErrorCode.ERR_WORKER_EXITED,
                  cause: `died: exit code ${exitCode}`,
                  exitCode,
                }
              : {
                  code,
                  cause: `failed: ${oneLine(error.message)} [${code}]`,
                };
          lost[p] = gone;
          abortFor(p, `${partitionName(p, placement)} ${gone.cause}`);
          return null;
        },
      ),
    );
  }

  const progress = (): ThreadedProgress => {
    let requests = 0;
    let events = 0;
    let jobs = 0;
    for (let p = 0; p < threads; p++) {
      const row = p * LIVE_ROW;
      events += live[row + 1]!;
      requests +=
        live[row + LIVE_HEADER + Counter.translations]! +
        live[row + LIVE_HEADER + Counter.pageRequests]!;
      jobs += live[row + LIVE_HEADER + Counter.jobs]!;
    }
    return { simulatedNs: live[0]!, durationNs, requests, events, jobs };
  };
  const stop = (): void => void barrierView.postControl(CONTROL_STOP);
  const onAbort = (): void => stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = options.onProgress
    ? setInterval(() => options.onProgress!(progress()), options.progressEveryMs ?? 200)
    : null;

  // settles (rejects) when the workers are done, so no command can wait on a closed port
  let endRun: (e: Error) => void = () => {};
  const ended = new Promise<never>((_, reject) => {
    endRun = reject;
  });
  ended.catch(() => {});
  let finished = false;

  let callerReason: string | null = null;
  const done = (async (): Promise<Report> => {
    let outcomes: (PartitionResult | null)[];
    try {
      // never rejects: a task that did not return settles as null (see above)
      outcomes = await Promise.all(tasks);
    } finally {
      finished = true;
      endRun(controlError(ControlErrorCode.ENDED, 'the run has ended'));
      if (timer) clearInterval(timer);
      options.signal?.removeEventListener('abort', onAbort);
      for (const r of remotes) r[Comlink.releaseProxy]();
      await pool.destroy();
    }
    // decided once every worker is gone: nothing can fail any more
    return settleRun({
      outcomes,
      lost,
      strays: watch.strays,
      first: firstFailure(failureWords),
      callerReason,
      placement,
      lastNs: (p) => live[p * LIVE_ROW]!,
    });
  })();

  return {
    done,
    threads,
    placement,
    progress,
    stop,
    abort: (reason) => {
      callerReason ??= reason;
      claimFirstFailure(failureWords, FAILED_BY_CALLER);
      barrierView.abort(`aborted: ${reason}`);
    },
    command: (partition, method, ...args) => {
      const remote = remotes[partition];
      if (!remote) return Promise.reject(einval(`no worker ${partition}: this run has ${threads}`));
      if (finished) {
        return Promise.reject(controlError(ControlErrorCode.ENDED, 'the run has ended'));
      }
      const fn = remote[method] as unknown as (...a: unknown[]) => Promise<never>;
      // comlink posts the request synchronously inside this call; count it afterwards, so the
      // worker that sees the count finds the message queued on its port
      const answer = fn(...args);
      // posted[p]: main thread only writes (add); the worker loads it at every quantum.
      Atomics.add(posted, partition, 1);
      return Promise.race([answer, ended]);
    },
  };
}

/** What {@link watchWorkers} needs of a piscina pool: its worker threads and its events. */
export interface WorkerPool {
  readonly threads: readonly Pick<Worker, 'threadId' | 'once' | 'on'>[];
  on(event: 'error', listener: (e: unknown) => void): unknown;
}

/** How a partition's worker ended when its task did not return a result. */
interface LostPartition {
  readonly code: string;
  /** One line, to be read after the partition's name: "died: exit code 1". */
  readonly cause: string;
  /** Its thread's exit code, when the thread exited or was terminated. */
  readonly exitCode?: number;
}

/** An error of a worker with no task in flight (piscina's pool 'error'). */
export interface StrayError {
  /** The partition that worker had run, or FAILED_UNKNOWN. */
  readonly partition: number;
  readonly error: Error & { code?: string };
}

/**
 * Listens to the pool's workers: the exit code of each thread, by threadId (for a task that
 * did not return to name), and the errors of workers with no task in flight. piscina emits
 * those on the pool as 'error' (its `_onError` when a worker fails with no task), and an
 * 'error' event without a listener throws in the main thread and ends the process: this
 * listener records them instead and calls `onStray`. Exported for its tests.
 */
export function watchWorkers(
  pool: WorkerPool,
  words: Int32Array,
  partitions: number,
  onStray: (stray: StrayError) => void,
): { exits: Map<number, number>; strays: StrayError[] } {
  const exits = new Map<number, number>();
  /** Each error a worker emitted, with that worker's threadId. */
  const errors = new Map<unknown, number>();
  const strays: StrayError[] = [];
  for (const w of pool.threads) {
    // threadId reads −1 once the thread has ended: keep it now
    const tid = w.threadId;
    w.once('exit', (code: number) => exits.set(tid, code));
    w.on('error', (e: unknown) => errors.set(e, tid));
  }
  pool.on('error', (e: unknown) => {
    // piscina emits this from its own 'error' listener of the worker, which was added before
    // ours: which worker it was is known once ours has run, in this same turn
    queueMicrotask(() => {
      const tid = errors.get(e);
      const stray: StrayError = {
        partition: tid === undefined ? FAILED_UNKNOWN : partitionOfThread(words, partitions, tid),
        error: e instanceof Error ? e : new Error(String(e)),
      };
      strays.push(stray);
      onStray(stray);
    });
  });
  return { exits, strays };
}

/** What the partitions of a run left when every worker was gone. */
interface RunEnding {
  /** Each partition's result, by partition; null where its task did not return. */
  readonly outcomes: readonly (PartitionResult | null)[];
  /** Why the tasks that did not return did not, by partition. */
  readonly lost: readonly (LostPartition | undefined)[];
  readonly strays: readonly StrayError[];
  /** The partition that claimed the first failure (run-failure.ts), or null. */
  readonly first: number | null;
  readonly callerReason: string | null;
  readonly placement: readonly number[];
  /** Simulated time partition p had reached at its last quantum boundary (live counters). */
  readonly lastNs: (partition: number) => number;
}

/**
 * The report of a run whose workers are all gone, or the ERR_WORKER_FAILED error naming the
 * partition that failed first and why, with the partial report of the partitions that
 * reported (none when no partition did).
 */
function settleRun(e: RunEnding): Report {
  const { outcomes, lost, strays, placement } = e;
  const threads = outcomes.length;
  const reports = outcomes.flatMap((o) => (o?.report ? [o.report] : []));
  const failedLate = new Set(strays.map((x) => x.partition));
  if (e.first === null && strays.length === 0 && outcomes.every((o) => o?.report && !o.failure)) {
    return { ...mergeReports(reports), placement: [...placement] };
  }
  const ended: PartitionEnd[] = outcomes.map((o, p) => {
    if (!o) return lost[p]?.exitCode !== undefined ? 'died' : 'failed';
    if (o.failure) return o.failure.code === ErrorCode.ERR_BARRIER_ABORTED ? 'stopped' : 'failed';
    return failedLate.has(p) ? 'failed' : 'finished';
  });
  // Every failure claims before it shows (run-failure.ts); without a claim, the first that
  // died, else the first that failed of its own, else the first that stopped.
  const byEnd = (what: PartitionEnd): number => ended.indexOf(what);
  const partition =
    e.first ??
    [byEnd('died'), byEnd('failed'), strays[0]?.partition ?? -1, byEnd('stopped')].find(
      (p) => p >= 0,
    ) ??
    0;
  let cause = 'failed';
  let code: string = ErrorCode.ERR_WORKER;
  let exitCode: number | undefined;
  let simulatedNs: number | undefined;
  let accelerator = -1;
  let rid = -1;
  const own = partition >= 0 ? outcomes[partition]?.failure : undefined;
  const gone = partition >= 0 ? lost[partition] : undefined;
  const stray = strays.find((x) => x.partition === partition);
  if (partition === FAILED_BY_CALLER) {
    cause = `aborted the run: ${oneLine(e.callerReason ?? '')}`;
    code = ErrorCode.ERR_RUN_ABORTED;
  } else if (gone) {
    ({ cause, code, exitCode } = gone);
    simulatedNs = e.lastNs(partition);
  } else if (own) {
    ({ cause, code, simulatedNs, accelerator, rid } = own);
  } else if (stray) {
    code = stray.error.code ?? ErrorCode.ERR_WORKER_UNCAUGHT;
    cause = `failed outside its task: ${oneLine(stray.error.message)} [${code}]`;
  }
  const failure: RunFailure = {
    partition,
    who: partitionName(partition, placement),
    cause,
    code,
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(simulatedNs !== undefined ? { simulatedNs } : {}),
    ended,
  };
  const missingPartitions = outcomes.flatMap((o, p) => (o?.report ? [] : [p]));
  const partial: Report | undefined =
    reports.length > 0
      ? {
          ...mergeReports(reports),
          // the threads the run started, not the reports that came back
          threads,
          placement: [...placement],
          // without the engine's report, the time the partitions that reported reached
          ...(outcomes[0]?.report
            ? {}
            : { simulatedNs: Math.max(...reports.map((r) => r.simulatedNs)) }),
          partial: true,
          missingPartitions,
          failure,
        }
      : undefined;
  throw codedError(
    ErrorCode.ERR_WORKER_FAILED,
    `threaded run failed: ${failure.who} ${failure.cause}`,
    {
      partition,
      accelerator,
      rid,
      simulatedNs: simulatedNs ?? 0,
      failure,
      partial,
    } satisfies Omit<ThreadedRunError, 'code' | 'message' | 'name'>,
  );
}

/** Runs a scenario in worker threads and returns its report (see {@link startScenarioThreaded}). */
export async function runScenarioThreaded(
  input: Scenario | ScenarioInput = {},
  options: ThreadedRunOptions = {},
): Promise<Report> {
  return (await startScenarioThreaded(input, options)).done;
}

function checkPlacement(
  placement: readonly number[],
  accelerators: number,
  threads: number,
): number[] {
  if (placement.length !== accelerators || placement.some((p) => !(p >= 0 && p < threads))) {
    throw einval(
      `placement must give each of the ${accelerators} accelerators a thread 0..${threads - 1}, got [${placement.join(', ')}]`,
    );
  }
  return [...placement];
}

/**
 * Merges the partial reports of the partitions (engine's first) into one. `wallMs` of the
 * result is the longest worker's run, counted as inline counts it: from the start of the
 * run, once the model is built (worker start-up is not in it).
 */
export function mergeReports(parts: readonly Report[]): Report {
  const wallMs = Math.max(...parts.map((r) => r.wallMs));
  const engine = parts[0]!;
  const merged = LatencyRecorder.decodeMerge(parts.map((r) => r.histograms));
  const histograms = merged.encode();
  const events = parts.reduce((n, r) => n + (r.eventsPerWallSecond * r.wallMs) / 1000, 0);
  let totals = engine.totals;
  let devices = engine.devices;
  for (const r of parts.slice(1)) {
    totals = addTotals(totals, r.totals);
    devices = devices.map((d, i) => ({ rid: d.rid, ...addTotals(d, r.devices[i]!) }));
  }
  const report: Report = {
    ...engine,
    runtime: 'threaded',
    threads: parts.length,
    wallMs,
    eventsPerWallSecond: events / (wallMs / 1000),
    totals,
    devices,
    ...(parts.every((r) => r.runTotals)
      ? {
          runTotals: parts.slice(1).reduce((t, r) => addTotals(t, r.runTotals!), engine.runTotals!),
        }
      : {}),
    ...(parts.every((r) => r.backlog !== undefined)
      ? { backlog: parts.reduce((n, r) => n + r.backlog!, 0) }
      : {}),
    ...(parts.every((r) => r.drain)
      ? {
          drain: {
            jobs: parts.reduce((n, r) => n + r.drain!.jobs, 0),
            requests: parts.reduce((n, r) => n + r.drain!.requests, 0),
            totals: parts
              .slice(1)
              .reduce((t, r) => addTotals(t, r.drain!.totals), engine.drain!.totals),
          },
        }
      : {}),
    latency: LatencyRecorder.summaryOfEncoded(histograms),
    histograms,
    invariants: {
      checked: parts.reduce((n, r) => n + r.invariants.checked, 0),
      violations: parts.flatMap((r) => r.invariants.violations),
    },
    series: mergeSeries(parts.flatMap((r) => (r.series ? [r.series] : []))),
    threadStats: parts
      .flatMap((r) => r.threadStats ?? [])
      .sort((a, b) => a.partition - b.partition),
    ...(parts.every((r) => r.intervalHistograms)
      ? { intervalHistograms: mergeIntervals(parts.map((r) => r.intervalHistograms!)) }
      : {}),
    ...(parts.some((r) => r.trace)
      ? { trace: parts.flatMap((r) => r.trace ?? []).sort((a, b) => a.startNs - b.startNs) }
      : {}),
  };
  merged.destroy();
  return report;
}

/** Adds up the workers' interval histograms interval by interval (they cut at the same times). */
function mergeIntervals(
  all: NonNullable<Report['intervalHistograms']>[],
): NonNullable<Report['intervalHistograms']> {
  const first = all[0] ?? [];
  return first.map((iv, i) => {
    const merged = LatencyRecorder.decodeMerge(all.map((a) => a[i]!.histograms as never));
    const histograms = merged.encode();
    merged.destroy();
    return { startNs: iv.startNs, endNs: iv.endNs, histograms };
  });
}

/** Adds up the workers' time series point by point (they sample at the same instants). */
function mergeSeries(all: readonly ReportSeries[]): ReportSeries | undefined {
  const first = all[0];
  if (!first) return undefined;
  const n = Math.min(...all.map((s) => s.tNs.length));
  const sum = (key: 'requests' | 'jobs' | 'prqOccupancy' | 'prqOccupancyMax') =>
    Array.from({ length: n }, (_, i) => all.reduce((x, s) => x + s[key][i]!, 0));
  return {
    intervalNs: first.intervalNs,
    tNs: first.tNs.slice(0, n),
    requests: sum('requests'),
    jobs: sum('jobs'),
    prqOccupancy: sum('prqOccupancy'),
    prqOccupancyMax: sum('prqOccupancyMax'),
  };
}
