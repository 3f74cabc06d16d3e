/**
 * The report a run returns (DESIGN §7): the types every output format reads. The machine
 * assembles it (`machine/report.ts`); the formats in this folder only read it.
 */

import type { CounterTotals } from '../metrics/counters.js';
import type { LatencyKind } from '../metrics/kinds.js';
import type { LatencySummary } from '../metrics/recorder.js';
import type { Scenario } from '../scenario/types.js';

/** Report format version. */
export const REPORT_VERSION = 1;

/** One invariant violation. */
export interface Violation {
  readonly what: string;
  readonly detail: string;
}

/**
 * What failed inside a scenario run — an outcome of the run, answered the way the kernel or a
 * client answers it, not an error of the simulator:
 * - `bind`: a client's bind failed (ENOSPC: no PASID left; ENOMEM: no frame for a PASID
 *   table); the client retries after a backoff (machine/clients.ts);
 * - `pageFault`: the kernel's page request handler could not serve a fault (handle_mm_fault
 *   out of frames, VM_FAULT_OOM): the page group response is Invalid Request (spec §4.3) and
 *   the device fails the job;
 * - `cpuFault`: a client's CPU touch of a page its job faulted on (no block-on-fault) ran out
 *   of frames: the job failed, the client goes on with its next one;
 * - `prefault`: filling a new client's buffers ran out of frames: that process exits (its
 *   frames come back) and the slot tries again after a backoff;
 * - `process`: creating a client's process or mapping its buffers failed (no frame for the
 *   root table, no room in the address space); handled as `prefault`.
 */
export const FailureKind = {
  BIND: 'bind',
  PAGE_FAULT: 'pageFault',
  CPU_FAULT: 'cpuFault',
  PREFAULT: 'prefault',
  PROCESS: 'process',
} as const;

/** One of the failure kinds. */
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];

/** One failure inside a run, with the simulated time it happened at. */
export interface FailureRecord {
  /** Simulated time, ns. */
  readonly tNs: number;
  readonly kind: FailureKind;
  /** The errno name the failed call returned (`ENOSPC`, `ENOMEM`, …). */
  readonly code: string;
  /** The error's message: what ran out and what to change. */
  readonly message: string;
  /** Requester id of the device involved, when one was. */
  readonly rid?: number;
  /** The process involved, when one was. */
  readonly pid?: number;
  /** The client slot involved (0-based), when the failure was a client's. */
  readonly client?: number;
  /** The PASID involved (`pageFault`). */
  readonly pasid?: number;
}

/**
 * The failures of a whole run (warm-up, window and drain; the totals' `bindErrors` and
 * `allocFailures` count the window's): how many, how many of each kind and code, and the
 * first ones in simulated-time order.
 */
export interface FailureLog {
  /** Failures in the whole run. */
  count: number;
  /** Count per kind and code, in the order each was first seen. */
  causes: { kind: FailureKind; code: string; count: number }[];
  /** The first failures (at most `FAILURES_KEPT` of machine/failures.ts), oldest first. */
  first: FailureRecord[];
}

/** The JSON report of DESIGN §7. */
export interface Report {
  version: number;
  scenario: Scenario;
  seed: number;
  profile: string;
  runtime: 'inline' | 'threaded';
  /** Why this runtime, when `--runtime auto` chose it (e.g. "auto: 8 busy accelerators, …"). */
  runtimeChoice?: string;
  threads: number;
  /** Threaded runs: the thread of each accelerator, by device index (0: the engine's). */
  placement?: number[];
  /** Simulated time of the whole run: warm-up, window and drain. */
  simulatedNs: number;
  /** The warm-up before the window (not measured), ns. */
  warmupNs?: number;
  /**
   * The measurement window, ns: `duration`, or less when the run was stopped. Totals,
   * per-device totals, latency statistics, histograms, series and thresholds cover it only.
   */
  windowNs?: number;
  /** The drain after the window (clients finish, unbind and exit), ns: simulated, not measured. */
  drainNs?: number;
  wallMs: number;
  /** Wall time of the window alone, ms (per-wall-second rates divide by it). */
  windowWallMs?: number;
  eventsPerWallSecond: number;
  totals: CounterTotals;
  latency: Record<LatencyKind, LatencySummary>;
  devices: ({ rid: number } & CounterTotals)[];
  invariants: { checked: number; violations: Violation[] };
  /** What failed inside the run (binds, allocations): outcomes, counted and logged. */
  failures?: FailureLog;
  /** Totals of the whole run (warm-up, window and drain): what balance checks look at. */
  runTotals?: CounterTotals;
  /**
   * Open loop: jobs the clients' schedules offered that were still waiting for a work-queue
   * entry when the window closed (0 in a closed loop).
   */
  backlog?: number;
  /** What finished in the drain: jobs, requests, and every counter. */
  drain?: { jobs: number; requests: number; totals: CounterTotals };
  /** Histogram encodings per kind (HdrHistogram compressed base64), for merging and logs. */
  histograms: Record<LatencyKind, string>;
  /** Time series over simulated time, one point per interval (for plots). */
  series?: ReportSeries;
  /** Set when a stop request ended the running phase early: the simulated time it ended. */
  stoppedAtNs?: number;
  /** True when a signal stopped the run (the command line): the report covers the time run. */
  interrupted?: boolean;
  /** The signal that stopped it. */
  stopSignal?: 'SIGINT' | 'SIGTERM';
  /** Spans and counter samples of the traced window, when the run was asked for a trace. */
  trace?: TraceRecord[];
  /** The scenario's thresholds as checked against this report (the command line). */
  thresholds?: { key: string; op: '<=' | '>='; limit: number; actual: number; ok: boolean }[];
  /**
   * Latency histograms of successive intervals of the window (when the run was asked for
   * them: `--hlog-interval`), for the HdrHistogram interval log; not in the JSON.
   */
  intervalHistograms?: {
    startNs: number;
    endNs: number;
    histograms: Readonly<Record<string, string>>;
  }[];
  /** Threaded runs: how each thread spent its wall time, by partition. */
  threadStats?: ThreadStat[];
  /**
   * Set when the run failed part-way: every figure is what the partitions that reported had
   * counted when they stopped, and the figures of `missingPartitions` are not in them at all.
   */
  partial?: boolean;
  /**
   * Threaded runs that failed: the partitions whose worker died without reporting (0: the
   * engine's — then the VT-d, kernel and invariant figures are missing, not zero).
   */
  missingPartitions?: number[];
  /** Threaded runs that failed: which partition failed first and why (runtime/run-failure.ts). */
  failure?: RunFailure;
}

