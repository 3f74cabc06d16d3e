import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePageGroupResponse,
  encodePageGroupResponse,
  type PageGroupResponse,
  PageResponseCode,
  pageGroupResponseReservedBits,
  pageGroupResponseReservedU32,
  writeQwords,
} from '../../src/layout/index.js';
import { thrown } from './helpers.js';

const responseArb: fc.Arbitrary<PageGroupResponse> = fc.record({
  pasidPresent: fc.boolean(),
  privDataPresent: fc.boolean(),
  code: fc.integer({ min: 0, max: 0xf }),
  rid: fc.integer({ min: 0, max: 0xffff }),
  pasid: fc.integer({ min: 0, max: 0xf_ffff }),
  prgIndex: fc.integer({ min: 0, max: 0x1ff }),
  lpig: fc.boolean(),
});

describe('encodePageGroupResponse()', () => {
  it('encodes the hand-computed example', () => {
    const qwords = encodePageGroupResponse({
      pasidPresent: true,
      code: PageResponseCode.INVALID,
      rid: 0x0300,
      pasid: 5,
      prgIndex: 3,
      lpig: true,
    });
    // qw0 = type 0x9 | PP 1<<4 (0x10) | RC 1<<12 (0x1000) | rid 0x300<<16 | pasid 5<<32
    //     = 0x0000_0005_0300_1019
    // qw1 = LPIG 1<<2 (0x4) | PRGI 3<<3 (0x18) = 0x1c
    expect(qwords).toEqual([0x0000_0005_0300_1019n, 0x1cn, 0n, 0n]);
  });

  it('encodes Response Failure and PDP', () => {
    const qwords = encodePageGroupResponse({
      pasidPresent: false,
      privDataPresent: true,
      code: PageResponseCode.FAILURE,
      rid: 0xffff,
      pasid: 0,
      prgIndex: 0x1ff,
      lpig: false,
    });
    // qw0 = 0x9 | PDP 1<<5 (0x20) | 0xf<<12 (0xf000) | 0xffff<<16 = 0xffff_f029
    // qw1 = 0x1ff<<3 = 0xff8
    expect(qwords).toEqual([0xffff_f029n, 0xff8n, 0n, 0n]);
  });

  it('throws RangeError EINVAL for a code that does not fit 4 bits', () => {
    const e = thrown(() =>
      encodePageGroupResponse({
        pasidPresent: true,
        code: 0x10,
        rid: 0,
        pasid: 0,
        prgIndex: 0,
        lpig: true,
      }),
    );
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(/page_grp_resp_dsc\.code/);
  });
});

describe('decodePageGroupResponse()', () => {
  it('round-trips random responses', () => {
    fc.assert(
      fc.property(responseArb, (resp) => {
        expect(decodePageGroupResponse(encodePageGroupResponse(resp))).toEqual(resp);
      }),
    );
  });

  it('throws EINVAL with the raw qwords when a reserved bit is set', () => {
    const qwords = [0x9n | (1n << 6n), 0n, 0n, 0n]; // bits 8:6 are reserved
    expect(pageGroupResponseReservedBits(qwords)).toEqual([1n << 6n, 0n, 0n, 0n]);
    const e = thrown(() => decodePageGroupResponse(qwords));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('0x0000000000000049');
  });

  it('throws EINVAL when Type[6:4] is not zero', () => {
    expect(thrown(() => decodePageGroupResponse([0x9n | (1n << 9n), 0n, 0n, 0n])).code).toBe(
      'EINVAL',
    );
  });
});

describe('pageGroupResponseReservedBits()', () => {
  it('ignores qw1 bits 65:64 (IGN in rev 5.10) and flags 127:76', () => {
    expect(pageGroupResponseReservedBits([0x9n, 0x3n, 0n, 0n])).toBeNull();
    expect(pageGroupResponseReservedBits([0x9n, 1n << 12n, 0n, 0n])).toEqual([
      0n,
      1n << 12n,
      0n,
      0n,
    ]);
  });

  it('treats qw2/qw3 as private data only when PDP=1', () => {
    const u32 = new Uint32Array(8);
    writeQwords(u32, 0, [0x29n, 0n, 1n, 1n]);
    expect(pageGroupResponseReservedU32(u32, 0)).toBe(false);
    writeQwords(u32, 0, [0x9n, 0n, 1n, 1n]);
    expect(pageGroupResponseReservedU32(u32, 0)).toBe(true);
    expect(pageGroupResponseReservedBits([0x9n, 0n, 1n, 1n])).toEqual([0n, 0n, 1n, 1n]);
  });
});
