// Contract tests written once and run against every layout in src/layout.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeLayout,
  encodeLayout,
  fieldRaw,
  getField,
  readQwords,
  reservedBits,
  reservedBitsU32,
  setField,
  writeQwords,
} from '../../src/layout/index.js';
import { ALL_LAYOUTS, qwordsArb, thrown, valuesArb } from './helpers.js';

const MASK64 = (1n << 64n) - 1n;

describe.each(ALL_LAYOUTS.map((layout) => ({ name: layout.name, bits: layout.bits, layout })))(
  'layout $name ($bits bits)',
  ({ layout }) => {
    it('round-trips random in-range fields through encode and decode', () => {
      fc.assert(
        fc.property(valuesArb(layout), (values) => {
          const qwords = encodeLayout(layout, values);
          expect(qwords).toHaveLength(layout.qwords);
          expect(reservedBits(layout, qwords)).toBeNull();
          expect(decodeLayout(layout, qwords)).toEqual(values);
        }),
      );
    });

    it('agrees between the bigint codec and Uint32Array setField / getField', () => {
      fc.assert(
        fc.property(valuesArb(layout), fc.integer({ min: 0, max: 16 }), (values, base) => {
          const qwords = encodeLayout(layout, values);
          const byField = new Uint32Array(base + layout.dwords);
          for (const field of layout.fieldList) {
            const value = (values as Record<string, number>)[field.name]!;
            setField(byField, base, field, fieldRaw(field, value));
          }
          expect(readQwords(byField, base, layout.qwords)).toEqual(qwords);
          const byCodec = new Uint32Array(base + layout.dwords);
          writeQwords(byCodec, base, qwords);
          for (const field of layout.fieldList) {
            const value = (values as Record<string, number>)[field.name]!;
            expect(getField(byCodec, base, field)).toBe(fieldRaw(field, value));
          }
        }),
      );
    });

    it('reports every reserved bit, in bigint and Uint32Array form alike', () => {
      fc.assert(
        fc.property(qwordsArb(layout.qwords), (qwords) => {
          const u32 = new Uint32Array(layout.dwords);
          writeQwords(u32, 0, qwords);
          const bad = reservedBits(layout, qwords);
          expect(reservedBitsU32(layout, u32, 0)).toBe(bad !== null);
          const expected = qwords.map((q, i) => q & layout.reserved[i]!);
          expect(bad ?? qwords.map(() => 0n)).toEqual(expected);
        }),
      );
    });

    it('detects a single reserved bit set on top of a clean descriptor', () => {
      const reservedPositions: number[] = [];
      layout.reserved.forEach((mask, q) => {
        for (let b = 0; b < 64; b++)
          if ((mask >> BigInt(b)) & 1n) reservedPositions.push(q * 64 + b);
      });
      if (reservedPositions.length === 0) return;
      fc.assert(
        fc.property(valuesArb(layout), fc.constantFrom(...reservedPositions), (values, pos) => {
          const qwords = encodeLayout(layout, values);
          const q = pos >> 6;
          qwords[q] = (qwords[q]! | (1n << BigInt(pos & 63))) & MASK64;
          const bad = reservedBits(layout, qwords);
          expect(bad?.[q]).toBe(1n << BigInt(pos & 63));
          const u32 = new Uint32Array(layout.dwords);
          writeQwords(u32, 0, qwords);
          expect(reservedBitsU32(layout, u32, 0)).toBe(true);
        }),
      );
    });

    it('rejects a value one past the top of each field with RangeError EINVAL', () => {
      for (const field of layout.fieldList) {
        const tooBig = 2 ** (field.width + field.addressShift);
        const e = thrown(() => encodeLayout(layout, { [field.name]: tooBig }));
        expect(e).toBeInstanceOf(RangeError);
        expect(e.code).toBe('EINVAL');
        expect(e.message).toContain(`${layout.name}.${field.name}`);
      }
    });
  },
);
