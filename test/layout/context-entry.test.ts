import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONTEXT_ENTRY,
  CONTEXT_ENTRY_BYTES,
  type ContextEntry,
  contextEntryIndex,
  decodeContextEntry,
  decodeRootEntry,
  encodeContextEntry,
  encodeRootEntry,
  pasidDirEntriesForPdts,
  pdtsForMaxPasid,
  ROOT_ENTRY,
  ROOT_ENTRY_BYTES,
  reservedBits,
} from '../../src/layout/index.js';
import { thrown } from './helpers.js';

const pageAddr = fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }).map((p) => Number(p) * 4096);

const contextEntryArb: fc.Arbitrary<ContextEntry> = fc.record({
  p: fc.boolean(),
  fpd: fc.boolean(),
  dte: fc.boolean(),
  paside: fc.boolean(),
  pre: fc.boolean(),
  pdts: fc.integer({ min: 0, max: 7 }),
  pasidDirPtr: pageAddr,
  ridPasid: fc.integer({ min: 0, max: 0xf_ffff }),
  ridPriv: fc.boolean(),
});

describe('encodeContextEntry()', () => {
  it('encodes what context_entry_set_pasid_table() writes', () => {
    const qwords = encodeContextEntry({
      p: true,
      dte: true,
      paside: true,
      pre: true,
      pdts: 7,
      pasidDirPtr: 0x1000_0000,
      ridPasid: 0xf_ffff,
      ridPriv: true,
    });
    // qw0 = P 1 | DTE 1<<2 (0x4) | PASIDE 1<<3 (0x8) | PRE 1<<4 (0x10) | PDTS 7<<9 (0xe00)
    //     | 0x1000_0000 = 0x1000_0e1d
    // qw1 = RID_PASID 0xfffff | RID_PRIV 1<<20 = 0x1f_ffff
    expect(qwords).toEqual([0x1000_0e1dn, 0x1f_ffffn, 0n, 0n]);
  });

  it('throws RangeError EINVAL for a PDTS over 3 bits', () => {
    const e = thrown(() => encodeContextEntry({ pdts: 8 }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('EINVAL');
  });
});

describe('decodeContextEntry()', () => {
  it('round-trips random entries', () => {
    fc.assert(
      fc.property(contextEntryArb, (entry) => {
        const qwords = encodeContextEntry(entry);
        expect(reservedBits(CONTEXT_ENTRY, qwords)).toBeNull();
        expect(decodeContextEntry(qwords)).toEqual(entry);
      }),
    );
  });

  it('flags bits 8:5, qw1 bits 63:21 and qw2/qw3 as reserved', () => {
    expect(CONTEXT_ENTRY.reserved[0]).toBe(0x1e0n);
    expect(CONTEXT_ENTRY.reserved[1]).toBe(0xffff_ffff_ffe0_0000n);
    expect(reservedBits(CONTEXT_ENTRY, [1n << 5n, 0n, 0n, 0n])).toEqual([1n << 5n, 0n, 0n, 0n]);
    expect(reservedBits(CONTEXT_ENTRY, [0n, 0n, 0n, 1n])).toEqual([0n, 0n, 0n, 1n]);
  });
});

describe('root entry', () => {
  it('encodes the lower and upper context table pointers', () => {
    // qw0 = LP 1 | 0x1000 = 0x1001; qw1 = UP 1 | 0x2000 = 0x2001
    const qwords = encodeRootEntry({ lp: true, lctp: 0x1000, up: true, uctp: 0x2000 });
    expect(qwords).toEqual([0x1001n, 0x2001n]);
    expect(decodeRootEntry(qwords)).toEqual({ lp: true, lctp: 0x1000, up: true, uctp: 0x2000 });
    expect(reservedBits(ROOT_ENTRY, [0x2n, 0n])).toEqual([0x2n, 0n]);
    expect(ROOT_ENTRY_BYTES).toBe(ROOT_ENTRY.bits / 8);
    expect(CONTEXT_ENTRY_BYTES).toBe(CONTEXT_ENTRY.bits / 8);
  });

  it('picks the upper table for devfn 0x80 and above, like iommu_context_addr()', () => {
    expect(contextEntryIndex(0x7f)).toEqual({ upper: false, index: 0x7f });
    expect(contextEntryIndex(0x80)).toEqual({ upper: true, index: 0 });
    expect(contextEntryIndex(0xff)).toEqual({ upper: true, index: 0x7f });
  });
});

describe('PDTS', () => {
  it('sizes the PASID directory as 2^(pdts+7) entries', () => {
    expect(pasidDirEntriesForPdts(0)).toBe(128);
    expect(pasidDirEntriesForPdts(7)).toBe(16384);
  });

  it('matches context_get_sm_pds() for a 20-bit PASID space and small tables', () => {
    // max_pasid 2^20 → max_pde 2^14 → first bit 14 → pds 7 → 2^14 directory entries
    expect(pdtsForMaxPasid(1 << 20)).toBe(7);
    // max_pasid 2^13 → max_pde 2^7 → pds 0
    expect(pdtsForMaxPasid(1 << 13)).toBe(0);
    expect(pdtsForMaxPasid(64)).toBe(0);
    expect(pdtsForMaxPasid(0)).toBe(0);
  });
});
