import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePageGroupResponse,
  encodePageGroupResponse,
  type PageGroupResponse,
  PageResponseCode,
  pageGroupResponseReservedBits,
  pageGroupResponseReservedU32,
  readQwords,
  writePageGroupResponse,
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

describe('writePageGroupResponse()', () => {
  it('writes the hand-computed words and clears the rest of the slot', () => {
    const u32 = new Uint32Array(12).fill(0xffff_ffff);
    writePageGroupResponse(u32, 2, 0x0310, true, 0x1_2345, 0x1a5, PageResponseCode.FAILURE, true);
    // dword 0: type 9h | PP (bit 4) 0x10 | code Fh << 12 = 0xf000 | rid 0x0310 << 16
    //          = 0x9 + 0x10 + 0xf000 + 0x0310_0000 = 0x0310_f019
    // dword 1: PASID, bits 51:32 → bits 19:0 = 0x1_2345
    // dword 2: LPIG bit 66 → bit 2 = 0x4 | PRG index 0x1a5, bits 75:67 → bits 11:3 = 0xd28
    //          = 0xd2c
    // dwords 3–7: 0 (reserved and private data); the words around the slot stay as they were
    expect([...u32]).toEqual([
      0xffff_ffff, 0xffff_ffff, 0x0310_f019, 0x0001_2345, 0x0000_0d2c, 0, 0, 0, 0, 0, 0xffff_ffff,
      0xffff_ffff,
    ]);
  });

  it('writes PP=0 and LPIG=0 as clear bits, keeping the PASID value it is given', () => {
    const u32 = new Uint32Array(8);
    writePageGroupResponse(u32, 0, 0x0100, false, 7, 0, PageResponseCode.SUCCESS, false);
    // dword 0: type 9h | rid 0x0100 << 16 = 0x0100_0009; dword 1: PASID 7; dword 2: 0
    expect([...u32]).toEqual([0x0100_0009, 7, 0, 0, 0, 0, 0, 0]);
  });

  it('gives the words encodePageGroupResponse() gives for the same fields', () => {
    fc.assert(
      fc.property(responseArb, (r) => {
        const u32 = new Uint32Array(8);
        writePageGroupResponse(u32, 0, r.rid, r.pasidPresent, r.pasid, r.prgIndex, r.code, r.lpig);
        expect(readQwords(u32, 0, 4)).toEqual(
          encodePageGroupResponse({ ...r, privDataPresent: false }),
        );
      }),
    );
  });

  it('refuses a value that does not fit its field (RangeError EINVAL)', () => {
    expect(() =>
      writePageGroupResponse(new Uint32Array(8), 0, 0x1_0000, true, 0, 0, 0, true),
    ).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
