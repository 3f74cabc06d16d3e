import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  devTlbAddress,
  devTlbWindow,
  piotlbWindow,
  rangeAm,
  rangeDevTlb,
  rangePages,
  rangePiotlb,
} from '../../src/kernel/v5.8/range-flush.js';
import { decodeDevTlbRange, encodeInvDesc } from '../../src/layout/index.js';

const hex = (n: number | bigint) => n.toString(16);

/** svm.c:151-163 transcribed with 64-bit integers: qw1 of the v5.8 P_DEVTLB. */
function referenceQw1(start: number, pages: number): bigint {
  const address = BigInt(start);
  if (pages <= 1) return address & ~0xfffn;
  const last = address + (BigInt(pages - 1) << 12n);
  let mask = 1n;
  while (mask << 1n <= (address ^ last)) mask <<= 1n;
  return (((address & ~mask) | (mask - 1n)) & ~0xfffn) | 0x800n;
}

describe('rangePages() / rangeAm()', () => {
  it('counts pages from start and rounds AM up to a power of two', () => {
    expect(rangePages(0x40_1000, 0x40_3000)).toBe(2);
    expect(rangePages(0x40_1000, 0x40_1001)).toBe(1);
    expect([1, 2, 3, 4, 5, 19, 512, 513].map(rangeAm)).toEqual([0, 1, 2, 2, 3, 5, 9, 10]);
  });
});

describe('rangePiotlb()', () => {
  it('keeps the unaligned start in ADDR (spec §5.1: [0x40_1000, 0x40_3000) → qw1 0x40_1001)', () => {
    const [qw0, qw1] = encodeInvDesc(rangePiotlb(1, 1, 0x40_1000, 2));
    // 6h | G=11b<<4 | DID 1<<16 | PASID 1<<32
    expect(hex(qw0!)).toBe('100010036');
    expect(hex(qw1!)).toBe('401001');
  });

  it('drops only bits 11:0 of start', () => {
    const [, qw1] = encodeInvDesc(rangePiotlb(1, 1, 0x40_3abc, 2));
    expect(hex(qw1!)).toBe('403001');
  });
});

describe('piotlbWindow()', () => {
  it('is the aligned 2^AM block holding start (what hardware invalidates)', () => {
    expect(piotlbWindow(0x40_1000, 2)).toEqual([0x400, 0x402]);
    expect(piotlbWindow(0x40_3000, 2)).toEqual([0x402, 0x404]);
    expect(piotlbWindow(0x40_0000, 3)).toEqual([0x400, 0x404]);
  });
});

describe('devTlbAddress() / rangeDevTlb()', () => {
  it.each([
    ['[0x40_0000, 0x40_3000)', 0x40_0000, 3, 0x40_1800],
    ['[0x40_1000, 0x40_3000)', 0x40_1000, 2, 0x40_1800],
    ['[0x40_3000, 0x40_5000)', 0x40_3000, 2, 0x40_3800],
    ['[0x7f12_3456_7000, 0x7f12_3457_a000)', 0x7f12_3456_7000, 19, 0x7f12_3456_f800],
  ])('gives spec §5.1 qw1 for %s', (_, start, pages, qw1) => {
    const [, got] = encodeInvDesc(rangeDevTlb(0x6a01, 1, 0, start, pages));
    expect(hex(got!)).toBe(hex(qw1));
  });

  it('puts the address alone, S=0, for one page', () => {
    expect(devTlbAddress(0x40_5000, 1)).toEqual({ addr: 0x40_5000, s: false });
  });

  it('has no PFSID and masks QDEP to 5 bits', () => {
    const [qw0] = encodeInvDesc(rangeDevTlb(0x6a01, 1, 0x25, 0x40_0000, 1));
    // 8h | QDEP 5<<4 | SID 0x6a01<<16 | PASID 1<<32; bits 15:12 and 63:52 zero
    expect(hex(qw0!)).toBe('16a010058');
  });

  it('matches the 64-bit formula above 2^32 and up to 5-level addresses', () => {
    const start = fc
      .oneof(
        fc.integer({ min: 1, max: 2 ** 20 }),
        fc.integer({ min: 2 ** 34, max: 2 ** 35 - 1 }),
        fc.integer({ min: 2 ** 43, max: 2 ** 44 - 1 }),
      )
      .map((vpn) => vpn * 4096);
    fc.assert(
      fc.property(start, fc.integer({ min: 1, max: 70_000 }), (s, pages) => {
        const { addr, s: size } = devTlbAddress(s, pages);
        const ref = referenceQw1(s, pages);
        expect(hex(BigInt(addr) | (size ? 0x800n : 0n))).toBe(hex(ref));
        // the window the ATS encoding names is devTlbWindow, and it covers the range
        const [first, end] = devTlbWindow(s, pages);
        const decoded = decodeDevTlbRange(addr, size);
        expect([decoded.base / 4096, decoded.base / 4096 + decoded.pages]).toEqual([first, end]);
        expect(first <= s / 4096 && s / 4096 + pages <= end).toBe(true);
        // and it holds the P_IOTLB's block
        const [wFirst, wEnd] = piotlbWindow(s, pages);
        expect(first <= wFirst && wEnd <= end).toBe(true);
      }),
      { seed: 58, numRuns: 400 },
    );
  });
});
