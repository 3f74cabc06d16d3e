import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePasidDirEntry,
  decodePasidEntry,
  encodePasidDirEntry,
  encodePasidEntry,
  FLPT_DEFAULT_DID,
  FSPM_5_LEVEL,
  PASID_DIR_ENTRY,
  PASID_DIR_ENTRY_BYTES,
  PASID_ENTRIES_PER_TABLE,
  PASID_ENTRY,
  PASID_ENTRY_BYTES,
  type PasidEntry,
  PGTT_FIRST_STAGE,
  PGTT_NESTED,
  PGTT_PASS_THROUGH,
  PGTT_SECOND_STAGE,
  pasidDirIndex,
  pasidTableIndex,
  reservedBits,
} from '../../src/layout/index.js';
import { thrown } from './helpers.js';

const pageAddr = fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }).map((p) => Number(p) * 4096);

const pasidEntryArb: fc.Arbitrary<PasidEntry> = fc.record({
  p: fc.boolean(),
  fpd: fc.boolean(),
  aw: fc.integer({ min: 0, max: 7 }),
  pgtt: fc.integer({ min: 0, max: 7 }),
  ssade: fc.boolean(),
  ssptptr: pageAddr,
  did: fc.integer({ min: 0, max: 0xffff }),
  pwsnp: fc.boolean(),
  pgsnp: fc.boolean(),
  sre: fc.boolean(),
  fspm: fc.integer({ min: 0, max: 3 }),
  wpe: fc.boolean(),
  eafe: fc.boolean(),
  fsptptr: pageAddr,
});

describe('encodePasidEntry()', () => {
  it('encodes a first-stage SVA entry', () => {
    const qwords = encodePasidEntry({
      p: true,
      aw: 2,
      pgtt: PGTT_FIRST_STAGE,
      did: FLPT_DEFAULT_DID,
      pwsnp: true,
      sre: true,
      fspm: FSPM_5_LEVEL,
      wpe: true,
      fsptptr: 0x1_2345_6000,
    });
    // qw0 = P 1 | AW 2<<2 (0x8) | PGTT 1<<6 (0x40) = 0x49
    // qw1 = DID 1 | PWSNP bit 87 → qw1 bit 23 (0x80_0000) = 0x80_0001
    // qw2 = SRE bit 128 → qw2 bit 0 (0x1) | FSPM 1 at 131:130 → 1<<2 (0x4)
    //     | WPE bit 132 → 1<<4 (0x10) | FSPTPTR 191:140 in place (0x1_2345_6000)
    //     = 0x1_2345_6015
    expect(qwords).toEqual([0x49n, 0x80_0001n, 0x1_2345_6015n, 0n, 0n, 0n, 0n, 0n]);
  });

  it('encodes the torn-down entry with fault_ignore as val[0] = 0x2', () => {
    expect(encodePasidEntry({ fpd: true })).toEqual([0x2n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
  });

  it('throws RangeError EINVAL for a PGTT over 3 bits or an unaligned FSPTPTR', () => {
    const e = thrown(() => encodePasidEntry({ pgtt: 8 }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(/pasid_entry\.pgtt/);
    expect(thrown(() => encodePasidEntry({ fsptptr: 0x1234 })).code).toBe('EINVAL');
  });
});

describe('decodePasidEntry()', () => {
  it('round-trips random entries', () => {
    fc.assert(
      fc.property(pasidEntryArb, (entry) => {
        const qwords = encodePasidEntry(entry);
        expect(reservedBits(PASID_ENTRY, qwords)).toBeNull();
        expect(decodePasidEntry(qwords)).toEqual(entry);
      }),
    );
  });
});

describe('PASID_ENTRY reserved bits', () => {
  it('flags bit 5, bits 11:10 and anything in qwords 3..7', () => {
    const zero = [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
    const withBit5 = [...zero];
    withBit5[0] = 1n << 5n;
    expect(reservedBits(PASID_ENTRY, withBit5)?.[0]).toBe(1n << 5n);
    const withQw7 = [...zero];
    withQw7[7] = 1n << 63n;
    expect(reservedBits(PASID_ENTRY, withQw7)?.[7]).toBe(1n << 63n);
    expect(PASID_ENTRY.reserved[0]).toBe(0xc20n); // bits 11:10 and 5
  });

  it('ignores bits 134:133 (NXE in older kernels)', () => {
    expect(reservedBits(PASID_ENTRY, [0n, 0n, 0x60n, 0n, 0n, 0n, 0n, 0n])).toBeNull();
  });
});

describe('PASID directory entry', () => {
  it('encodes P, FPD and the table pointer', () => {
    // qw = P 1 | FPD 1<<1 | 0x5_6789_a000 = 0x5_6789_a003
    expect(encodePasidDirEntry({ p: true, fpd: true, tablePtr: 0x5_6789_a000 })).toEqual([
      0x5_6789_a003n,
    ]);
    expect(decodePasidDirEntry([0x5_6789_a001n])).toEqual({
      p: true,
      fpd: false,
      tablePtr: 0x5_6789_a000,
    });
  });

  it('flags bits 11:2 as reserved', () => {
    expect(reservedBits(PASID_DIR_ENTRY, [0x4n])).toEqual([0x4n]);
    expect(PASID_DIR_ENTRY.reserved[0]).toBe(0xffcn);
  });
});

describe('PASID table geometry', () => {
  it('splits a PASID into directory and table index', () => {
    // 0x12345 = 0b1_0010_0011_0100_0101 → dir 0x12345 >> 6 = 0x48d, index 0x12345 & 0x3f = 5
    expect(pasidDirIndex(0x12345)).toBe(0x48d);
    expect(pasidTableIndex(0x12345)).toBe(5);
    expect(PASID_ENTRIES_PER_TABLE * PASID_ENTRY_BYTES).toBe(4096);
    expect(PASID_ENTRY_BYTES).toBe(PASID_ENTRY.bits / 8);
    expect(PASID_DIR_ENTRY_BYTES).toBe(PASID_DIR_ENTRY.bits / 8);
  });

  it('numbers PGTT as the spec does', () => {
    expect([PGTT_FIRST_STAGE, PGTT_SECOND_STAGE, PGTT_NESTED, PGTT_PASS_THROUGH]).toEqual([
      0b001, 0b010, 0b011, 0b100,
    ]);
  });
});
