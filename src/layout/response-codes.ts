/**
 * Page response codes and page request queue constants (spec §4.1, §4.4, §4.5; VT-d 7.6
 * Table 32 = PCIe 10.4.2.1; kernel iommu.h `QI_RESP_*`, `PRQ_*` and include/linux/iommu.h
 * `enum iommu_page_response_code`).
 *
 * Response codes on the wire (RC, bits 15:12 of a page group response): 0h Success, 1h
 * Invalid Request, 2h–Eh reserved (devices treat them as Response Failure), Fh Response
 * Failure. The generic kernel enum numbers FAILURE as 2 and the VT-d driver copies it
 * verbatim, which is how a reserved RC=2 reaches the wire in current kernels (spec §9).
 *
 * Not modelled: page stream responses.
 */

import { rangeErrorEinval } from './field.js';

/** Response codes of a page group response (public API name). */
export const PageResponseCode = { SUCCESS: 0x0, INVALID: 0x1, FAILURE: 0xf } as const;

/** A page response code value. */
export type PageResponseCodeValue = (typeof PageResponseCode)[keyof typeof PageResponseCode];

// The VT-d driver's response codes (iommu.h).
/** VT-d driver response code: Success. */
export const QI_RESP_SUCCESS = 0x0;
/** VT-d driver response code: Invalid Request. */
export const QI_RESP_INVALID = 0x1;
/** VT-d driver response code: Response Failure. */
export const QI_RESP_FAILURE = 0xf;

// The generic `enum iommu_page_response_code` values (FAILURE is 2, not 0xF).
/** Generic response code: success. */
export const IOMMU_PAGE_RESP_SUCCESS = 0;
/** Generic response code: invalid. */
export const IOMMU_PAGE_RESP_INVALID = 1;
/** Generic response code: failure (2, reserved on the wire). */
export const IOMMU_PAGE_RESP_FAILURE = 2;

/** True for a code the device treats as a Response Failure: Fh and the reserved 2h–Eh. */
export function isResponseFailure(code: number): boolean {
  return code >= 0x2 && code <= 0xf;
}

/** Size of a page request descriptor in the PRQ (bytes). */
export const PRQ_DESC_BYTES = 32;
/** Kernel PRQ order (v5.19+, written to PQS): 4 → 64 KiB, 2048 entries. */
export const PRQ_ORDER = 4;
/** Kernel PRQ size in bytes for `PRQ_ORDER`. */
export const PRQ_SIZE = 4096 << PRQ_ORDER;
/** Kernel PRQ ring mask (byte offsets) for `PRQ_ORDER`. */
export const PRQ_RING_MASK = PRQ_SIZE - 0x20;
/** Kernel PRQ depth in descriptors for `PRQ_ORDER`. */
export const PRQ_DEPTH = PRQ_SIZE >> 5;

/** Largest PQS value (PQA_REG bits 2:0). */
export const PQS_MAX = 7;

/** Entries of a PRQ of size PQS: 2^PQS × 4 KiB = 2^(PQS+7) descriptors. */
export function prqEntriesForPqs(pqs: number): number {
  if (!Number.isInteger(pqs) || pqs < 0 || pqs > PQS_MAX) {
    throw rangeErrorEinval(`PQS ${String(pqs)} is not 0..${PQS_MAX}`);
  }
  return 2 ** (pqs + 7);
}

/** PQS encoding a PRQ of `entries` descriptors, or `null` when no PQS gives that size. */
export function pqsForPrqEntries(entries: number): number | null {
  for (let pqs = 0; pqs <= PQS_MAX; pqs++) {
    if (2 ** (pqs + 7) === entries) return pqs;
  }
  return null;
}

/** Ring mask of a PRQ of `entries` descriptors (byte offsets, 32-byte aligned). */
export function prqRingMask(entries: number): number {
  return entries * PRQ_DESC_BYTES - 0x20;
}
