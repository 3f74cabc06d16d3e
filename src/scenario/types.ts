/**
 * The scenario of DESIGN §5 as TypeScript types, in two forms:
 *
 * - {@link ScenarioInput}: what a user writes (YAML, JSON or code). Every field is optional;
 *   durations, sizes and rates may be strings with units (`'20ms'`, `'1MiB'`, `'200k/s'`) or
 *   plain numbers (ns, bytes, per second).
 * - {@link Scenario}: the resolved form `resolveScenario` returns. Same shape and the same
 *   field names as the file (so an error path such as `devices[0].pasidBits` names both),
 *   every field present, every quantity a number: durations in integer ns, sizes in bytes,
 *   rates per second. The unit of each numeric field is stated on it.
 *
 * Field names of DESIGN §5 are binding. Added beside them (all optional, with defaults):
 * `devices[].rid`, `devices[].atsQdep`, `devices[].adversary` (absent from an honest group
 * even when resolved), `clients.churn.enabled`, `munmapFraction`,
 * `mprotectFraction`, `workload.stride`, `workload.zipfTheta`,
 * `workload.arrival.openLoop.poisson`, `memory.frames` and `runtime` (threads and placement
 * of a threaded run; they never change a result).
 *
 * `thresholds` keys are either `<latency kind>.<stat>` (a duration) or a flattened counter
 * name of the report's totals (`prqOverflows`, `pageResponses.failure`: a count); both are
 * upper bounds.
 *
 * Not here: the cost model's knob names (`cost` is an open record of ns values the cost model
 * validates), the zod schema (schema.ts) and presets (presets.ts).
 */

import type { AdversaryKind } from '../device/adversary.js';
import type { JobOpName } from '../device/job.js';
import type { Profile } from '../kernel/sva.js';
import type { PatternKind } from '../workload/patterns.js';

export { PatternKind } from '../workload/patterns.js';

/** One of the kernel behaviour profiles (DESIGN §1; declared in kernel/sva.ts). */
export type ScenarioProfile = Profile;

/** One of the hostile transaction kinds of `devices[].adversary` (declared in device/adversary.ts). */
export type { AdversaryKind } from '../device/adversary.js';

/** One of the job operations of an accelerator (DESIGN §5 `workload.op`). */
export type JobOp = JobOpName;

/** Which buffers a client writes on the CPU before binding: none, the first (source), or all. */
export const Prefault = { NONE: 'none', SRC: 'src', ALL: 'all' } as const;
/** A prefault choice. */
export type Prefault = (typeof Prefault)[keyof typeof Prefault];

/**
 * One threshold of a resolved scenario: a number is an upper bound (the run's value must not
 * exceed it), `{ atLeast }` a lower bound. Latency bounds are ns, rates per simulated second,
 * hit rates fractions, counters counts.
 */
export type ThresholdBound = number | { atLeast: number };

/** IOTLB replacement policies a scenario may ask for. */
export const IotlbPolicy = { LRU: 'lru', FIFO: 'fifo', RANDOM: 'random' } as const;

/** One of the IOTLB replacement policies. */
export type IotlbPolicy = (typeof IotlbPolicy)[keyof typeof IotlbPolicy];

/** How a threaded run puts accelerators on threads (the names of src/machine/placement.ts). */
export const RuntimePlacement = { SEPARATE: 'separate', BALANCED: 'balanced' } as const;

/** One of the runtime placements. */
export type RuntimePlacement = (typeof RuntimePlacement)[keyof typeof RuntimePlacement];

/** One of the latency kinds of DESIGN §5 (declared once, in metrics/kinds.ts). */
export type { LatencyKind } from '../metrics/kinds.js';

/**
 * Statistics a threshold may bound (DESIGN §7 `latency.<kind>`), all in ns; a threshold key
 * is `<kind>.<stat>`, e.g. `prq.service.p99`.
 */
export const ThresholdStat = {
  MIN: 'min',
  MEAN: 'mean',
  P50: 'p50',
  P90: 'p90',
  P99: 'p99',
  P999: 'p999',
  MAX: 'max',
} as const;

/** One of the threshold statistics. */
export type ThresholdStat = (typeof ThresholdStat)[keyof typeof ThresholdStat];

/** A duration as written: a string with a unit (`'500us'`) or a number of ns. */
export type DurationInput = string | number;

/** A size as written: a string with a unit (`'4KiB'`) or a number of bytes. */
export type BytesInput = string | number;

/** A rate as written: `'200k/s'` or a number per second. */
export type RateInput = string | number;

// ---------------------------------------------------------------------------------------------
// Input form

/** `iommu.iotlb` as written. */
export interface IotlbInput {
  entries?: number;
  assoc?: number;
  policy?: IotlbPolicy;
}

