/**
 * x86-64 paging-structure entry (Intel SDM vol. 3A §4.5, Table 4-15 … 4-20), the format of
 * first-level (first-stage) tables that SVA shares between the CPU and the IOMMU (spec §3.2:
 * FSPTPTR points at the process's pgd).
 *
 * An entry is one qword. The data path keeps it as two little-endian dwords in a
 * `Uint32Array` view of simulated physical memory: `lo` = bits 31:0, `hi` = bits 63:32.
 *
 *   bit  0      P     present
 *   bit  1      R/W   writable
 *   bit  2      U/S   user-accessible
 *   bit  3      PWT
 *   bit  4      PCD
 *   bit  5      A     accessed
 *   bit  6      D     dirty (leaf entries only)
 *   bit  7      PS    page size: leaf at level 2 (2 MiB) or 3 (1 GiB)
 *   bit  8      G     global
 *   bits 51:12  PFN   page frame number of the next table or of the page
 *   bits 62:52  ignored / protection keys (not modelled)
 *   bit  63     XD    execute-disable (NX)
 *
 * The data path uses the dword helpers below (`ptePfn`, `pteLo`, `pteHi`); the edges (tests,
 * debug printing) use the bigint codec `encodePte` / `decodePte` over the `PTE` field table.
 *
 * Not modelled: protection keys, PAT, 1 GiB leaves (VT-d FL1GP), reserved-bit checking
 * against MAXPHYADDR below bit 51.
 */

import {
  checkInput,
  decodeLayout,
  defineLayout,
  describeValue,
  encodeLayout,
  flagBit,
  rangeErrorEinval,
} from './field.js';

/** Bits of the low dword. */
export const PTE_P = 1 << 0;
export const PTE_RW = 1 << 1;
export const PTE_US = 1 << 2;
export const PTE_PWT = 1 << 3;
export const PTE_PCD = 1 << 4;
export const PTE_A = 1 << 5;
export const PTE_D = 1 << 6;
export const PTE_PS = 1 << 7;
export const PTE_G = 1 << 8;
/** Bits 11:0 of the low dword that are flags (the PFN starts at bit 12). */
export const PTE_LO_FLAGS_MASK = 0xfff;

/** Bits of the high dword. */
export const PTE_HI_XD = 0x8000_0000;
/** PFN bits 51:32 live in bits 19:0 of the high dword. */
export const PTE_HI_PFN_MASK = 0x000f_ffff;

/** Entries per paging structure and bits of the address each level consumes. */
export const PTE_PER_TABLE = 512;
export const PTE_INDEX_BITS = 9;

/** Qword size of an entry in bytes and in dwords. */
export const PTE_BYTES = 8;

/** Frame numbers an entry can hold: PFN is bits 51:12, 40 bits. */
export const PTE_PFN_LIMIT = 2 ** 40;

/** Frame number held in an entry given its two dwords (exact: at most 40 bits). */
export function ptePfn(lo: number, hi: number): number {
  return (hi & PTE_HI_PFN_MASK) * 0x10_0000 + (lo >>> 12);
}

/**
 * Low dword for a PFN and low-dword flags. Throws `RangeError` EINVAL when `pfn` is not an
 * integer in [0, 2^40) (it would be silently cut to 40 bits, or to garbage for a fraction).
 */
export function pteLo(pfn: number, flags: number): number {
  if (!(pfn >= 0 && pfn < PTE_PFN_LIMIT && pfn === Math.floor(pfn))) throw badPfn(pfn);
  return (((pfn % 0x10_0000) << 12) | (flags & PTE_LO_FLAGS_MASK)) >>> 0;
}

/** High dword for a PFN and the execute-disable bit; the same check of `pfn` as {@link pteLo}. */
export function pteHi(pfn: number, xd: boolean): number {
  if (!(pfn >= 0 && pfn < PTE_PFN_LIMIT && pfn === Math.floor(pfn))) throw badPfn(pfn);
  return ((Math.floor(pfn / 0x10_0000) & PTE_HI_PFN_MASK) | (xd ? PTE_HI_XD : 0)) >>> 0;
}

function badPfn(pfn: unknown): Error {
  return rangeErrorEinval(
    `PTE: pfn must be an integer in [0, 2^40) (bits 51:12), got ${describeValue(pfn)}`,
  );
}

/**
 * A paging-structure entry as a field table (bit 0 = bit 0 of the qword): the same bits as
 * the dword helpers above. Bits 11:9 and 62:52 are ignored by the hardware and kept apart in
 * `ignoredLo` / `ignoredHi`, so a decoded entry encodes back to the same qword.
 */
export const PTE = defineLayout('pte', 64, {
  p: [0, 0],
  rw: [1, 1],
  us: [2, 2],
  pwt: [3, 3],
  pcd: [4, 4],
  a: [5, 5],
  d: [6, 6],
  ps: [7, 7],
  g: [8, 8],
  ignoredLo: [11, 9],
  pfn: [51, 12],
  ignoredHi: [62, 52],
  xd: [63, 63],
});

/** A paging-structure entry in typed form (`pfn` a frame number, not an address). */
export interface Pte {
  p: boolean;
  rw: boolean;
  us: boolean;
  pwt: boolean;
  pcd: boolean;
  a: boolean;
  d: boolean;
  ps: boolean;
  g: boolean;
  ignoredLo: number;
  pfn: number;
  ignoredHi: number;
  xd: boolean;
}

const PTE_FLAGS = ['p', 'rw', 'us', 'pwt', 'pcd', 'a', 'd', 'ps', 'g', 'xd'] as const;

/**
 * Encodes an entry into 1 qword; missing fields are 0/false. Throws EINVAL for a non-object,
 * an unknown field, a flag that is not a boolean or a value that does not fit.
 */
export function encodePte(fields: Partial<Pte>): bigint[] {
  checkInput(PTE.name, fields, PTE.fields);
  const values: Partial<Record<keyof Pte, number>> = {
    ignoredLo: fields.ignoredLo,
    pfn: fields.pfn,
    ignoredHi: fields.ignoredHi,
  };
  for (const name of PTE_FLAGS) values[name] = flagBit(PTE.name, name, fields[name]);
  return encodeLayout(PTE, values);
}

/** Decodes 1 qword into an entry; every bit is a field, so every qword decodes. */
export function decodePte(qwords: readonly bigint[]): Pte {
  const v = decodeLayout(PTE, qwords);
  return {
    p: v.p === 1,
    rw: v.rw === 1,
    us: v.us === 1,
    pwt: v.pwt === 1,
    pcd: v.pcd === 1,
    a: v.a === 1,
    d: v.d === 1,
    ps: v.ps === 1,
    g: v.g === 1,
    ignoredLo: v.ignoredLo,
    pfn: v.pfn,
    ignoredHi: v.ignoredHi,
    xd: v.xd === 1,
  };
}
