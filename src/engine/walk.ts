/**
 * Hardware lookup of the scalable-mode remapping structures in memory (VTD 9.1–9.6, spec §3.1,
 * §6.1): root table → context table → PASID directory → PASID table.
 *
 * Each step returns a byte address or a negative fault reason (spec §6.1 Table 30), so the
 * translation path can report the first condition that failed; callers that only want the
 * entry treat any negative value as "not present".
 *
 * Not modelled: legacy (non-scalable) mode, the RID_PASID path for requests without PASID,
 * reserved-bit checks of root/context/directory entries.
 */

import {
  CONTEXT_ENTRY,
  CONTEXT_ENTRY_BYTES,
  FaultReason,
  getField,
  PASID_DIR_ENTRY,
  PASID_DIR_ENTRY_BYTES,
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

/**
 * Byte address of the PASID-table entry for `pasid` under the context entry at `ctxAddr`,
 * or a negative fault reason: SCT_6 (PASIDE clear), SCT_7 (PASID beyond the directory size),
 * SPD_2 (directory entry not present). The entry's own P bit is the caller's to check (SPT_2).
 */
export function pasidEntryAddressIn(mem: PhysicalMemory, ctxAddr: number, pasid: number): number {
  const ctxDw = ctxAddr / 4;
  if (!getField(mem.u32, ctxDw, CE.paside)) return -FaultReason.SCT_6;
  const dirEntries = pasidDirEntriesForPdts(getField(mem.u32, ctxDw, CE.pdts));
  const dirIndex = pasidDirIndex(pasid);
  if (dirIndex >= dirEntries) return -FaultReason.SCT_7;
  const dirPfn = getField(mem.u32, ctxDw, CE.pasidDirPtr);
  const deDw = (dirPfn * 4096 + dirIndex * PASID_DIR_ENTRY_BYTES) / 4;
  if (!getField(mem.u32, deDw, DE.p)) return -FaultReason.SPD_2;
  const tablePfn = getField(mem.u32, deDw, DE.tablePtr);
  return tablePfn * 4096 + pasidTableIndex(pasid) * PASID_ENTRY_BYTES;
}

/** Byte address of the PASID-table entry hardware would use for (rid, pasid), or < 0. */
export function pasidEntryAddress(
  mem: PhysicalMemory,
  rootTablePfn: number,
  rid: number,
  pasid: number,
): number {
  const ctx = contextEntryAddress(mem, rootTablePfn, rid);
  return ctx < 0 ? ctx : pasidEntryAddressIn(mem, ctx, pasid);
}
