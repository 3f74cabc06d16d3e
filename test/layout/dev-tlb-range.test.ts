import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeDevTlbRange, encodeDevTlbRange } from '../../src/layout/index.js';
import { thrown } from './helpers.js';

describe('encodeDevTlbRange()', () => {
  it('leaves a single page as it is with S=0', () => {
    expect(encodeDevTlbRange(0x7f00_1234_5000, 0)).toEqual({ addr: 0x7f00_1234_5000, s: false });
  });

  it('encodes the spec example: 8 pages at 0x10000', () => {
    // order 3: set bits [14:12] (0x7000), clear bit 14 (0x4000) → 0x10000 | 0x3000
    expect(encodeDevTlbRange(0x10000, 3)).toEqual({ addr: 0x13000, s: true });
  });

  it('encodes 2 pages with address bit 12 clear', () => {
    // order 1: set bit 12, clear bit 12 → the address is unchanged, only S says "2 pages".
    expect(encodeDevTlbRange(0x2000, 1)).toEqual({ addr: 0x2000, s: true });
  });

  it('encodes the whole space (order 52) as 0x7FFF_FFFF_FFFF_F000', () => {
    const { addr, s } = encodeDevTlbRange(0, 52);
    expect(s).toBe(true);
    expect(BigInt(addr)).toBe(0x7fff_ffff_ffff_f000n);
  });

  it('throws RangeError EINVAL for a misaligned base or an order outside 0..52', () => {
    for (const bad of [
      () => encodeDevTlbRange(0x11000, 3),
      () => encodeDevTlbRange(0x1000, 53),
      () => encodeDevTlbRange(0x1000, -1),
      () => encodeDevTlbRange(0x800, 0),
    ]) {
      const e = thrown(bad);
      expect(e).toBeInstanceOf(RangeError);
      expect(e.code).toBe('EINVAL');
    }
  });
});

describe('decodeDevTlbRange()', () => {
  it('decodes the spec example back to 8 pages at 0x10000', () => {
    expect(decodeDevTlbRange(0x13000, true)).toEqual({ base: 0x10000, pages: 8, sizeOrder: 3 });
  });

  it('decodes the whole-space encoding to 2^52 pages from 0', () => {
    expect(decodeDevTlbRange(Number(0x7fff_ffff_ffff_f000n), true)).toEqual({
      base: 0,
      pages: 2 ** 52,
      sizeOrder: 52,
    });
  });

  it('takes an address of all ones as the whole space', () => {
    expect(decodeDevTlbRange(2 ** 64 - 4096, true).sizeOrder).toBe(52);
  });

  it('round-trips every aligned range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 52 }),
        fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }),
        (sizeOrder, pfn) => {
          const alignedPfn = (pfn >> BigInt(sizeOrder)) << BigInt(sizeOrder);
          const base = Number(alignedPfn) * 4096;
          const { addr, s } = encodeDevTlbRange(base, sizeOrder);
          expect(decodeDevTlbRange(addr, s)).toEqual({ base, pages: 2 ** sizeOrder, sizeOrder });
        },
      ),
    );
  });
});