/** `iommu` as written. */
export interface IommuInput {
  units?: number;
  pasidBits?: number;
  srs?: boolean;
  dit?: boolean;
  prs?: boolean;
  pds?: boolean;
  prqEntries?: number;
  iotlb?: IotlbInput;
}

/** One element of `devices` as written. */
export interface DeviceGroupInput {
  count?: number;
  rid?: number;
  pasidBits?: number;
  ats?: boolean;
  atsQdep?: number;
  pri?: boolean;
  devtlb?: { entries?: number };
  priCredits?: number;
  workQueue?: { depth?: number };
  engines?: number;
  blockOnFault?: boolean;
  adversary?: AdversaryInput;
}

/** `devices[].adversary` as written: hostile transactions mixed into the group's work. */
export interface AdversaryInput {
  rate?: RateInput;
  kinds?: AdversaryKind[];
}

/** `clients.churn` as written. */
export interface ChurnInput {
  enabled?: boolean;
  bindLifetime?: DurationInput;
  exitWhileBound?: number;
  munmapFraction?: number;
  mprotectFraction?: number;
}

/** `clients` as written. */
export interface ClientsInput {
  count?: number;
  buffers?: { count?: number; size?: BytesInput; prefault?: Prefault };
  churn?: ChurnInput;
}

/** `workload.arrival` as written: exactly one of the two keys. */
export type ArrivalInput =
  | { closedLoop: { queueDepth?: number }; openLoop?: undefined }
  | { openLoop: { rate?: RateInput; poisson?: boolean }; closedLoop?: undefined };

/** `workload` as written. */
export interface WorkloadInput {
  pattern?: PatternKind;
  op?: JobOp;
  jobBytes?: BytesInput;
  stride?: number;
  zipfTheta?: number;
  arrival?: ArrivalInput;
}

/** `kernel` as written. */
export interface KernelInput {
  iopfAttachRegression?: boolean;
}

/**
 * Resolved `kernel`: bugs of the profile's era to reproduce (profile current only).
 * `iopfAttachRegression`: v6.16 before the 2026 fix, SVA on a function without PRI fails
 * ENODEV (spec §10.2).
 */
export interface KernelConfig {
  iopfAttachRegression: boolean;
}

/** A scenario as a user writes it: every field optional, units as strings or numbers. */
export interface ScenarioInput {
  name?: string;
  profile?: ScenarioProfile;
  seed?: number;
  duration?: DurationInput;
  iommu?: IommuInput;
  devices?: DeviceGroupInput[];
  clients?: ClientsInput;
  workload?: WorkloadInput;
  memory?: { frames?: number };
  kernel?: KernelInput;
  cost?: Record<string, DurationInput>;
  /** `<kind>.<stat>` → a duration; a counter name → a count (a plain number). */
  thresholds?: Record<string, DurationInput | { atLeast: DurationInput }>;
  runtime?: RuntimeInput;
}

/** `runtime` as written: how a threaded run uses the machine (results do not depend on it). */
export interface RuntimeInput {
  threads?: number;
  placement?: RuntimePlacement;
}

// ---------------------------------------------------------------------------------------------
// Resolved form

/** Resolved `iommu.iotlb`. */
export interface IotlbConfig {
  /** Total entries. */
  entries: number;
  /** Ways per set; divides `entries`. */
  assoc: number;
  /** Replacement policy. */
  policy: IotlbPolicy;
}

/** Resolved `iommu`: the VT-d units (all units alike). */
export interface IommuConfig {
  /** Number of VT-d units. */
  units: number;
  /** Supported PASID width (ecap PSS + 1), 1..20. */
  pasidBits: number;
  /** ecap SRS: supervisor requests supported. */
  srs: boolean;
  /** ecap DIT: device-TLB invalidations carry the PFSID (without it the driver writes 0). */
  dit: boolean;
  /** ecap PRS: page requests supported (without it no function gets PRI). */
  prs: boolean;
  /** ecap PDS: page-request drain supported (profile current gives no PRI without it). */
  pds: boolean;
  /**
   * Page request queue size in 32-byte entries, a power of two ≥ 4; when the scenario leaves it
   * out, the profile's (v5.8: 128).
   */
  prqEntries: number;
  /** IOTLB geometry and policy. */
  iotlb: IotlbConfig;
}

