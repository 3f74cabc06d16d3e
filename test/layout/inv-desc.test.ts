import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkInvDesc,
  DEVTLB_FULL_RANGE_QW1,
  DEVTLB_FULL_RANGE_QW1_PASID,
  decodeInvDesc,
  encodeDevTlbRange,
  encodeInvDesc,
  encodeInvDescU32,
  encodePageGroupResponse,
  FLPT_DEFAULT_DID,
  type InvDesc,
  InvDescCode,
  InvDescTypeByCode,
  invDescCode,
  invDescCodeU32,
  isInvDescValidU32,
  pfsidU32,
  QI_CC_GRAN_DEVICE,
  QI_DONE,
  QI_GRAN_NONG_PASID,
  QI_GRAN_PSI_PASID,
  QI_IOTLB_GRAN_PSI,
  QI_PC_PASID_SEL,
  QI_PGRP_RESP_TYPE,
  readQwords,
  writeQwords,
} from '../../src/layout/index.js';
import { qwordsArb, thrown } from './helpers.js';

const u16 = fc.integer({ min: 0, max: 0xffff });
const pasid = fc.integer({ min: 0, max: 0xf_ffff });
const pageAddr = fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }).map((p) => Number(p) * 4096);

const invDescArb: fc.Arbitrary<InvDesc> = fc.oneof(
  fc.record({
    type: fc.constant('context-cache' as const),
    g: fc.integer({ min: 0, max: 3 }),
    did: u16,
    sid: u16,
    fm: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({
    type: fc.constant('iotlb' as const),
    g: fc.integer({ min: 0, max: 3 }),
    dw: fc.boolean(),
    dr: fc.boolean(),
    did: u16,
    am: fc.integer({ min: 0, max: 63 }),
    ih: fc.boolean(),
    addr: pageAddr,
  }),
  fc.record({
    type: fc.constant('devtlb' as const),
    qdep: fc.integer({ min: 0, max: 31 }),
    pfsid: u16,
    sid: u16,
    s: fc.boolean(),
    addr: pageAddr,
  }),
  fc.record({
    type: fc.constant('iec' as const),
    g: fc.boolean(),
    im: fc.integer({ min: 0, max: 31 }),
    iidx: u16,
  }),
  fc.record({
    type: fc.constant('wait' as const),
    if: fc.boolean(),
    sw: fc.boolean(),
    fn: fc.boolean(),
    pd: fc.boolean(),
    statusData: fc.integer({ min: 0, max: 0xffff_ffff }),
    statusAddr: fc.bigInt({ min: 0n, max: (1n << 51n) - 1n }).map((a) => Number(a) * 4),
  }),
  fc.record({
    type: fc.constant('piotlb' as const),
    g: fc.integer({ min: 0, max: 3 }),
    did: u16,
    pasid,
    am: fc.integer({ min: 0, max: 63 }),
    ih: fc.boolean(),
    addr: pageAddr,
  }),
  fc.record({
    type: fc.constant('pasid-cache' as const),
    g: fc.integer({ min: 0, max: 3 }),
    did: u16,
    pasid,
  }),
  fc.record({
    type: fc.constant('pdevtlb' as const),
    qdep: fc.integer({ min: 0, max: 31 }),
    pfsid: u16,
    sid: u16,
    pasid,
    gi: fc.boolean(),
    s: fc.boolean(),
    addr: pageAddr,
  }),
  fc.record({
    type: fc.constant('page-group-response' as const),
    pasidPresent: fc.boolean(),
    privDataPresent: fc.boolean(),
    code: fc.integer({ min: 0, max: 15 }),
    rid: u16,
    pasid,
    prgIndex: fc.integer({ min: 0, max: 0x1ff }),
    lpig: fc.boolean(),
  }),
);

describe('encodeInvDesc()', () => {
  it('encodes a device-selective context-cache invalidation (1h)', () => {
    // qw0 = 0x1 | G 3<<4 (0x30) | did 1<<16 | sid 0x300<<32 = 0x0000_0300_0001_0031
    expect(
      encodeInvDesc({ type: 'context-cache', g: QI_CC_GRAN_DEVICE, did: 1, sid: 0x300, fm: 0 }),
    ).toEqual([0x0000_0300_0001_0031n, 0n, 0n, 0n]);
  });

  it('encodes a page-selective IOTLB invalidation (2h)', () => {
    // qw0 = 0x2 | G 3<<4 (0x30) | DW 0x40 | DR 0x80 | did 2<<16 = 0x0002_00f2
    // qw1 = AM 1 | IH 1<<6 (0x40) | 0x4000_0000 = 0x4000_0041
    const desc: InvDesc = {
      type: 'iotlb',
      g: QI_IOTLB_GRAN_PSI,
      dw: true,
      dr: true,
      did: 2,
      am: 1,
      ih: true,
      addr: 0x4000_0000,
    };
    expect(encodeInvDesc(desc)).toEqual([0x0002_00f2n, 0x4000_0041n, 0n, 0n]);
  });

  it('encodes the v5.8 teardown full-range non-PASID device-TLB flush (3h)', () => {
    // qw0 = 0x3 | sid 0x300<<32 = 0x0000_0300_0000_0003
    // qw1 = S at bit 0 | ADDR 0x7FFF_FFFF_FFFF_F000 = 0x7FFF_FFFF_FFFF_F001 (spec §7.0)
    const qwords = encodeInvDesc({ type: 'devtlb', sid: 0x300, ...encodeDevTlbRange(0, 52) });
    expect(qwords).toEqual([0x0000_0300_0000_0003n, DEVTLB_FULL_RANGE_QW1, 0n, 0n]);
    expect(DEVTLB_FULL_RANGE_QW1).toBe(0x7fff_ffff_ffff_f001n);
  });

  it('splits PFSID across bits 15:12 and 63:52 of a 3h descriptor', () => {
    // qw0 = 0x3 | PFSID[3:0] 0xd<<12 (0xd000) | QDEP 0x1f<<16 (0x1f_0000) | sid 0x300<<32
    //     | PFSID[15:4] 0xabc<<52 = 0xabc0_0300_001f_d003
    const qwords = encodeInvDesc({ type: 'devtlb', qdep: 0x1f, pfsid: 0xabcd, sid: 0x300 });
    expect(qwords[0]).toBe(0xabc0_0300_001f_d003n);
  });

  it('encodes an index-selective interrupt entry cache invalidation (4h)', () => {
    // g true = index-selective (QI_IEC_SELECTIVE)
    // qw0 = 0x4 | G 1<<4 (0x10) | IM 3<<27 (0x1800_0000) | IIDX 0x1234<<32
    //     = 0x0000_1234_1800_0014
    const qwords = encodeInvDesc({ type: 'iec', g: true, im: 3, iidx: 0x1234 });
    expect(qwords).toEqual([0x0000_1234_1800_0014n, 0n, 0n, 0n]);
  });

  it('encodes an invalidation wait with status write, fence and drain (5h)', () => {
    // qw0 = 0x5 | SW 0x20 | FN 0x40 | PD 0x80 | QI_DONE 2<<32 = 0x0000_0002_0000_00e5
    // qw1 = status address bits 63:2 in place = 0x1_2345_6788
    const qwords = encodeInvDesc({
      type: 'wait',
      sw: true,
      fn: true,
      pd: true,
      statusData: QI_DONE,
      statusAddr: 0x1_2345_6788,
    });
    expect(qwords).toEqual([0x0000_0002_0000_00e5n, 0x1_2345_6788n, 0n, 0n]);
  });

  it('encodes the teardown PASID-selective P_IOTLB (6h)', () => {
    // qw0 = 0x6 | G 2<<4 (0x20) | did 1<<16 | pasid 5<<32 = 0x0000_0005_0001_0026
    const qwords = encodeInvDesc({
      type: 'piotlb',
      g: QI_GRAN_NONG_PASID,
      did: FLPT_DEFAULT_DID,
      pasid: 5,
    });
    expect(qwords).toEqual([0x0000_0005_0001_0026n, 0n, 0n, 0n]);
  });

  it('encodes a page-selective-within-PASID P_IOTLB of 2 MiB (6h)', () => {
    // qw0 = 0x6 | G 3<<4 (0x30) | did 1<<16 | pasid 5<<32 = 0x0000_0005_0001_0036
    // qw1 = AM 9 | ADDR 0x20_0000 = 0x20_0009
    const qwords = encodeInvDesc({
      type: 'piotlb',
      g: QI_GRAN_PSI_PASID,
      did: 1,
      pasid: 5,
      am: 9,
      ih: false,
      addr: 0x20_0000,
    });
    expect(qwords).toEqual([0x0000_0005_0001_0036n, 0x20_0009n, 0n, 0n]);
  });

  it('encodes a PASID-selective PASID-cache invalidation (7h)', () => {
    // qw0 = 0x7 | G 1<<4 (0x10) | did 1<<16 | pasid 5<<32 = 0x0000_0005_0001_0017
    const qwords = encodeInvDesc({ type: 'pasid-cache', g: QI_PC_PASID_SEL, did: 1, pasid: 5 });
    expect(qwords).toEqual([0x0000_0005_0001_0017n, 0n, 0n, 0n]);
  });

  it('encodes the spec example of a P_DEVTLB for 8 pages at 0x10000 (8h)', () => {
    // qw0 = 0x8 | QDEP 0x1f<<4 (0x1f0) | PFSID[3:0] 0xd<<12 | sid 0x300<<16 | pasid 5<<32
    //     | PFSID[15:4] 0xabc<<52 = 0xabc0_0005_0300_d1f8
    // qw1 = 0x10000 | bits 13:12 (0x3000) | S 1<<11 (0x800) = 0x13800 (spec §7.4)
    const qwords = encodeInvDesc({
      type: 'pdevtlb',
      qdep: 0x1f,
      pfsid: 0xabcd,
      sid: 0x300,
      pasid: 5,
      ...encodeDevTlbRange(0x10000, 3),
    });
    expect(qwords).toEqual([0xabc0_0005_0300_d1f8n, 0x13800n, 0n, 0n]);
  });

  it('encodes the teardown full-range P_DEVTLB (8h)', () => {
    const qwords = encodeInvDesc({
      type: 'pdevtlb',
      sid: 0x300,
      pasid: 5,
      ...encodeDevTlbRange(0, 52),
    });
    expect(qwords[1]).toBe(0x7fff_ffff_ffff_f800n);
    expect(qwords[1]).toBe(DEVTLB_FULL_RANGE_QW1_PASID);
  });

  it('encodes a page group response exactly like encodePageGroupResponse() (9h)', () => {
    const resp = { pasidPresent: true, code: 1, rid: 0x300, pasid: 5, prgIndex: 3, lpig: true };
    expect(encodeInvDesc({ type: 'page-group-response', ...resp })).toEqual(
      encodePageGroupResponse(resp),
    );
  });

  it('throws RangeError EINVAL for out-of-range values', () => {
    for (const bad of [
      () => encodeInvDesc({ type: 'piotlb', pasid: 1 << 20 }),
      () => encodeInvDesc({ type: 'devtlb', pfsid: 0x1_0000 }),
      () => encodeInvDesc({ type: 'pdevtlb', qdep: 32 }),
      () => encodeInvDesc({ type: 'iotlb', am: 64 }),
      () => encodeInvDesc({ type: 'wait', statusAddr: 0x1002 }),
      () => encodeInvDesc({ type: 'piotlb', addr: 0x1800 }),
    ]) {
      const e = thrown(bad);
      expect(e).toBeInstanceOf(RangeError);
      expect(e.code).toBe('EINVAL');
    }
  });
});

describe('encodeInvDescU32()', () => {
  it('writes the same bits as encodeInvDesc() for random descriptors of every type', () => {
    fc.assert(
      fc.property(invDescArb, fc.integer({ min: 0, max: 3 }), (desc, slot) => {
        // a dirty buffer: the encoder zeroes its 8 dwords and touches nothing else
        const u32 = new Uint32Array(32).fill(0xdead_beef);
        encodeInvDescU32(desc, u32, slot * 8);
        expect(readQwords(u32, slot * 8, 4)).toEqual(encodeInvDesc(desc));
        for (let i = 0; i < 32; i++)
          if (i < slot * 8 || i >= slot * 8 + 8) expect(u32[i]).toBe(0xdead_beef);
      }),
    );
  });

  it('throws RangeError EINVAL for out-of-range values and leaves the slot as it was', () => {
    for (const desc of [
      { type: 'piotlb', did: 1, pasid: 1 << 20 },
      { type: 'devtlb', pfsid: 0x1_0000 },
      { type: 'pdevtlb', qdep: 32 },
      { type: 'wait', statusData: 1, statusAddr: 0x1002 },
      { type: 'piotlb', addr: 0x1800 },
    ] as const) {
      const u32 = new Uint32Array(8).fill(7);
      const e = thrown(() => encodeInvDescU32(desc, u32, 0));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.code).toBe('EINVAL');
      expect([...u32]).toEqual(new Array(8).fill(7));
    }
  });
});

describe('decodeInvDesc()', () => {
  it('round-trips random descriptors of every type', () => {
    fc.assert(
      fc.property(invDescArb, (desc) => {
        const qwords = encodeInvDesc(desc);
        expect(checkInvDesc(qwords)).toBeNull();
        expect(decodeInvDesc(qwords)).toEqual(desc);
        const u32 = new Uint32Array(8);
        writeQwords(u32, 0, qwords);
        expect(isInvDescValidU32(u32, 0)).toBe(true);
        expect(invDescCodeU32(u32, 0)).toBe(InvDescCode[desc.type]);
      }),
    );
  });

  it('throws EINVAL with the raw qwords for an unknown type', () => {
    const e = thrown(() => decodeInvDesc([0xan, 0n, 0n, 0n]));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('0x000000000000000a');
    // Type[6:4] ≠ 0 is unknown too: bits 11:9 = 1 → code 0x15.
    expect(checkInvDesc([0x5n | (1n << 9n), 0n, 0n, 0n])?.typeCode).toBe(0x15);
    expect(checkInvDesc([0n, 0n, 0n, 0n])?.kind).toBe('unknown-type');
  });

  it('throws EINVAL with the raw qwords when a reserved bit is set', () => {
    // P_IOTLB with qw1 bit 7 set (bits 11:7 of qw1 are reserved).
    const qwords = [0x0000_0005_0001_0026n, 0x80n, 0n, 0n];
    const problem = checkInvDesc(qwords);
    expect(problem?.kind).toBe('reserved-bits');
    expect(problem?.type).toBe('piotlb');
    expect(problem?.reserved).toEqual([0n, 0x80n, 0n, 0n]);
    const e = thrown(() => decodeInvDesc(qwords));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('0x0000000500010026');
    expect(e.message).toContain('0x0000000000000080');
  });

  it('flags qw2/qw3 as reserved for every type but a PDP page group response', () => {
    for (const code of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      expect(checkInvDesc([BigInt(code), 0n, 1n, 0n])?.kind).toBe('reserved-bits');
    }
    expect(checkInvDesc([0x29n, 0n, 1n, 2n])).toBeNull();
  });

  it('reports the wait descriptor status address bits 1:0 as reserved', () => {
    expect(checkInvDesc([0x25n, 0x1003n, 0n, 0n])?.reserved).toEqual([0n, 0x3n, 0n, 0n]);
  });

  it('reports a wrong length without throwing', () => {
    expect(checkInvDesc([0x5n])?.kind).toBe('bad-length');
    expect(thrown(() => decodeInvDesc([0x5n])).code).toBe('EINVAL');
  });
});

describe('checkInvDesc() / isInvDescValidU32()', () => {
  it('agree on any qwords', () => {
    fc.assert(
      fc.property(qwordsArb(4), fc.integer({ min: 0, max: 8 }), (qwords, base) => {
        const u32 = new Uint32Array(base + 8);
        writeQwords(u32, base, qwords);
        expect(isInvDescValidU32(u32, base)).toBe(checkInvDesc(qwords) === null);
        expect(invDescCodeU32(u32, base)).toBe(invDescCode(qwords[0]!));
      }),
    );
  });
});

describe('InvDescCode', () => {
  it('maps names to the kernel type codes and back', () => {
    expect(InvDescCode).toEqual({
      'context-cache': 1,
      iotlb: 2,
      devtlb: 3,
      iec: 4,
      wait: 5,
      piotlb: 6,
      'pasid-cache': 7,
      pdevtlb: 8,
      'page-group-response': 9,
    });
    for (const [name, code] of Object.entries(InvDescCode)) {
      expect(InvDescTypeByCode[code]).toBe(name);
    }
    expect(QI_PGRP_RESP_TYPE).toBe(9);
  });
});

describe('pfsidU32()', () => {
  it('joins the two PFSID pieces of a 3h or 8h slot', () => {
    const u32 = new Uint32Array(8);
    writeQwords(u32, 0, encodeInvDesc({ type: 'pdevtlb', pfsid: 0xabcd }));
    expect(pfsidU32(u32, 0)).toBe(0xabcd);
    writeQwords(u32, 0, encodeInvDesc({ type: 'devtlb', pfsid: 0x1234 }));
    expect(pfsidU32(u32, 0)).toBe(0x1234);
  });
});
