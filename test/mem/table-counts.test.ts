import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../src/mem/physical-memory.js';
import { TableCounts } from '../../src/mem/table-counts.js';

describe('TableCounts', () => {
  it('keeps a count per frame with Map get / set / delete', () => {
    const t = new TableCounts(new PhysicalMemory({ frames: 64 }));
    expect(t.get(5)).toBeUndefined();
    t.set(5, 0);
    expect(t.get(5)).toBe(0);
    t.set(5, 512);
    expect(t.get(5)).toBe(512);
    expect(t.delete(5)).toBe(true);
    expect(t.get(5)).toBeUndefined();
    expect(t.delete(5)).toBe(false);
  });

  it('gives each page table of a memory its own frames, and memories their own counts', () => {
    const mem = new PhysicalMemory({ frames: 64 });
    const a = new TableCounts(mem);
    const b = new TableCounts(mem);
    a.set(7, 3);
    expect(b.get(7)).toBeUndefined();
    expect(b.delete(7)).toBe(false);
    expect(a.get(7)).toBe(3);
    b.set(8, 1);
    expect(a.get(8)).toBeUndefined();
    const other = new TableCounts(new PhysicalMemory({ frames: 64 }));
    expect(other.get(7)).toBeUndefined();
  });

  it('rejects counts outside 0..65535', () => {
    const t = new TableCounts(new PhysicalMemory({ frames: 8 }));
    expect(() => t.set(1, -1)).toThrow(RangeError);
    expect(() => t.set(1, 65536)).toThrow(RangeError);
  });

  it('agrees with one Map per table for any sequence of operations', () => {
    const op = fc.record({
      table: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom('get', 'set', 'delete'),
      pfn: fc.integer({ min: 1, max: 15 }),
      n: fc.integer({ min: 0, max: 512 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const mem = new PhysicalMemory({ frames: 16 });
        const tables = [new TableCounts(mem), new TableCounts(mem), new TableCounts(mem)];
        const maps = [
          new Map<number, number>(),
          new Map<number, number>(),
          new Map<number, number>(),
        ];
        for (const o of ops) {
          const t = tables[o.table]!;
          const m = maps[o.table]!;
          if (o.kind === 'get') expect(t.get(o.pfn)).toBe(m.get(o.pfn));
          else if (o.kind === 'delete') expect(t.delete(o.pfn)).toBe(m.delete(o.pfn));
          else if (!maps.some((x, i) => i !== o.table && x.has(o.pfn))) {
            // a frame is one table's at a time, as page-table frames are
            t.set(o.pfn, o.n);
            m.set(o.pfn, o.n);
          }
        }
      }),
    );
  });
});