/** A resolved group of identical accelerators with consecutive rids. */
export interface DeviceGroup {
  /** Accelerators in the group. */
  count: number;
  /** Rid of the first accelerator; the others follow at +1 each. */
  rid: number;
  /** PASID capability width, 0 (no PASID capability) ..20. */
  pasidBits: number;
  /** ATS capability enabled. */
  ats: boolean;
  /** ATS Invalidate Queue Depth, 1..32. */
  atsQdep: number;
  /** PRI capability enabled (requires `ats`). */
  pri: boolean;
  /** Device TLB (ATC) size in entries. */
  devtlb: { entries: number };
  /** Outstanding page request allocation. */
  priCredits: number;
  /** Work queue size in jobs. */
  workQueue: { depth: number };
  /** Jobs the device processes concurrently (IAA: 8 engines). */
  engines: number;
  /** Jobs wait for a fault to be serviced (true) or fail with a partial completion (false). */
  blockOnFault: boolean;
  /**
   * Hostile transactions each accelerator of the group sends besides its jobs
   * (device/adversary.ts); present only for a hostile group.
   */
  adversary?: AdversaryConfig;
}

/** Resolved `devices[].adversary`. */
export interface AdversaryConfig {
  /** Mean hostile arrivals per second per accelerator (Poisson). */
  rate: number;
  /** Kinds drawn from, uniformly; each listed once. */
  kinds: AdversaryKind[];
}

/** Resolved `clients.churn`: the life of a client (bind → work → munmap / mprotect → unbind → exit). */
export interface ChurnConfig {
  /** Clients unbind, exit and are replaced; false keeps every client bound for the whole run. */
  enabled: boolean;
  /** Mean time a client stays bound, ns. */
  bindLifetime: number;
  /** Fraction of lifetimes that end with exit while still bound (no unbind), 0..1. */
  exitWhileBound: number;
  /** Fraction of lifetimes that munmap a buffer before unbinding, 0..1. */
  munmapFraction: number;
  /** Fraction of lifetimes that mprotect a buffer read-only before unbinding, 0..1. */
  mprotectFraction: number;
}

/** Resolved `clients`: the SVA client processes. */
export interface ClientsConfig {
  /** Processes alive at once. */
  count: number;
  /** Buffers per process and the size of each, bytes (a multiple of 4 KiB). */
  buffers: { count: number; size: number; prefault: Prefault };
  /** Client churn. */
  churn: ChurnConfig;
}

/** Resolved `workload.arrival`: exactly one of the two keys is present. */
export type ArrivalConfig =
  | {
      /** Jobs kept outstanding per client. */
      closedLoop: { queueDepth: number };
      openLoop?: undefined;
    }
  | {
      /** Arrivals per second per client; Poisson (exponential gaps) or fixed gaps. */
      openLoop: { rate: number; poisson: boolean };
      closedLoop?: undefined;
    };

/** Resolved `workload`. */
export interface WorkloadConfig {
  /** Access pattern over a buffer's pages. */
  pattern: PatternKind;
  /** Job operation. */
  op: JobOp;
  /** Bytes per job. */
  jobBytes: number;
  /** Stride of the `strided` pattern, pages. */
  stride: number;
  /** Skew of the `zipf` pattern, ≥ 0. */
  zipfTheta: number;
  /** Arrival process. */
  arrival: ArrivalConfig;
}

/** A resolved scenario: every field present, quantities in ns, bytes and per second. */
export interface Scenario {
  /** Scenario name (reports). */
  name: string;
  /** Kernel behaviour profile. */
  profile: ScenarioProfile;
  /** Seed of every random stream, 0..2^32 − 1. */
  seed: number;
  /** Simulated time to run, ns. */
  duration: number;
  /** VT-d units. */
  iommu: IommuConfig;
  /** Accelerator groups, rids assigned in order. */
  devices: DeviceGroup[];
  /** SVA client processes. */
  clients: ClientsConfig;
  /** Jobs the clients submit. */
  workload: WorkloadConfig;
  /** Simulated physical memory size in 4 KiB frames. */
  memory: { frames: number };
  /** Kernel bugs of the profile's era to reproduce. */
  kernel: KernelConfig;
  /** Cost model overrides by name, ns. */
  cost: Record<string, number>;
  /**
   * Upper bounds the run must meet: keyed `<latency kind>.<stat>` (`prq.service.p99`, ns) or
   * by a flattened counter name of the report's totals (`prqOverflows`, a count).
   */
  thresholds: Record<string, ThresholdBound>;
  /** How a threaded run uses the machine. */
  runtime: RuntimeConfig;
}

/** Resolved `runtime`: threads and placement of a threaded run (never changes a result). */
export interface RuntimeConfig {
  /** Worker threads, 0..64; 0 means one per CPU core. */
  threads: number;
  /** How accelerators are put on threads. */
  placement: RuntimePlacement;
}

/** One problem found while resolving a scenario: where (`devices[0].pasidBits`) and what. */
export interface ScenarioProblem {
  path: string;
  message: string;
  /** Where the value is in the file it came from (1-based), when it came from one. */
  line?: number;
  column?: number;
}

/** The error `resolveScenario` throws: every problem found, not just the first. */
export type ScenarioError = Error & { code: 'EINVAL'; problems: ScenarioProblem[] };
