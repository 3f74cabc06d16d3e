import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeLayout,
  defineLayout,
  encodeLayout,
  fieldRaw,
  getField,
  hexQwords,
  readQwords,
  reservedBits,
  reservedBitsU32,
  setField,
  writeQwords,
} from '../../src/layout/field.js';
import { qwordsArb, thrown, valuesArb } from './helpers.js';

// A 256-bit test layout exercising every shape: 1-bit, straddling a dword boundary inside a
// qword, a full 32-bit dword, a 52-bit address and a 62-bit address, plus ignored bits.
const DEMO = defineLayout(
  'demo',
  256,
  {
    flag: [0, 0],
    small: [7, 4],
    mid: [47, 28], // dword 0 bits 31:28 + dword 1 bits 15:0
    word: [95, 64], // exactly dword 2
    addr: [191, 140, { shift: 12 }], // qw2 bits 63:12: dword 4 bits 31:12 + dword 5
    status: [255, 194, { shift: 2 }], // qw3 bits 63:2, 62 bits
  },
  { ignored: [[3, 1]] },
);

describe('defineLayout()', () => {
  it('precomputes qword, dword, shift and width of each field', () => {
    const { mid, addr, word } = DEMO.fields;
    expect([mid.qword, mid.dword, mid.shift, mid.width, mid.spans]).toEqual([0, 0, 28, 20, true]);
    expect([addr.qword, addr.dword, addr.shift, addr.width, addr.spans]).toEqual([
      2,
      4,
      12,
      52,
      true,
    ]);
    expect([word.qword, word.dword, word.shift, word.width, word.spans]).toEqual([
      1,
      2,
      0,
      32,
      false,
    ]);
  });

  it('marks every bit that is neither a field nor ignored as reserved', () => {
    // qw0 covers 0, 3:1 (ignored), 7:4, 47:28 → reserved 27:8 and 63:48.
    expect(DEMO.reserved[0]).toBe(0xffff_0000_0fff_ff00n);
    // qw1 covers 31:0 → reserved 63:32.
    expect(DEMO.reserved[1]).toBe(0xffff_ffff_0000_0000n);
    // qw2 covers 63:12 → reserved 11:0; qw3 covers 63:2 → reserved 1:0.
    expect(DEMO.reserved[2]).toBe(0xfffn);
    expect(DEMO.reserved[3]).toBe(0x3n);
    expect(Array.from(DEMO.reservedU32)).toEqual([
      0x0fff_ff00, 0xffff_0000, 0, 0xffff_ffff, 0xfff, 0, 0x3, 0,
    ]);
  });

  it('rejects a field that straddles qwords', () => {
    expect(() => defineLayout('bad', 128, { x: [70, 60] })).toThrow(/straddle qwords/);
  });

  it('rejects overlapping fields and ignored ranges', () => {
    expect(() => defineLayout('bad', 64, { x: [7, 0], y: [8, 7] })).toThrow(/overlaps/);
    expect(() => defineLayout('bad', 64, { x: [7, 0] }, { ignored: [[3, 3]] })).toThrow(/overlaps/);
  });

  it('rejects ranges outside the layout, plain fields over 53 bits and odd sizes', () => {
    expect(() => defineLayout('bad', 64, { x: [64, 60] })).toThrow(/outside/);
    expect(() => defineLayout('bad', 64, { x: [2, 3] })).toThrow(/outside/);
    expect(() => defineLayout('bad', 64, { x: [63, 0] })).toThrow(/53 bits/);
    expect(() => defineLayout('bad', 96, { x: [0, 0] })).toThrow(/multiple of 64/);
  });
});

describe('encodeLayout()', () => {
  it('places each value at its bit range', () => {
    const q = encodeLayout(DEMO, {
      flag: 1,
      small: 0xa,
      mid: 0x12345,
      word: 0xdead_beef,
      addr: 0x7f00_1234_5000,
      status: 0x1234_5678,
    });
    // qw0 = 1 | 0xa << 4 | 0x12345 << 28 = 0x1 | 0xa0 | 0x1_2345_0000_000 = 0x1234_5000_00a1
    expect(q[0]).toBe(0x1n | 0xa0n | (0x12345n << 28n));
    expect(q[0]).toBe(0x1234_5000_00a1n);
    expect(q[1]).toBe(0xdead_beefn);
    // addr is a byte address stored as addr / 4096 at qw2 bit 12 → the same bits.
    expect(q[2]).toBe(0x7f00_1234_5000n);
    // status is stored as status / 4 at qw3 bit 2 → the same bits.
    expect(q[3]).toBe(0x1234_5678n);
  });

  it('leaves missing fields 0 and never sets reserved bits', () => {
    fc.assert(
      fc.property(valuesArb(DEMO), (values) => {
        expect(reservedBits(DEMO, encodeLayout(DEMO, values))).toBeNull();
      }),
    );
    expect(encodeLayout(DEMO, {})).toEqual([0n, 0n, 0n, 0n]);
  });

  it('throws RangeError EINVAL naming layout and field for a value that does not fit', () => {
    const e = thrown(() => encodeLayout(DEMO, { small: 16 }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(/demo\.small/);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 20]) {
      expect(thrown(() => encodeLayout(DEMO, { mid: bad })).code).toBe('EINVAL');
    }
  });

  it('throws EINVAL for an address that is not aligned or too large', () => {
    const e = thrown(() => encodeLayout(DEMO, { addr: 0x1234 }));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(/demo\.addr.*aligned/);
    expect(thrown(() => encodeLayout(DEMO, { status: 6 })).code).toBe('EINVAL');
    expect(thrown(() => encodeLayout(DEMO, { addr: 2 ** 64 })).code).toBe('EINVAL');
  });

  it('accepts the largest 4 KiB-aligned 64-bit address exactly', () => {
    const top = 2 ** 64 - 4096; // pfn 2^52 − 1, exactly a double
    expect(encodeLayout(DEMO, { addr: top })[2]).toBe(0xffff_ffff_ffff_f000n);
    expect(decodeLayout(DEMO, [0n, 0n, 0xffff_ffff_ffff_f000n, 0n]).addr).toBe(top);
  });

  it('throws EINVAL for a field the layout does not have', () => {
    const values = { nope: 1 } as unknown as Record<'flag', number>;
    expect(thrown(() => encodeLayout(DEMO, values)).code).toBe('EINVAL');
  });
});

