import { describe, expect, it } from 'vitest';
import {
  IOMMU_PAGE_RESP_FAILURE,
  IOMMU_PAGE_RESP_INVALID,
  IOMMU_PAGE_RESP_SUCCESS,
  isResponseFailure,
  PageResponseCode,
  PRQ_DEPTH,
  PRQ_DESC_BYTES,
  PRQ_RING_MASK,
  PRQ_SIZE,
  pqsForPrqEntries,
  prqEntriesForPqs,
  prqRingMask,
  QI_RESP_FAILURE,
  QI_RESP_INVALID,
  QI_RESP_SUCCESS,
} from '../../src/layout/index.js';
import { thrown } from './helpers.js';

describe('PageResponseCode', () => {
  it('has the wire values of VT-d Table 32 and the QI_RESP_* constants', () => {
    expect(PageResponseCode).toEqual({ SUCCESS: 0x0, INVALID: 0x1, FAILURE: 0xf });
    expect([QI_RESP_SUCCESS, QI_RESP_INVALID, QI_RESP_FAILURE]).toEqual([0x0, 0x1, 0xf]);
  });

  it('keeps the generic enum, where FAILURE is 2', () => {
    expect([IOMMU_PAGE_RESP_SUCCESS, IOMMU_PAGE_RESP_INVALID, IOMMU_PAGE_RESP_FAILURE]).toEqual([
      0, 1, 2,
    ]);
  });

  it('treats Fh and the reserved 2h–Eh as Response Failure', () => {
    expect(isResponseFailure(0x0)).toBe(false);
    expect(isResponseFailure(0x1)).toBe(false);
    expect(isResponseFailure(IOMMU_PAGE_RESP_FAILURE)).toBe(true);
    expect(isResponseFailure(0xf)).toBe(true);
  });
});

describe('PRQ sizing', () => {
  it('gives 2^(PQS+7) entries per PQS', () => {
    expect(prqEntriesForPqs(0)).toBe(128);
    expect(prqEntriesForPqs(4)).toBe(2048);
    expect(pqsForPrqEntries(2048)).toBe(4);
    expect(pqsForPrqEntries(4)).toBeNull();
    expect(thrown(() => prqEntriesForPqs(8)).code).toBe('EINVAL');
  });

  it('matches the kernel constants for PRQ_ORDER 4', () => {
    // PRQ_SIZE = 4 KiB << 4 = 0x10000; PRQ_RING_MASK = 0x10000 − 0x20 = 0xffe0; depth 2048
    expect(PRQ_SIZE).toBe(0x10000);
    expect(PRQ_RING_MASK).toBe(0xffe0);
    expect(PRQ_DEPTH).toBe(2048);
    expect(prqRingMask(PRQ_DEPTH)).toBe(PRQ_RING_MASK);
    expect(PRQ_DESC_BYTES).toBe(32);
  });
});
