import { describe, expect, it } from 'vitest';
import {
  checkInvDesc,
  decodeContextEntry,
  decodeDevTlbRange,
  decodeFaultRecord,
  decodeInvDesc,
  decodePageGroupResponse,
  decodePageRequest,
  decodePasidDirEntry,
  decodePasidEntry,
  decodePte,
  decodeRootEntry,
  describeValue,
  encodeContextEntry,
  encodeDevTlbRange,
  encodeFaultRecord,
  encodeInvDesc,
  encodeInvDescU32,
  encodePageGroupResponse,
  encodePageRequest,
  encodePasidDirEntry,
  encodePasidEntry,
  encodePte,
  encodeRootEntry,
  hexQwords,
  pageGroupResponseReservedBits,
  pageRequestReservedBits,
  pteHi,
  pteLo,
} from '../../src/layout/index.js';
import { thrown } from './helpers.js';

/** Every bigint decoder with the structure name its messages start with and its qword count. */
const DECODERS: readonly (readonly [string, number, (q: readonly bigint[]) => unknown])[] = [
  ['page_req_dsc', 4, decodePageRequest],
  ['page_grp_resp_dsc', 4, decodePageGroupResponse],
  ['invalidation descriptor', 4, decodeInvDesc],
  ['sm_root_entry', 2, decodeRootEntry],
  ['sm_context_entry', 4, decodeContextEntry],
  ['pasid_dir_entry', 1, decodePasidDirEntry],
  ['pasid_entry', 8, decodePasidEntry],
  ['frcd_reg', 2, decodeFaultRecord],
  ['pte', 1, decodePte],
  ['page_req_dsc', 4, pageRequestReservedBits],
  ['page_grp_resp_dsc', 4, pageGroupResponseReservedBits],
];

/** Every bigint encoder with the structure name its messages start with. */
const ENCODERS: readonly (readonly [string, (v: never) => unknown])[] = [
  ['page_req_dsc', encodePageRequest],
  ['page_grp_resp_dsc', encodePageGroupResponse],
  ['encodeInvDesc', encodeInvDesc],
  ['sm_root_entry', encodeRootEntry],
  ['sm_context_entry', encodeContextEntry],
  ['pasid_dir_entry', encodePasidDirEntry],
  ['pasid_entry', encodePasidEntry],
  ['frcd_reg', encodeFaultRecord],
  ['pte', encodePte],
];

const asQwords = (v: unknown) => v as readonly bigint[];

describe('decoders given something that is not their qwords', () => {
  it('say that 4 numbers are not bigints (not "expected 4 qwords, got 4")', () => {
    const e = thrown(() => decodeInvDesc(asQwords([1, 0, 0, 0])));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      'invalidation descriptor: qword 0 must be a bigint in [0, 2^64), got the number 1',
    );
    expect(checkInvDesc(asQwords([1, 0, 0, 0]))?.kind).toBe('bad-qword');
  });

  it('refuse null, a string, an object and a typed array with EINVAL naming what was given', () => {
    for (const [name, n, decode] of DECODERS) {
      for (const [input, given] of [
        [null, 'null'],
        ['abcd', 'the string "abcd"'],
        [{}, 'an object'],
        [new BigUint64Array(n), 'a BigUint64Array'],
        [undefined, 'undefined'],
      ] as const) {
        const e = thrown(() => decode(asQwords(input)));
        expect(e.code, `${name} ${given}`).toBe('EINVAL');
        expect(e.message).toBe(`${name}: expected an array of ${n} qwords (bigint), got ${given}`);
      }
    }
  });

  it('refuse a wrong count, saying how many were expected and given', () => {
    for (const [name, n, decode] of DECODERS) {
      const e = thrown(() => decode(new Array<bigint>(n + 1).fill(0n)));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toMatch(new RegExp(`^${name}: expected ${n} qwords, got ${n + 1} \\[`));
    }
  });

  it('refuse a qword that is negative, 2^64 or not a bigint, naming its index', () => {
    for (const [name, n, decode] of DECODERS) {
      const last = n - 1;
      const with_ = (q: unknown) => asQwords([...new Array<bigint>(last).fill(0n), q]);
      expect(thrown(() => decode(with_(-1n))).message).toBe(
        `${name}: qword ${last} must be in [0, 2^64), got the bigint -0x1`,
      );
      expect(thrown(() => decode(with_(1n << 64n))).message).toBe(
        `${name}: qword ${last} must be in [0, 2^64), got the bigint 0x10000000000000000`,
      );
      for (const [junk, given] of [
        [Number.NaN, 'the number NaN'],
        ['0', 'the string "0"'],
        [[0n], 'an array of 1'],
        [undefined, 'undefined'],
      ] as const) {
        const e = thrown(() => decode(with_(junk)));
        expect(e.code).toBe('EINVAL');
        expect(e.message).toBe(
          `${name}: qword ${last} must be a bigint in [0, 2^64), got ${given}`,
        );
      }
    }
  });

  it('print at most 8 entries of a huge array', () => {
    const e = thrown(() => decodeInvDesc(new Array<bigint>(2 ** 32 - 1)));
    expect(e.message).toBe(
      'invalidation descriptor: expected 4 qwords, got 4294967295 ' +
        '[undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, …]',
    );
  });
});

