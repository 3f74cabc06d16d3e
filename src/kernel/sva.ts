/**
 * What every kernel profile provides, as types (DESIGN §1 "Profiles", §6): the SVA binding
 * API over the units' driver state, the page-request service thread of each unit, and the
 * v5.8 bind flags. A profile implements these in its own folder; `profile.ts` picks one.
 */

import type { Process } from '../mem/index.js';
import type { KThread, Waitable } from '../sim/kthread.js';
import type { DeviceInfo, IntelIommu } from './iommu.js';

/** Kernel behaviour profiles (DESIGN §1). */
export const PROFILE_NAMES = ['v5.8', 'current'] as const;

/** One of the kernel behaviour profiles. */
export type Profile = (typeof PROFILE_NAMES)[number];

/** The bind flags of the v5.8 API (`include/linux/intel-svm.h`); `current` takes none. */
export const SVM_FLAG_PRIVATE_PASID = 1 << 0;
export const SVM_FLAG_SUPERVISOR_MODE = 1 << 1;
export const SVM_FLAG_GUEST_MODE = 1 << 2;
export const SVM_FLAG_GUEST_PASID = 1 << 3;

/**
 * Runs a kernel thread to completion from a context that cannot return before it is done
 * (an mmu notifier callback): the runtime advances simulated time as far as it needs.
 */
export type KernelRunner = (what: string, body: KThread<void>) => Waitable | undefined;

/** A live bond as the binding layer hands it out. */
export interface SvaBond {
  /** The public handle (`struct iommu_sva`); the same one for a repeated bind. */
  readonly handle: object;
  /** The bound address space's state; its PASID is the one the device uses. */
  readonly svm: { readonly pasid: number };
}

/** What is bound at one PASID, as the invariant checker sees it. */
export interface PasidBinding {
  /** The bound mm; null for a supervisor bind. */
  readonly mm: Process | null;
  /** Invalidations of this mm under way: old translations are still legitimate. */
  readonly flushesRunning: number;
  /** The devices bound at this PASID. */
  readonly devs: readonly { readonly info: DeviceInfo }[];
}

/** The SVA binding API of a profile, over every unit's driver state. */
export interface SvaLayer {
  /**
   * `iommu_sva_bind_device`: returns the bond, new or with one more user; `makeHandle`
   * builds the public handle for a new bond. Errors carry an errno `code`.
   */
  bind(
    info: DeviceInfo,
    mm: Process | null,
    flags: number,
    makeHandle: () => object,
  ): KThread<SvaBond>;
  /**
   * `iommu_sva_unbind_device`: drops one reference; the last one tears the PASID entry down
   * and drains page requests. Precondition: the device stopped DMA and page requests for
   * this PASID.
   */
  unbind(handle: object): KThread<void>;
  /** `iommu_sva_get_pasid`: the PASID of a live handle (EINVAL after its last unbind). */
  getPasid(handle: object): number;
  /** What is bound at `pasid`, or undefined. */
  pasidBinding(pasid: number): PasidBinding | undefined;
  /**
   * True when a DMA of function `sid` behind unit `unit` (its index) at page `vpn` of `pasid`
   * may go through a translation this profile's own flushes left stale — kernel behaviour the
   * invariant checker counts (`staleByKernel`) instead of reporting. A profile whose flushes
   * leave nothing stale does without.
   */
  kernelLeftStale?(unit: number, sid: number, pasid: number, vpn: number): boolean;
  /** Live bonds (handles with users). */
  readonly liveBonds: number;
  /** PASIDs allocated. */
  readonly pasidsInUse: number;
  /** Counters of successful binds, unbinds and failed binds. */
  readonly binds: number;
  readonly unbinds: number;
  readonly bindErrors: number;
  /** Reports the duration of each unbind drain (ns); set by the runtime. */
  onDrain: (ns: number) => void;
  /**
   * Reports each failed bind with the error it ends with (errno `code`), beside
   * `bindErrors`; set by the runtime, which counts it.
   */
  onBindError: (info: DeviceInfo, error: unknown) => void;
  /** The simulated clock; set by the runtime. */
  now: () => number;
}

/** Costs and observers of a page-request service thread. */
export interface PrqHooks {
  /** Modelled CPU time of one handle_mm_fault (sampled). */
  faultServiceNs(): number;
  /** Modelled CPU time of a request refused before handle_mm_fault. */
  readonly prqInvalidNs: number;
  /** Modelled CPU time to build and submit one response. */
  readonly pageResponseNs: number;
  /** A response was submitted `serviceNs` after the request was written to the PRQ. */
  responded(rid: number, code: number, serviceNs: number): void;
  /**
   * handle_mm_fault failed for want of memory (VM_FAULT_OOM, `error` an ENOMEM) while serving
   * the page request of `rid` for `pasid` at byte `addr` of process `pid`; the response is
   * Invalid Request.
   */
  faultFailed(rid: number, pasid: number, pid: number, addr: number, error: Error): void;
}

/** A unit's page-request service: a kernel thread woken by the page request interrupt. */
export interface PrqService {
  /** The page request interrupt (hardware raised an event). */
  interrupt(): void;
  /** The thread body: runs forever, one pass per interrupt. */
  run(): KThread<void>;
  /** Passes over the queue run so far. */
  readonly passes: number;
  /** Page requests handled so far. */
  readonly handled: number;
}

/** What the environment gives a profile's SVA layer. */
export interface SvaEnv {
  /** Every unit's driver state, in unit order. */
  readonly iommus: readonly IntelIommu[];
  /** The kernel's own mm (`init_mm`), bound by supervisor binds. */
  readonly initMm: Process;
  /** True when the CPU runs 5-level paging (LA57). */
  readonly la57: boolean;
  /** True when the CPU uses 1 GiB pages (X86_FEATURE_GBPAGES). */
  readonly gbpages: boolean;
  /** Runs notifier flushes (see {@link KernelRunner}). */
  readonly runSync: KernelRunner;
  /** Known kernel bugs of the profile's era to reproduce (see {@link KernelQuirks}). */
  readonly quirks?: KernelQuirks;
}

/**
 * Kernel bugs of profile `current`'s era that a run may reproduce; all off by default (the
 * profile then has the later fixes, spec §10).
 */
export interface KernelQuirks {
  /**
   * v6.16 until "iommu/vt-d: Only handle IOPF for SVA when PRI is supported" (2026, stable;
   * spec §10.2, §9, P-IOPFATTACH): attaching an SVA domain enables iopf, which needs PRI, so
   * SVA on a function without PRI fails ENODEV.
   */
  readonly iopfAttachRegression?: boolean;
}
