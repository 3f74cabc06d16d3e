/**
 * The scenario runner of the inline runtime (DESIGN §3, §5, §7): builds the machine a
 * scenario describes — VT-d units, device groups with their accelerators, SVA clients —
 * runs it for the scenario's simulated duration, stops the clients, lets every job finish,
 * unbinds and exits everything, checks the invariants of DESIGN §8, and returns the report
 * of DESIGN §7.
 *
 * A client is a process with its buffers, bound to one device (client i → device i mod n).
 * It keeps `queueDepth` jobs outstanding (closed loop) or submits at a rate (open loop), at
 * offsets chosen by the access pattern. With churn, after its bind lifetime (exponential
 * with the given mean) it stops submitting, optionally munmaps or mprotects its destination
 * buffer, waits for its jobs, then unbinds and exits — or exits while still bound and unbinds
 * after (release first, then teardown) — and a new client takes its place. Everything is
 * drawn from the seed, so the same scenario gives the same counters and histograms.
 *
 * A client is split the way the threaded runtime needs it: its process, binds and CPU work
 * stay here, on the engine side; its job stream (workload/job-stream.ts) lives with its
 * device; the two only exchange messages over a link of `pcieLatencyNs`.
 */

import { Accelerator, JobOp, type JobOpCode, JobStatus } from '../device/accelerator.js';
import type { Device } from '../device/device.js';
import type { Process } from '../mem/index.js';
import { Counter, type CounterTotals } from '../metrics/counters.js';
import { LATENCY_KINDS, type LatencyKind, LatencyKindIndex } from '../metrics/kinds.js';
import type { LatencySummary } from '../metrics/recorder.js';
import { resolveScenario } from '../scenario/defaults.js';
import type { Scenario, ScenarioInput } from '../scenario/types.js';
import { JobStream, type JobStreamConfig } from '../workload/job-stream.js';
import { Completion, type KThread, spawn } from './kthread.js';
import { MsgKind, MW } from './message.js';
import { Rng } from './rng.js';
import type { Endpoint, World } from './simulator.js';
import { createSystem, type System } from './system.js';

/** Report format version. */
export const REPORT_VERSION = 1;

/** One invariant violation. */
export interface Violation {
  readonly what: string;
  readonly detail: string;
}

/** The JSON report of DESIGN §7. */
export interface Report {
  version: number;
  scenario: Scenario;
  seed: number;
  profile: string;
  runtime: 'inline' | 'threaded';
  threads: number;
  simulatedNs: number;
  wallMs: number;
  eventsPerWallSecond: number;
  totals: CounterTotals;
  latency: Record<LatencyKind, LatencySummary>;
  devices: ({ rid: number } & CounterTotals)[];
  invariants: { checked: number; violations: Violation[] };
  /** Histogram encodings per kind (HdrHistogram compressed base64), for merging and logs. */
  histograms: Record<LatencyKind, string>;
  /** Time series over simulated time, one point per interval (for plots). */
  series?: ReportSeries;
  /** Set when a stop request ended the running phase early: the simulated time it ended. */
  stoppedAtNs?: number;
  /** Spans and counter samples of the traced window, when the run was asked for a trace. */
  trace?: TraceRecord[];
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

/** Options of a run. */
export interface RunOptions {
  /** Simulated time to run, overriding the scenario's. */
  readonly durationNs?: number;
  /** Called about every `progressEveryNs` of simulated time. */
  readonly onProgress?: (simulatedNs: number, totalNs: number) => void;
  readonly progressEveryNs?: number;
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
  readonly trace?: {
    readonly startNs: number;
    readonly endNs: number;
    readonly maxRecords?: number;
  };
  /**
   * Testing the failure paths: an endpoint of accelerator `accelerator` throws `message` at
   * `atNs` of simulated time (adds one endpoint, so the run is no longer the plain scenario).
   */
  readonly injectFault?: {
    readonly accelerator: number;
    readonly atNs: number;
    readonly message: string;
  };
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

const OPS: Record<string, JobOpCode> = {
  copy: JobOp.COPY,
  fill: JobOp.FILL,
  compare: JobOp.COMPARE,
  read: JobOp.READ,
};

/** Engine-side state of one client slot (its job stream lives with its device). */
interface Client {
  readonly index: number;
  process: Process | null;
  buffers: number[];
  device: Device;
  /** The device's job stream. */
  stream: JobStream;
  handle: object | null;
  /** Completes at the end of a lifetime or when the run stops. */
  readonly wake: Completion;
  /** Completes when the stream reports CLIENT_IDLE. */
  readonly idle: Completion;
}

/** Events (or quanta) between two slices of {@link ScenarioRun.steps}. */
const SLICE_ADVANCES = 4096;

/** Timer code of the end of client `i`'s lifetime: `i * 2 + T_LIFETIME`. */
const T_LIFETIME = 0;

/** Runs a scenario in the inline runtime and returns its report. */
export function runScenario(
  input: Scenario | ScenarioInput = {},
  options: RunOptions = {},
): Report {
  const scenario = isResolved(input) ? input : resolveScenario(input);
  const run = new ScenarioRun(scenario, options);
  return run.execute();
}

/** Options of {@link runScenarioAsync}. */
export interface AsyncRunOptions extends RunOptions {
  /** Aborting it stops the run at the next slice; the report covers the time run. */
  readonly signal?: AbortSignal;
  /** Called about every `everyMs` of wall time with the run's counters so far. */
  readonly onTick?: (simulatedNs: number, durationNs: number, totals: Float64Array) => void;
  readonly everyMs?: number;
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
export class ScenarioRun implements Endpoint {
  readonly sc: Scenario;
  readonly sys: System;
  readonly accels: Accelerator[] = [];
  readonly clients: Client[] = [];
  readonly rng: Rng;
  readonly id: number;
  private readonly options: RunOptions;
  /** The simulated time the run is asked to cover, ns. */
  readonly durationNs: number;
  private stopping = false;
  private liveClients = 0;
  private readonly devIndexByRid = new Map<number, number>();
  private readonly violations: Violation[] = [];
  private checked = 0;
  private readonly streams: JobStream[] = [];
  /** Frames in use once the machine is built: what must remain after every client is gone. */
  private baselineFrames = 0;

