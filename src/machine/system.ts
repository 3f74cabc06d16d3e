/**
 * `createSystem`: a complete simulated machine driven by the inline runtime (DESIGN §3, §6) —
 * physical memory, the kernel's own mm (`init_mm`), VT-d units with their driver state, the
 * SVA layer of the chosen kernel profile (v5.8 or current), devices and processes.
 *
 * The programmatic API is a testbench (machine/testbench.ts): public async methods — binds,
 * unbinds, removals and the devices' bus calls — start their kernel thread or send their
 * transaction at the current simulated time and settle at the simulated time it finished;
 * the simulator advances only while every caller waits, so calls issued together overlap.
 * `sleep`, `run` and `idle` wait on the same clock. Everything is simulated, so the same
 * script gives the same PASIDs, tables, invalidation logs and times.
 *
 * Process operations (mmap, munmap, mprotect, write, exit) stay synchronous CPU calls: a
 * notifier flush they cause runs to completion inside the call, advancing the clock, and
 * requests in flight progress meanwhile.
 */

import { addressSpace } from '../device/bus-args.js';
import {
  DEVICE_BUFFER_BYTES,
  Device,
  type DeviceOptions,
  defaultDeviceOptions,
} from '../device/device.js';
import { defaultCacheParams } from '../engine/caps.js';
import type { IotlbParams } from '../engine/iotlb.js';
import { defaultUnitCaps, type UnitObserver, VtdUnit, type VtdUnitCaps } from '../engine/unit.js';
import { codedError, describeValue, ErrorCode } from '../errors.js';
import { Errno, kernelError } from '../kernel/errors.js';
import { type DeviceInfo, IntelIommu, ridName } from '../kernel/iommu.js';
import { type KernelProfile, kernelProfile } from '../kernel/profile.js';
import type { KernelQuirks, Profile, PrqService, SvaLayer } from '../kernel/sva.js';
import {
  DEFAULT_FRAMES,
  type MmNotifierCalls,
  type PendingFlush,
  PhysicalMemory,
  Process,
} from '../mem/index.js';
import { Counter, Counters } from '../metrics/counters.js';
import { LatencyKindIndex } from '../metrics/kinds.js';
import { initMetricsSync, LatencyRecorder } from '../metrics/recorder.js';
import { FailureKind, type FailureRecord } from '../report/types.js';
import {
  type CostParams,
  resolveCost,
  sampleFaultServiceNs,
  sampleInvDevtlbNs,
  sampleInvIotlbNs,
} from '../sim/cost-model.js';
import { Completion, type KThread, spawn, type Waitable } from '../sim/kthread.js';
import { ConfigEnable } from '../sim/message.js';
import { Rng } from '../sim/rng.js';
import { Simulator, World } from '../sim/simulator.js';
import { dmaAccessViolation, STALE_BY_KERNEL } from './access-check.js';
import { FailureRecorder, isAllocFailure } from './failures.js';
import { stalled, Testbench } from './testbench.js';

export type { Profile } from '../kernel/sva.js';

/** Configuration of `createSystem`; every field is optional. */
export interface SystemConfig {
  /** Kernel behaviour: 'v5.8' (as shipped) or 'current' (≈ v6.13–v6.16). Default 'v5.8'. */
  readonly profile?: Profile;
  /** Simulated physical memory in 4 KiB frames. Default 65536 (256 MiB). */
  readonly memory?: { readonly frames?: number };
  /**
   * The CPU's paging, as v5.8's `intel_svm_check` reads it (spec §1): `la57` = 5-level paging
   * for processes (FSPM 01b), default false; `gbpages` = the CPU uses 1 GiB pages
   * (X86_FEATURE_GBPAGES), default true, as every x86-64 CPU with SVA-capable VT-d reports
   * pdpe1gb (Intel since Westmere) and the kernel uses it unless booted with `nogbpages`.
   * With `gbpages` a unit without cap.FL1GP is not SVM-capable: binds get ENOTSUPP.
   */
  readonly cpu?: { readonly la57?: boolean; readonly gbpages?: boolean };
  /** VT-d units: how many, their capabilities (shared by all units) and cache sizes. */
  readonly iommu?: Partial<VtdUnitCaps> & {
    readonly units?: number;
    /**
     * Page request queue entries, a power of two ≥ 4. Default: the kernel profile's
     * (v5.8: 128, PRQ_ORDER 0).
     */
    readonly prqEntries?: number;
    readonly iotlb?: Partial<IotlbParams>;
    readonly pasidCache?: { readonly entries?: number; readonly assoc?: number };
    readonly psc?: { readonly entries?: number; readonly assoc?: number };
  };
  /**
   * Kernel bugs of the profile's era to reproduce (profile current only; spec §9, §10.2):
   * `iopfAttachRegression` = v6.16 before the 2026 fix, where SVA on a function without PRI
   * fails ENODEV. Default: none (the profile with the later fixes).
   */
  readonly kernel?: KernelQuirks;
  /** Seed of every random stream. Default 1. */
  readonly seed?: number;
  /** Overrides of the cost model, in ns (see sim/cost-model.ts). */
  readonly cost?: Record<string, unknown>;
  /**
   * More than 1 splits the model into partitions synchronised in quanta of `pcieLatencyNs`,
   * the threaded runtime's algorithm (in one thread, or one partition per worker): partition
   * 0 holds the engine side (units, kernel, processes), and every accelerator lives in the
   * partition `placement` gives it. Scenario runs only: the public bus methods need the single
   * partition. Default 1; at most 65.
   */
  readonly partitions?: number;
  /**
   * Partition of each device, by the order devices are added (missing entries: partition 1
   * when partitioned). Partition 0 hosts devices in-process next to the engine.
   */
  readonly placement?: readonly number[];
  /**
   * Shared memory for the devices' data buffers (DEVICE_BUFFER_BYTES each, in the order the
   * devices are added), so a device side in another thread sees the bytes DMA moved.
   */
  readonly deviceBuffers?: SharedArrayBuffer;
  /** Storage of the totals (COUNTER_COUNT float64s, e.g. shared memory read for progress). */
  readonly counters?: Float64Array;
  /**
   * The runtime of the programmatic API: 'inline' (the default, the only one so far).
   * 'threaded' is refused with EOPNOTSUPP: the threaded runtime runs scenarios (`svasim run
   * --runtime threaded`), not the programmatic API.
   */
  readonly runtime?: 'inline' | 'threaded';
}

