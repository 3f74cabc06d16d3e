/**
 * A scenario run (DESIGN §3, §5, §7): builds the machine a scenario describes, runs it for
 * the scenario's simulated duration, stops the clients, lets every job finish, unbinds and
 * exits everything, checks the invariants of DESIGN §8, and returns the report of DESIGN §7.
 *
 * The pieces live beside this file: `build.ts` (the machine), `clients.ts` (client lifetimes
 * and churn), `sampler.ts` (time series and trace window), `checks.ts` (invariants),
 * `report.ts` (the report). The same run drives one partition of the threaded runtime when
 * given a quantum driver (`runtime/partition-task.ts`).
 */

import type { Accelerator } from '../device/accelerator.js';
import type { Adversary } from '../device/adversary.js';
import { codedError, ErrorCode } from '../errors.js';
import type { Report, ReportSeries } from '../report/types.js';
import { resolveScenario } from '../scenario/defaults.js';
import type { Scenario, ScenarioInput } from '../scenario/types.js';
import type { JobStream } from '../workload/job-stream.js';
import { addAccelerators, buildSystem, injectFault } from './build.js';
import { InvariantChecker } from './checks.js';
import { ClientPool } from './clients.js';
import { assembleReport, markPhase, type PhaseMark } from './report.js';
import type { AsyncRunOptions, QuantumDriver, RunOptions } from './run-options.js';
import {
  type IntervalLog,
  type RunPhase,
  startIntervalLog,
  startSampler,
  startTrace,
  type TraceWindow,
} from './sampler.js';
import type { System } from './system.js';

/** Events (or quanta) between two slices of {@link ScenarioRun.steps}. */
const SLICE_ADVANCES = 4096;

/** How long a stopped run may take to quiesce before it is a violation, ns. */
const QUIESCE_LIMIT_NS = 10_000_000_000;

/** Runs a scenario in the inline runtime and returns its report. */
export function runScenario(
  input: Scenario | ScenarioInput = {},
  options: RunOptions = {},
): Report {
  return createScenarioRun(input, options).execute();
}

/**
 * Runs a scenario in the inline runtime without holding the event loop: the run lets it
 * turn about every `everyMs` (default 50) of wall time, for progress, signals and timers.
 * The result equals {@link runScenario}'s.
 */
