/**
 * Hardware lookup of the scalable-mode remapping structures in memory (VTD 9.1–9.6, spec §3.1,
 * §6.1): root table → context table → PASID directory → PASID table.
 *
 * Each step returns a byte address or a negative fault reason (spec §6.1 Table 30), so the
 * translation path can report the first condition that failed; callers that only want the
 * entry treat any negative value as "not present". {@link checkPasidEntry} is the one table
 * check of both translation and page request reception.
 *
 * A request without PASID is checked against the entry the context entry's RID_PASID field
 * names (spec §4.1), which the driver programs when it attaches the function to its DMA
 * domain.
 *
 * Not modelled: legacy (non-scalable) mode, reserved-bit checks of root/context/directory
 * entries.
 */

import {
  CONTEXT_ENTRY,
  CONTEXT_ENTRY_BYTES,
  FaultReason,
  getField,
  PASID_DIR_ENTRY,
  PASID_DIR_ENTRY_BYTES,
  PASID_ENTRY,
  PASID_ENTRY_BYTES,
  pasidDirEntriesForPdts,
  pasidDirIndex,
  pasidTableIndex,
  ROOT_ENTRY,
  ROOT_ENTRY_BYTES,
} from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';

const CE = CONTEXT_ENTRY.fields;
const RE = ROOT_ENTRY.fields;
const DE = PASID_DIR_ENTRY.fields;
const PE = PASID_ENTRY.fields;

/** Byte address of the context entry for `rid`, or −SCT_2 when the root/context is absent. */
export function contextEntryAddress(
  mem: PhysicalMemory,
  rootTablePfn: number,
  rid: number,
): number {
  if (rootTablePfn === 0) return -FaultReason.SCT_2;
  const bus = rid >>> 8;
  const devfn = rid & 0xff;
  const rootDw = (rootTablePfn * 4096 + bus * ROOT_ENTRY_BYTES) / 4;
  const upper = devfn >= 0x80;
  const present = getField(mem.u32, rootDw, upper ? RE.up : RE.lp);
  if (!present) return -FaultReason.SCT_2;
  const ctpPfn = getField(mem.u32, rootDw, upper ? RE.uctp : RE.lctp);
  const addr = ctpPfn * 4096 + (devfn & 0x7f) * CONTEXT_ENTRY_BYTES;
  if (!getField(mem.u32, addr / 4, CE.p)) return -FaultReason.SCT_2;
  return addr;
}

/** What {@link checkPasidEntry} found besides the fault reason (scratch, reused per call). */
export interface PasidEntryCheck {
  /** An FPD bit of an entry read on the way (context, PASID directory, PASID table) is set. */
  fpd: boolean;
  /** Dword index of the PASID-table entry: set once its directory entry is present, else −1. */
  entryDw: number;
  /** Dword index of the context entry: set once it is present, else −1. */
  contextDw: number;
}

/** A fresh {@link PasidEntryCheck} for one owner to reuse. */
export function pasidEntryCheck(): PasidEntryCheck {
  return { fpd: false, entryDw: -1, contextDw: -1 };
}

/**
 * The context → PASID directory → PASID-table entry checks hardware makes for a request of
 * (rid, pasid) (spec §6.1 Table 30; VTD 9.1–9.6), one function for translation and page
 * request reception. Returns 0 when the PASID entry is present (its dword index in
 * `out.entryDw`), else the first fault reason met, in this order:
 *
 * - SCT_2: root or context entry not present;
 * - page requests only: SCT_8 (PRE clear), SCT_9 (`pasidPresent` and the PASID equals the
 *   context entry's RID_PASID);
 * - SCT_6: PASIDE clear (requests with PASID only); SCT_7: PASID beyond the directory size
 *   (PDTS);
 * - SPD_2: PASID-directory entry not present; SPT_2: PASID-table entry not present.
 *
 * Without PASID (`pasidPresent` false) the entry checked is the one of the context entry's
 * RID_PASID field, whatever `pasid` says (spec §4.1: PASIDE governs requests with PASID only).
 *
 * `out.fpd` is set when an FPD bit of an entry read on the way is set — FPD is honoured even
 * in an entry whose P bit is clear — so the caller knows whether recording is suppressed.
 */
export function checkPasidEntry(
  mem: PhysicalMemory,
  rootTablePfn: number,
  rid: number,
  pasidPresent: boolean,
  pasid: number,
  pageRequest: boolean,
  out: PasidEntryCheck,
): number {
  out.fpd = false;
  out.entryDw = -1;
  out.contextDw = -1;
  const ctx = contextEntryAddress(mem, rootTablePfn, rid);
  if (ctx < 0) return -ctx;
  const u32 = mem.u32;
  const cdw = ctx / 4;
  out.contextDw = cdw;
  let fpd = getField(u32, cdw, CE.fpd) === 1;
  out.fpd = fpd;
  if (pageRequest) {
    if (!getField(u32, cdw, CE.pre)) return FaultReason.SCT_8;
    if (pasidPresent && pasid === getField(u32, cdw, CE.ridPasid)) return FaultReason.SCT_9;
  }
  if (pasidPresent && !getField(u32, cdw, CE.paside)) return FaultReason.SCT_6;
  const id = pasidPresent ? pasid : getField(u32, cdw, CE.ridPasid);
  const dirIndex = pasidDirIndex(id);
  if (dirIndex >= pasidDirEntriesForPdts(getField(u32, cdw, CE.pdts))) return FaultReason.SCT_7;
  const dirPfn = getField(u32, cdw, CE.pasidDirPtr);
  const deDw = (dirPfn * 4096 + dirIndex * PASID_DIR_ENTRY_BYTES) / 4;
  fpd ||= getField(u32, deDw, DE.fpd) === 1;
  out.fpd = fpd;
  if (!getField(u32, deDw, DE.p)) return FaultReason.SPD_2;
  const tablePfn = getField(u32, deDw, DE.tablePtr);
  const peDw = (tablePfn * 4096 + pasidTableIndex(id) * PASID_ENTRY_BYTES) / 4;
  out.entryDw = peDw;
  fpd ||= getField(u32, peDw, PE.fpd) === 1;
  out.fpd = fpd;
  if (!getField(u32, peDw, PE.p)) return FaultReason.SPT_2;
  return 0;
}

const scratch = pasidEntryCheck();

/**
 * Byte address of the PASID-table entry hardware would use for (rid, pasid), present or not
 * (the public `iommu.pasidEntry` shows a non-present entry's FPD), or a negative fault reason
 * when no entry is reached: SCT_2, SCT_6, SCT_7 or SPD_2.
 */
export function pasidEntryAddress(
  mem: PhysicalMemory,
  rootTablePfn: number,
  rid: number,
  pasid: number,
): number {
  const r = checkPasidEntry(mem, rootTablePfn, rid, true, pasid, false, scratch);
  return scratch.entryDw >= 0 ? scratch.entryDw * 4 : -r;
}
