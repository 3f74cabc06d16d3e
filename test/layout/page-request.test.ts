import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePageRequest,
  encodePageRequest,
  PAGE_REQUEST,
  PAGE_REQUEST_BYTES,
  type PageRequest,
  pageRequestReservedBits,
  pageRequestReservedU32,
  writeQwords,
} from '../../src/layout/index.js';
import { thrown } from './helpers.js';

const pageRequestArb: fc.Arbitrary<PageRequest> = fc.record({
  type: fc.constant(1),
  pasidPresent: fc.boolean(),
  privDataPresent: fc.boolean(),
  rid: fc.integer({ min: 0, max: 0xffff }),
  pasid: fc.integer({ min: 0, max: 0xf_ffff }),
  exeReq: fc.boolean(),
  pmReq: fc.boolean(),
  rdReq: fc.boolean(),
  wrReq: fc.boolean(),
  lpig: fc.boolean(),
  prgIndex: fc.integer({ min: 0, max: 0x1ff }),
  addr: fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }).map((pfn) => Number(pfn) * 4096),
});

describe('encodePageRequest()', () => {
  it('encodes the hand-computed example', () => {
    const qwords = encodePageRequest({
      pasidPresent: true,
      rid: 0x0300,
      pasid: 5,
      rdReq: true,
      wrReq: false,
      lpig: true,
      prgIndex: 3,
      addr: 0x7f00_1234_5000,
    });
    // qw0 = type 0x1 | PP 1<<8 (0x100) | rid 0x300<<16 (0x300_0000) | pasid 5<<32
    //     = 0x0000_0005_0300_0101
    // qw1 = RDR 1<<0 (0x1) | LPIG 1<<2 (0x4) | PRGI 3<<3 (0x18) | ADDR[63:12] in place
    //     = 0x7f00_1234_5000 | 0x1d = 0x7f00_1234_501d
    expect(qwords).toEqual([0x0000_0005_0300_0101n, 0x7f00_1234_501dn, 0n, 0n]);
  });

  it('encodes EXR, PMR, WRR and a full PRG index', () => {
    const qwords = encodePageRequest({
      pasidPresent: true,
      rid: 0xffff,
      pasid: 0xf_ffff,
      exeReq: true,
      pmReq: true,
      rdReq: true,
      wrReq: true,
      lpig: false,
      prgIndex: 0x1ff,
      addr: 0,
    });
    // qw0 = 0x1 | 0x100 | 0xffff<<16 | 0xfffff<<32 | 1<<52 | 1<<53 = 0x003f_ffff_ffff_0101
    // qw1 = 0x1 | 0x2 | 0x1ff<<3 (0xff8) = 0xffb
    expect(qwords).toEqual([0x003f_ffff_ffff_0101n, 0xffbn, 0n, 0n]);
  });

  it('is the 32-byte descriptor of the PRQ', () => {
    expect(PAGE_REQUEST_BYTES).toBe(PAGE_REQUEST.bits / 8);
  });

  it('throws RangeError EINVAL for an out-of-range prgIndex or an unaligned address', () => {
    const base = { pasidPresent: true, rid: 1, pasid: 1, rdReq: true, wrReq: false, lpig: true };
    const e = thrown(() => encodePageRequest({ ...base, prgIndex: 0x200, addr: 0 }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(/page_req_dsc\.prgIndex/);
    expect(thrown(() => encodePageRequest({ ...base, prgIndex: 0, addr: 0x1001 })).code).toBe(
      'EINVAL',
    );
    expect(
      thrown(() => encodePageRequest({ ...base, prgIndex: 0, pasid: 1 << 20, addr: 0 })).code,
    ).toBe('EINVAL');
  });
});

describe('decodePageRequest()', () => {
  it('round-trips random requests', () => {
    fc.assert(
      fc.property(pageRequestArb, (req) => {
        expect(decodePageRequest(encodePageRequest(req))).toEqual(req);
      }),
    );
  });

  it('throws EINVAL with the raw qwords when a reserved bit is set', () => {
    const qwords = encodePageRequest({
      pasidPresent: true,
      rid: 0x300,
      pasid: 5,
      rdReq: true,
      wrReq: false,
      lpig: true,
      prgIndex: 3,
      addr: 0x1000,
    });
    qwords[0] = qwords[0]! | (1n << 10n); // bits 15:10 are reserved
    expect(pageRequestReservedBits(qwords)).toEqual([1n << 10n, 0n, 0n, 0n]);
    const e = thrown(() => decodePageRequest(qwords));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('0x0000000503000501');
  });

  it('throws EINVAL for a type other than 01h', () => {
    expect(thrown(() => decodePageRequest([0x2n, 0n, 0n, 0n])).code).toBe('EINVAL');
  });
});

describe('pageRequestReservedBits()', () => {
  it('treats qw2/qw3 as private data when PDP=1 and as reserved otherwise', () => {
    const withPdp = [0x1n | (1n << 9n), 0n, 0xdeadn, 0xbeefn];
    const withoutPdp = [0x1n, 0n, 0xdeadn, 0xbeefn];
    expect(pageRequestReservedBits(withPdp)).toBeNull();
    expect(pageRequestReservedBits(withoutPdp)).toEqual([0n, 0n, 0xdeadn, 0xbeefn]);
    const u32 = new Uint32Array(8);
    writeQwords(u32, 0, withPdp);
    expect(pageRequestReservedU32(u32, 0)).toBe(false);
    writeQwords(u32, 0, withoutPdp);
    expect(pageRequestReservedU32(u32, 0)).toBe(true);
  });

  it('flags bits 63:54', () => {
    expect(pageRequestReservedBits([0x1n | (1n << 63n), 0n, 0n, 0n])).toEqual([
      1n << 63n,
      0n,
      0n,
      0n,
    ]);
  });
});