  constructor(sc: Scenario, options: RunOptions) {
    this.sc = sc;
    this.options = options;
    this.durationNs = options.durationNs ?? sc.duration;
    this.sys = createSystem({
      profile: sc.profile,
      partitions: options.driver ? options.driver.partitions : (options.partitions ?? 1),
      placement: options.placement,
      deviceBuffers: options.deviceBuffers,
      counters: options.counters,
      seed: sc.seed,
      memory: { frames: sc.memory.frames },
      cost: sc.cost,
      iommu: {
        units: sc.iommu.units,
        pasidBits: sc.iommu.pasidBits,
        srs: sc.iommu.srs,
        prqEntries: sc.iommu.prqEntries,
        iotlb: sc.iommu.iotlb,
      },
    });
    // Scenario runs can execute millions of descriptors: keep counters, not the decoded log.
    for (const u of this.sys.iommus) u.qi.logging = false;
    this.rng = new Rng(sc.seed, 7);
    this.id = this.sys.sim.register(this);
    const a = sc.workload.arrival;
    const streamCfg: JobStreamConfig = {
      seed: sc.seed,
      op: OPS[sc.workload.op]!,
      jobBytes: sc.workload.jobBytes,
      bufferBytes: sc.clients.buffers.size,
      pattern: this.patternSpec(),
      queueDepth: 'closedLoop' in a && a.closedLoop ? a.closedLoop.queueDepth : 0,
      openGapNs: 'openLoop' in a && a.openLoop ? 1e9 / a.openLoop.rate : 0,
      retryNs: 1000,
      pcieLatencyNs: this.sys.cost.pcieLatencyNs,
    };
    let n = 0;
    const world = this.sys.world;
    for (const g of sc.devices) {
      for (let i = 0; i < g.count; i++) {
        // the accelerator's endpoints (function, engines, job stream) share its port
        if (world) world.portScope = n;
        const devSim = this.sys.deviceSimOf(n);
        const dev = this.sys.addDevice({
          rid: g.rid + i,
          pasidBits: g.pasidBits,
          ats: g.ats,
          pri: g.pri,
          atsQdep: g.atsQdep % 32,
          unit: n % sc.iommu.units,
          devtlbEntries: g.devtlb.entries,
        });
        const accel = new Accelerator(
          dev,
          {
            engines: g.engines,
            wqDepth: Math.min(g.workQueue.depth, 64),
            blockOnFault: g.blockOnFault,
            priCredits: g.priCredits,
          },
          devSim,
          this.sys.cost,
          this.accelObserver(dev.index),
          (cookie, status, done) => stream.jobDone(cookie, status, done),
        );
        const stream: JobStream = new JobStream(devSim, accel, streamCfg, this.id);
        this.accels.push(accel);
        this.streams.push(stream);
        n++;
      }
    }
    const fault = options.injectFault;
    if (fault) {
      const sim = this.sys.deviceSimOf(fault.accelerator);
      if (world) world.portScope = fault.accelerator;
      const id = sim.register({
        handle: () => {
          throw new Error(fault.message);
        },
      });
      sim.timer(fault.atNs, id, id, 0);
    }
    if (world) world.portScope = -1;
    this.baselineFrames = this.sys.memory.framesInUse;
    for (const d of this.sys.devices) this.devIndexByRid.set(d.rid, d.index);
    this.sys.accessCheck = (rid, pasid, vpn, pfn, write) =>
      this.checkAccess(rid, pasid, vpn, pfn, write);
    this.role = options.driver ? options.driver.partition : -1;
    // after every model endpoint, and once the partition this thread runs is known
    this.sampler = this.makeSampler();
    if (options.trace) this.traceRecords = this.startTrace(options.trace);
    this.driver = options.driver && this.sys.world ? options.driver.make(this.sys.world) : null;
    options.onSystem?.(this.sys);
  }

