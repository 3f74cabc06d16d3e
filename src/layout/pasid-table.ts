/**
 * PASID directory entry and scalable-mode PASID table entry (spec §3.1, §3.2; VT-d 9.5, 9.6;
 * kernel pasid.h bit setters and pasid.c).
 *
 * Per device, a PASID directory of 8-byte entries indexed by pasid >> 6 points to 4 KiB leaf
 * tables of 64 entries × 64 bytes indexed by pasid & 0x3f.
 *
 * PASID directory entry (64 bits):
 *   bit   0      p          present
 *   bit   1      fpd        fault processing disable
 *   bits 11:2    reserved
 *   bits 63:12   tablePtr   physical address of the leaf table (byte address when decoded)
 *
 * Scalable-mode PASID table entry (512 bits):
 *   bit   0      p          present; written last
 *   bit   1      fpd        fault processing disable; evaluated even when P=0
 *   bits  4:2    aw         address width (ignored for PGTT=001b)
 *   bit   5      reserved
 *   bits  8:6    pgtt       001b first stage, 010b second stage, 011b nested, 100b pass-through
 *   bit   9      ssade      second-stage A/D enable
 *   bits 11:10   reserved
 *   bits 63:12   ssptptr    second-stage table pointer (byte address)
 *   bits 79:64   did        domain id (FLPT_DEFAULT_DID for SVA)
 *   bits 86:80   reserved
 *   bit  87      pwsnp      page-walk snoop
 *   bit  88      pgsnp      page snoop
 *   bits 127:89  reserved   (cache attribute fields CD/EMTE/EMT/PWT/PCD/PAT: not modelled)
 *   bit  128     sre        supervisor request enable
 *   bit  129     reserved   (ERE in older revisions: not modelled)
 *   bits 131:130 fspm       first-stage paging mode: 00 4-level, 01 5-level
 *   bit  132     wpe        write protect enable
 *   bits 134:133 ignored    (bit 133 = NXE in v6.4-era kernels; rev 5.10 says ignored)
 *   bit  135     eafe       extended accessed flag enable
 *   bits 139:136 reserved
 *   bits 191:140 fsptptr    first-stage table pointer = the mm's pgd (byte address)
 *   bits 511:192 reserved   (qwords 3..7: nothing the SVA path uses)
 *
 * Every field above except the ignored range is checked by `reservedBits`; hardware reports
 * a set reserved bit as SPT.3 (5Ah) / SPD.3 (52h).
 */

import { checkInput, decodeLayout, defineLayout, encodeLayout, flagBit } from './field.js';

// PGTT values (bits 8:6).
/** PGTT 001b: first-stage translation only (SVA). */
export const PGTT_FIRST_STAGE = 1;
/** PGTT 010b: second-stage translation only. */
export const PGTT_SECOND_STAGE = 2;
/** PGTT 011b: nested translation. */
export const PGTT_NESTED = 3;
/** PGTT 100b: pass-through. */
export const PGTT_PASS_THROUGH = 4;

// FSPM values (bits 131:130; kernel PASID_FLPM_4LV / PASID_FLPM_5LV).
/** FSPM 00b: 4-level first-stage paging (kernel PASID_FLPM_4LV). */
export const FSPM_4_LEVEL = 0;
/** FSPM 01b: 5-level first-stage paging (kernel PASID_FLPM_5LV). */
export const FSPM_5_LEVEL = 1;

/** Domain id the kernel gives every first-stage / pass-through PASID entry. */
export const FLPT_DEFAULT_DID = 1;
/** PASID meaning "no PASID" (RID2PASID; kernel `IOMMU_NO_PASID`). */
export const IOMMU_NO_PASID = 0;

/** Size of a PASID table entry in bytes. */
export const PASID_ENTRY_BYTES = 64;
/** Entries of a 4 KiB PASID leaf table. */
export const PASID_ENTRIES_PER_TABLE = 64;
/** Size of a PASID directory entry in bytes. */
export const PASID_DIR_ENTRY_BYTES = 8;
/** pasid >> PASID_PDE_SHIFT is the directory index (kernel `PASID_PDE_SHIFT`). */
export const PASID_PDE_SHIFT = 6;
/** Width of a PASID in bits. */
export const PASID_BITS = 20;

/** Directory index of a PASID. */
export function pasidDirIndex(pasid: number): number {
  return pasid >>> PASID_PDE_SHIFT;
}

/** Index of a PASID inside its leaf table. */
export function pasidTableIndex(pasid: number): number {
  return pasid & 0x3f;
}

