import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PTE_HI_XD, PTE_P, PTE_RW, PTE_US, pteHi, pteLo, ptePfn } from '../../src/layout/index.js';

describe('pteLo() / pteHi() / ptePfn()', () => {
  it('build the two dwords of a hand-computed entry', () => {
    // pfn 0x1234_5678: lo = (0x1234_5678 mod 2^20 = 0x4_5678) << 12 | P|RW|US (0x7)
    //                      = 0x4567_8007
    //                  hi = floor(0x1234_5678 / 2^20) = 0x123 | XD (1<<31) = 0x8000_0123
    expect(pteLo(0x1234_5678, PTE_P | PTE_RW | PTE_US)).toBe(0x4567_8007);
    expect(pteHi(0x1234_5678, true)).toBe(0x8000_0123);
    expect(ptePfn(0x4567_8007, 0x8000_0123)).toBe(0x1234_5678);
    expect(pteHi(0, true)).toBe(PTE_HI_XD);
  });

  it('round-trip every 40-bit pfn', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }).map(Number),
        fc.integer({ min: 0, max: 0xfff }),
        fc.boolean(),
        (pfn, flags, xd) => {
          expect(ptePfn(pteLo(pfn, flags), pteHi(pfn, xd))).toBe(pfn);
          expect(pteLo(pfn, flags) & 0xfff).toBe(flags);
        },
      ),
    );
  });
});