export async function runScenarioAsync(
  input: Scenario | ScenarioInput = {},
  options: AsyncRunOptions = {},
): Promise<Report> {
  const run = createScenarioRun(input, options);
  const stop = (): void => run.requestStop();
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();
  const every = options.everyMs ?? 50;
  try {
    const steps = run.steps();
    let last = performance.now();
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      const now = performance.now();
      if (now - last >= every) {
        options.onTick?.(run.sys.sim.nowNs, run.durationNs, run.sys.counters.values);
        await new Promise((resolve) => setImmediate(resolve));
        last = performance.now();
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

function isResolved(x: Scenario | ScenarioInput): x is Scenario {
  return (
    typeof (x as Scenario).duration === 'number' &&
    Array.isArray((x as Scenario).devices) &&
    typeof (x as Scenario).memory === 'object'
  );
}

/**
 * Builds a scenario run without running it: `execute()` runs it in one go, `steps()` in
 * slices (see {@link ScenarioRun.steps}).
 */
export function createScenarioRun(
  input: Scenario | ScenarioInput = {},
  options: RunOptions = {},
): ScenarioRun {
  return new ScenarioRun(isResolved(input) ? input : resolveScenario(input), options);
}

/** A scenario's machine, clients and run (see the file header). */
export class ScenarioRun implements RunPhase {
  readonly sc: Scenario;
  readonly sys: System;
  readonly accels: readonly Accelerator[];
  /** The job streams, by device index. */
  readonly streams: readonly JobStream[];
  /** The hostile streams (scenario `devices[].adversary`). */
  readonly adversaries: readonly Adversary[];
  private readonly clients: ClientPool;
  private readonly checker: InvariantChecker;
  private readonly series: ReportSeries;
  private readonly trace: TraceWindow | null;
  private readonly options: RunOptions;
  /** The measurement window the run is asked to cover, ns. */
  readonly durationNs: number;
  /** The warm-up before the window, ns (not measured). */
  readonly warmupNs: number;
  /** The marks where the window started (null: at 0) and ended (null: not yet). */
  private windowStart: PhaseMark | null = null;
  private windowEnd: PhaseMark | null = null;
  /** Open-loop jobs offered and not yet submitted when the window closed (this thread's). */
  private backlogAtEnd = 0;
  /** The window's interval histograms, when asked for. */
  private readonly intervalLog: IntervalLog | null;
  /** The partition this thread runs (−1: all of them). */
  private readonly role: number;
  private readonly driver: QuantumDriver | null;
  /** Simulated time the running phase ends at (brought forward by a stop). */
  endNs = 0;
  /** Set when the run was stopped before its duration. */
  stoppedAtNs = -1;
  /** When the stopped run had no client and no kernel thread left (−1 not yet). */
  private quiescedNs = -1;
  private stopWanted = false;
  private wall0 = 0n;

  constructor(sc: Scenario, options: RunOptions) {
    this.sc = sc;
    this.options = options;
    this.durationNs = options.durationNs ?? sc.duration;
    this.warmupNs = options.warmupNs ?? 0;
    if (!Number.isSafeInteger(this.warmupNs) || this.warmupNs < 0) {
      throw codedError(
        ErrorCode.EINVAL,
        `warm-up must be a whole number of ns ≥ 0, got ${this.warmupNs}`,
      );
    }
    // Endpoint ids break ties between simultaneous events: system, clients, accelerators,
    // the fault injector, then the sampler, always in this order.
    this.sys = buildSystem(sc, options);
    this.clients = new ClientPool(this.sys, sc);
    const { accels, streams, adversaries } = addAccelerators(this.sys, sc, this.clients.id);
    this.accels = accels;
    this.streams = streams;
    this.adversaries = adversaries;
    if (options.injectFault) injectFault(this.sys, options.injectFault);
    this.checker = new InvariantChecker(this.sys, adversaries);
    if (options.checkUntranslatedDma) this.sys.checkUntranslatedDma = true;
    this.role = options.driver ? options.driver.partition : -1;
    this.trace = options.trace ? startTrace(this.sys, options.trace) : null;
    const sys = this.sys;
    const mine = sys.world ? sys.world.sims.filter((_, p) => this.hosts(p)) : [sys.sim];
    this.series = startSampler(sys, mine[0]!, this.hosts(0), this.durationNs, this, this.trace);
    this.intervalLog = options.hlogIntervalNs
      ? startIntervalLog(sys, mine[0]!, this, this.warmupNs, options.hlogIntervalNs)
      : null;
    this.driver = options.driver && sys.world ? options.driver.make(sys.world) : null;
    options.onSystem?.(sys);
  }

  /** True once the clients are being stopped. */
  get stopping(): boolean {
    return this.clients.stopping;
  }

  /** True when this thread runs partition `p`. */
  private hosts(p: number): boolean {
    return this.role < 0 || this.role === p;
  }

  /** Records the instant the stopped run became quiet: the end of simulated time. */
  private noteQuiesce(): void {
    if (
      this.clients.stopping &&
      this.quiescedNs < 0 &&
      this.clients.live === 0 &&
      this.sys.kernelThreadsRunning === 0
    ) {
      this.quiescedNs = this.sys.sim.nowNs;
    }
  }

  /** Runs the scenario to its end in one go. */
  execute(): Report {
    const it = this.steps();
    for (;;) {
      const r = it.next();
      if (r.done) return r.value;
    }
  }

  /**
   * Asks the run to stop at the next opportunity (inline runtime: the next slice): the clients
   * stop, finish their jobs, unbind and exit, and the report covers the time run so far.
   */
  requestStop(): void {
    this.stopWanted = true;
  }

  /** Brings the end of the running phase forward to `atNs` (once). */
  private stopAt(atNs: number): void {
    if (this.stoppedAtNs >= 0 || atNs >= this.endNs) return;
    this.endNs = atNs;
    this.stoppedAtNs = atNs;
  }

  /** True while clients or kernel threads of the engine side are still running. */
  private get busy(): boolean {
    return this.clients.live > 0 || this.sys.kernelThreadsRunning > 0;
  }

  /**
   * True while a hostile stream of this thread waits for a completion or a page response:
   * one run to idle (threads) and one run inline end with the same answers delivered.
   */
  private get hostileBusy(): boolean {
    return this.adversaries.some((a) => this.hosts(this.sys.partitionOf(a.device.index)) && a.busy);
  }

  /**
   * The run as a sequence of slices: yields `'slice'` every {@link SLICE_ADVANCES} events or
   * quanta (so an async caller can let its event loop run: progress, signals) and `'control'`
   * when the threaded runtime's barrier handed this thread a control request; returns the
   * report.
   */
  *steps(): Generator<'slice' | 'control', Report> {
    const sim = this.sys.sim;
    this.wall0 = process.hrtime.bigint();
    const warmup = this.warmupNs;
    this.endNs = warmup + this.durationNs;
    this.clients.start(this.streams, this.hosts(0));
    const total = this.endNs;
    const every = this.options.progressEveryNs ?? Math.max(1, Math.floor(total / 100));
    let next = every;
    let slice = 0;
    const driver = this.driver;
    // The running phase: the warm-up up to its end (when there is one), the window after it.
    // Every thread stops at the same boundary (the threaded runtime agrees on each quantum's
    // start), so every thread marks the window at the same point of the simulation.
    const limits = warmup > 0 ? [() => Math.min(warmup, this.endNs), () => this.endNs] : [];
    if (warmup === 0) limits.push(() => this.endNs);
    this.sys.latency.paused = warmup > 0;
    for (let phase = 0; phase < limits.length; phase++) {
      const limit = limits[phase]!;
      while (this.advance(limit())) {
        if (sim.nowNs >= next) {
          this.options.onProgress?.(sim.nowNs, total);
          next = sim.nowNs + every;
        }
        if (driver) {
          // every thread sees the same control word after the same round (barrier.ts)
          if (driver.stopRequested) this.stopAt(driver.agreedNextNs - 1);
          if (driver.controlPending) yield 'control';
        }
        if (++slice >= SLICE_ADVANCES) {
          slice = 0;
          yield 'slice';
          if (this.stopWanted && !driver) this.stopAt(sim.nowNs);
        }
      }
      if (phase === 0 && limits.length === 2) {
        this.windowStart = markPhase(this.sys, limit());
        this.sys.latency.paused = false;
      }
    }
    const end = this.endNs;
    this.windowEnd = markPhase(this.sys, end);
    // the open-loop backlog of this thread's accelerators when the window closed
    this.backlogAtEnd = this.streams.reduce(
      (n, st, i) => n + (this.hosts(this.sys.partitionOf(i)) ? st.backlogNow : 0),
      0,
    );
    this.intervalLog?.flush(end);
    this.sys.latency.paused = true;
    if (driver) {
      for (const s of this.sys.world!.sims) if (s.nowNs < end) s.nowNs = end;
    } else if (this.sys.world) this.sys.world.runUntil(end);
    else sim.runUntil(end);
    // Stop: every client ends its lifetime, stops its stream, unbinds and exits. The wake-up
    // is an event, so what the clients do next runs inside the simulation.
    this.clients.onSlotDone = () => this.noteQuiesce();
    this.sys.onKernelThreadDone = () => this.noteQuiesce();
    if (this.hosts(0)) this.clients.stopAll();
    else this.clients.stopping = true;
    const limit = end + QUIESCE_LIMIT_NS;
    if (driver) {
      // threads: run quanta until every partition is idle (the engine's clients are gone)
      driver.resync();
      while (this.advance(limit)) {
        if (driver.controlPending) yield 'control';
        if (++slice >= SLICE_ADVANCES) {
          slice = 0;
          yield 'slice';
        }
      }
      if (this.hosts(0) && this.busy) {
        this.checker.violate(
          'quiesce',
          `clients did not finish by ${sim.nowNs} ns after the run stopped`,
        );
      }
    }
    while (!driver && (this.busy || this.hostileBusy)) {
      if (!this.advance(limit)) {
        // a hostile request left unanswered is reported by the final checks
        if (this.busy) {
          this.checker.violate(
            'quiesce',
            `clients did not finish by ${sim.nowNs} ns after the run stopped`,
          );
        }
        break;
      }
      if (++slice >= SLICE_ADVANCES) {
        slice = 0;
        yield 'slice';
      }
    }
    const wallNs = Number(process.hrtime.bigint() - this.wall0);
    this.checker.finalChecks((p) => this.hosts(p));
    return this.report(wallNs, this.quiescedNs >= 0 ? this.quiescedNs : sim.nowNs);
  }

  /**
   * The report of a run that failed part-way (`error`): what was counted and recorded so far,
   * with the failure as a violation; final checks are skipped (the run did not finish).
   */
  partialReport(error: string): Report {
    this.checker.violate('run-failed', error);
    const wallNs = this.wall0 === 0n ? 0 : Number(process.hrtime.bigint() - this.wall0);
    // the time this thread's own partitions reached: a device partition never runs the
    // engine's simulator, whose clock would say 0
    const sims = this.sys.world ? this.sys.world.sims.filter((_, p) => this.hosts(p)) : [];
    const reached = sims.reduce((t, s) => Math.max(t, s.nowNs), 0);
    return this.report(wallNs, this.hosts(0) ? this.sys.sim.nowNs : reached);
  }

  /**
   * Where the simulation is when an error escapes it: the simulated time, and the accelerator
   * (device index and rid) whose endpoint was handling an event, when one was.
   */
  failurePoint(): { simulatedNs: number; accelerator: number; rid: number } {
    const sims = this.sys.world ? this.sys.world.sims : [this.sys.sim];
    const mine = sims.filter((_, p) => this.hosts(p));
    const busy = mine.find((s) => s.currentTarget >= 0) ?? mine[0]!;
    const port =
      this.sys.world && busy.currentTarget >= 0 ? this.sys.world.port[busy.currentTarget]! : -1;
    return {
      simulatedNs: busy.nowNs,
      accelerator: port,
      rid: port >= 0 ? this.sys.devices[port]!.rid : -1,
    };
  }

  /** Runs the next event (or quantum, when partitioned) due at or before `limitNs`. */
  private advance(limitNs: number): boolean {
    if (this.driver) return this.driver.runQuantum(limitNs);
    const world = this.sys.world;
    if (world) return world.runQuantum(limitNs);
    const sim = this.sys.sim;
    if (sim.nextEventNs > limitNs) return false;
    sim.step();
    return true;
  }

  private report(wallNs: number, simulatedNs: number): Report {
    const w = this.sys.world;
    return assembleReport(this.sys, {
      scenario: this.sc,
      checker: this.checker,
      series: this.series,
      trace: this.trace,
      simulatedNs,
      events: w ? w.sims.reduce((n, s) => n + s.events, 0) : this.sys.sim.events,
      wallNs,
      stoppedAtNs: this.stoppedAtNs,
      windowStart: this.windowStart,
      windowEnd: this.windowEnd,
      wall0Ns: this.wall0,
      intervals: this.intervalLog?.records ?? null,
      backlogAtEnd: this.backlogAtEnd,
    });
  }
}
