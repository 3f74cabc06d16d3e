import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DMAR_PRS_REG,
  decodeFaultRecord,
  encodeFaultRecord,
  FAULT_RECORD,
  FAULT_RECORD_BYTES,
  FaultReason,
  type FaultRecord,
  FSTS,
  faultReasonText,
  PRS,
  reservedBits,
} from '../../src/layout/index.js';
import { thrown } from './helpers.js';

const faultRecordArb: fc.Arbitrary<FaultRecord> = fc.record({
  fi: fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }).map((p) => Number(p) * 4096),
  sid: fc.integer({ min: 0, max: 0xffff }),
  pp: fc.boolean(),
  fr: fc.integer({ min: 0, max: 0xff }),
  pv: fc.integer({ min: 0, max: 0xf_ffff }),
  t: fc.boolean(),
  f: fc.boolean(),
});

describe('encodeFaultRecord()', () => {
  it('encodes a read fault on a not-present PASID entry', () => {
    const qwords = encodeFaultRecord({
      fi: 0x7f00_1234_5000,
      sid: 0x0300,
      pp: true,
      fr: FaultReason.SPT_2,
      pv: 5,
      t: true,
      f: true,
    });
    // qw0 = FI in place = 0x7f00_1234_5000
    // qw1 = SID 0x300 | PP bit 95 → 1<<31 | FR 0x59 at 103:96 → 0x59<<32
    //     | PV 5 at 123:104 → 5<<40 | T bit 126 → 1<<62 | F bit 127 → 1<<63
    //     = 0xc000_0559_8000_0300
    expect(qwords).toEqual([0x7f00_1234_5000n, 0xc000_0559_8000_0300n]);
  });

  it('throws RangeError EINVAL for an unaligned fault address', () => {
    const e = thrown(() => encodeFaultRecord({ fi: 0x1001 }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('EINVAL');
  });
});

describe('decodeFaultRecord()', () => {
  it('round-trips random records', () => {
    fc.assert(
      fc.property(faultRecordArb, (record) => {
        expect(decodeFaultRecord(encodeFaultRecord(record))).toEqual(record);
      }),
    );
  });

  it('flags bits 11:0, 94:80 and 125:124 as reserved', () => {
    expect(FAULT_RECORD.reserved).toEqual([0xfffn, 0x3000_0000_7fff_0000n]);
    expect(reservedBits(FAULT_RECORD, [0x1n, 0n])).toEqual([0x1n, 0n]);
    expect(FAULT_RECORD_BYTES).toBe(FAULT_RECORD.bits / 8);
  });
});

describe('FaultReason', () => {
  it('has the Table 30 codes', () => {
    expect(FaultReason).toEqual({
      SCT_2: 0x41,
      SCT_6: 0x45,
      SCT_7: 0x46,
      SCT_8: 0x47,
      SCT_9: 0x48,
      SPD_2: 0x51,
      SPT_2: 0x59,
      SPT_3: 0x5a,
      SPT_4: 0x5b,
      SPT_6: 0x5d,
      SFS_2: 0x71,
      SFS_3: 0x72,
      SGN_1: 0x80,
      SGN_2: 0x81,
      SGN_6: 0x85,
      SGN_10: 0x89,
    });
  });

  it('prints the kernel reason strings', () => {
    expect(faultReasonText(0x59)).toBe('SM: Present bit in PASID Table Entry is clear');
    expect(faultReasonText(0x71)).toBe('SM: Present bit in first-level paging entry is clear');
    expect(faultReasonText(0x85)).toBe('SM: No write permission for Write/AtomicOp request');
    expect(faultReasonText(0x00)).toBe('Unknown');
    for (const code of Object.values(FaultReason)) {
      expect(faultReasonText(code)).not.toBe('Unknown');
    }
  });
});

describe('status bits', () => {
  it('places FSTS and PRS bits where the spec says', () => {
    expect(FSTS).toEqual({ PFO: 0x1, PPF: 0x2, IQE: 0x10, ICE: 0x20, ITE: 0x40 });
    expect(PRS).toEqual({ PPR: 0x1, PRO: 0x2 });
    expect(DMAR_PRS_REG).toBe(0xdc);
  });
});
