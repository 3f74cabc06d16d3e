/**
 * PASID-table programming, profile v5.8 (spec §3; K-P `intel_pasid_get_entry`,
 * `intel_pasid_setup_first_level`, `intel_pasid_tear_down_entry`).
 *
 * Entries are real 512-bit scalable-mode PASID entries in simulated memory: a directory of
 * 8-byte entries and lazily allocated 4 KiB leaf tables of 64 entries.
 *
 * Not modelled: clflush for non-coherent units (every unit here is coherent), second-stage
 * and nested entries, WPE (set with SRE from ~v5.11 only), PGSNP.
 */

import {
  FLPT_DEFAULT_DID,
  FSPM_5_LEVEL,
  getField,
  PASID_DIR_ENTRY,
  PASID_DIR_ENTRY_BYTES,
  PASID_ENTRY,
  PASID_ENTRY_BYTES,
  PGTT_FIRST_STAGE,
  PGTT_SECOND_STAGE,
  pasidDirIndex,
  pasidTableIndex,
  setField,
} from '../layout/index.js';
import type { KThread } from '../sim/kthread.js';
import { Errno, kernelError } from './errors.js';
import { type DeviceInfo, type IntelIommu, ridName } from './iommu.js';
import { type QiDesc, qiDevIotlb, qiPasidCache, qiPiotlb, qiSubmitSync } from './qi.js';

const PE = PASID_ENTRY.fields;
const DE = PASID_DIR_ENTRY.fields;

/** `PASID_FLAG_SUPERVISOR_MODE`: program SRE. */
export const PASID_FLAG_SUPERVISOR_MODE = 1 << 0;
/** `PASID_FLAG_FL5LP`: first-stage tables are 5-level (FSPM = 01b). */
export const PASID_FLAG_FL5LP = 1 << 1;

/**
 * `intel_pasid_get_entry`: byte address of the PASID entry, allocating the leaf table on
 * first use; −1 when the PASID is beyond the device's table.
 */
export function pasidGetEntry(info: DeviceInfo, pasid: number): number {
  if (pasid < 0 || pasid >= info.pasidTableMax) return -1;
  const mem = info.iommu.mem;
  const dirIndex = pasidDirIndex(pasid);
  const deDw = (info.pasidDirPfn * 4096 + dirIndex * PASID_DIR_ENTRY_BYTES) / 4;
  let tablePfn: number;
  if (getField(mem.u32, deDw, DE.p)) {
    tablePfn = getField(mem.u32, deDw, DE.tablePtr);
  } else {
    tablePfn = mem.allocFrame();
    info.leafTables.set(dirIndex, tablePfn);
    setField(mem.u32, deDw, DE.tablePtr, tablePfn);
    setField(mem.u32, deDw, DE.p, 1);
  }
  return tablePfn * 4096 + pasidTableIndex(pasid) * PASID_ENTRY_BYTES;
}

/** True when the PASID entry at `addr` has P set. */
export function pasidEntryPresent(info: DeviceInfo, addr: number): boolean {
  return getField(info.iommu.mem.u32, addr / 4, PE.p) === 1;
}

function clearEntry(info: DeviceInfo, addr: number): void {
  info.iommu.mem.u32.fill(0, addr / 4, (addr + PASID_ENTRY_BYTES) / 4);
}

/**
 * `intel_pasid_setup_first_level(iommu, dev, pgd, pasid, did, flags)` (spec §3.2, §2.1.1):
 * checks (no FLTS or a PASID beyond the table → EINVAL; no present check in v5.8), zero the
 * entry, fill FSPTPTR / SRE / FSPM / DID / AW / PWSNP, then PGTT, then P last.
 * With CM=0 a not-present → present change needs no invalidation (write-buffer flush only);
 * with CM=1 a PASID-cache and a PASID-selective P_IOTLB invalidation follow.
 */
export function* pasidSetupFirstLevel(
  info: DeviceInfo,
  pgdPfn: number,
  pasid: number,
  did: number,
  flags: number,
): KThread<void> {
  const iommu = info.iommu;
  const caps = iommu.unit.caps;
  if (!caps.flts) {
    throw kernelError(
      Errno.EINVAL,
      `IOMMU ${iommu.unit.index} has no first-level translation (ecap.FLTS)`,
    );
  }
  const addr = pasidGetEntry(info, pasid);
  if (addr < 0) {
    // WARN_ON(!pte) → -EINVAL (later kernels say -ENODEV)
    throw kernelError(
      Errno.EINVAL,
      `PASID ${pasid} is beyond the PASID table of ${ridName(info.sid)} (${info.pasidTableMax} entries)`,
    );
  }
  // v5.8 has no present check: a present entry is zeroed and rewritten, and with CM=0 nothing
  // is flushed, so cached copies of the old entry stay (spec §2.1.1). -EBUSY for a present
  // entry came with P-PRESENT (v5.15 cycle).
  const u32 = iommu.mem.u32;
  const dw = addr / 4;
  clearEntry(info, addr);
  setField(u32, dw, PE.fsptptr, pgdPfn);
  if (flags & PASID_FLAG_SUPERVISOR_MODE) {
    if (!caps.srs) {
      // v5.8 returns without clearing again: FSPTPTR stays in the non-present entry
      throw kernelError(
        Errno.EINVAL,
        `IOMMU ${iommu.unit.index} does not support supervisor requests (ecap.SRS)`,
      );
    }
    setField(u32, dw, PE.sre, 1);
  }
  if (flags & PASID_FLAG_FL5LP) {
    if (!caps.fl5lp) {
      clearEntry(info, addr);
      throw kernelError(
        Errno.EINVAL,
        `IOMMU ${iommu.unit.index} has no 5-level first-stage paging (cap.FL5LP)`,
      );
    }
    setField(u32, dw, PE.fspm, FSPM_5_LEVEL);
  }
  setField(u32, dw, PE.did, did);
  setField(u32, dw, PE.aw, iommu.agaw);
  setField(u32, dw, PE.pwsnp, caps.smpwc ? 1 : 0);
  setField(u32, dw, PE.pgtt, PGTT_FIRST_STAGE);
  setField(u32, dw, PE.p, 1);
  if (caps.cm) {
    yield* qiSubmitSync(iommu, [qiPasidCache(did, pasid)]);
    yield* qiSubmitSync(iommu, [qiPiotlb(did, pasid, 0, -1)]);
  }
}

