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
 * Not modelled: protection keys, PAT, 1 GiB leaves (VT-d FL1GP), reserved-bit checking
 * against MAXPHYADDR below bit 51.
 */

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

/** Frame number held in an entry given its two dwords (exact: at most 40 bits). */
export function ptePfn(lo: number, hi: number): number {
  return (hi & PTE_HI_PFN_MASK) * 0x10_0000 + (lo >>> 12);
}

/** Low dword for a PFN and low-dword flags. */
export function pteLo(pfn: number, flags: number): number {
  return (((pfn % 0x10_0000) << 12) | (flags & PTE_LO_FLAGS_MASK)) >>> 0;
}

/** High dword for a PFN and the execute-disable bit. */
export function pteHi(pfn: number, xd: boolean): number {
  return ((Math.floor(pfn / 0x10_0000) & PTE_HI_PFN_MASK) | (xd ? PTE_HI_XD : 0)) >>> 0;
}
