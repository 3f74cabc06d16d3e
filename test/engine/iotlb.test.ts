import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PageSize, ReplacementPolicy } from '../../src/cache/index.js';
import { defaultIotlbParams, Iotlb, type IotlbParams, IotlbPerm } from '../../src/engine/iotlb.js';

const RW = IotlbPerm.R | IotlbPerm.W;

/** A replacement rng returning `values` in order (then throwing: the test asked for too few). */
function sequence(values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i++];
    if (v === undefined) throw new Error('rng sequence exhausted');
    return v;
  };
}

/** Whether (did, pasid, vpn) hits (a real lookup: it counts and refreshes LRU state). */
function cached(tlb: Iotlb, did: number, pasid: number, vpn: number): boolean {
  return tlb.lookup(did, pasid, vpn) >= 0;
}

describe('Iotlb params', () => {
  it('defaults to 64 entries, 4-way, LRU', () => {
    expect(new Iotlb().params).toEqual({ entries: 64, assoc: 4, policy: 'lru' });
    expect(defaultIotlbParams).toEqual({ entries: 64, assoc: 4, policy: 'lru' });
    expect(Object.isFrozen(new Iotlb().params)).toBe(true);
  });

  it.each([
    [{ entries: 0 }],
    [{ entries: 2.5 }],
    [{ entries: 6, assoc: 4 }],
    [{ entries: 12, assoc: 4 }], // 3 sets
    [{ entries: 8, assoc: 0 }],
    [{ policy: 'plru' as ReplacementPolicy }],
  ] as Partial<IotlbParams>[][])('rejects %o with EINVAL', (params) => {
    expect(() => new Iotlb(params)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('needs an injected rng for the random policy', () => {
    expect(() => new Iotlb({ policy: 'random' })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => new Iotlb({ policy: 'random' }, () => 0)).not.toThrow();
  });
});

describe('Iotlb.lookup()', () => {
  it('misses, then hits after insert, counting both', () => {
    const tlb = new Iotlb();
    expect(tlb.lookup(1, 5, 0x1234)).toBe(-1);
    const e = tlb.insert(1, 5, 0x1234, '4k', 0x9999, RW);
    expect(tlb.lookup(1, 5, 0x1234)).toBe(e);
    expect(tlb.pfnOf(e, 0x1234)).toBe(0x9999);
    expect(tlb.permsOf(e)).toBe(RW);
    expect(tlb.sizeOf(e)).toBe('4k');
    expect(tlb.lookup(1, 6, 0x1234)).toBe(-1); // other pasid
    expect(tlb.lookup(2, 5, 0x1234)).toBe(-1); // other did
    expect(tlb.lookup(1, 5, 0x1235)).toBe(-1); // other page
    expect([tlb.hits, tlb.misses, tlb.valid, tlb.evictions]).toEqual([1, 4, 1, 0]);
  });

  it('maps a 4 KiB page to set vpn mod sets and a 2 MiB page to set (vpn / 512) mod sets', () => {
    const tlb = new Iotlb({ entries: 16, assoc: 2 }); // 8 sets
    expect(Math.floor(tlb.insert(1, 1, 13, '4k', 0, 0) / 2)).toBe(13 % 8);
    expect(Math.floor(tlb.insert(1, 1, 512 * 11 + 7, '2m', 0, 0) / 2)).toBe(11 % 8);
    expect(Math.floor(tlb.insert(1, 1, 2 ** 40 + 5, '4k', 0, 0) / 2)).toBe(5);
  });

  it('keeps sets apart: conflicts in one set do not evict another set', () => {
    const tlb = new Iotlb({ entries: 8, assoc: 2 }); // 4 sets
    tlb.insert(1, 1, 1, '4k', 101, RW);
    for (const vpn of [0, 4, 8, 12]) tlb.insert(1, 1, vpn, '4k', vpn, RW);
    expect(tlb.evictions).toBe(2);
    expect(cached(tlb, 1, 1, 1)).toBe(true);
    expect(cached(tlb, 1, 1, 8)).toBe(true);
    expect(cached(tlb, 1, 1, 12)).toBe(true);
    expect(cached(tlb, 1, 1, 0)).toBe(false);
    expect(cached(tlb, 1, 1, 4)).toBe(false);
  });

  it('translates every 4 KiB page of a 2 MiB entry', () => {
    const tlb = new Iotlb();
    const e = tlb.insert(1, 5, 0x200 + 0x37, '2m', 0x4_0000, IotlbPerm.R | IotlbPerm.U);
    expect(tlb.sizeOf(e)).toBe('2m');
    expect(tlb.lookup(1, 5, 0x200)).toBe(e);
    expect(tlb.lookup(1, 5, 0x3ff)).toBe(e);
    expect(tlb.pfnOf(e, 0x37f)).toBe(0x4_0000 + 0x17f);
    expect(tlb.permsOf(e)).toBe(IotlbPerm.R | IotlbPerm.U);
    expect(tlb.lookup(1, 5, 0x1ff)).toBe(-1);
    expect(tlb.lookup(1, 5, 0x400)).toBe(-1);
  });

  it.each([
    { entries: 64, assoc: 4 },
    { entries: 8, assoc: 8 }, // one set: a single pass sees both sizes
  ])('prefers a 4 KiB entry over a 2 MiB entry covering the same page (%o)', (params) => {
    const tlb = new Iotlb(params);
    const big = tlb.insert(1, 5, 0x200, '2m', 0x1000, RW);
    const small = tlb.insert(1, 5, 0x210, '4k', 0x7777, IotlbPerm.R);
    expect(tlb.lookup(1, 5, 0x210)).toBe(small);
    expect(tlb.lookup(1, 5, 0x211)).toBe(big);
    expect(tlb.pfnOf(big, 0x211)).toBe(0x1011);
    expect(tlb.valid).toBe(2);
  });

  it('handles page numbers and frames above 2^32 exactly', () => {
    const tlb = new Iotlb({ entries: 16, assoc: 4 });
    const vpn = 2 ** 40 + 3;
    const e = tlb.insert(7, 0xfffff, vpn, '4k', 2 ** 39 + 1, RW);
    expect(tlb.lookup(7, 0xfffff, vpn)).toBe(e);
    expect(tlb.pfnOf(e, vpn)).toBe(2 ** 39 + 1);
    expect(tlb.lookup(7, 0xfffff, vpn - 2 ** 32)).toBe(-1);
    expect(tlb.lookup(7, 0xfffff, vpn + 4)).toBe(-1); // same set, other tag
    const top = 2 ** 52 - 1; // last page of a 64-bit space
    const b = tlb.insert(7, 1, top, '2m', 2 ** 40, RW);
    expect(tlb.lookup(7, 1, top - 511)).toBe(b);
    expect(tlb.pfnOf(b, top)).toBe(2 ** 40 + 511);
  });
});

describe('Iotlb.insert()', () => {
  it('overwrites an entry with the same tag without evicting', () => {
    const tlb = new Iotlb({ entries: 4, assoc: 4 });
    const e = tlb.insert(1, 5, 9, '4k', 100, IotlbPerm.R);
    expect(tlb.insert(1, 5, 9, '4k', 200, RW)).toBe(e);
    expect([tlb.valid, tlb.evictions]).toEqual([1, 0]);
    expect(tlb.pfnOf(e, 9)).toBe(200);
    expect(tlb.permsOf(e)).toBe(RW);
  });

  it('keeps a 4 KiB and a 2 MiB entry of one address as two tags', () => {
    const tlb = new Iotlb();
    tlb.insert(1, 5, 0, '2m', 0, RW);
    tlb.insert(1, 5, 0, '4k', 1, RW);
    expect(tlb.valid).toBe(2);
  });

  it('LRU: evicts the least recently hit or filled way', () => {
    const tlb = new Iotlb({ entries: 4, assoc: 4, policy: 'lru' });
    for (const vpn of [10, 11, 12, 13]) tlb.insert(1, 1, vpn, '4k', vpn, RW);
    tlb.lookup(1, 1, 10); // order now 11 12 13 10
    tlb.insert(1, 1, 14, '4k', 14, RW); // evicts 11
    tlb.lookup(1, 1, 12); // order 13 10 14 12
    tlb.insert(1, 1, 15, '4k', 15, RW); // evicts 13
    tlb.insert(1, 1, 10, '4k', 10, RW); // refresh: order 14 12 15 10
    tlb.insert(1, 1, 16, '4k', 16, RW); // evicts 14
    expect(tlb.evictions).toBe(3);
    const present = [10, 11, 12, 13, 14, 15, 16].filter((v) => cached(tlb, 1, 1, v));
    expect(present).toEqual([10, 12, 15, 16]);
  });

  it('FIFO: evicts the oldest fill; hits do not count', () => {
    const tlb = new Iotlb({ entries: 4, assoc: 4, policy: 'fifo' });
    for (const vpn of [10, 11, 12, 13]) tlb.insert(1, 1, vpn, '4k', vpn, RW);
    tlb.lookup(1, 1, 10);
    tlb.insert(1, 1, 14, '4k', 14, RW); // evicts 10 despite the hit
    tlb.insert(1, 1, 11, '4k', 11, RW); // refill renews 11: order 12 13 14 11
    tlb.insert(1, 1, 15, '4k', 15, RW); // evicts 12
    const present = [10, 11, 12, 13, 14, 15].filter((v) => cached(tlb, 1, 1, v));
    expect(present).toEqual([11, 13, 14, 15]);
  });

  it('random: fills invalid ways first, then takes the way the injected rng picks', () => {
    const tlb = new Iotlb(
      { entries: 8, assoc: 4, policy: 'random' },
      sequence([0.5, 0.99, 0, 0.25]),
    );
    const ways = [0, 2, 4, 6].map((vpn) => tlb.insert(1, 1, vpn, '4k', vpn, RW));
    expect(ways).toEqual([0, 1, 2, 3]); // set 0, ways in order, no rng draw
    expect(tlb.insert(1, 1, 8, '4k', 8, RW)).toBe(2); // 0.5 → way 2 (vpn 4)
    expect(tlb.insert(1, 1, 10, '4k', 10, RW)).toBe(3); // 0.99 → way 3 (vpn 6)
    expect(tlb.insert(1, 1, 12, '4k', 12, RW)).toBe(0); // 0 → way 0 (vpn 0)
    expect(tlb.insert(1, 1, 14, '4k', 14, RW)).toBe(1); // 0.25 → way 1 (vpn 2)
    expect([8, 10, 12, 14].every((v) => cached(tlb, 1, 1, v))).toBe(true);
    expect(tlb.evictions).toBe(4);
  });

  it('random: an rng value outside [0, 1) is a broken invariant', () => {
    const tlb = new Iotlb({ entries: 2, assoc: 2, policy: 'random' }, () => 1);
    tlb.insert(1, 1, 0, '4k', 0, RW);
    tlb.insert(1, 1, 1, '4k', 0, RW);
    expect(() => tlb.insert(1, 1, 2, '4k', 0, RW)).toThrow(/outside \[0, 1\)/);
  });
});

/** Fills a TLB with a mix of tags used by the invalidation tests. */
function populated(): Iotlb {
  const tlb = new Iotlb({ entries: 64, assoc: 4 });
  tlb.insert(1, 5, 0x10, '4k', 1, RW);
  tlb.insert(1, 5, 0x17, '4k', 2, RW);
  tlb.insert(1, 5, 0x18, '4k', 3, RW);
  tlb.insert(1, 5, 0x0f, '4k', 4, RW);
  tlb.insert(1, 6, 0x10, '4k', 5, RW);
  tlb.insert(2, 5, 0x10, '4k', 6, RW);
  tlb.insert(1, 5, 0x000, '2m', 0x200, RW); // pages 0x000–0x1ff
  tlb.insert(1, 5, 0x200, '2m', 0x400, RW); // pages 0x200–0x3ff
  tlb.insert(2, 7, 0x400, '2m', 0x600, RW);
  return tlb;
}

const ALL_TAGS = [
  [1, 5, 0x10, '4k'],
  [1, 5, 0x17, '4k'],
  [1, 5, 0x18, '4k'],
  [1, 5, 0x0f, '4k'],
  [1, 6, 0x10, '4k'],
  [2, 5, 0x10, '4k'],
  [1, 5, 0x000, '2m'],
  [1, 5, 0x200, '2m'],
  [2, 7, 0x400, '2m'],
] as const;

/** The tags of {@link ALL_TAGS} still cached (2 MiB ones probed where no 4 KiB tag exists). */
function survivors(tlb: Iotlb): string[] {
  const out: string[] = [];
  for (const [did, pasid, vpn, size] of ALL_TAGS) {
    const probe = size === '2m' ? vpn + 0x100 : vpn;
    const e = tlb.lookup(did, pasid, probe);
    if (e >= 0 && tlb.sizeOf(e) === (size as PageSize)) out.push(`${did}/${pasid}/${vpn}/${size}`);
  }
  return out;
}

describe('Iotlb.invalidatePageInPasid()', () => {
  it('drops only entries of that did and pasid overlapping the aligned 2^am range', () => {
    const tlb = populated();
    tlb.invalidatePageInPasid(1, 5, 0x13, 3); // pages 0x10–0x17
    expect(survivors(tlb)).toEqual([
      '1/5/24/4k',
      '1/5/15/4k',
      '1/6/16/4k',
      '2/5/16/4k',
      '1/5/512/2m',
      '2/7/1024/2m',
    ]);
    expect(tlb.valid).toBe(6);
  });

  it('with am = 0 drops one 4 KiB page and the 2 MiB entry around it', () => {
    const tlb = populated();
    tlb.invalidatePageInPasid(1, 5, 0x18, 0);
    expect(survivors(tlb)).not.toContain('1/5/24/4k');
    expect(survivors(tlb)).not.toContain('1/5/0/2m');
    expect(tlb.valid).toBe(7);
  });

  it('drops a 2 MiB entry the range only partly overlaps, and not its neighbour', () => {
    const tlb = populated();
    tlb.invalidatePageInPasid(1, 5, 0x3f0, 4); // pages 0x3f0–0x3ff
    expect(survivors(tlb)).not.toContain('1/5/512/2m');
    expect(tlb.valid).toBe(8);
  });

  it('with a range larger than the TLB drops every entry of (did, pasid) in it', () => {
    const tlb = populated();
    tlb.invalidatePageInPasid(1, 5, 0, 52);
    expect(survivors(tlb)).toEqual(['1/6/16/4k', '2/5/16/4k', '2/7/1024/2m']);
  });

  it('works above 2^32 and leaves the same low bits of another page alone', () => {
    const tlb = new Iotlb();
    tlb.insert(1, 5, 2 ** 36 + 0x10, '4k', 1, RW);
    tlb.insert(1, 5, 0x10, '4k', 2, RW);
    tlb.invalidatePageInPasid(1, 5, 2 ** 36 + 0x11, 1);
    expect(cached(tlb, 1, 5, 2 ** 36 + 0x10)).toBe(false);
    expect(cached(tlb, 1, 5, 0x10)).toBe(true);
  });
});

describe('Iotlb.invalidatePasid()', () => {
  it('drops only entries of that did and pasid', () => {
    const tlb = populated();
    tlb.invalidatePasid(1, 5);
    expect(survivors(tlb)).toEqual(['1/6/16/4k', '2/5/16/4k', '2/7/1024/2m']);
    expect(tlb.valid).toBe(3);
  });
});

describe('Iotlb.invalidateDomain()', () => {
  it('drops every entry of that did, all pasids', () => {
    const tlb = populated();
    tlb.invalidateDomain(2);
    expect(survivors(tlb)).toHaveLength(7);
    expect(survivors(tlb).some((t) => t.startsWith('2/'))).toBe(false);
  });
});

describe('Iotlb.invalidateAll()', () => {
  it('drops everything and keeps the counters', () => {
    const tlb = populated();
    tlb.lookup(1, 5, 0x10);
    tlb.invalidateAll();
    expect(tlb.valid).toBe(0);
    expect(tlb.hits).toBe(1);
    expect(survivors(tlb)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Model test: the same operations on a Map-based reference.

interface RefEntry {
  did: number;
  pasid: number;
  tag: number;
  big: boolean;
  pfn: number;
  perms: number;
}

/** Reference IOTLB: one insertion-ordered Map per set (first key = next victim). */
class RefIotlb {
  readonly sets: Map<string, RefEntry>[];
  hits = 0;
  misses = 0;
  evictions = 0;
  private readonly assoc: number;
  private readonly lru: boolean;

  constructor(sets: number, assoc: number, lru: boolean) {
    this.sets = Array.from({ length: sets }, () => new Map());
    this.assoc = assoc;
    this.lru = lru;
  }

  lookup(did: number, pasid: number, vpn: number): RefEntry | undefined {
    const n = this.sets.length;
    const pn2 = Math.floor(vpn / 512);
    for (const [set, key] of [
      [this.sets[vpn % n]!, `${did}/${pasid}/4k/${vpn}`],
      [this.sets[pn2 % n]!, `${did}/${pasid}/2m/${pn2}`],
    ] as const) {
      const e = set.get(key);
      if (e) {
        if (this.lru) {
          set.delete(key);
          set.set(key, e);
        }
        this.hits++;
        return e;
      }
    }
    this.misses++;
    return undefined;
  }

  insert(did: number, pasid: number, vpn: number, size: PageSize, pfn: number, perms: number) {
    const big = size === '2m';
    const tag = big ? Math.floor(vpn / 512) : vpn;
    const set = this.sets[tag % this.sets.length]!;
    const key = `${did}/${pasid}/${size}/${tag}`;
    if (set.has(key)) set.delete(key);
    else if (set.size === this.assoc) {
      set.delete(set.keys().next().value!);
      this.evictions++;
    }
    set.set(key, { did, pasid, tag, big, pfn, perms });
  }

  dropWhere(pred: (e: RefEntry) => boolean): void {
    for (const set of this.sets) for (const [k, e] of set) if (pred(e)) set.delete(k);
  }

  get valid(): number {
    return this.sets.reduce((a, s) => a + s.size, 0);
  }
}

type Op =
  | { op: 'lookup'; did: number; pasid: number; vpn: number }
  | {
      op: 'insert';
      did: number;
      pasid: number;
      vpn: number;
      size: PageSize;
      pfn: number;
      perms: number;
    }
  | { op: 'psi'; did: number; pasid: number; vpn: number; am: number }
  | { op: 'pasid'; did: number; pasid: number }
  | { op: 'domain'; did: number }
  | { op: 'all' };

// Small pools so that tags repeat: hits, refills, conflicts and evictions are all common.
const vpnArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 5 }) },
  { weight: 2, arbitrary: fc.integer({ min: 511, max: 513 }) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 32, 2 ** 32 + 1, 2 ** 40 + 511, 2 ** 52 - 1) },
);
const didArb = fc.constantFrom(1, 1, 1, 2);
const pasidArb = fc.constantFrom(5, 5, 5, 6);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('lookup' as const),
      did: didArb,
      pasid: pasidArb,
      vpn: vpnArb,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      did: didArb,
      pasid: pasidArb,
      vpn: vpnArb,
      size: fc.constantFrom<PageSize>('4k', '4k', '2m'),
      pfn: fc.integer({ min: 0, max: 2 ** 40 }).map((p) => p * 512),
      perms: fc.integer({ min: 0, max: 15 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('psi' as const),
      did: didArb,
      pasid: pasidArb,
      vpn: vpnArb,
      am: fc.oneof(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 4, max: 12 }),
        fc.constant(52),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('pasid' as const), did: didArb, pasid: pasidArb }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('domain' as const), did: didArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('all' as const) }) },
);