/**
 * The RID2PASID entry (PASID 0) of a function's DMA domain, programmed when the function is
 * attached to it (`domain_context_mapping_one` → `intel_pasid_setup_second_level`, spec §2.1.1):
 * second-stage translation (PGTT 010b) with the domain's DID. Requests without PASID are
 * checked against it (spec §4.1); a page request without PASID then reaches software.
 * Called at probe, before the entry can be cached (no invalidation needed with CM=0).
 *
 * Not modelled: the domain's second-stage tables (SSPTPTR stays 0: the model maps no DMA-API
 * buffers and translates no request without PASID).
 */
export function pasidSetupRidPasid(info: DeviceInfo, ridPasid: number): void {
  const addr = pasidGetEntry(info, ridPasid);
  const u32 = info.iommu.mem.u32;
  const dw = addr / 4;
  clearEntry(info, addr);
  setField(u32, dw, PE.did, info.domainDid);
  setField(u32, dw, PE.aw, info.iommu.agaw);
  setField(u32, dw, PE.pgtt, PGTT_SECOND_STAGE);
  setField(u32, dw, PE.p, 1);
}

/**
 * `intel_pasid_tear_down_entry(iommu, dev, pasid, fault_ignore)` as v5.8 has it (spec §3.3.1):
 * no present check. Read the DID from the entry (0 when it was already cleared), clear the
 * entry (FPD-only when `faultIgnore` and the entry was present, otherwise all zero), then
 * PASID-cache invalidation and a PASID-selective P_IOTLB with that DID whatever the PGTT, and
 * — with ATS enabled and CM=0 — the full-range device-TLB invalidation in its non-PASID form
 * (type 3h, SID only); each is its own `qi_submit_sync`. So an unbind after mm exit flushes
 * with DID 0 and clears the FPD the release left (a later DMA on the PASID is recorded again).
 * Later kernels return at once on a not-present entry (present by v5.14, spec §3.3) and from
 * v6.14 (cf08ca81d08a) clear an FPD-only entry fully and drain.
 *
 * The entry is the device's own; the flushes (and the CM test) go to `iommu`, the device's
 * unit unless the caller names another: v5.8's `intel_mm_release` passes `svm->iommu`, the
 * unit of the bond's first device, for every device (spec §2.1.1, §5.2; fixed by P-UNIT,
 * v5.11) — a device behind another unit gets its entry cleared but not its unit's caches.
 */
export function* pasidTearDownEntry(
  info: DeviceInfo,
  pasid: number,
  faultIgnore: boolean,
  iommu: IntelIommu = info.iommu,
): KThread<void> {
  const flushes = clearPasidEntry(info, pasid, faultIgnore);
  if (flushes === null) return;
  yield* qiSubmitSync(iommu, flushes.pasidCache);
  yield* qiSubmitSync(iommu, flushes.iotlb);
  if (info.atsEnabled && !iommu.unit.caps.cm) {
    // devtlb_invalidation_with_pasid (v5.8): qi_flush_dev_iotlb(sid, pfsid, qdep, 0, 64 - 12)
    yield* qiSubmitSync(iommu, [qiDevIotlb(info.sid, info.pfsid, info.atsQdep, 0, 64 - 12)]);
  }
}

/**
 * The first half of {@link pasidTearDownEntry}: null when the PASID is beyond the table
 * (`WARN_ON(!pte)`); otherwise reads the DID, clears the entry (`intel_pasid_clear_entry`:
 * FPD-only only when `faultIgnore` and the entry was present, so a second teardown of an
 * FPD-only entry clears FPD) and returns the PASID-cache and P_IOTLB flushes for that DID.
 * Kept out of the thread body so a sleeping teardown holds a small generator frame.
 */
function clearPasidEntry(
  info: DeviceInfo,
  pasid: number,
  faultIgnore: boolean,
): { readonly pasidCache: QiDesc[]; readonly iotlb: QiDesc[] } | null {
  const addr = pasidGetEntry(info, pasid);
  if (addr < 0) return null;
  const u32 = info.iommu.mem.u32;
  const dw = addr / 4;
  // v5.8 reads the DID without looking at P: 0 from an entry an earlier teardown cleared
  const did = getField(u32, dw, PE.did);
  const present = pasidEntryPresent(info, addr);
  clearEntry(info, addr);
  if (faultIgnore && present) setField(u32, dw, PE.fpd, 1);
  return {
    pasidCache: [qiPasidCache(did, pasid)],
    // iotlb_invalidation_with_pasid: PASID-selective whatever the PGTT (the choice by PGTT
    // came with the present check, v5.15 cycle)
    iotlb: [qiPiotlb(did, pasid, 0, -1)],
  };
}

/** DID the SVA path programs into every first-level entry (spec §2.4). */
export const SVA_DID = FLPT_DEFAULT_DID;
