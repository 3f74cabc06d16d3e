import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ReplacementPolicy } from '../../src/cache/index.js';
import { defaultPscParams, PagingStructureCache, type PscParams } from '../../src/engine/psc.js';

const GB = 512 * 512; // pages in 1 GiB (one PDPTE)
const TB512 = 512 * GB; // pages in 512 GiB (one PML4E)

/** Caches the PML4E, PDPTE and PDE a 4-level walk of `vpn` read. */
function walked(psc: PagingStructureCache, did: number, pasid: number, vpn: number): void {
  psc.insert(did, pasid, 4, vpn, 0x400); // PML4E → PDPT at 0x400
  psc.insert(did, pasid, 3, vpn, 0x300); // PDPTE → PD at 0x300
  psc.insert(did, pasid, 2, vpn, 0x200); // PDE → PT at 0x200
}

/** lookupDeepest as a [level, lastPfn] pair. */
function deepest(
  psc: PagingStructureCache,
  did: number,
  pasid: number,
  vpn: number,
  levels = 4,
): [number, number] {
  const level = psc.lookupDeepest(did, pasid, vpn, levels);
  return [level, psc.lastPfn];
}

describe('PagingStructureCache params', () => {
  it('defaults to 32 entries, 4-way, LRU per level', () => {
    expect(new PagingStructureCache().params).toEqual({ entries: 32, assoc: 4, policy: 'lru' });
    expect(defaultPscParams).toEqual({ entries: 32, assoc: 4, policy: 'lru' });
  });

  it.each([
    [{ entries: 0 }],
    [{ entries: 32, assoc: 3 }],
    [{ entries: 20, assoc: 2 }],
    [{ policy: 'lfu' as ReplacementPolicy }],
    [{ policy: 'random' as ReplacementPolicy }], // no rng
  ] as Partial<PscParams>[][])('rejects %o with EINVAL', (params) => {
    expect(() => new PagingStructureCache(params)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
  });

  it('rejects an insert of a level outside 2…5 with EINVAL', () => {
    const psc = new PagingStructureCache();
    for (const level of [0, 1, 6, 2.5]) {
      expect(() => psc.insert(1, 1, level, 0, 0)).toThrow(
        expect.objectContaining({ code: 'EINVAL' }),
      );
    }
  });
});

describe('PagingStructureCache.lookupDeepest()', () => {
  it('misses with −1 and lastPfn −1 on an empty cache', () => {
    const psc = new PagingStructureCache();
    expect(deepest(psc, 1, 5, 0x1234)).toEqual([-1, -1]);
    expect([psc.hits, psc.misses]).toEqual([0, 1]);
  });

  it('returns the deepest cached table level and its frame', () => {
    const psc = new PagingStructureCache();
    const vpn = 3 * TB512 + 2 * GB + 7 * 512 + 9;
    walked(psc, 1, 5, vpn);
    expect(deepest(psc, 1, 5, vpn)).toEqual([1, 0x200]); // PT
    expect(deepest(psc, 1, 5, vpn - 9 + 511)).toEqual([1, 0x200]); // same 2 MiB
    expect(deepest(psc, 1, 5, vpn + 512)).toEqual([2, 0x300]); // other PDE, same PD
    expect(deepest(psc, 1, 5, vpn + GB)).toEqual([3, 0x400]); // other PDPTE, same PDPT
    expect(deepest(psc, 1, 5, vpn + TB512)).toEqual([-1, -1]); // other PML4E
    expect(deepest(psc, 1, 6, vpn)).toEqual([-1, -1]); // other pasid
    expect(deepest(psc, 2, 5, vpn)).toEqual([-1, -1]); // other did
    expect([psc.hits, psc.misses, psc.valid]).toEqual([4, 3, 3]);
  });

  it('probes level 5 only for 5-level walks', () => {
    const psc = new PagingStructureCache();
    psc.insert(1, 5, 5, 2 ** 40, 0x555); // PML5E → PML4 table
    expect(deepest(psc, 1, 5, 2 ** 40, 4)).toEqual([-1, -1]);
    expect(deepest(psc, 1, 5, 2 ** 40, 5)).toEqual([4, 0x555]);
    expect(deepest(psc, 1, 5, 2 ** 40 + 2 ** 36, 5)).toEqual([-1, -1]);
  });

  it('keys page numbers above 2^32 by their exact prefix', () => {
    const psc = new PagingStructureCache({ entries: 4, assoc: 1 }); // 4 sets per level
    const vpn = 2 ** 44 + 5 * 512 + 3;
    psc.insert(1, 5, 2, vpn, 2 ** 38);
    expect(deepest(psc, 1, 5, vpn)).toEqual([1, 2 ** 38]);
    expect(deepest(psc, 1, 5, vpn - 2 ** 32)).toEqual([-1, -1]); // same set, other prefix
  });
});

describe('PagingStructureCache.insert()', () => {
  it('overwrites the entry with the same key without evicting', () => {
    const psc = new PagingStructureCache();
    const e = psc.insert(1, 5, 2, 0, 0x10);
    expect(psc.insert(1, 5, 2, 511, 0x20)).toBe(e);
    expect(deepest(psc, 1, 5, 0)).toEqual([1, 0x20]);
    expect([psc.valid, psc.evictions]).toEqual([1, 0]);
  });

  it('gives every level its own structure: PDE fills never evict a PML4E', () => {
    const psc = new PagingStructureCache({ entries: 2, assoc: 2 });
    psc.insert(1, 5, 4, 0, 0x400);
    for (let i = 0; i < 10; i++) psc.insert(1, 5, 2, i * 512, 0x200 + i);
    expect(psc.evictions).toBe(8);
    expect(deepest(psc, 1, 5, 0)).toEqual([3, 0x400]);
    expect(deepest(psc, 1, 5, 9 * 512)).toEqual([1, 0x209]);
  });

  it('maps a level-L entry to set (vpn / 512^(L−1)) mod sets within its level', () => {
    const psc = new PagingStructureCache({ entries: 8, assoc: 2 }); // 4 sets per level
    expect(Math.floor(psc.insert(1, 1, 2, 7 * 512, 0) / 2)).toBe(0 * 4 + 3);
    expect(Math.floor(psc.insert(1, 1, 3, 6 * GB, 0) / 2)).toBe(1 * 4 + 2);
    expect(Math.floor(psc.insert(1, 1, 4, 5 * TB512, 0) / 2)).toBe(2 * 4 + 1);
    expect(Math.floor(psc.insert(1, 1, 5, 2 ** 36, 0) / 2)).toBe(3 * 4 + 1);
  });

  it('LRU: evicts the least recently used entry of the level', () => {
    const psc = new PagingStructureCache({ entries: 2, assoc: 2 });
    psc.insert(1, 5, 2, 0 * 512, 0xa);
    psc.insert(1, 5, 2, 1 * 512, 0xb);
    psc.lookupDeepest(1, 5, 0, 4);
    psc.insert(1, 5, 2, 2 * 512, 0xc); // evicts the PDE of region 1
    expect([0, 1, 2].map((r) => deepest(psc, 1, 5, r * 512)[0])).toEqual([1, -1, 1]);
  });

  it('FIFO: evicts the oldest fill of the level', () => {
    const psc = new PagingStructureCache({ entries: 2, assoc: 2, policy: 'fifo' });
    psc.insert(1, 5, 2, 0 * 512, 0xa);
    psc.insert(1, 5, 2, 1 * 512, 0xb);
    psc.lookupDeepest(1, 5, 0, 4);
    psc.insert(1, 5, 2, 2 * 512, 0xc); // evicts the PDE of region 0
    expect([0, 1, 2].map((r) => deepest(psc, 1, 5, r * 512)[0])).toEqual([-1, 1, 1]);
  });

  it('random: takes the way the injected rng picks', () => {
    const draws = [0.6, 0.1];
    const psc = new PagingStructureCache(
      { entries: 2, assoc: 2, policy: 'random' },
      () => draws.shift()!,
    );
    psc.insert(1, 5, 2, 0 * 512, 0xa);
    psc.insert(1, 5, 2, 1 * 512, 0xb);
    psc.insert(1, 5, 2, 2 * 512, 0xc); // 0.6 → way 1 (region 1)
    psc.insert(1, 5, 2, 3 * 512, 0xd); // 0.1 → way 0 (region 0)
    expect([0, 1, 2, 3].map((r) => deepest(psc, 1, 5, r * 512)[0])).toEqual([-1, -1, 1, 1]);
  });
});

/** PDEs for 2 MiB regions 0, 1 and 512 (another 1 GiB), plus their upper levels. */
function populated(): PagingStructureCache {
  const psc = new PagingStructureCache();
  walked(psc, 1, 5, 0);
  psc.insert(1, 5, 2, 512, 0x201);
  psc.insert(1, 5, 3, GB, 0x301);
  psc.insert(1, 5, 2, GB, 0x202);
  walked(psc, 1, 6, 0);
  walked(psc, 2, 5, 0);
  return psc;
}

describe('PagingStructureCache.invalidateRange()', () => {
  it('with ih drops nothing', () => {
    const psc = populated();
    psc.invalidateRange(1, 5, 0, 0, true);
    expect(psc.valid).toBe(12);
  });

  it('without ih drops every level covering the range, of that did and pasid only', () => {
    const psc = populated();
    psc.invalidateRange(1, 5, 3, 0, false); // page 3: its PDE, PDPTE, PML4E
    expect(psc.valid).toBe(12 - 3);
    expect(deepest(psc, 1, 5, 0)).toEqual([-1, -1]); // PDE, PDPTE and PML4E of page 3 went
    expect(deepest(psc, 1, 5, 512)).toEqual([1, 0x201]); // the region 1 PDE stayed
    expect(deepest(psc, 1, 5, GB)).toEqual([1, 0x202]);
    expect(deepest(psc, 1, 6, 0)).toEqual([1, 0x200]);
    expect(deepest(psc, 2, 5, 0)).toEqual([1, 0x200]);
  });

  it('drops the PDEs of every 2 MiB region a large range overlaps', () => {
    const psc = populated();
    psc.invalidateRange(1, 5, 0, 10, false); // pages 0–1023: regions 0 and 1
    expect(psc.valid).toBe(12 - 4); // 2 PDEs, the PDPTE of GiB 0, the PML4E
    psc.insert(1, 5, 4, 0, 0x400);
    expect(deepest(psc, 1, 5, GB)).toEqual([1, 0x202]);
    expect(deepest(psc, 1, 5, 512)).toEqual([3, 0x400]);
  });

  it('drops everything of (did, pasid) for the whole space', () => {
    const psc = populated();
    psc.invalidateRange(1, 5, 0, 52, false);
    expect(psc.valid).toBe(6);
  });

  it('works above 2^32', () => {
    const psc = new PagingStructureCache();
    walked(psc, 1, 5, 2 ** 40);
    walked(psc, 1, 5, 0);
    psc.invalidateRange(1, 5, 2 ** 40 + 1, 0, false);
    expect(deepest(psc, 1, 5, 2 ** 40)).toEqual([-1, -1]);
    expect(deepest(psc, 1, 5, 0)).toEqual([1, 0x200]);
  });
});

describe('PagingStructureCache.invalidatePasid()', () => {
  it('drops only entries of that did and pasid', () => {
    const psc = populated();
    psc.invalidatePasid(1, 5);
    expect(psc.valid).toBe(6);
    expect(deepest(psc, 1, 5, 0)).toEqual([-1, -1]);
    expect(deepest(psc, 1, 6, 0)).toEqual([1, 0x200]);
    expect(deepest(psc, 2, 5, 0)).toEqual([1, 0x200]);
  });
});

describe('PagingStructureCache.invalidateDomain()', () => {
  it('drops every pasid of that did only', () => {
    const psc = populated();
    psc.invalidateDomain(1);
    expect(psc.valid).toBe(3);
    expect(deepest(psc, 2, 5, 0)).toEqual([1, 0x200]);
  });
});

describe('PagingStructureCache.invalidateAll()', () => {
  it('drops everything', () => {
    const psc = populated();
    psc.invalidateAll();
    expect(psc.valid).toBe(0);
    expect(deepest(psc, 2, 5, 0)).toEqual([-1, -1]);
  });
});

describe('PagingStructureCache model', () => {
  type Op =
    | { op: 'lookup'; did: number; pasid: number; vpn: number; levels: number }
    | { op: 'insert'; did: number; pasid: number; level: number; vpn: number; pfn: number }
    | { op: 'range'; did: number; pasid: number; vpn: number; am: number; ih: boolean }
    | { op: 'pasid'; did: number; pasid: number }
    | { op: 'all' };
  const did = fc.constantFrom(1, 1, 2);
  const pasid = fc.constantFrom(5, 5, 6);
  const vpn = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 5 }).map((r) => r * 512 + 3) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 3 }).map((g) => g * GB) },
    { weight: 1, arbitrary: fc.constantFrom(TB512, 2 ** 36, 2 ** 45 + 7, 2 ** 52 - 1) },
  );
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('lookup' as const),
        did,
        pasid,
        vpn,
        levels: fc.constantFrom(4, 5),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('insert' as const),
        did,
        pasid,
        level: fc.integer({ min: 2, max: 5 }),
        vpn,
        pfn: fc.integer({ min: 0, max: 2 ** 40 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('range' as const),
        did,
        pasid,
        vpn,
        am: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(52)),
        ih: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('pasid' as const), did, pasid }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('all' as const) }) },
  );
  const SPAN = [0, 1, 512, GB, TB512, 512 * TB512];

  it.each([
    { entries: 4, assoc: 4, policy: 'lru' },
    { entries: 8, assoc: 2, policy: 'lru' },
    { entries: 4, assoc: 2, policy: 'fifo' },
  ] as PscParams[])('matches a Map-based reference for %o', (params) => {
    const sets = params.entries / params.assoc;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 200, size: 'max' }), (ops) => {
        const psc = new PagingStructureCache(params);
        type E = { did: number; pasid: number; level: number; prefix: number; pfn: number };
        // Per level, one insertion-ordered Map per set: first key = next victim.
        const ref = Array.from({ length: 6 }, () =>
          Array.from({ length: sets }, () => new Map<string, E>()),
        );
        let hits = 0;
        let evictions = 0;
        const drop = (pred: (e: E) => boolean) => {
          for (const lv of ref)
            for (const s of lv) for (const [k, e] of s) if (pred(e)) s.delete(k);
        };
        for (const o of ops) {
          switch (o.op) {
            case 'lookup': {
              let want: [number, number] = [-1, -1];
              for (let level = 2; level <= o.levels; level++) {
                const prefix = Math.floor(o.vpn / SPAN[level]!);
                const s = ref[level]![prefix % sets]!;
                const key = `${o.did}/${o.pasid}/${prefix}`;
                const e = s.get(key);
                if (e) {
                  if (params.policy === 'lru') {
                    s.delete(key);
                    s.set(key, e);
                  }
                  hits++;
                  want = [level - 1, e.pfn];
                  break;
                }
              }
              expect(deepest(psc, o.did, o.pasid, o.vpn, o.levels)).toEqual(want);
              break;
            }
            case 'insert': {
              const prefix = Math.floor(o.vpn / SPAN[o.level]!);
              const s = ref[o.level]![prefix % sets]!;
              const key = `${o.did}/${o.pasid}/${prefix}`;
              if (s.has(key)) s.delete(key);
              else if (s.size === params.assoc) {
                s.delete(s.keys().next().value!);
                evictions++;
              }
              s.set(key, { did: o.did, pasid: o.pasid, level: o.level, prefix, pfn: o.pfn });
              psc.insert(o.did, o.pasid, o.level, o.vpn, o.pfn);
              break;
            }
            case 'range': {
              psc.invalidateRange(o.did, o.pasid, o.vpn, o.am, o.ih);
              if (o.ih) break;
              const first = Math.floor(o.vpn / 2 ** o.am) * 2 ** o.am;
              const last = first + 2 ** o.am - 1;
              drop((e) => {
                const start = e.prefix * SPAN[e.level]!;
                const stop = start + SPAN[e.level]! - 1;
                return e.did === o.did && e.pasid === o.pasid && start <= last && stop >= first;
              });
              break;
            }
            case 'pasid':
              psc.invalidatePasid(o.did, o.pasid);
              drop((e) => e.did === o.did && e.pasid === o.pasid);
              break;
            case 'all':
              psc.invalidateAll();
              drop(() => true);
              break;
          }
          let size = 0;
          for (const lv of ref) for (const s of lv) size += s.size;
          expect(psc.valid).toBe(size);
        }
        expect([psc.hits, psc.evictions]).toEqual([hits, evictions]);
      }),
      { numRuns: 150 },
    );
  });
});