  /** The trace window's records, when a trace was asked for. */
  private traceRecords: TraceRecord[] | null = null;

  /**
   * Wraps the latency recorder so every span recorded inside the window is kept too (the
   * recorder is called when a span ends, with its length), and PRQ samples with it.
   */
  private startTrace(t: NonNullable<RunOptions['trace']>): TraceRecord[] {
    const out: TraceRecord[] = [];
    const max = t.maxRecords ?? 200_000;
    const rec = this.sys.latency;
    const record = rec.record.bind(rec);
    const sims = this.sys.world ? this.sys.world.sims : [this.sys.sim];
    rec.record = (kindIndex: number, ns: number) => {
      record(kindIndex, ns);
      const sim = sims.find((s) => s.inEvent) ?? sims[0]!;
      const end = sim.nowNs;
      if (end >= t.startNs && end <= t.endNs && out.length < max) {
        out.push({ kind: LATENCY_KINDS[kindIndex]!, startNs: end - ns, durNs: ns });
      }
    };
    this.traceWindow = t;
    return out;
  }
  private traceWindow: NonNullable<RunOptions['trace']> | null = null;

  /** Samples the time series (report `series`); see {@link makeSampler}. */
  private readonly sampler: { readonly series: ReportSeries };

  /**
   * The time series of the report: every `intervalNs` (1/100 of the duration) of the running
   * phase, the requests and jobs counted in the interval and the PRQ occupancy, the largest
   * of 8 sub-samples and the value at the end. One sampler endpoint per thread, on the
   * first partition it runs (it reads the thread's counters), registered after every other
   * endpoint: it reads state and sends nothing, so
   * the model's events and their keys are untouched. Threaded runs merge the workers' series
   * by adding them up (each worker counts what its partition counted; PRQs are the engine's).
   */
  private makeSampler(): { readonly series: ReportSeries } {
    const intervalNs = Math.max(1000, Math.ceil(this.durationNs / 100));
    const subNs = Math.max(1, Math.floor(intervalNs / 8));
    const series: ReportSeries = {
      intervalNs,
      tNs: [],
      requests: [],
      jobs: [],
      prqOccupancy: [],
      prqOccupancyMax: [],
    };
    const sys = this.sys;
    const sims = sys.world ? sys.world.sims.filter((_, p) => this.hosts(p)) : [sys.sim];
    const sim = sims[0]!;
    const c = sys.counters.values;
    let lastRequests = 0;
    let lastJobs = 0;
    let max = 0;
    let sub = 0;
    const prq = (): number => {
      if (!this.engineSide) return 0;
      let n = 0;
      for (const u of sys.iommus) n += u.prq.pending;
      return n;
    };
    const id = sim.register({
      handle: (_arg, nowNs) => {
        if (nowNs > this.endNs || this.stopping) return;
        const occ = prq();
        if (occ > max) max = occ;
        const tw = this.traceWindow;
        const traced = this.traceRecords;
        const room = traced !== null && traced.length < (tw?.maxRecords ?? 200_000);
        if (tw && room && this.engineSide && nowNs >= tw.startNs && nowNs <= tw.endNs) {
          traced.push({ kind: 'prq', startNs: nowNs, durNs: 0, value: occ });
        }
        if (++sub === 8) {
          sub = 0;
          const requests = c[Counter.translations]! + c[Counter.pageRequests]!;
          const jobs = c[Counter.jobs]!;
          series.tNs.push(nowNs - intervalNs);
          series.requests.push(requests - lastRequests);
          series.jobs.push(jobs - lastJobs);
          series.prqOccupancy.push(occ);
          series.prqOccupancyMax.push(max);
          lastRequests = requests;
          lastJobs = jobs;
          max = 0;
        }
        const next = sub === 7 ? intervalNs - 7 * subNs : subNs;
        sim.timer(next, id, id, 0);
      },
    });
    sim.timer(subNs, id, id, 0);
    return { series };
  }