function checkAgainstReference(params: IotlbParams, ops: Op[]): void {
  const tlb = new Iotlb(params);
  const ref = new RefIotlb(params.entries / params.assoc, params.assoc, params.policy === 'lru');
  for (const o of ops) {
    switch (o.op) {
      case 'lookup': {
        const e = tlb.lookup(o.did, o.pasid, o.vpn);
        const r = ref.lookup(o.did, o.pasid, o.vpn);
        expect(e >= 0, JSON.stringify(o)).toBe(r !== undefined);
        if (r) {
          expect(tlb.pfnOf(e, o.vpn)).toBe(r.big ? r.pfn + (o.vpn % 512) : r.pfn);
          expect(tlb.permsOf(e)).toBe(r.perms);
          expect(tlb.sizeOf(e)).toBe(r.big ? '2m' : '4k');
        }
        break;
      }
      case 'insert':
        tlb.insert(o.did, o.pasid, o.vpn, o.size, o.pfn, o.perms);
        ref.insert(o.did, o.pasid, o.vpn, o.size, o.pfn, o.perms);
        break;
      case 'psi': {
        tlb.invalidatePageInPasid(o.did, o.pasid, o.vpn, o.am);
        const first = Math.floor(o.vpn / 2 ** o.am) * 2 ** o.am;
        const last = first + 2 ** o.am - 1;
        ref.dropWhere((e) => {
          const start = e.big ? e.tag * 512 : e.tag;
          const stop = e.big ? start + 511 : start;
          return e.did === o.did && e.pasid === o.pasid && start <= last && stop >= first;
        });
        break;
      }
      case 'pasid':
        tlb.invalidatePasid(o.did, o.pasid);
        ref.dropWhere((e) => e.did === o.did && e.pasid === o.pasid);
        break;
      case 'domain':
        tlb.invalidateDomain(o.did);
        ref.dropWhere((e) => e.did === o.did);
        break;
      case 'all':
        tlb.invalidateAll();
        ref.dropWhere(() => true);
        break;
    }
    expect(tlb.valid).toBe(ref.valid);
  }
  expect([tlb.hits, tlb.misses, tlb.evictions]).toEqual([ref.hits, ref.misses, ref.evictions]);
}

describe('Iotlb model', () => {
  it.each([
    { entries: 8, assoc: 8, policy: 'lru' },
    { entries: 4, assoc: 4, policy: 'lru' },
    { entries: 4, assoc: 4, policy: 'fifo' },
    { entries: 16, assoc: 4, policy: 'lru' },
    { entries: 32, assoc: 2, policy: 'fifo' },
    { entries: 8, assoc: 1, policy: 'lru' },
  ] as IotlbParams[])('matches a Map-based reference for %o', (params) => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 200, size: 'max' }), (ops) =>
        checkAgainstReference(params, ops),
      ),
      { numRuns: 200 },
    );
  });
});
