import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IoasidAllocator, PASID_MIN } from '../../src/kernel/v5.8/ioasid.js';

/** The allocator's contract, the slow way: the lowest id in [min, max] not in use. */
function lowestFree(used: Set<number>, min: number, max: number): number {
  for (let id = Math.max(min, PASID_MIN); id <= max; id++) if (!used.has(id)) return id;
  return -1;
}

describe('IoasidAllocator', () => {
  it('hands out the lowest free id, as ioasid_alloc does, under any order of frees', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(40), fc.integer({ min: 1, max: 4 })), {
          maxLength: 300,
        }),
        (ops) => {
          const a = new IoasidAllocator();
          const used = new Set<number>();
          for (const [alloc, pick, min] of ops) {
            if (alloc || used.size === 0) {
              const want = lowestFree(used, min, 60);
              if (want < 0) {
                expect(() => a.alloc(min, 60)).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
              } else {
                expect(a.alloc(min, 60)).toBe(want);
                used.add(want);
              }
            } else {
              const id = [...used][pick % used.size]!;
              a.free(id);
              used.delete(id);
            }
            expect(a.inUse).toBe(used.size);
          }
        },
      ),
    );
  });

  it('refuses to free an id that is not allocated', () => {
    const a = new IoasidAllocator();
    expect(() => a.free(1)).toThrow(/unallocated PASID 1/);
  });
});