  /** When the stopped run had no client and no kernel thread left (−1 not yet). */
  private quiescedNs = -1;

  /** Records the instant the stopped run became quiet: the end of simulated time. */
  private noteQuiesce(): void {
    if (
      this.stopping &&
      this.quiescedNs < 0 &&
      this.liveClients === 0 &&
      this.sys.kernelThreadsRunning === 0
    ) {
      this.quiescedNs = this.sys.sim.nowNs;
    }
  }

  /** The partition this thread runs (−1: all of them). */
  private readonly role: number;
  private readonly driver: QuantumDriver | null;

  /** True when this thread runs partition `p`. */
  private hosts(p: number): boolean {
    return this.role < 0 || this.role === p;
  }

  private get engineSide(): boolean {
    return this.hosts(0);
  }

  private accelObserver(devIndex: number) {
    const sys = this.sys;
    const dc = sys.deviceCounters[devIndex]!;
    return {
      atsTranslate: (ns: number) => sys.latency.record(LatencyKindIndex['ats.translate'], ns),
      priRoundtrip: (ns: number) => sys.latency.record(LatencyKindIndex['pri.roundtrip'], ns),
      devtlb: (hit: boolean) => {
        const k = hit ? Counter.devtlbHits : Counter.devtlbMisses;
        sys.counters.add(k);
        dc.add(k);
      },
      jobDone: (latencyNs: number, status: number) => {
        sys.counters.add(Counter.jobs);
        dc.add(Counter.jobs);
        if (status === JobStatus.FAILED) {
          sys.counters.add(Counter.jobsFailed);
          dc.add(Counter.jobsFailed);
        } else if (status !== JobStatus.PAGE_FAULT) {
          sys.latency.record(LatencyKindIndex['job.latency'], latencyNs);
        }
      },
    };
  }

  /**
   * DESIGN §8, checked where a translated DMA reaches the unit: it must target the frame the
   * bound mm maps there, unless an invalidation is still running.
   */
  private checkAccess(rid: number, pasid: number, vpn: number, pfn: number, write: boolean): void {
    this.checked++;
    const devIndex = this.devIndexByRid.get(rid)!;
    const svm = this.sys.svm.svmByPasid(pasid);
    // an invalidation of this mm is under way: the old translation is still legitimate
    if (svm && svm.flushesRunning > 0) return;
    const dev = this.sys.devices[devIndex]!;
    const mm = svm?.mm;
    if (!svm || !mm || !svm.devs.some((d) => d.info === dev.info)) {
      this.violate(
        'dma-unbound',
        `device ${dev.rid.toString(16)} used PASID ${pasid} (vpn ${vpn.toString(16)}) while not bound`,
      );
      return;
    }
    const leaf = mm.alive ? mm.pageTable.lookup(vpn) : null;
    if (!leaf || leaf.pfn !== pfn || (write && !leaf.write)) {
      this.violate(
        'stale-translation',
        `at ${this.sys.sim.nowNs} ns: device ${dev.rid.toString(16)} PASID ${pasid} vpn ${vpn.toString(16)} → pfn ${pfn.toString(16)}, but the mm maps ${leaf ? `${leaf.pfn.toString(16)}${leaf.write ? ' rw' : ' r'}` : 'nothing'}`,
      );
    }
  }

  private violate(what: string, detail: string): void {
    if (this.violations.length < 100) this.violations.push({ what, detail });
  }