describe('decodeLayout()', () => {
  it('round-trips every in-range value', () => {
    fc.assert(
      fc.property(valuesArb(DEMO), (values) => {
        expect(decodeLayout(DEMO, encodeLayout(DEMO, values))).toEqual(values);
      }),
    );
  });

  it('throws EINVAL for the wrong number of qwords or a qword out of range', () => {
    expect(thrown(() => decodeLayout(DEMO, [0n])).code).toBe('EINVAL');
    expect(thrown(() => decodeLayout(DEMO, [-1n, 0n, 0n, 0n])).code).toBe('EINVAL');
    expect(thrown(() => decodeLayout(DEMO, [1n << 64n, 0n, 0n, 0n])).code).toBe('EINVAL');
  });

  it('throws EINVAL when a wide field is not exactly representable', () => {
    // status raw = 2^60 + 1 has 61 significant bits.
    const qw3 = ((1n << 60n) + 1n) << 2n;
    expect(thrown(() => decodeLayout(DEMO, [0n, 0n, 0n, qw3])).code).toBe('EINVAL');
  });
});

describe('reservedBits()', () => {
  it('reports the offending bits per qword and ignores ignored bits', () => {
    expect(reservedBits(DEMO, [0xen, 0n, 0n, 0n])).toBeNull(); // bits 3:1 ignored
    expect(reservedBits(DEMO, [1n << 8n, 0n, 0n, 1n])).toEqual([1n << 8n, 0n, 0n, 1n]);
  });
});

describe('getField() / setField()', () => {
  it('read a field straddling a dword boundary exactly', () => {
    const u32 = new Uint32Array(8);
    writeQwords(u32, 0, encodeLayout(DEMO, { mid: 0xfffff, addr: 2 ** 64 - 4096 }));
    expect(getField(u32, 0, DEMO.fields.mid)).toBe(0xfffff);
    expect(getField(u32, 0, DEMO.fields.addr)).toBe(2 ** 52 - 1); // the page number
  });

  it('write a 32-bit field and keep the neighbouring bits', () => {
    const u32 = new Uint32Array([0xffff_ffff, 0xffff_ffff, 0, 0xffff_ffff]);
    setField(u32, 0, DEMO.fields.word, 0x8000_0001);
    expect(Array.from(u32)).toEqual([0xffff_ffff, 0xffff_ffff, 0x8000_0001, 0xffff_ffff]);
    expect(getField(u32, 0, DEMO.fields.word)).toBe(0x8000_0001);
    setField(u32, 0, DEMO.fields.mid, 0);
    expect(Array.from(u32.subarray(0, 2))).toEqual([0x0fff_ffff, 0xffff_0000]);
  });

  it('throw RangeError EINVAL for a raw value that does not fit', () => {
    const u32 = new Uint32Array(8);
    const e = thrown(() => setField(u32, 0, DEMO.fields.small, 16));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('EINVAL');
    expect(thrown(() => setField(u32, 0, DEMO.fields.addr, 2 ** 52)).code).toBe('EINVAL');
  });

  it('agree with the bigint codec at any slot offset', () => {
    fc.assert(
      fc.property(
        valuesArb(DEMO),
        fc.integer({ min: 0, max: 8 }),
        qwordsArb(4),
        (values, base, noise) => {
          const qwords = encodeLayout(DEMO, values);
          const u32 = new Uint32Array(base + 8);
          writeQwords(u32, base, noise);
          for (const field of DEMO.fieldList) {
            setField(u32, base, field, fieldRaw(field, values[field.name as keyof typeof values]));
          }
          const back = readQwords(u32, base, 4);
          // Field bits equal the codec's; reserved and ignored bits keep the noise.
          back.forEach((q, i) => {
            const fieldBits = ~DEMO.reserved[i]! & ~0xen & ((1n << 64n) - 1n);
            const keep = i === 0 ? fieldBits : ~DEMO.reserved[i]! & ((1n << 64n) - 1n);
            expect(q & keep).toBe(qwords[i]);
          });
          for (const field of DEMO.fieldList) {
            expect(getField(u32, base, field) * 2 ** field.addressShift).toBe(
              values[field.name as keyof typeof values],
            );
          }
        },
      ),
    );
  });
});

describe('reservedBitsU32()', () => {
  it('agrees with reservedBits() on any qwords', () => {
    fc.assert(
      fc.property(qwordsArb(4), fc.integer({ min: 0, max: 4 }), (qwords, base) => {
        const u32 = new Uint32Array(base + 8).fill(0xffff_ffff);
        writeQwords(u32, base, qwords);
        expect(reservedBitsU32(DEMO, u32, base)).toBe(reservedBits(DEMO, qwords) !== null);
      }),
    );
  });
});

describe('hexQwords()', () => {
  it('prints 16 hex digits per qword', () => {
    expect(hexQwords([1n, 0xabcn])).toBe('[0x0000000000000001, 0x0000000000000abc]');
  });
});
