/**
 * Configuration of one VT-d unit that is not state: the capability registers the SVA paths
 * read (spec §1), the modelled-time knobs it takes from the cost model, its cache sizes, and
 * the observer it reports to. Kept apart from unit.ts so the hardware units it wires
 * (translate.ts and the others) can read them without importing the unit.
 *
 * Capabilities: ecap.PASID, ecap.PSS (PASID size: `max_pasids = 2 << PSS`), ecap.SRS,
 * ecap.FLTS, ecap.SMPWC, ecap.PRS, ecap.PDS, ecap.DIT, cap.CM (caching mode), cap.PSI (page-selective
 * invalidation), cap.FL5LP, cap.FL1GP, cap.NFR.
 *
 * Not modelled: the other capability bits (second-stage, nesting, interrupt remapping,
 * posted interrupts, the performance-monitoring unit), the register offsets themselves.
 */

import type { IotlbParams } from './iotlb.js';

/** Capability settings of a unit; every field has a default in {@link defaultUnitCaps}. */
export interface VtdUnitCaps {
  /** ecap.PASID: PASID support. */
  readonly pasid: boolean;
  /** PASID width in bits (ecap.PSS + 1); `max_pasids = 1 << pasidBits`. */
  readonly pasidBits: number;
  /** ecap.SRS: supervisor requests supported. */
  readonly srs: boolean;
  /** ecap.FLTS: first-level (first-stage) translation supported. */
  readonly flts: boolean;
  /** ecap.SMPWC: scalable-mode page-walk coherency (PWSNP is set from it). */
  readonly smpwc: boolean;
  /**
   * ecap.PRS: page requests supported. Without it no function behind the unit gets PRI
   * (`info->pri_supported` needs it in both profiles).
   */
  readonly prs: boolean;
  /**
   * ecap.PDS (bit 42): page-request drain supported in Invalidation Wait. Profile `current`
   * (P-PDS, Sept 2025) treats every function behind a unit without it as having no PRI.
   */
  readonly pds: boolean;
  /**
   * ecap.DIT (bit 41): device-TLB invalidation throttling. Only with it does the driver put
   * the physical function's SID in the PFSID field of device-TLB invalidations; without it
   * PFSID is reserved and the driver writes 0 (spec §7.4). The unit itself ignores PFSID.
   */
  readonly dit: boolean;
  /** cap.CM: caching mode (a virtual IOMMU that caches not-present entries). */
  readonly cm: boolean;
  /** cap.PSI: page-selective invalidation supported. */
  readonly psi: boolean;
  /** cap.FL5LP: 5-level first-stage paging supported. */
  readonly fl5lp: boolean;
  /** cap.FL1GP: 1 GiB first-stage pages supported. */
  readonly fl1gp: boolean;
  /** cap.NFR + 1: number of fault recording registers. */
  readonly faultRecords: number;
}

/**
 * Defaults: a Sapphire Rapids-class unit with SVA (20-bit PASIDs, SRS, FLTS, PDS, and FL1GP
 * and FL5LP, which v5.8's `intel_svm_check` requires when the CPU uses 1 GiB pages or LA57).
 * DIT is off: it only matters for SR-IOV virtual functions, which the model does not have, and
 * without it the driver writes PFSID 0.
 */
export const defaultUnitCaps: VtdUnitCaps = Object.freeze({
  pasid: true,
  pasidBits: 20,
  srs: true,
  flts: true,
  smpwc: true,
  prs: true,
  pds: true,
  dit: false,
  cm: false,
  psi: true,
  fl5lp: true,
  fl1gp: true,
  faultRecords: 8,
});

/** Modelled-time knobs the unit uses (from the cost model). */
export interface UnitTiming {
  readonly pcieLatencyNs: number;
  readonly iotlbLookupNs: number;
  readonly pasidCacheMissNs: number;
  readonly walkLevelNs: number;
  readonly walkers: number;
  readonly memReadNs: number;
  readonly dmaBytesPerNs: number;
  readonly prqWriteNs: number;
  readonly irqLatencyNs: number;
  /** Latency of one IOTLB / PASID-cache / context-cache invalidation descriptor. */
  sampleInvIotlbNs(): number;
}

/** Cache sizes of a unit. */
export interface UnitCacheParams {
  readonly iotlb: IotlbParams;
  readonly pasidCache: { readonly entries: number; readonly assoc: number };
  readonly psc: { readonly entries: number; readonly assoc: number };
}

/**
 * Default cache sizes: a 64-entry 4-way IOTLB (ANCHORS "IOTLB reach": about 64 effective
 * entries), and PASID and paging-structure caches of the same order.
 */
export const defaultCacheParams: UnitCacheParams = Object.freeze({
  iotlb: Object.freeze({ entries: 64, assoc: 4, policy: 'lru' as const }),
  pasidCache: Object.freeze({ entries: 64, assoc: 4 }),
  psc: Object.freeze({ entries: 32, assoc: 4 }),
});

/**
 * Page request queue entries of Linux ≥ 5.19 (PRQ_ORDER 4; ANCHORS "Linux VT-d PRQ size"). The
 * queue is the kernel's allocation, so a system's default comes from its kernel profile (v5.8:
 * 128); this size is for a profile that does not give its own.
 */
export const DEFAULT_PRQ_ENTRIES = 2048;

/** Observers the unit reports to (counters and latency recorders live outside the model). */
export interface UnitObserver {
  /** A request from device `dev` (index in registration order) was translated. */
  translation(dev: number, hit: boolean, walkNs: number): void;
  /** A page request arrived, before any check. */
  pageRequest(dev: number): void;
  /** A stop marker (LPIG=1, R=W=0) was received. */
  stopMarker(dev: number): void;
  /** Hardware answered an LPIG=1 request itself with response `code` (IR or Success). */
  autoResponse(dev: number, code: number): void;
  /** A page request met PRO set or a full queue. */
  prqOverflow(dev: number): void;
  /** A fault of a request from the device was written to a fault recording register. */
  faultRecorded(dev: number): void;
  /** A DMA request completed: `bytes` moved, or UR (`ok` false, 0 bytes). */
  dma(dev: number, bytes: number, ok: boolean): void;
  /** A cache invalidation descriptor took `latencyNs` (`devtlb`: issue to completion). */
  invalidation(kind: 'iotlb' | 'devtlb', latencyNs: number): void;
  /**
   * A translated DMA of (rid, pasid) for virtual page `vpn` reached frame `pfn` — or, while
   * {@link checkUntranslatedDma}, an untranslated one the unit translated itself: the
   * invariant checker's hook. `vpn` and `hostile` are model metadata the device attaches
   * (`hostile`: sent by the device's hostile stream, scenario `adversary`).
   */
  dmaAccess?(
    rid: number,
    pasid: number,
    vpn: number,
    pfn: number,
    write: boolean,
    hostile: boolean,
  ): void;
  /**
   * True when {@link dmaAccess} also wants untranslated DMA that the unit translated and
   * allowed (read per request, so it can change while the unit runs).
   */
  readonly checkUntranslatedDma?: boolean;
}
