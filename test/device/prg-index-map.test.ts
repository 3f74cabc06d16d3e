import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRG_INDEXES, PrgIndexMap } from '../../src/device/prg-index-map.js';

describe('PrgIndexMap', () => {
  it('holds a value per PRG index, with a size', () => {
    const m = new PrgIndexMap();
    expect(m.size).toBe(0);
    expect(m.get(0)).toBeUndefined();
    m.set(0, -1); // a request without PASID
    m.set(511, 0xf_ffff);
    expect(m.get(0)).toBe(-1);
    expect(m.get(511)).toBe(0xf_ffff);
    expect(m.has(3)).toBe(false);
    expect(m.size).toBe(2);
    m.set(0, 7); // replacing keeps the size
    expect(m.size).toBe(2);
    expect(m.delete(0)).toBe(true);
    expect(m.delete(0)).toBe(false);
    expect(m.size).toBe(1);
  });

  it('rejects indexes outside 0..511 and values that are not int32', () => {
    const m = new PrgIndexMap();
    for (const bad of [-1, PRG_INDEXES, 1.5]) expect(() => m.get(bad)).toThrow(RangeError);
    expect(() => m.set(1, 2 ** 31)).toThrow(RangeError);
  });

  it('agrees with a Map for any sequence of operations', () => {
    const op = fc.record({
      kind: fc.constantFrom('get', 'set', 'delete', 'has'),
      prg: fc.integer({ min: 0, max: PRG_INDEXES - 1 }),
      value: fc.integer({ min: -1, max: 0xf_ffff }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const m = new PrgIndexMap();
        const ref = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'get') expect(m.get(o.prg)).toBe(ref.get(o.prg));
          else if (o.kind === 'has') expect(m.has(o.prg)).toBe(ref.has(o.prg));
          else if (o.kind === 'delete') expect(m.delete(o.prg)).toBe(ref.delete(o.prg));
          else {
            m.set(o.prg, o.value);
            ref.set(o.prg, o.value);
          }
          expect(m.size).toBe(ref.size);
        }
      }),
    );
  });
});