/** PASID directory entry, 64 bits. */
export const PASID_DIR_ENTRY = defineLayout('pasid_dir_entry', 64, {
  p: [0, 0],
  fpd: [1, 1],
  tablePtr: [63, 12, { shift: 12 }],
});

/** Scalable-mode PASID table entry, 512 bits. */
export const PASID_ENTRY = defineLayout(
  'pasid_entry',
  512,
  {
    p: [0, 0],
    fpd: [1, 1],
    aw: [4, 2],
    pgtt: [8, 6],
    ssade: [9, 9],
    ssptptr: [63, 12, { shift: 12 }],
    did: [79, 64],
    pwsnp: [87, 87],
    pgsnp: [88, 88],
    sre: [128, 128],
    fspm: [131, 130],
    wpe: [132, 132],
    eafe: [135, 135],
    fsptptr: [191, 140, { shift: 12 }],
  },
  { ignored: [[134, 133]] },
);

/** A PASID directory entry in typed form (`tablePtr` a byte address). */
export interface PasidDirEntry {
  p: boolean;
  fpd: boolean;
  tablePtr: number;
}

/** A PASID table entry in typed form (pointers are byte addresses). */
export interface PasidEntry {
  p: boolean;
  fpd: boolean;
  aw: number;
  pgtt: number;
  ssade: boolean;
  ssptptr: number;
  did: number;
  pwsnp: boolean;
  pgsnp: boolean;
  sre: boolean;
  fspm: number;
  wpe: boolean;
  eafe: boolean;
  fsptptr: number;
}

/**
 * Encodes a PASID directory entry into 1 qword; missing fields are 0/false. Throws EINVAL for
 * a non-object, an unknown field, a flag that is not a boolean or a value that does not fit.
 */
export function encodePasidDirEntry(fields: Partial<PasidDirEntry>): bigint[] {
  checkInput(PASID_DIR_ENTRY.name, fields, PASID_DIR_ENTRY.fields);
  const flag = (name: keyof PasidDirEntry) => flagBit(PASID_DIR_ENTRY.name, name, fields[name]);
  return encodeLayout(PASID_DIR_ENTRY, {
    p: flag('p'),
    fpd: flag('fpd'),
    tablePtr: fields.tablePtr,
  });
}

/** Decodes a PASID directory entry (reserved bits not checked: see `reservedBits`). */
export function decodePasidDirEntry(qwords: readonly bigint[]): PasidDirEntry {
  const v = decodeLayout(PASID_DIR_ENTRY, qwords);
  return { p: v.p === 1, fpd: v.fpd === 1, tablePtr: v.tablePtr };
}

/**
 * Encodes a PASID table entry into 8 qwords; missing fields are 0/false. Throws EINVAL for a
 * non-object, an unknown field, a flag that is not a boolean or a value that does not fit.
 */
export function encodePasidEntry(fields: Partial<PasidEntry>): bigint[] {
  checkInput(PASID_ENTRY.name, fields, PASID_ENTRY.fields);
  const flag = (name: keyof PasidEntry) => flagBit(PASID_ENTRY.name, name, fields[name]);
  return encodeLayout(PASID_ENTRY, {
    p: flag('p'),
    fpd: flag('fpd'),
    aw: fields.aw,
    pgtt: fields.pgtt,
    ssade: flag('ssade'),
    ssptptr: fields.ssptptr,
    did: fields.did,
    pwsnp: flag('pwsnp'),
    pgsnp: flag('pgsnp'),
    sre: flag('sre'),
    fspm: fields.fspm,
    wpe: flag('wpe'),
    eafe: flag('eafe'),
    fsptptr: fields.fsptptr,
  });
}

/** Decodes a PASID table entry (reserved bits not checked: see `reservedBits`). */
export function decodePasidEntry(qwords: readonly bigint[]): PasidEntry {
  const v = decodeLayout(PASID_ENTRY, qwords);
  return {
    p: v.p === 1,
    fpd: v.fpd === 1,
    aw: v.aw,
    pgtt: v.pgtt,
    ssade: v.ssade === 1,
    ssptptr: v.ssptptr,
    did: v.did,
    pwsnp: v.pwsnp === 1,
    pgsnp: v.pgsnp === 1,
    sre: v.sre === 1,
    fspm: v.fspm,
    wpe: v.wpe === 1,
    eafe: v.eafe === 1,
    fsptptr: v.fsptptr,
  };
}