/** How one partition of a threaded run ended. */
export type PartitionEnd =
  /** Ran to the end of the run. */
  | 'finished'
  /** Failed of its own error, or its worker failed after its part of the run was done. */
  | 'failed'
  /** Stopped because another partition failed (the barrier was aborted); it reported. */
  | 'stopped'
  /** Its worker exited or was terminated while it ran: it reported nothing. */
  | 'died';

/**
 * The first failure of a threaded run: the partition that failed first, decided by the
 * failure word that partition (or the main thread on its behalf) claimed first.
 */
export interface RunFailure {
  /** The partition that failed first (0: the engine's), or −1 when the caller aborted the run. */
  readonly partition: number;
  /** Who, in words: "the engine's worker (partition 0)", "accelerator partition 2 (devices 1, 3)". */
  readonly who: string;
  /** Why, in one line: its own error's message, or how its thread ended ("exit code 1"). */
  readonly cause: string;
  /** The stable code of that error (ERR_WORKER_EXITED when the thread exited). */
  readonly code: string;
  /** The worker's exit code, when its thread exited or was terminated. */
  readonly exitCode?: number;
  /** Simulated time the failing partition had reached, ns, when it reported it. */
  readonly simulatedNs?: number;
  /** How each partition ended, by partition. */
  readonly ended: readonly PartitionEnd[];
}

/**
 * How one thread of a threaded run spent its wall time between its first and last barrier:
 * working (running events, sending and draining messages) or waiting for the other threads.
 * The thread that waits least is the one the run is bound by.
 */
export interface ThreadStat {
  /** Partition the thread ran (0: the engine side: VT-d units, kernel, processes). */
  readonly partition: number;
  /** Accelerators placed on it. */
  readonly accelerators: number;
  /** Barrier rounds it took part in. */
  readonly quanta: number;
  /** Wall ms running events, sending and draining messages. */
  readonly workMs: number;
  /** Wall ms waiting at the barrier for the other threads. */
  readonly waitMs: number;
  /** Standard deviation of the work of one quantum, µs. */
  readonly workSdUs: number;
  /** Records sent to other threads. */
  readonly sentRecords: number;
  /** Wall µs of work in each quantum, when the run was asked to keep them (not in the JSON). */
  readonly quantumWorkUs?: Float32Array;
}

/**
 * One record of a trace window: a latency span of one kind (`startNs` + `durNs`, ending
 * when it was recorded), or a sample of the PRQ occupancy (`kind: 'prq'`, `value`).
 */
export interface TraceRecord {
  readonly kind: LatencyKind | 'prq';
  readonly startNs: number;
  readonly durNs: number;
  readonly value?: number;
}

/**
 * Time series of a run over simulated time: point i covers [tNs[i], tNs[i] + intervalNs).
 * The arrays have equal lengths.
 */
export interface ReportSeries {
  /** Width of one interval, ns. */
  intervalNs: number;
  /** Start of each interval, ns of simulated time. */
  tNs: number[];
  /**
   * Requests that reached the VT-d units in the interval (DESIGN §9: ATS translation
   * requests, page requests, untranslated DMA requests).
   */
  requests: number[];
  /** Jobs completed in the interval. */
  jobs: number[];
  /** Page requests waiting in the page request queues (all units) at the end of the interval. */
  prqOccupancy: number[];
  /** Largest PRQ occupancy seen in the interval. */
  prqOccupancyMax: number[];
}
