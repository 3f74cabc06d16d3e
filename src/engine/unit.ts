/**
 * One VT-d remapping unit (DMAR unit): capability registers, the root-table address, the
 * invalidation queue, the page request queue — wiring only; each hardware unit lives in its
 * own file (spec §1, §4.1, §7).
 *
 * The capabilities are the subset the SVA paths read (spec §1): ecap.PASID, ecap.PSS (PASID
 * size: `max_pasids = 2 << PSS`), ecap.SRS, ecap.FLTS, ecap.SMPWC, ecap.PDS, cap.CM (caching
 * mode), cap.PSI (page-selective invalidation), cap.FL5LP, cap.FL1GP.
 *
 * Not modelled yet: the translation path (context/PASID walk, PASID cache, IOTLB, walker),
 * page request reception and fault recording — they arrive with the translation engine.
 */

import type { PhysicalMemory } from '../mem/index.js';
import {
  InvalidationQueue,
  type InvalidationTargets,
  type InvLogEntry,
} from './invalidation-queue.js';
import { PageRequestQueue } from './prq.js';
import { pasidEntryAddress } from './walk.js';

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
  /** ecap.PDS: page-request drain supported in Invalidation Wait. */
  readonly pds: boolean;
  /** cap.CM: caching mode (a virtual IOMMU that caches not-present entries). */
  readonly cm: boolean;
  /** cap.PSI: page-selective invalidation supported. */
  readonly psi: boolean;
  /** cap.FL5LP: 5-level first-stage paging supported. */
  readonly fl5lp: boolean;
  /** cap.FL1GP: 1 GiB first-stage pages supported. */
  readonly fl1gp: boolean;
}

/** Defaults: a Sapphire Rapids-class unit with SVA (20-bit PASIDs, SRS, FLTS, PDS). */
export const defaultUnitCaps: VtdUnitCaps = Object.freeze({
  pasid: true,
  pasidBits: 20,
  srs: true,
  flts: true,
  smpwc: true,
  pds: true,
  cm: false,
  psi: true,
  fl5lp: true,
  fl1gp: true,
});

/** A VT-d remapping unit. */
export class VtdUnit {
  /** RTADDR: frame of the (scalable-mode) root table, programmed by the driver. */
  rootTablePfn = 0;
  /** The invalidation queue. */
  readonly qi: InvalidationQueue;
  /** The page request queue. */
  readonly prq = new PageRequestQueue();

  /** Index of the unit in the system (`system.iommus[index]`). */
  readonly index: number;
  readonly caps: VtdUnitCaps;
  private readonly mem: PhysicalMemory;

  constructor(
    index: number,
    caps: VtdUnitCaps,
    mem: PhysicalMemory,
    targets?: InvalidationTargets,
  ) {
    this.index = index;
    this.caps = caps;
    this.mem = mem;
    if (!Number.isInteger(caps.pasidBits) || caps.pasidBits < 1 || caps.pasidBits > 20) {
      throw Object.assign(new Error(`iommu.pasidBits must be 1..20, got ${caps.pasidBits}`), {
        code: 'EINVAL',
      });
    }
    this.qi = new InvalidationQueue(mem, targets);
  }

  /** `iommu.max_pasids = 2 << ecap.PSS` (0 without PASID support). */
  get maxPasids(): number {
    return this.caps.pasid ? 2 ** this.caps.pasidBits : 0;
  }

  /** Decoded invalidation descriptors in execution order, each with its raw qwords. */
  get invalidationLog(): readonly InvLogEntry[] {
    return this.qi.log;
  }

  /** PRQ registers: `{ entries, head, tail, ppr, pro }`. */
  get prqStatus(): { entries: number; head: number; tail: number; ppr: boolean; pro: boolean } {
    return this.prq.status();
  }

  /** The eight raw qwords (bigint) of `device`'s PASID-table entry for `pasid` (DESIGN §6). */
  pasidEntry(device: { readonly rid: number }, pasid: number): bigint[] {
    return this.pasidEntryRaw(device.rid, pasid);
  }

  /**
   * The eight raw qwords of the PASID-table entry that hardware would use for (rid, pasid),
   * found by walking root → context → PASID directory → PASID table in memory; eight zero
   * qwords when any level is not present.
   */
  pasidEntryRaw(rid: number, pasid: number): bigint[] {
    const addr = pasidEntryAddress(this.mem, this.rootTablePfn, rid, pasid);
    const out: bigint[] = [];
    for (let q = 0; q < 8; q++) {
      if (addr < 0) {
        out.push(0n);
        continue;
      }
      const i = addr / 4 + q * 2;
      out.push((BigInt(this.mem.u32[i + 1]!) << 32n) | BigInt(this.mem.u32[i]!));
    }
    return out;
  }
}
