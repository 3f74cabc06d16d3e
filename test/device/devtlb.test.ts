import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PageSize, ReplacementPolicy } from '../../src/cache/index.js';
import {
  DEVTLB_ALL_PAGES,
  DevTlb,
  type DevTlbParams,
  DevTlbPerm,
  defaultDevTlbParams,
} from '../../src/device/devtlb.js';

const RW = DevTlbPerm.R | DevTlbPerm.W;

function hit(tlb: DevTlb, pasid: number, vpn: number): boolean {
  return tlb.lookup(pasid, vpn) >= 0;
}

describe('DevTlb params', () => {
  it('defaults to 32 entries, fully associative, LRU', () => {
    expect(new DevTlb().params).toEqual({ entries: 32, assoc: 32, policy: 'lru' });
    expect(defaultDevTlbParams).toEqual({ entries: 32, assoc: 32, policy: 'lru' });
  });

  it('defaults assoc to entries', () => {
    expect(new DevTlb({ entries: 8 }).params).toEqual({ entries: 8, assoc: 8, policy: 'lru' });
    expect(new DevTlb({ entries: 8, assoc: 2 }).params.assoc).toBe(2);
  });

  it.each([
    [{ entries: 0 }],
    [{ entries: 8, assoc: 3 }],
    [{ entries: 24, assoc: 2 }],
    [{ policy: 'clock' as ReplacementPolicy }],
    [{ policy: 'random' as ReplacementPolicy }], // no rng
  ] as Partial<DevTlbParams>[][])('rejects %o with EINVAL', (params) => {
    expect(() => new DevTlb(params)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('DevTlb.lookup()', () => {
  it('misses, then hits after insert, counting both', () => {
    const tlb = new DevTlb();
    expect(tlb.lookup(5, 0x42)).toBe(-1);
    const e = tlb.insert(5, 0x42, '4k', 0x999, RW | DevTlbPerm.PRIV);
    expect(tlb.lookup(5, 0x42)).toBe(e);
    expect(tlb.pfnOf(e, 0x42)).toBe(0x999);
    expect(tlb.permsOf(e)).toBe(RW | DevTlbPerm.PRIV);
    expect(tlb.sizeOf(e)).toBe('4k');
    expect(tlb.lookup(6, 0x42)).toBe(-1);
    expect([tlb.hits, tlb.misses, tlb.valid]).toEqual([1, 2, 1]);
  });

  it('translates every page of a 2 MiB entry and prefers a 4 KiB entry', () => {
    const tlb = new DevTlb();
    const big = tlb.insert(5, 0x400 + 3, '2m', 0x8_0000, RW);
    expect(tlb.sizeOf(big)).toBe('2m');
    expect(tlb.lookup(5, 0x5ff)).toBe(big);
    expect(tlb.pfnOf(big, 0x5ff)).toBe(0x8_01ff);
    expect(tlb.lookup(5, 0x600)).toBe(-1);
    const small = tlb.insert(5, 0x410, '4k', 0x1, DevTlbPerm.R);
    expect(tlb.lookup(5, 0x410)).toBe(small);
    expect(tlb.lookup(5, 0x411)).toBe(big);
  });

  it('handles page numbers and frames above 2^32', () => {
    const tlb = new DevTlb({ entries: 8, assoc: 2 });
    const vpn = 2 ** 47 - 1;
    const e = tlb.insert(1, vpn, '4k', 2 ** 40 + 1, RW);
    expect(tlb.lookup(1, vpn)).toBe(e);
    expect(tlb.pfnOf(e, vpn)).toBe(2 ** 40 + 1);
    expect(tlb.lookup(1, vpn - 2 ** 33)).toBe(-1);
  });

  it('maps pages to sets like the IOTLB when not fully associative', () => {
    const tlb = new DevTlb({ entries: 8, assoc: 2 }); // 4 sets
    expect(Math.floor(tlb.insert(1, 7, '4k', 0, 0) / 2)).toBe(3);
    expect(Math.floor(tlb.insert(1, 512 * 6, '2m', 0, 0) / 2)).toBe(2);
  });
});

describe('DevTlb.insert()', () => {
  it('overwrites the entry with the same key without evicting', () => {
    const tlb = new DevTlb({ entries: 2 });
    const e = tlb.insert(1, 1, '4k', 10, DevTlbPerm.R);
    expect(tlb.insert(1, 1, '4k', 20, RW)).toBe(e);
    expect([tlb.valid, tlb.evictions, tlb.pfnOf(e, 1), tlb.permsOf(e)]).toEqual([1, 0, 20, RW]);
  });

  it('LRU: evicts the least recently used entry', () => {
    const tlb = new DevTlb({ entries: 3 });
    for (const v of [1, 2, 3]) tlb.insert(1, v, '4k', v, RW);
    tlb.lookup(1, 1);
    tlb.lookup(1, 2);
    tlb.insert(1, 4, '4k', 4, RW); // evicts 3
    tlb.insert(1, 5, '4k', 5, RW); // evicts 1
    expect([1, 2, 3, 4, 5].filter((v) => hit(tlb, 1, v))).toEqual([2, 4, 5]);
    expect(tlb.evictions).toBe(2);
  });

  it('FIFO: evicts the oldest fill', () => {
    const tlb = new DevTlb({ entries: 3, policy: 'fifo' });
    for (const v of [1, 2, 3]) tlb.insert(1, v, '4k', v, RW);
    tlb.lookup(1, 1);
    tlb.insert(1, 4, '4k', 4, RW); // evicts 1
    tlb.insert(1, 5, '4k', 5, RW); // evicts 2
    expect([1, 2, 3, 4, 5].filter((v) => hit(tlb, 1, v))).toEqual([3, 4, 5]);
  });

  it('random: takes the way the injected rng picks', () => {
    const draws = [0.9, 0.4];
    const tlb = new DevTlb({ entries: 3, policy: 'random' }, () => draws.shift()!);
    for (const v of [1, 2, 3]) tlb.insert(1, v, '4k', v, RW);
    expect(tlb.insert(1, 4, '4k', 4, RW)).toBe(2); // 0.9 × 3 → way 2 (page 3)
    expect(tlb.insert(1, 5, '4k', 5, RW)).toBe(1); // 0.4 × 3 → way 1 (page 2)
    expect([1, 2, 3, 4, 5].filter((v) => hit(tlb, 1, v))).toEqual([1, 4, 5]);
  });
});

/** pasid, vpn, size of the entries the invalidation tests start from. */
const KEYS = [
  [5, 0x10, '4k'],
  [5, 0x17, '4k'],
  [5, 0x18, '4k'],
  [6, 0x10, '4k'],
  [5, 0x200, '2m'],
  [6, 0x200, '2m'],
  [5, 2 ** 40, '4k'],
] as const;

function populated(): DevTlb {
  const tlb = new DevTlb({ entries: 16, assoc: 4 });
  for (const [pasid, vpn, size] of KEYS) tlb.insert(pasid, vpn, size, 0, RW);
  return tlb;
}

function left(tlb: DevTlb): string[] {
  const out: string[] = [];
  for (const [pasid, vpn, size] of KEYS) {
    const e = tlb.lookup(pasid, size === '2m' ? vpn + 0x100 : vpn);
    if (e >= 0 && tlb.sizeOf(e) === (size as PageSize)) out.push(`${pasid}/${vpn}/${size}`);
  }
  return out;
}

describe('DevTlb.invalidateRange()', () => {
  it('drops only entries of that pasid overlapping the range', () => {
    const tlb = populated();
    tlb.invalidateRange(5, 0x10, 8); // pages 0x10–0x17
    expect(left(tlb)).toEqual(['5/24/4k', '6/16/4k', '5/512/2m', '6/512/2m', `5/${2 ** 40}/4k`]);
    expect(tlb.invalidated).toBe(2);
  });

  it('drops a 2 MiB entry the range only partly overlaps', () => {
    const tlb = populated();
    tlb.invalidateRange(5, 0x3ff, 1);
    expect(left(tlb)).not.toContain('5/512/2m');
    expect(left(tlb)).toContain('6/512/2m');
    expect(tlb.invalidated).toBe(1);
  });

  it('with 2^52 pages from 0 drops everything of that pasid', () => {
    const tlb = populated();
    tlb.invalidateRange(5, 0, DEVTLB_ALL_PAGES);
    expect(left(tlb)).toEqual(['6/16/4k', '6/512/2m']);
    expect(tlb.invalidated).toBe(5);
  });
});

describe('DevTlb.invalidateAllPasids()', () => {
  it('drops the entries of every pasid overlapping the range, nothing else', () => {
    const tlb = populated();
    tlb.invalidateAllPasids(0x10, 1);
    expect(left(tlb)).toEqual(['5/23/4k', '5/24/4k', '5/512/2m', '6/512/2m', `5/${2 ** 40}/4k`]);
    tlb.invalidateAllPasids(0, DEVTLB_ALL_PAGES);
    expect([left(tlb), tlb.valid, tlb.invalidated]).toEqual([[], 0, 7]);
  });
});

describe('DevTlb.invalidateAll()', () => {
  it('drops everything and counts it', () => {
    const tlb = populated();
    tlb.invalidateAll();
    expect([tlb.valid, tlb.invalidated, left(tlb)]).toEqual([0, 7, []]);
  });
});

describe('DevTlb model', () => {
  type Op =
    | { op: 'lookup'; pasid: number; vpn: number }
    | { op: 'insert'; pasid: number; vpn: number; size: PageSize; pfn: number; perms: number }
    | { op: 'range'; pasid: number; vpn: number; pages: number }
    | { op: 'allPasids'; vpn: number; pages: number }
    | { op: 'all' };
  const pasid = fc.constantFrom(5, 5, 6);
  const vpn = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 5 }) },
    { weight: 2, arbitrary: fc.integer({ min: 511, max: 513 }) },
    { weight: 1, arbitrary: fc.constantFrom(2 ** 32, 2 ** 40 + 511, 2 ** 52 - 1) },
  );
  const pages = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.constant(DEVTLB_ALL_PAGES));
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constant('lookup' as const), pasid, vpn }) },
    {
      weight: 8,
      arbitrary: fc.record({
        op: fc.constant('insert' as const),
        pasid,
        vpn,
        size: fc.constantFrom<PageSize>('4k', '4k', '2m'),
        pfn: fc.integer({ min: 0, max: 2 ** 40 }).map((p) => p * 512),
        perms: fc.integer({ min: 0, max: 31 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('range' as const), pasid, vpn, pages }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('allPasids' as const), vpn, pages }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('all' as const) }) },
  );

  it.each([
    { entries: 6, assoc: 6, policy: 'lru' },
    { entries: 4, assoc: 4, policy: 'fifo' },
    { entries: 16, assoc: 2, policy: 'lru' },
  ] as DevTlbParams[])('matches a Map-based reference for %o', (params) => {
    const sets = params.entries / params.assoc;
    type E = { pasid: number; tag: number; big: boolean; pfn: number; perms: number };
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 200, size: 'max' }), (ops) => {
        const tlb = new DevTlb(params);
        // One insertion-ordered Map per set: first key = next victim.
        const ref = Array.from({ length: sets }, () => new Map<string, E>());
        let hits = 0;
        let removed = 0;
        let evictions = 0;
        const drop = (pred: (e: E) => boolean) => {
          for (const s of ref) {
            for (const [k, e] of s) {
              if (pred(e)) {
                s.delete(k);
                removed++;
              }
            }
          }
        };
        const overlaps = (e: E, first: number, n: number) => {
          const start = e.big ? e.tag * 512 : e.tag;
          const stop = e.big ? start + 511 : start;
          return start <= first + n - 1 && stop >= first;
        };
        for (const o of ops) {
          switch (o.op) {
            case 'lookup': {
              const pn2 = Math.floor(o.vpn / 512);
              let r: E | undefined;
              for (const [s, key] of [
                [ref[o.vpn % sets]!, `${o.pasid}/4k/${o.vpn}`],
                [ref[pn2 % sets]!, `${o.pasid}/2m/${pn2}`],
              ] as const) {
                r = s.get(key);
                if (r) {
                  if (params.policy === 'lru') {
                    s.delete(key);
                    s.set(key, r);
                  }
                  break;
                }
              }
              const e = tlb.lookup(o.pasid, o.vpn);
              expect(e >= 0).toBe(r !== undefined);
              if (r) {
                hits++;
                expect(tlb.pfnOf(e, o.vpn)).toBe(r.big ? r.pfn + (o.vpn % 512) : r.pfn);
                expect(tlb.permsOf(e)).toBe(r.perms);
              }
              break;
            }
            case 'insert': {
              const big = o.size === '2m';
              const tag = big ? Math.floor(o.vpn / 512) : o.vpn;
              const s = ref[tag % sets]!;
              const key = `${o.pasid}/${o.size}/${tag}`;
              if (s.has(key)) s.delete(key);
              else if (s.size === params.assoc) {
                s.delete(s.keys().next().value!);
                evictions++;
              }
              s.set(key, { pasid: o.pasid, tag, big, pfn: o.pfn, perms: o.perms });
              tlb.insert(o.pasid, o.vpn, o.size, o.pfn, o.perms);
              break;
            }
            case 'range':
              tlb.invalidateRange(o.pasid, o.vpn, o.pages);
              drop((e) => e.pasid === o.pasid && overlaps(e, o.vpn, o.pages));
              break;
            case 'allPasids':
              tlb.invalidateAllPasids(o.vpn, o.pages);
              drop((e) => overlaps(e, o.vpn, o.pages));
              break;
            case 'all':
              tlb.invalidateAll();
              drop(() => true);
              break;
          }
          expect(tlb.valid).toBe(ref.reduce((a, s) => a + s.size, 0));
        }
        expect([tlb.hits, tlb.invalidated, tlb.evictions]).toEqual([hits, removed, evictions]);
      }),
      { numRuns: 150 },
    );
  });
});
