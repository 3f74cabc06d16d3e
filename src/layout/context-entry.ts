/**
 * Scalable-mode root entry and scalable-mode context entry (VT-d 9.2, 9.4; spec §4.1 for the
 * SCT checks that read them). Bit positions checked against the Linux kernel:
 * - drivers/iommu/intel/iommu.h: `CONTEXT_PASIDE BIT_ULL(3)`, `context_set_sm_dte()`
 *   (`lo |= 1 << 2`), `context_set_sm_pre()` (`lo |= BIT_ULL(4)`), `context_pdts(pds)`
 *   (`(pds & 0x7) << 9`);
 * - iommu.c / pasid.c: `context_set_sm_rid2pasid()` (`hi |= pasid & ((1 << 20) - 1)`, and in
 *   some versions `hi |= 1 << 20`, i.e. RID_PRIV), `context_entry_set_pasid_table()`
 *   (`lo = virt_to_phys(dir) | context_pdts(pds)`), `context_get_sm_pds()` ("PDTS = X means a
 *   PASID directory with 2^(X + 7) entries");
 * - iommu.c `iommu_context_addr()`: in scalable mode devfn < 0x80 uses the root entry's low
 *   qword, devfn ≥ 0x80 its high qword (devfn − 0x80), and the index is doubled because a
 *   scalable-mode context entry is 32 bytes.
 *
 * Scalable-mode root entry (128 bits):
 *   bit   0      lp      lower context table present
 *   bits 63:12   lctp    lower context table pointer (devfn 0x00–0x7f)
 *   bit  64      up      upper context table present
 *   bits 127:76  uctp    upper context table pointer (devfn 0x80–0xff)
 *
 * Scalable-mode context entry (256 bits):
 *   bit   0      p            present
 *   bit   1      fpd          fault processing disable
 *   bit   2      dte          device-TLB (ATS) enable
 *   bit   3      paside       PASID enable
 *   bit   4      pre          page request enable
 *   bits  8:5    reserved
 *   bits 11:9    pdts         PASID directory holds 2^(pdts+7) entries
 *   bits 63:12   pasidDirPtr  PASID directory pointer (byte address)
 *   bits 83:64   ridPasid     PASID used for requests without PASID (qw1 bits 19:0)
 *   bit  84      ridPriv      privilege of requests without PASID (qw1 bit 20)
 *   bits 255:85  reserved
 *
 * Not modelled: legacy-mode root/context entries and the second-stage fields of a legacy
 * context entry (translation type, address width, domain id).
 */

import { checkInput, decodeLayout, defineLayout, encodeLayout, flagBit } from './field.js';

/** Size of a scalable-mode root entry in bytes. */
export const ROOT_ENTRY_BYTES = 16;
/** Size of a scalable-mode context entry in bytes. */
export const CONTEXT_ENTRY_BYTES = 32;
/** Context entries per 4 KiB scalable-mode context table (each covers half the devfns). */
export const CONTEXT_ENTRIES_PER_TABLE = 128;

/** Scalable-mode root entry, 128 bits. */
export const ROOT_ENTRY = defineLayout('sm_root_entry', 128, {
  lp: [0, 0],
  lctp: [63, 12, { shift: 12 }],
  up: [64, 64],
  uctp: [127, 76, { shift: 12 }],
});

/** Scalable-mode context entry, 256 bits. */
export const CONTEXT_ENTRY = defineLayout('sm_context_entry', 256, {
  p: [0, 0],
  fpd: [1, 1],
  dte: [2, 2],
  paside: [3, 3],
  pre: [4, 4],
  pdts: [11, 9],
  pasidDirPtr: [63, 12, { shift: 12 }],
  ridPasid: [83, 64],
  ridPriv: [84, 84],
});

/** A scalable-mode root entry in typed form (pointers are byte addresses). */
export interface RootEntry {
  lp: boolean;
  lctp: number;
  up: boolean;
  uctp: number;
}

/** A scalable-mode context entry in typed form (`pasidDirPtr` a byte address). */
export interface ContextEntry {
  p: boolean;
  fpd: boolean;
  dte: boolean;
  paside: boolean;
  pre: boolean;
  pdts: number;
  pasidDirPtr: number;
  ridPasid: number;
  ridPriv: boolean;
}

/** Where the context entry of a devfn lives: upper or lower table of the bus, entry index. */
export function contextEntryIndex(devfn: number): { upper: boolean; index: number } {
  return { upper: devfn >= 0x80, index: devfn & 0x7f };
}

/** Number of PASID directory entries a PDTS value allows: 2^(pdts+7). */
export function pasidDirEntriesForPdts(pdts: number): number {
  return 2 ** (pdts + 7);
}

/**
 * PDTS for a PASID table covering `maxPasid` PASIDs, the way `context_get_sm_pds()` computes
 * it: the lowest set bit of maxPasid >> 6, minus 7, floored at 0.
 */
export function pdtsForMaxPasid(maxPasid: number): number {
  const maxPde = Math.floor(maxPasid / 64);
  if (maxPde <= 0) return 0;
  let pds = 0;
  while ((maxPde / 2 ** pds) % 2 < 1) pds++;
  return Math.max(pds - 7, 0);
}

/**
 * Encodes a root entry into 2 qwords; missing fields are 0/false. Throws EINVAL for a
 * non-object, an unknown field, a flag that is not a boolean or a value that does not fit.
 */
export function encodeRootEntry(fields: Partial<RootEntry>): bigint[] {
  checkInput(ROOT_ENTRY.name, fields, ROOT_ENTRY.fields);
  const flag = (name: keyof RootEntry) => flagBit(ROOT_ENTRY.name, name, fields[name]);
  return encodeLayout(ROOT_ENTRY, {
    lp: flag('lp'),
    lctp: fields.lctp,
    up: flag('up'),
    uctp: fields.uctp,
  });
}

/** Decodes a root entry (reserved bits not checked: see `reservedBits`). */
export function decodeRootEntry(qwords: readonly bigint[]): RootEntry {
  const v = decodeLayout(ROOT_ENTRY, qwords);
  return { lp: v.lp === 1, lctp: v.lctp, up: v.up === 1, uctp: v.uctp };
}

/**
 * Encodes a context entry into 4 qwords; missing fields are 0/false. Throws EINVAL for a
 * non-object, an unknown field, a flag that is not a boolean or a value that does not fit.
 */
export function encodeContextEntry(fields: Partial<ContextEntry>): bigint[] {
  checkInput(CONTEXT_ENTRY.name, fields, CONTEXT_ENTRY.fields);
  const flag = (name: keyof ContextEntry) => flagBit(CONTEXT_ENTRY.name, name, fields[name]);
  return encodeLayout(CONTEXT_ENTRY, {
    p: flag('p'),
    fpd: flag('fpd'),
    dte: flag('dte'),
    paside: flag('paside'),
    pre: flag('pre'),
    pdts: fields.pdts,
    pasidDirPtr: fields.pasidDirPtr,
    ridPasid: fields.ridPasid,
    ridPriv: flag('ridPriv'),
  });
}

/** Decodes a context entry (reserved bits not checked: see `reservedBits`). */
export function decodeContextEntry(qwords: readonly bigint[]): ContextEntry {
  const v = decodeLayout(CONTEXT_ENTRY, qwords);
  return {
    p: v.p === 1,
    fpd: v.fpd === 1,
    dte: v.dte === 1,
    paside: v.paside === 1,
    pre: v.pre === 1,
    pdts: v.pdts,
    pasidDirPtr: v.pasidDirPtr,
    ridPasid: v.ridPasid,
    ridPriv: v.ridPriv === 1,
  };
}
