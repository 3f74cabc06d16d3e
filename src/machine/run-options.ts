/**
 * Options of a scenario run, and the interface through which the threaded runtime drives
 * one partition's quanta (DESIGN §3).
 */

import type { World } from '../sim/simulator.js';
import type { System } from './system.js';

/** Options of a run. */
export interface RunOptions {
  /** The measurement window, overriding the scenario's duration. */
  readonly durationNs?: number;
  /** Simulated time run before the window and not measured (default 0). */
  readonly warmupNs?: number;
  /**
   * Keeps the latency histograms of every interval of this length through the window (the
   * report's `intervalHistograms`, for HdrHistogram interval logs); 0 or absent: none.
   */
  readonly hlogIntervalNs?: number;
  /** Called about every `progressEveryNs` of simulated time. */
  readonly onProgress?: (simulatedNs: number, totalNs: number) => void;
  readonly progressEveryNs?: number;
  /**
   * Also check every untranslated DMA against the frame the bound mm maps (DESIGN §8): a page
   * walk per request, so off by default (the unit translates those from the PASID entries the
   * run's own kernel wrote); `npm run soak` turns it on.
   */
  readonly checkUntranslatedDma?: boolean;
  /** Called with the machine once it is built (for inspection and tests). */
  readonly onSystem?: (system: System) => void;
  /**
   * More than 1 splits the model into partitions run in quanta — the threaded runtime's
   * synchronisation, here in one thread; the result must equal the single-partition run.
   * Partition 0 is the engine side; `placement` puts the accelerators.
   */
  readonly partitions?: number;
  /** Partition of each accelerator, by device index (default: all in partition 1). */
  readonly placement?: readonly number[];
  /**
   * Threaded runtime: this thread runs only partition `partition` (0 the engine side) of a
   * `partitions`-partition model, and `make` builds what carries its quanta (rings and a
   * barrier).
   */
  readonly driver?: {
    readonly partition: number;
    readonly partitions: number;
    make(world: World): QuantumDriver;
  };
  /** Shared memory for the devices' data buffers (threaded runtime). */
  readonly deviceBuffers?: SharedArrayBuffer;
  /**
   * Where to keep the run's counters (COUNTER_COUNT float64s, e.g. a view of a
   * SharedArrayBuffer another thread reads for progress without stopping this one).
   */
  readonly counters?: Float64Array;
  /**
   * Records a trace of the simulated window [startNs, endNs]: every latency span that ends in
   * it and the PRQ occupancy samples (at most `maxRecords`, default 200 000).
   */
  readonly trace?: TraceOptions;
  /**
   * Testing the failure paths: an endpoint of accelerator `accelerator` (−1: of the engine
   * side) throws `message` at `atNs` of simulated time (adds one endpoint, so the run is no
   * longer the plain scenario).
   */
  readonly injectFault?: {
    readonly accelerator: number;
    readonly atNs: number;
    readonly message: string;
    /**
     * What the endpoint does instead of throwing (the threaded runtime's thread-level faults:
     * exiting the worker, an exception escaping asynchronously; partition-task.ts).
     */
    readonly act?: () => void;
  };
}

/** The trace window of {@link RunOptions.trace}. */
export interface TraceOptions {
  readonly startNs: number;
  readonly endNs: number;
  readonly maxRecords?: number;
}

/** Options of `runScenarioAsync`. */
export interface AsyncRunOptions extends RunOptions {
  /** Aborting it stops the run at the next slice; the report covers the time run. */
  readonly signal?: AbortSignal;
  /** Called about every `everyMs` of wall time with the run's counters so far. */
  readonly onTick?: (simulatedNs: number, durationNs: number, totals: Float64Array) => void;
  readonly everyMs?: number;
}

/** Runs the quanta of one partition in the threaded runtime. */
export interface QuantumDriver {
  /** Runs the next quantum if one is due at or before `limitNs` anywhere; false otherwise. */
  runQuantum(limitNs: number): boolean;
  /** Agrees again on the next quantum after this thread changed its events outside the loop. */
  resync(): void;
  /** The agreed start of the next quantum. */
  readonly agreedNextNs: number;
  /** True once the threads agreed, at a barrier, that the run stops. */
  readonly stopRequested: boolean;
  /** True when this thread has control-plane work to take before the next quantum. */
  readonly controlPending: boolean;
}