  /** Runs the scenario to its end in one go. */
  execute(): Report {
    const it = this.steps();
    for (;;) {
      const r = it.next();
      if (r.done) return r.value;
    }
  }

  /** Simulated time the running phase ends at (brought forward by a stop). */
  private endNs = 0;
  /** Set when the run was stopped before its duration. */
  stoppedAtNs = -1;
  private wall0 = 0n;

  /**
   * Asks the run to stop at the next opportunity (inline runtime: the next slice): the clients
   * stop, finish their jobs, unbind and exit, and the report covers the time run so far.
   */
  requestStop(): void {
    this.stopWanted = true;
  }
  private stopWanted = false;

  /** Brings the end of the running phase forward to `atNs` (once). */
  private stopAt(atNs: number): void {
    if (this.stoppedAtNs >= 0 || atNs >= this.endNs) return;
    this.endNs = atNs;
    this.stoppedAtNs = atNs;
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
    this.endNs = this.durationNs;
    const nClients = this.sc.clients.count;
    for (let i = 0; i < nClients; i++) {
      const dev = this.sys.devices[i % this.sys.devices.length]!;
      const stream = this.streams[dev.index]!;
      stream.addClient(i);
      const c: Client = {
        index: i,
        process: null,
        buffers: [],
        device: dev,
        stream,
        handle: null,
        wake: new Completion(),
        idle: new Completion(),
      };
      this.clients.push(c);
      if (this.engineSide) {
        spawn(this.life(c), (r) => {
          if (r.error !== undefined) throw r.error;
        });
      }
    }
    const every = this.options.progressEveryNs ?? Math.max(1, Math.floor(this.durationNs / 100));
    let next = every;
    let slice = 0;
    const driver = this.driver;
    while (this.advance(this.endNs)) {
      if (sim.nowNs >= next) {
        this.options.onProgress?.(sim.nowNs, this.durationNs);
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
    const end = this.endNs;
    if (this.driver) {
      for (const s of this.sys.world!.sims) if (s.nowNs < end) s.nowNs = end;
    } else if (this.sys.world) this.sys.world.runUntil(end);
    else sim.runUntil(end);
    // Stop: every client ends its lifetime, stops its stream, unbinds and exits. The wake-up
    // is an event, so what the clients do next runs inside the simulation.
    this.stopping = true;
    this.sys.onKernelThreadDone = () => this.noteQuiesce();
    if (this.engineSide) {
      for (const c of this.clients) sim.timer(0, this.id, this.id, c.index * 2 + T_LIFETIME);
    }
    const limit = end + 10_000_000_000;
    if (this.driver) {
      // threads: run quanta until every partition is idle (the engine's clients are gone)
      this.driver.resync();
      while (this.advance(limit)) {
        if (this.driver.controlPending) yield 'control';
        if (++slice >= SLICE_ADVANCES) {
          slice = 0;
          yield 'slice';
        }
      }
      if (this.engineSide && (this.liveClients > 0 || this.sys.kernelThreadsRunning > 0)) {
        this.violate('quiesce', `clients did not finish by ${sim.nowNs} ns after the run stopped`);
      }
    }
    while (!this.driver && (this.liveClients > 0 || this.sys.kernelThreadsRunning > 0)) {
      if (!this.advance(limit)) {
        this.violate('quiesce', `clients did not finish by ${sim.nowNs} ns after the run stopped`);
        break;
      }
      if (++slice >= SLICE_ADVANCES) {
        slice = 0;
        yield 'slice';
      }
    }
    const wallNs = Number(process.hrtime.bigint() - this.wall0);
    this.finalChecks();
    return this.report(wallNs);
  }

  /**
   * The report of a run that failed part-way (`error`): what was counted and recorded so far,
   * with the failure as a violation; final checks are skipped (the run did not finish).
   */
  partialReport(error: string): Report {
    this.violate('run-failed', error);
    const wallNs = this.wall0 === 0n ? 0 : Number(process.hrtime.bigint() - this.wall0);
    const r = this.report(wallNs);
    r.simulatedNs = this.sys.sim.nowNs;
    return r;
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

  /** Events run, over every partition. */
  private events(): number {
    const w = this.sys.world;
    return w ? w.sims.reduce((n, s) => n + s.events, 0) : this.sys.sim.events;
  }

  private patternSpec() {
    const w = this.sc.workload;
    switch (w.pattern) {
      case 'strided':
        return { kind: 'strided', stride: w.stride } as const;
      case 'zipf':
        return { kind: 'zipf', theta: w.zipfTheta } as const;
      default:
        return { kind: w.pattern } as const;
    }
  }

  /** One client slot: successive client processes, each bound for one lifetime. */
  private *life(c: Client): KThread<void> {
    const sys = this.sys;
    const sc = this.sc;
    const churn = sc.clients.churn;
    const size = sc.clients.buffers.size;
    while (!this.stopping) {
      const p = sys.createProcess();
      c.process = p;
      this.liveClients++;
      c.buffers = [];
      for (let b = 0; b < sc.clients.buffers.count; b++)
        c.buffers.push(p.mmap({ length: size, prot: 'rw' }));
      const pre = sc.clients.buffers.prefault;
      for (let b = 0; b < c.buffers.length; b++) {
        if (pre === 'all' || (pre === 'src' && b === 0)) this.fill(p, c.buffers[b]!, size, c.index);
      }
      const h = yield* sys.svm.bind(c.device.info, p, 0, () => ({}));
      c.handle = h.handle;
      c.wake.reinit();
      if (!this.stopping) {
        this.control(
          MsgKind.CLIENT_START,
          c,
          h.svm.pasid,
          c.buffers[0]!,
          c.buffers[c.buffers.length - 1]!,
        );
        if (churn.enabled) {
          const life = Math.max(1, Math.round(this.rng.exponential(churn.bindLifetime)));
          sys.sim.timer(life, this.id, this.id, c.index * 2 + T_LIFETIME);
        }
        yield c.wake;
      }
      // End of the lifetime: stop the stream (jobs may still be in flight), optionally take
      // part of the address space away, wait for the stream to go idle, then leave.
      c.idle.reinit();
      this.control(MsgKind.CLIENT_STOP, c, 0, 0, 0);
      const roll = this.rng.next();
      const dst = c.buffers[c.buffers.length - 1]!;
      if (roll < churn.munmapFraction) p.munmap(dst, size);
      else if (roll < churn.munmapFraction + churn.mprotectFraction) p.mprotect(dst, size, 'r');
      yield c.idle;
      if (this.rng.next() < churn.exitWhileBound) {
        p.exit();
        yield* sys.svm.unbind(c.handle);
      } else {
        yield* sys.svm.unbind(c.handle);
        p.exit();
      }
      c.handle = null;
      c.process = null;
      this.liveClients--;
      this.noteQuiesce();
    }
  }

  /** Sends a control message to a client's job stream (one PCIe hop). */
  private control(kind: number, c: Client, pasid: number, src: number, dst: number): void {
    const pool = this.sys.sim.pool;
    const slot = pool.alloc();
    const b = pool.base(slot);
    pool.words[b + MW.KIND] = kind;
    pool.words[b + MW.SRC] = this.id;
    pool.words[b + MW.A] = c.index;
    pool.words[b + MW.A + 1] = pasid;
    pool.setWide(b + MW.A + 2, src);
    pool.setWide(b + MW.A + 4, dst);
    this.sys.sim.send(this.sys.cost.pcieLatencyNs, this.id, c.stream.id, slot);
  }

  private fill(p: Process, base: number, size: number, seed: number): void {
    p.fillPages(base, size, (page) => (seed + page) & 0xff);
  }

  private touch(c: Client, addr: number, write: boolean): void {
    const p = c.process!;
    const vma = p.findVma(addr);
    if (vma && (!write || vma.write)) p.handleMmFault(addr, { write });
  }

  /** Lifetime timers, and messages from the job streams (idle, fault). */
  handle(arg: number): void {
    const sim = this.sys.sim;
    if (arg < 0) {
      const c = this.clients[(-1 - arg) >> 1]!;
      c.wake.complete();
      return;
    }
    const pool = sim.pool;
    const b = pool.base(arg);
    const kind = pool.words[b + MW.KIND]! & 0xff;
    const c = this.clients[pool.words[b + MW.A]!]!;
    if (kind === MsgKind.CLIENT_IDLE) {
      pool.release(arg);
      c.idle.complete();
      return;
    }
    if (kind === MsgKind.CLIENT_FAULT) {
      // idxd-style: touch the faulting pages on the CPU (cpuFaultNs), then resubmit
      const src = pool.getWide(b + MW.A + 2);
      const dst = pool.getWide(b + MW.A + 4);
      if (c.process?.alive) {
        this.touch(c, src, false);
        this.touch(c, dst, true);
      }
      pool.words[b + MW.KIND] = MsgKind.CLIENT_RESUBMIT;
      pool.words[b + MW.SRC] = this.id;
      sim.send(this.sys.cost.cpuFaultNs + this.sys.cost.pcieLatencyNs, this.id, c.stream.id, arg);
      return;
    }
    throw new Error(`scenario runner: unexpected message kind ${kind}`);
  }

  private finalChecks(): void {
    const sys = this.sys;
    if (this.engineSide) this.engineChecks();
    // counted once, by the engine side, so every runtime counts the same checks
    if (this.engineSide) this.checked += 1;
    for (const d of sys.devices) {
      if (!this.hosts(sys.partitionOf(d.index))) continue;
      if (d.priActive && d.outstandingPageRequests > 0) {
        this.violate(
          'page-response-missing',
          `device ${d.rid.toString(16)} has ${d.outstandingPageRequests} page request groups unanswered`,
        );
      }
      if (d.unexpectedResponses > 0) {
        this.violate(
          'unexpected-response',
          `device ${d.rid.toString(16)} received ${d.unexpectedResponses} responses for groups it did not have outstanding`,
        );
      }
    }
    let slots = 0;
    const sims = sys.world ? sys.world.sims : [sys.sim];
    for (const [p, s] of sims.entries()) if (this.hosts(p)) slots += s.pool.inUse;
    if (slots !== 0) this.violate('message-leak', `${slots} message slots still allocated`);
  }

  /** What the engine side can check at the end: bonds, PASIDs, notifiers, mms, frames. */
  private engineChecks(): void {
    const sys = this.sys;
    this.checked += 5;
    for (const e of sys.kernelErrors)
      this.violate('kernel-thread', `${e.what}: ${(e.error as Error).message}`);
    if (sys.svm.liveBonds !== 0)
      this.violate('bonds', `${sys.svm.liveBonds} handles still bound at the end`);
    if (sys.svm.ioasid.inUse !== 0)
      this.violate('pasids', `${sys.svm.ioasid.inUse} PASIDs still allocated at the end`);
    for (const p of sys.processes) {
      if (p.mmuNotifiers.length > 0)
        this.violate('notifiers', `process ${p.id} still has ${p.mmuNotifiers.length} notifiers`);
      if (p.mmCountRefs !== 0)
        this.violate('mm-leak', `process ${p.id} mm_count ${p.mmCountRefs} at the end`);
    }
    // every frame a client used came back: what remains is the machine's own tables
    const leafTables = sys.devices.reduce((n, d) => n + d.info.leafTables.size, 0);
    const expected = this.baselineFrames + leafTables;
    if (sys.memory.framesInUse !== expected) {
      this.violate(
        'frame-leak',
        `${sys.memory.framesInUse} frames in use at the end, expected ${expected}`,
      );
    }
  }

  private report(wallNs: number): Report {
    const sys = this.sys;
    const totals = sys.counters.toTotals();
    totals.binds = sys.svm.binds;
    totals.unbinds = sys.svm.unbinds;
    totals.bindErrors = sys.svm.bindErrors;
    const wallMs = wallNs / 1e6;
    return {
      version: REPORT_VERSION,
      scenario: this.sc,
      seed: this.sc.seed,
      profile: this.sc.profile,
      runtime: 'inline',
      threads: 1,
      simulatedNs: this.quiescedNs >= 0 ? this.quiescedNs : sys.sim.nowNs,
      wallMs,
      eventsPerWallSecond: wallNs > 0 ? this.events() / (wallNs / 1e9) : 0,
      totals,
      latency: sys.latency.summary(),
      devices: sys.devices.map((d) => ({ rid: d.rid, ...sys.deviceCounters[d.index]!.toTotals() })),
      invariants: { checked: this.checked, violations: this.violations },
      histograms: sys.latency.encode(),
      series: this.sampler.series,
      ...(this.traceRecords ? { trace: this.traceRecords } : {}),
      ...(this.stoppedAtNs >= 0 ? { stoppedAtNs: this.stoppedAtNs } : {}),
    };
  }
}