describe('encoders given bad field values', () => {
  it('refuse a non-object with EINVAL', () => {
    for (const [name, encode] of ENCODERS) {
      for (const [input, given] of [
        [null, 'null'],
        ['x', 'the string "x"'],
        [[1], 'an array of 1'],
        [7, 'the number 7'],
      ] as const) {
        const e = thrown(() => encode(input as never));
        expect(e.code, `${name} ${given}`).toBe('EINVAL');
        expect(e.message).toMatch(new RegExp(`^${name}: expected a.* object.*, got ${given}$`));
      }
    }
  });

  it('refuse a field the structure does not have instead of dropping it', () => {
    const e = thrown(() => encodeInvDesc({ type: 'iotlb', pasid: 5 } as never));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      'encodeInvDesc (iotlb): no field named "pasid" (fields: type, g, dw, dr, did, am, ih, addr)',
    );
    expect(thrown(() => encodeContextEntry({ present: true } as never)).message).toMatch(
      /^sm_context_entry: no field named "present"/,
    );
    expect(thrown(() => encodePageRequest({ foo: 1 } as never)).code).toBe('EINVAL');
  });

  it('refuse a flag that is not a boolean (a 1 used to encode as 0)', () => {
    expect(thrown(() => encodeInvDesc({ type: 'iotlb', ih: 1 } as never)).message).toBe(
      'encodeInvDesc (iotlb).ih: expected a boolean, got the number 1',
    );
    expect(thrown(() => encodePasidEntry({ p: 'true' } as never)).message).toBe(
      'pasid_entry.p: expected a boolean, got the string "true"',
    );
    expect(thrown(() => encodePte({ xd: 1 } as never)).code).toBe('EINVAL');
  });

  it('refuse an unknown descriptor type, listing the known ones', () => {
    for (const type of ['tlb', undefined, 2, null]) {
      const e = thrown(() => encodeInvDesc({ type } as never));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toMatch(/^encodeInvDesc: type must be one of context-cache, iotlb, /);
    }
    const u32 = new Uint32Array(8).fill(7);
    expect(thrown(() => encodeInvDescU32({ type: 'x' } as never, u32, 0)).code).toBe('EINVAL');
    expect([...u32]).toEqual(new Array(8).fill(7));
  });

  it('refuse a page request type other than 01h, which the decoder would refuse', () => {
    const e = thrown(() =>
      encodePageRequest({
        type: 2,
        rid: 0,
        pasid: 0,
        rdReq: true,
        wrReq: false,
        lpig: true,
        prgIndex: 0,
        addr: 0,
        pasidPresent: true,
      }),
    );
    expect(e.message).toBe('page_req_dsc: type must be 01h, got the number 2');
  });

  it('refuse null, NaN, a string or an object as a number, without calling its toString', () => {
    for (const bad of [null, Number.NaN, '3', Object.create(null), 1.5, -1, 2 ** 53]) {
      const e = thrown(() => encodeContextEntry({ pdts: bad }));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toMatch(/^sm_context_entry\.pdts \[11:9\]: /);
    }
    expect(thrown(() => encodeRootEntry({ lctp: null as never })).message).toBe(
      'sm_root_entry.lctp [63:12]: expected a non-negative integer, got null',
    );
    expect(thrown(() => encodeInvDesc({ type: 'devtlb', pfsid: '1' } as never)).message).toBe(
      'dev_iotlb_inv_dsc.pfsid: expected an integer in 0..0xffff (16 bits), got the string "1"',
    );
  });
});

describe('device-TLB range codec', () => {
  it('refuses an S that is not a boolean and addresses that are not integers', () => {
    expect(thrown(() => decodeDevTlbRange(0x1000, 'false' as never)).message).toBe(
      'device-TLB range: S must be a boolean, got the string "false"',
    );
    expect(thrown(() => decodeDevTlbRange(Number.NaN, false)).code).toBe('EINVAL');
    expect(thrown(() => encodeDevTlbRange('0' as never, 0)).message).toBe(
      'device-TLB range: address must be an integer in [0, 2^64), got the string "0"',
    );
  });
});

describe('PTE codec', () => {
  it('encodes a hand-computed entry and decodes it back', () => {
    // pfn 0x1234_5678 << 12 = 0x1_2345_6780_00; P|RW|US = 0x7; XD = bit 63; bits 62:52 = 0x5
    // → 0x8000_0000_0000_0000 | 0x5 << 52 (0x0050_0000_0000_0000) | 0x0000_0123_4567_8007
    const q = 0x8050_0123_4567_8007n;
    const pte = decodePte([q]);
    expect(pte).toEqual({
      p: true,
      rw: true,
      us: true,
      pwt: false,
      pcd: false,
      a: false,
      d: false,
      ps: false,
      g: false,
      ignoredLo: 0,
      pfn: 0x1234_5678,
      ignoredHi: 5,
      xd: true,
    });
    expect(encodePte(pte)).toEqual([q]);
  });
});

describe('pteLo() / pteHi()', () => {
  it('refuse a pfn that 40 bits cannot hold instead of cutting it', () => {
    for (const pfn of [2 ** 40, -1, 1.5, Number.NaN]) {
      const e = thrown(() => pteLo(pfn, 0));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toMatch(
        /^PTE: pfn must be an integer in \[0, 2\^40\) \(bits 51:12\), got /,
      );
      expect(thrown(() => pteHi(pfn, false)).code).toBe('EINVAL');
    }
    expect(pteHi(2 ** 40 - 1, false)).toBe(0xf_ffff);
  });
});

describe('describeValue() / hexQwords()', () => {
  it('describe anything without calling its code', () => {
    const hostile = {
      toString() {
        throw new Error('called');
      },
    };
    expect(describeValue(hostile)).toBe('an object');
    expect(describeValue(Symbol('s'))).toBe('a symbol');
    expect(describeValue(-0x10n)).toBe('the bigint -0x10');
    expect(describeValue('x'.repeat(30))).toBe(`the string "${'x'.repeat(24)}…"`);
    expect(hexQwords([1n, -1n, 2, null] as never)).toBe(
      '[0x0000000000000001, the bigint -0x1, the number 2, null]',
    );
  });
});