/** Most partitions a system accepts: the engine's and one per accelerator, 64 of them. */
export const MAX_PARTITIONS = 65;

/** A bond between a device and a process (or the kernel, for supervisor binds). */
export class SvaHandle {
  readonly device: Device<DeviceInfo>;
  /** The bound process; null for a supervisor bind. */
  readonly process: Process | null;
  constructor(device: Device<DeviceInfo>, process: Process | null) {
    this.device = device;
    this.process = process;
  }
}

/** A simulated machine with VT-d units and the v5.8 SVA layer. */
export class System implements UnitObserver {
  readonly profile: Profile;
  readonly seed: number;
  readonly cost: CostParams;
  readonly memory: PhysicalMemory;
  /** The engine side's simulator (units, kernel, processes). */
  readonly sim: Simulator;
  /** The partitioned world, when `partitions` is more than 1. */
  readonly world: World | null;
  /** The VT-d units (hardware). */
  readonly iommus: readonly VtdUnit[];
  /** Driver state per unit. */
  readonly drivers: readonly IntelIommu[];
  /** The kernel's page-request service thread per unit. */
  readonly prqThreads: readonly PrqService[];
  /** The SVA layer of the kernel profile. */
  readonly sva: SvaLayer;
  /** The kernel's address space (`init_mm`), bound by supervisor binds. */
  readonly initMm: Process;
  readonly la57: boolean;
  /** When the profile's mm calls the notifiers (spec §5.1.1), for every process created. */
  private readonly mmNotifierCalls: MmNotifierCalls;
  /** True when the CPU uses 1 GiB pages (see {@link SystemConfig.cpu}). */
  readonly gbpages: boolean;
  readonly devices: Device<DeviceInfo>[] = [];
  /** The devices by requester id. */
  private readonly deviceByRid = new Map<number, Device<DeviceInfo>>();
  /** Partition of each device by index, as configured (see {@link SystemConfig.placement}). */
  private readonly placement: readonly number[];
  private readonly deviceBuffers: SharedArrayBuffer | null;
  /**
   * Processes whose mm still exists (alive, or exited with mm_count above 0), by pid in
   * creation order. A process leaves when its mm is freed, so a long churning run holds only
   * the processes that exist now, not every one it created.
   */
  private readonly held = new Map<number, Process>();
  private readonly release = (p: Process): void => {
    this.held.delete(p.id);
  };
  /** Totals, and per device. */
  readonly counters: Counters;
  readonly deviceCounters: Counters[] = [];
  /** Latency histograms in modelled ns. */
  readonly latency: LatencyRecorder;
  private nextPid = 1;
  /** Kernel threads spawned from inside the simulation that have not finished. */
  kernelThreadsRunning = 0;
  /** Called when a kernel thread spawned inside the simulation finished. */
  onKernelThreadDone: (() => void) | null = null;
  /** The kernel profile's code (release of a removed device). */
  private readonly kernel: KernelProfile;
  /** Tail of the queue of binds, unbinds and removals (see {@link locked}). */
  private svaLock: Promise<void> = Promise.resolve();
  /** Binds of the programmatic API not yet unbound, per handle (the driver's references). */
  private readonly bindsHeld = new Map<SvaHandle, number>();
  /** The driver of the programmatic API's async calls (machine/testbench.ts). */
  readonly testbench: Testbench;
  /** Endpoint id the testbench's timers are ordered under (registered at the first sleep). */
  private clockSource = -1;
  /** Errors kernel threads spawned inside the simulation ended with. */
  readonly kernelErrors: { what: string; error: unknown }[] = [];
  /**
   * Binds and allocations that failed inside the simulation (machine/failures.ts): the
   * engine side's, where every allocation happens.
   */
  readonly failures = new FailureRecorder();

  constructor(config: SystemConfig = {}) {
    this.profile = config.profile ?? 'v5.8';
    const kernel = kernelProfile(this.profile);
    this.kernel = kernel;
    const quirks = config.kernel ?? {};
    if (typeof quirks !== 'object' || quirks === null) {
      throw kernelError(Errno.EINVAL, `kernel must be an object, got ${describeValue(quirks)}`);
    }
    for (const [k, v] of Object.entries(quirks)) {
      if (k !== 'iopfAttachRegression') {
        throw kernelError(
          Errno.EINVAL,
          `kernel.${k} is not a known kernel quirk; known: iopfAttachRegression`,
        );
      }
      if (typeof v !== 'boolean') {
        throw kernelError(Errno.EINVAL, `kernel.${k} must be a boolean, got ${describeValue(v)}`);
      }
      if (v && this.profile !== 'current') {
        throw kernelError(
          Errno.EINVAL,
          `kernel.${k} is a v6.16 bug: it needs profile current, not ${this.profile}`,
        );
      }
    }
    const {
      units = 1,
      prqEntries = kernel.prqEntries,
      iotlb = {},
      pasidCache = {},
      psc = {},
      ...capOverrides
    } = config.iommu ?? {};
    if (!Number.isInteger(units) || units < 1 || units > 64) {
      throw kernelError(Errno.EINVAL, `iommu.units must be 1..64, got ${units}`);
    }
    this.seed = config.seed ?? 1;
    this.cost = resolveCost(config.cost ?? {});
    this.deviceBuffers = config.deviceBuffers ?? null;
    this.counters = new Counters(config.counters);
    const partitions = config.partitions ?? 1;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
      throw kernelError(
        Errno.EINVAL,
        `partitions must be an integer 1..${MAX_PARTITIONS}, got ${String(partitions)}`,
      );
    }
    this.placement = config.placement ?? [];
    for (const [i, p] of this.placement.entries()) {
      if (!Number.isInteger(p) || p < 0 || p >= partitions) {
        throw kernelError(
          Errno.EINVAL,
          `placement[${i}] must be a partition 0..${partitions - 1}, got ${String(p)}`,
        );
      }
    }
    this.world = partitions > 1 ? new World(partitions, this.cost.pcieLatencyNs) : null;
    this.sim = this.world ? this.world.sims[0]! : new Simulator();
    const world = this.world;
    const sim = this.sim;
    // A partitioned model advances a quantum at a time, as its scenario runs do (World).
    this.testbench = new Testbench(
      world
        ? () =>
            world.nextEventNs !== Number.POSITIVE_INFINITY &&
            world.runQuantum(Number.POSITIVE_INFINITY)
        : () => sim.step(),
    );
    // Most events are "now + one PCIe hop": give that delay a FIFO lane in every event queue.
    for (const sim of this.world ? this.world.sims : [this.sim]) {
      sim.queue.setLaneDelays([this.cost.pcieLatencyNs]);
    }
    this.la57 = config.cpu?.la57 ?? false;
    this.mmNotifierCalls = kernel.mmNotifierCalls;
    this.gbpages = config.cpu?.gbpages ?? true;
    this.memory = new PhysicalMemory({ frames: config.memory?.frames ?? DEFAULT_FRAMES });
    initMetricsSync();
    this.latency = new LatencyRecorder();
    const caps: VtdUnitCaps = Object.freeze({ ...defaultUnitCaps, ...capOverrides });
    const cost = this.cost;
    const iommus: VtdUnit[] = [];
    const drivers: IntelIommu[] = [];
    for (let i = 0; i < units; i++) {
      const rng = new Rng(this.seed, 100 + i);
      const unit = new VtdUnit(
        i,
        caps,
        this.memory,
        this.sim,
        { ...cost, sampleInvIotlbNs: () => sampleInvIotlbNs(cost, rng) },
        {
          iotlb: { ...defaultCacheParams.iotlb, ...iotlb },
          pasidCache: { ...defaultCacheParams.pasidCache, ...pasidCache },
          psc: { ...defaultCacheParams.psc, ...psc },
        },
        prqEntries,
      );
      unit.observer = this;
      iommus.push(unit);
      drivers.push(new IntelIommu(unit, this.memory, prqEntries, kernel.probe));
    }
    this.iommus = iommus;
    this.drivers = drivers;
    this.initMm = new Process(this.memory, {
      id: 0,
      levels: this.la57 ? 5 : 4,
      notifierCalls: this.mmNotifierCalls,
    });
    // Notifier flushes run to completion when called from outside the simulation (the public
    // API) with nothing else in flight; from inside an event (client churn), or while a
    // script's calls are in flight, they become kernel threads of their own, so the event loop
    // is never re-entered and the flush overlaps what is in flight in simulated time (the
    // process operation's promise then resolves when it ends).
    const runSync = (what: string, body: KThread<void>): Waitable | undefined => {
      this.kernelThreadsRunning++;
      if (!this.sim.inEvent && this.testbench.waiting === 0) {
        try {
          this.sim.runThread(what, body);
        } finally {
          this.kernelThreadsRunning--;
        }
        return undefined;
      }
      const done = new Completion();
      spawn(body, (r) => {
        this.kernelThreadsRunning--;
        this.onKernelThreadDone?.();
        if (r.error !== undefined) this.kernelErrors.push({ what, error: r.error });
        done.complete();
      });
      return done;
    };
    this.sva = kernel.createSva({
      iommus: drivers,
      initMm: this.initMm,
      la57: this.la57,
      gbpages: this.gbpages,
      runSync,
      quirks: config.kernel ?? {},
    });
    this.sva.now = () => this.sim.nowNs;
    this.sva.onDrain = (ns) => this.latency.record(LatencyKindIndex['unbind.drain'], ns);
    this.sva.onBindError = (info, error) => this.bindFailed(info.sid, error);
    const threads: PrqService[] = [];
    for (const [i, driver] of drivers.entries()) {
      const rng = new Rng(this.seed, 200 + i);
      const t = kernel.createPrqService(driver, this.sva, this.sim, {
        faultServiceNs: () => sampleFaultServiceNs(cost, rng),
        prqInvalidNs: cost.prqInvalidNs,
        pageResponseNs: cost.pageResponseNs,
        responded: (rid, code, serviceNs) => this.responded(rid, code, serviceNs),
        faultFailed: (rid, pasid, pid, addr, error) =>
          this.allocFailed(this.deviceByRid.get(rid)?.index ?? -1, {
            kind: FailureKind.PAGE_FAULT,
            code: ErrorCode.ENOMEM,
            message: `page request at 0x${addr.toString(16)}: ${error.message}`,
            rid,
            pid,
            pasid,
          }),
      });
      driver.unit.onPrqEvent = () => t.interrupt();
      spawn(t.run());
      threads.push(t);
    }
    this.prqThreads = threads;
  }

  // UnitObserver: counters and latencies of the hardware.
  /** @internal */
  translation(dev: number, hit: boolean, walkNs: number): void {
    const dc = this.deviceCounters[dev]!;
    this.counters.add(Counter.translations);
    dc.add(Counter.translations);
    const k = hit ? Counter.iotlbHits : Counter.iotlbMisses;
    this.counters.add(k);
    dc.add(k);
    if (walkNs >= 0) {
      this.counters.add(Counter.walks);
      dc.add(Counter.walks);
      this.latency.record(LatencyKindIndex['iommu.walk'], walkNs);
    }
  }
  /** @internal */
  pageRequest(dev: number): void {
    this.counters.add(Counter.pageRequests);
    this.deviceCounters[dev]!.add(Counter.pageRequests);
    this.devices[dev]?.pageRequestReceived(this.sim.nowNs);
  }
  /**
   * Checks DMA as it reaches a unit (DESIGN §8, access-check.ts): translated DMA always,
   * untranslated DMA while {@link checkUntranslatedDma}. By default a DMA that reaches a frame
   * the process bound to that (device, PASID) does not map there throws `ERR_INVARIANT` out
   * of the bus call that caused it; the scenario runner installs a check that records
   * violations instead. A DMA through a translation the kernel's own flushes left stale is
   * counted as `staleByKernel` by both.
   */
  accessCheck:
    | ((
        rid: number,
        pasid: number,
        vpn: number,
        pfn: number,
        write: boolean,
        hostile: boolean,
      ) => void)
    | null = (rid, pasid, vpn, pfn, write, hostile) => {
    // a hostile stream's translated DMA passes the ATS trust gap as on hardware (scenario runs)
    if (hostile) return;
    const v = dmaAccessViolation(this, rid, pasid, vpn, pfn, write);
    if (v === STALE_BY_KERNEL) this.staleByKernel(rid);
    else if (v !== null) {
      throw codedError(
        ErrorCode.ERR_INVARIANT,
        `svasim DMA isolation broken (DESIGN §8): ${v.what}: ${v.detail} [rid 0x${rid.toString(16)} pasid ${pasid} vpn 0x${vpn.toString(16)} pfn 0x${pfn.toString(16)} ${write ? 'write' : 'read'}]`,
        { violation: v },
      );
    }
  };
  /**
   * Whether untranslated DMA, which the unit translates itself, is checked as well: true for
   * the public API, where tables can come from misused or corrupted state.
   */
  checkUntranslatedDma = true;
  /** @internal */
  dmaAccess(
    rid: number,
    pasid: number,
    vpn: number,
    pfn: number,
    write: boolean,
    hostile: boolean,
  ): void {
    this.accessCheck?.(rid, pasid, vpn, pfn, write, hostile);
  }
  /**
   * @internal A DMA of `rid` went through a translation the kernel's own flushes left stale
   * (access-check.ts): `staleByKernel`, in the totals and the device's.
   */
  staleByKernel(rid: number): void {
    this.counters.add(Counter.staleByKernel);
    const dev = this.deviceByRid.get(rid);
    if (dev) this.deviceCounters[dev.index]!.add(Counter.staleByKernel);
  }
  /** @internal */
  stopMarker(dev: number): void {
    this.counters.add(Counter.stopMarkers);
    this.deviceCounters[dev]!.add(Counter.stopMarkers);
  }
  /** @internal */
  autoResponse(dev: number, code: number): void {
    this.counters.add(Counter.autoResponses);
    this.deviceCounters[dev]!.add(Counter.autoResponses);
    this.devices[dev]?.pageRequestAutoResponded(code);
  }
  /** @internal */
  prqOverflow(dev: number): void {
    this.counters.add(Counter.prqOverflows);
    this.deviceCounters[dev]!.add(Counter.prqOverflows);
    this.devices[dev]?.pageRequestOverflowed();
  }
  /** @internal */
  faultRecorded(dev: number): void {
    this.counters.add(Counter.faultRecords);
    this.deviceCounters[dev]!.add(Counter.faultRecords);
  }
  /** @internal */
  dma(dev: number, bytes: number, ok: boolean): void {
    const k = ok ? Counter.dmaBytes : Counter.dmaErrors;
    const n = ok ? bytes : 1;
    this.counters.add(k, n);
    this.deviceCounters[dev]!.add(k, n);
  }
  /** @internal */
  invalidation(kind: 'iotlb' | 'devtlb', latencyNs: number): void {
    this.counters.add(Counter.invalidations);
    this.latency.record(LatencyKindIndex[kind === 'iotlb' ? 'inv.iotlb' : 'inv.devtlb'], latencyNs);
  }

  private responded(rid: number, code: number, serviceNs: number): void {
    const dev = this.deviceByRid.get(rid);
    const k =
      code === 0
        ? Counter['pageResponses.success']
        : code === 1
          ? Counter['pageResponses.invalid']
          : Counter['pageResponses.failure'];
    this.counters.add(k);
    if (dev) this.deviceCounters[dev.index]!.add(k);
    this.latency.record(LatencyKindIndex['prq.service'], serviceNs);
  }

  /**
   * A bind failed (every bind path: the scenario's clients, the control plane, the public
   * API): `bindErrors`, and `allocFailures` when it failed for want of a PASID or a frame
   * (ENOSPC, ENOMEM), in the totals and the device's. Logging is the caller's: a client logs
   * its own with its slot (clients.ts); a programmatic bind answers its caller.
   */
  private bindFailed(rid: number, error: unknown): void {
    const dev = this.deviceByRid.get(rid);
    const dc = dev ? this.deviceCounters[dev.index] : undefined;
    this.counters.add(Counter.bindErrors);
    dc?.add(Counter.bindErrors);
    if (isAllocFailure((error as { code?: string }).code)) {
      this.counters.add(Counter.allocFailures);
      dc?.add(Counter.allocFailures);
    }
  }

  /**
   * An allocation inside the simulation failed (a frame for a page or a table, ENOMEM) and
   * the run answered it (see report/types.ts `FailureKind`): counts `allocFailures` in the
   * totals and for device `devIndex` (−1: none) and logs it at the current simulated time.
   */
  allocFailed(devIndex: number, failure: Omit<FailureRecord, 'tNs'>): void {
    this.counters.add(Counter.allocFailures);
    if (devIndex >= 0) this.deviceCounters[devIndex]!.add(Counter.allocFailures);
    this.failures.add({ tNs: this.sim.nowNs, ...failure });
  }

  /** VT-d unit 0. */
  get iommu(): VtdUnit {
    return this.iommus[0]!;
  }

  /** Partition of device `index` (0 when the model is not partitioned). */
  partitionOf(index: number): number {
    return this.world ? (this.placement[index] ?? 1) : 0;
  }

  /** The simulator device `index` (and its accelerator) runs on. */
  deviceSimOf(index: number): Simulator {
    return this.world ? this.world.sims[this.partitionOf(index)]! : this.sim;
  }

  /** Adds a PCIe function behind a VT-d unit; the driver probes it at once. */
  addDevice(options: DeviceOptions): Device<DeviceInfo> {
    const o: Required<DeviceOptions> = { ...defaultDeviceOptions, ...options };
    const bad = (what: string): never => {
      throw kernelError(Errno.EINVAL, `addDevice: ${what}`);
    };
    if (!Number.isInteger(o.rid) || o.rid < 0 || o.rid > 0xffff)
      bad(`rid must be an integer 0..0xffff, got ${o.rid}`);
    if (this.deviceByRid.has(o.rid)) bad(`rid ${ridName(o.rid)} is already in use`);
    if (!Number.isInteger(o.pasidBits) || o.pasidBits < 0 || o.pasidBits > 20)
      bad(`pasidBits must be 0..20, got ${o.pasidBits}`);
    if (typeof o.ats !== 'boolean') bad(`ats must be a boolean, got ${String(o.ats)}`);
    if (typeof o.pri !== 'boolean') bad(`pri must be a boolean, got ${String(o.pri)}`);
    if (o.pri && !o.ats) bad('pri requires ats (page requests follow failed ATS translations)');
    if (typeof o.prgRespPasidRequired !== 'boolean')
      bad(`prgRespPasidRequired must be a boolean, got ${String(o.prgRespPasidRequired)}`);
    if (!Number.isInteger(o.atsQdep) || o.atsQdep < 0 || o.atsQdep > 32)
      bad(`atsQdep must be 0..32, got ${o.atsQdep}`);
    if (!Number.isInteger(o.unit) || o.unit < 0 || o.unit >= this.drivers.length) {
      bad(`unit must be 0..${this.drivers.length - 1}, got ${o.unit}`);
    }
    const driver = this.drivers[o.unit]!;
    const unit = driver.unit;
    const rng = new Rng(this.seed, 1000 + this.devices.length);
    const cost = this.cost;
    const counters = new Counters();
    const dev = new Device<DeviceInfo>(
      o,
      this.devices.length,
      {
        sim: this.deviceSimOf(this.devices.length),
        unitEndpoint: unit.id,
        pcieLatencyNs: cost.pcieLatencyNs,
        devtlbInvNs: () => sampleInvDevtlbNs(cost, rng),
        buffer: this.deviceBuffers
          ? new Uint8Array(
              this.deviceBuffers,
              this.devices.length * DEVICE_BUFFER_BYTES,
              DEVICE_BUFFER_BYTES,
            )
          : undefined,
        addressSpace: addressSpace(this.la57),
        counters,
        until: (done) => {
          if (this.world)
            throw new Error(
              'the bus methods run on a single partition: create the system without partitions',
            );
          return this.testbench.until(done);
        },
      },
      (d) => {
        const info = driver.probe(
          {
            rid: o.rid,
            pasidBits: o.pasidBits,
            ats: o.ats,
            pri: o.pri,
            atsQdep: o.atsQdep,
            prgRespPasidRequired: o.prgRespPasidRequired,
          },
          d,
        );
        unit.attachDevice(o.rid, d.id, d.index, d.buffer);
        // The attach enabled PASID / PRI / ATS (iommu_enable_dev_iotlb, spec §2.1.1): boot-time
        // configuration writes, done before anyone uses the function, so applied at once.
        d.functionState.configWrite(
          (info.pasidEnabled ? ConfigEnable.PASID : 0) |
            (info.priEnabled ? ConfigEnable.PRI : 0) |
            (info.atsEnabled ? ConfigEnable.ATS : 0),
          info.priAllocation,
        );
        return info;
      },
    );
    this.devices.push(dev);
    this.deviceByRid.set(dev.rid, dev);
    this.deviceCounters.push(counters);
    return dev;
  }

  /** Creates a process (an mm) with 4-level page tables, or 5-level with `cpu.la57`. */
  createProcess(): Process {
    const p = new Process(this.memory, {
      id: this.nextPid++,
      levels: this.la57 ? 5 : 4,
      onFree: this.release,
      notifierCalls: this.mmNotifierCalls,
    });
    this.held.set(p.id, p);
    p.awaitFlushes = this.awaitFlushes;
    return p;
  }

  /**
   * How a script waits for the notifier flushes a process operation (munmap, mprotect, exit)
   * left running while other calls were in flight: resolved at the simulated time the last
   * one ends. Inside the simulation (client churn) nothing waits on a promise.
   */
  private readonly awaitFlushes = async (pending: readonly PendingFlush[]): Promise<void> => {
    if (this.sim.inEvent) return;
    if (!(await this.testbench.until(() => pending.every((f) => f.done)))) {
      throw stalled('mmu notifier flush', this.sim.nowNs);
    }
  };

  /** The processes whose mm still exists, in creation order (a copy). */
  get processes(): Process[] {
    return [...this.held.values()];
  }

  /** The process `pid` while its mm exists (see {@link processes}), else undefined. */
  processById(pid: number): Process | undefined {
    return this.held.get(pid);
  }

  /**
   * `iommu_sva_bind_device(dev, mm, &flags)` → `intel_svm_bind` (spec §2.1). Resolves to the
   * handle — the same one for a repeated bind of the same (device, process) — or rejects
   * with an error carrying `code`. `device` and `process` must be this system's own: a
   * device of another system is ENODEV, a process of another system (or one not made by
   * `createProcess`, or anything that is not a Process) EINVAL, before anything is bound.
   */
  async svaBindDevice(device: Device, process: Process | null, flags = 0): Promise<SvaHandle> {
    const op = 'svaBindDevice';
    const dev = this.own(op, device);
    const mm = this.ownProcess(op, process);
    const sdev = await this.locked(() =>
      this.kernelThread(
        op,
        this.sva.bind(dev.info, mm, flags, () => new SvaHandle(dev, mm)),
      ),
    );
    const h = sdev.handle as SvaHandle;
    this.bindsHeld.set(h, (this.bindsHeld.get(h) ?? 0) + 1);
    return h;
  }

  /**
   * `iommu_sva_get_pasid(handle)`: the PASID of a live handle (EINVAL after its last unbind,
   * and for anything but a handle this system's `svaBindDevice` returned).
   */
  svaGetPasid(handle: SvaHandle): number {
    return this.sva.getPasid(this.ownHandle('svaGetPasid', handle));
  }

  /**
   * `iommu_sva_unbind_device(handle)`: drops one reference; the last one tears the PASID
   * entry down and drains page requests. Precondition: the device stopped DMA and page
   * requests for this PASID. EINVAL for anything but a handle this system's `svaBindDevice`
   * returned.
   */
  async svaUnbindDevice(handle: SvaHandle): Promise<void> {
    const h = this.ownHandle('svaUnbindDevice', handle);
    await this.locked(() => this.kernelThread('svaUnbindDevice', this.sva.unbind(h)));
    const n = (this.bindsHeld.get(h) ?? 1) - 1;
    if (n > 0) this.bindsHeld.set(h, n);
    else this.bindsHeld.delete(h);
  }

  /**
   * Hot-unplugs `device`: the function is gone at once — its calls in flight reject ENODEV,
   * later calls on it fail ENODEV, answers still travelling to it are lost — and the kernel
   * runs its remove path, resolved when done: the driver unbinds every bind the script still
   * holds on the device (as many unbinds as binds; teardown and drain included), then the
   * profile releases the function (kernel `releaseDevice`: v5.8's `intel_iommu_release_device`;
   * profile current answers the function's pending page groups RC=1 first, spec §4.4, §10.3).
   * The system keeps running; the device keeps its index, its rid stays taken.
   * ENODEV for a device already removed or of another system.
   */
  async removeDevice(device: Device): Promise<void> {
    const op = 'removeDevice';
    const dev = this.own(op, device);
    dev.removed = true;
    const held = [...this.bindsHeld].filter(([h]) => h.device === dev);
    for (const [h] of held) this.bindsHeld.delete(h);
    await this.locked(() => this.kernelThread(op, this.removePath(dev, held)));
    // the function's capabilities as the release left them (it no longer answers anyway)
    dev.functionState.configWrite(0, 0);
  }

  /** The kernel's side of {@link removeDevice}: the driver's unbinds, then the release. */
  private *removePath(
    dev: Device<DeviceInfo>,
    held: readonly (readonly [SvaHandle, number])[],
  ): KThread<void> {
    for (const [h, n] of held) for (let i = 0; i < n; i++) yield* this.sva.unbind(h);
    yield* this.kernel.releaseDevice(this.sva, this.prqThreads[dev.unit]!, dev.info);
  }

  /**
   * Runs `fn` when every bind, unbind and removal issued before it has finished, in issue
   * order: the kernel's `pasid_mutex` (v5.8) / `iommu_sva_lock` (current), held across the
   * whole bind or unbind, drain included. The next one starts at the simulated instant the
   * previous one ended.
   */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.svaLock.then(fn, fn);
    this.svaLock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Starts kernel thread `body` now, at the current simulated time, and resolves to its
   * result at the simulated time it returns (rejects with what it threw); the simulator
   * advances while the script waits (machine/testbench.ts).
   */
  private async kernelThread<T>(what: string, body: KThread<T>): Promise<T> {
    const r = spawn(body);
    if (!r.finished && !(await this.testbench.until(() => r.finished))) {
      throw stalled(what, this.sim.nowNs);
    }
    if (r.error !== undefined) throw r.error;
    return r.value as T;
  }

  /** Current simulated time in ns (the engine side's clock). */
  get nowNs(): number {
    return this.sim.nowNs;
  }

  /**
   * Resolves after `ns` of simulated time (an integer ≥ 0), while everything in flight goes
   * on: the testbench's `await Timer(ns)`. EINVAL for anything but an integer ≥ 0.
   */
  async sleep(ns: number): Promise<void> {
    if (!Number.isSafeInteger(ns) || ns < 0) {
      throw kernelError(Errno.EINVAL, `sleep: ns must be an integer ≥ 0, got ${describeValue(ns)}`);
    }
    await this.timerAt('sleep', this.sim.nowNs + ns);
  }

  /**
   * Runs the simulation for `forNs` more, or until simulated time `untilNs` (an integer, not
   * in the past): resolves with the clock there, every event before that instant run. Other
   * calls in flight settle meanwhile at their own times.
   */
  async run(options: { forNs: number } | { untilNs: number }): Promise<void> {
    const o = options as { forNs?: unknown; untilNs?: unknown };
    const bad = (what: string): never => {
      throw kernelError(Errno.EINVAL, `run: ${what}`);
    };
    if (typeof o !== 'object' || o === null) bad('expected { forNs } or { untilNs }');
    if ((o.forNs === undefined) === (o.untilNs === undefined))
      bad('give exactly one of forNs and untilNs');
    let end: number;
    if (o.forNs !== undefined) {
      if (typeof o.forNs !== 'number' || !Number.isSafeInteger(o.forNs) || o.forNs < 0)
        bad(`forNs must be an integer ≥ 0, got ${describeValue(o.forNs)}`);
      end = this.sim.nowNs + (o.forNs as number);
    } else {
      const u = o.untilNs;
      if (typeof u !== 'number' || !Number.isSafeInteger(u) || u < this.sim.nowNs)
        bad(
          `untilNs must be an integer ≥ the current time ${this.sim.nowNs} ns, got ${describeValue(u)}`,
        );
      end = u as number;
    }
    await this.timerAt('run', end);
  }

  /**
   * Resolves when nothing is left to run: the event queue is empty, so every request has
   * been answered (or dropped) and every kernel thread is asleep with nothing to wake it.
   * A system made by createSystem has no recurring timer, so it always gets there; the
   * clock stays at the last event's time.
   */
  async idle(): Promise<void> {
    await this.testbench.until(() => false);
  }

  /** A timer event at simulated time `endNs` the script waits for. */
  private async timerAt(what: string, endNs: number): Promise<void> {
    if (this.clockSource < 0) this.clockSource = this.sim.register({ handle: () => {} });
    let fired = false;
    this.sim.call(endNs - this.sim.nowNs, this.clockSource, () => {
      fired = true;
    });
    if (!(await this.testbench.until(() => fired))) throw stalled(what, this.sim.nowNs);
  }

  /** The device with requester id `rid`, or undefined. */
  deviceOf(rid: number): Device<DeviceInfo> | undefined {
    return this.deviceByRid.get(rid);
  }

  /**
   * `device` as this system's own (with its driver state): EINVAL for anything but a Device,
   * ENODEV for a device of another system (no unit of this system has it behind it).
   */
  private own(op: string, device: unknown): Device<DeviceInfo> {
    if (!(device instanceof Device)) {
      throw kernelError(
        Errno.EINVAL,
        `${op}: expected a Device from this system's addDevice(), got ${describeValue(device)}`,
      );
    }
    const mine = this.devices[device.index];
    if (mine !== device) {
      throw kernelError(
        Errno.ENODEV,
        `${op}: device ${ridName(device.rid)} belongs to another system; use a device this system's addDevice() created`,
      );
    }
    if (mine.removed) {
      throw kernelError(
        Errno.ENODEV,
        `${op}: device ${ridName(device.rid)} was removed (removeDevice); add a device to use one`,
      );
    }
    return mine;
  }

  /**
   * `process` as one of this system's processes, or null (a supervisor bind; the SVA layer
   * checks the flags). EINVAL for anything but a Process, for a process of another system (its
   * page tables are in another memory: a PASID entry here would point at frames of this
   * memory that belong to someone else), for the kernel's own mm, and for a live process this
   * system did not create. A process of this system that exited goes on to the SVA layer,
   * which refuses it in its own words.
   */
  private ownProcess(op: string, process: unknown): Process | null {
    if (process === null) return null;
    if (!(process instanceof Process)) {
      throw kernelError(
        Errno.EINVAL,
        `${op}: expected a Process from this system's createProcess(), or null with SVM_FLAG_SUPERVISOR_MODE, got ${describeValue(process)}`,
      );
    }
    if (process.mem !== this.memory) {
      throw kernelError(
        Errno.EINVAL,
        `${op}: process ${process.id} belongs to another system (its page tables live in another memory); bind a process this system's createProcess() created`,
      );
    }
    if (process === this.initMm) {
      throw kernelError(
        Errno.EINVAL,
        `${op}: the kernel's address space (initMm) is bound with a null process and SVM_FLAG_SUPERVISOR_MODE`,
      );
    }
    if (process.alive && this.held.get(process.id) !== process) {
      throw kernelError(
        Errno.EINVAL,
        `${op}: process ${process.id} was not created by this system's createProcess(); create processes through the system`,
      );
    }
    return process;
  }

  /** `handle` as a handle of this system's binds: EINVAL for anything else. */
  private ownHandle(op: string, handle: unknown): SvaHandle {
    if (!(handle instanceof SvaHandle)) {
      throw kernelError(
        Errno.EINVAL,
        `${op}: expected an SvaHandle from this system's svaBindDevice(), got ${describeValue(handle)}`,
      );
    }
    const d: unknown = handle.device;
    if (!(d instanceof Device) || this.devices[d.index] !== d) {
      const dev = d instanceof Device ? `device ${ridName(d.rid)}` : 'no device';
      const mm = handle.process ? `process ${handle.process.id}` : 'the kernel (supervisor)';
      throw kernelError(
        Errno.EINVAL,
        `${op}: the handle of ${dev} and ${mm} belongs to another system; use it with the system whose svaBindDevice() returned it`,
      );
    }
    return handle;
  }
}

/** Creates a simulated machine run by the inline runtime (DESIGN §6). */
export function createSystem(config?: SystemConfig): System {
  if (config?.runtime !== undefined && config.runtime !== 'inline') {
    if (config.runtime === 'threaded') {
      throw codedError(
        ErrorCode.EOPNOTSUPP,
        "createSystem: runtime 'threaded' is not supported by the programmatic API yet: the threaded runtime runs scenarios (svasim run --runtime threaded, or partitions > 1 in one thread); create the system with runtime 'inline' (the default) for bus calls, binds and the testbench",
      );
    }
    throw kernelError(
      Errno.EINVAL,
      `createSystem: runtime must be 'inline' or 'threaded', got ${describeValue(config.runtime)}`,
    );
  }
  return new System(config);
}
