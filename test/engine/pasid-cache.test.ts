import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ReplacementPolicy } from '../../src/cache/index.js';
import {
  defaultPasidCacheParams,
  PasidCache,
  type PasidCacheParams,
} from '../../src/engine/pasid-cache.js';
import { FSPM_5_LEVEL, PGTT_FIRST_STAGE } from '../../src/layout/pasid-table.js';

/** Inserts a present first-stage entry of domain `did` with fsptptr frame `pfn`. */
function put(pc: PasidCache, rid: number, pasid: number, did: number, pfn = 0x100): number {
  return pc.insert(rid, pasid, true, false, did, PGTT_FIRST_STAGE, false, 0, pfn, true);
}

function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++]!;
}

describe('PasidCache params', () => {
  it('defaults to 64 entries, 4-way, LRU', () => {
    expect(new PasidCache().params).toEqual({ entries: 64, assoc: 4, policy: 'lru' });
    expect(defaultPasidCacheParams).toEqual({ entries: 64, assoc: 4, policy: 'lru' });
  });

  it.each([
    [{ entries: -4 }],
    [{ entries: 10, assoc: 4 }],
    [{ entries: 24, assoc: 4 }],
    [{ policy: 'mru' as ReplacementPolicy }],
    [{ policy: 'random' as ReplacementPolicy }], // no rng
  ] as Partial<PasidCacheParams>[][])('rejects %o with EINVAL', (params) => {
    expect(() => new PasidCache(params)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('PasidCache.lookup()', () => {
  it('misses, then returns every decoded field after insert', () => {
    const pc = new PasidCache();
    expect(pc.lookup(0x0100, 5)).toBe(-1);
    const e = pc.insert(
      0x0100,
      5,
      true,
      true,
      0x1234,
      PGTT_FIRST_STAGE,
      true,
      FSPM_5_LEVEL,
      2 ** 40 + 7,
      true,
    );
    expect(pc.lookup(0x0100, 5)).toBe(e);
    expect(pc.dteOf(e)).toBe(true);
    expect(pc.presentOf(e)).toBe(true);
    expect(pc.fpdOf(e)).toBe(true);
    expect(pc.didOf(e)).toBe(0x1234);
    expect(pc.pgttOf(e)).toBe(PGTT_FIRST_STAGE);
    expect(pc.sreOf(e)).toBe(true);
    expect(pc.fspmOf(e)).toBe(FSPM_5_LEVEL);
    expect(pc.fsptptrPfnOf(e)).toBe(2 ** 40 + 7);
    expect(pc.lookup(0x0101, 5)).toBe(-1);
    expect(pc.lookup(0x0100, 6)).toBe(-1);
    expect([pc.hits, pc.misses, pc.valid]).toEqual([1, 3, 1]);
  });

  it('caches a not-present entry with its flags clear', () => {
    const pc = new PasidCache();
    const e = pc.insert(1, 2, false, true, 0, 0, false, 0, 0, false);
    expect(pc.lookup(1, 2)).toBe(e);
    expect([pc.presentOf(e), pc.fpdOf(e), pc.sreOf(e), pc.dteOf(e)]).toEqual([
      false,
      true,
      false,
      false,
    ]);
  });

  it('peek() finds an entry without counting or touching the replacement order', () => {
    const pc = new PasidCache({ entries: 4, assoc: 4, policy: 'lru' }); // one set
    for (let pasid = 0; pasid < 4; pasid++) put(pc, 1, pasid, 1);
    const before = [pc.hits, pc.misses];
    expect(pc.peek(1, 0)).toBeGreaterThanOrEqual(0);
    expect(pc.peek(1, 9)).toBe(-1);
    expect([pc.hits, pc.misses]).toEqual(before);
    // PASID 0 is still the least recently used: the next insert evicts it
    put(pc, 1, 4, 1);
    expect(pc.peek(1, 0)).toBe(-1);
    expect(pc.peek(1, 1)).toBeGreaterThanOrEqual(0);
  });

  it('maps (rid, pasid) to set (pasid XOR rid) mod sets', () => {
    const pc = new PasidCache({ entries: 32, assoc: 4 }); // 8 sets
    expect(Math.floor(put(pc, 0x10, 0x3, 1) / 4)).toBe((0x10 ^ 0x3) % 8);
    expect(Math.floor(put(pc, 0xff, 0xfffff, 1) / 4)).toBe((0xff ^ 0xfffff) % 8);
  });

  it('overwrites the entry of the same key without evicting', () => {
    const pc = new PasidCache({ entries: 4, assoc: 4 });
    const e = put(pc, 1, 1, 7, 0x10);
    expect(put(pc, 1, 1, 8, 0x20)).toBe(e);
    expect([pc.valid, pc.evictions, pc.didOf(e), pc.fsptptrPfnOf(e)]).toEqual([1, 0, 8, 0x20]);
  });
});

describe('PasidCache replacement', () => {
  function survivors(pc: PasidCache, pasids: number[]): number[] {
    return pasids.filter((p) => pc.lookup(0, p) >= 0);
  }

  it('LRU: evicts the least recently used entry', () => {
    const pc = new PasidCache({ entries: 2, assoc: 2 });
    put(pc, 0, 1, 1);
    put(pc, 0, 2, 1);
    pc.lookup(0, 1);
    put(pc, 0, 3, 1); // evicts 2
    expect(survivors(pc, [1, 2, 3])).toEqual([1, 3]);
    expect(pc.evictions).toBe(1);
  });

  it('FIFO: evicts the oldest fill', () => {
    const pc = new PasidCache({ entries: 2, assoc: 2, policy: 'fifo' });
    put(pc, 0, 1, 1);
    put(pc, 0, 2, 1);
    pc.lookup(0, 1);
    put(pc, 0, 3, 1); // evicts 1
    expect(survivors(pc, [1, 2, 3])).toEqual([2, 3]);
  });

  it('random: takes the way the injected rng picks', () => {
    const pc = new PasidCache({ entries: 4, assoc: 4, policy: 'random' }, sequence([0.75, 0.3]));
    for (const p of [1, 2, 3, 4]) put(pc, 0, p, 1);
    expect(put(pc, 0, 5, 1)).toBe(3); // evicts pasid 4
    expect(put(pc, 0, 6, 1)).toBe(1); // evicts pasid 2
    expect(survivors(pc, [1, 2, 3, 4, 5, 6])).toEqual([1, 3, 5, 6]);
  });
});

/** rid, pasid, did of the entries the invalidation tests start from. */
const KEYS = [
  [0x10, 5, 1],
  [0x11, 5, 1],
  [0x10, 6, 1],
  [0x12, 5, 2],
  [0x12, 7, 2],
] as const;

function populated(): PasidCache {
  const pc = new PasidCache();
  for (const [rid, pasid, did] of KEYS) put(pc, rid, pasid, did);
  return pc;
}

function left(pc: PasidCache): string[] {
  return KEYS.filter(([rid, pasid]) => pc.lookup(rid, pasid) >= 0).map(
    ([rid, pasid, did]) => `${rid}/${pasid}/${did}`,
  );
}

describe('PasidCache.invalidatePasid()', () => {
  it('drops only entries of that did and pasid, every rid', () => {
    const pc = populated();
    pc.invalidatePasid(1, 5);
    expect(left(pc)).toEqual(['16/6/1', '18/5/2', '18/7/2']);
  });
});

describe('PasidCache.invalidateDomain()', () => {
  it('drops every pasid of that did only', () => {
    const pc = populated();
    pc.invalidateDomain(2);
    expect(left(pc)).toEqual(['16/5/1', '17/5/1', '16/6/1']);
  });
});

describe('PasidCache.invalidateRid()', () => {
  it('drops every entry of that requester only', () => {
    const pc = populated();
    pc.invalidateRid(0x10);
    expect(left(pc)).toEqual(['17/5/1', '18/5/2', '18/7/2']);
    expect(pc.valid).toBe(3);
  });
});

describe('PasidCache.invalidateAll()', () => {
  it('drops everything', () => {
    const pc = populated();
    pc.invalidateAll();
    expect([left(pc), pc.valid]).toEqual([[], 0]);
  });
});

describe('PasidCache model', () => {
  type Op =
    | { op: 'lookup'; rid: number; pasid: number }
    | { op: 'insert'; rid: number; pasid: number; did: number; pfn: number }
    | { op: 'pasid'; did: number; pasid: number }
    | { op: 'domain'; did: number }
    | { op: 'rid'; rid: number }
    | { op: 'all' };
  const rid = fc.integer({ min: 0, max: 3 });
  const pasid = fc.integer({ min: 1, max: 4 });
  const did = fc.integer({ min: 1, max: 2 });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('lookup' as const), rid, pasid }) },
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('insert' as const),
        rid,
        pasid,
        did,
        pfn: fc.integer({ min: 0, max: 2 ** 45 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('pasid' as const), did, pasid }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('domain' as const), did }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('rid' as const), rid }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('all' as const) }) },
  );

  it.each([
    { entries: 6, assoc: 6, policy: 'lru' }, // fully associative, 1 set
    { entries: 8, assoc: 2, policy: 'lru' },
    { entries: 4, assoc: 4, policy: 'fifo' },
  ] as PasidCacheParams[])('matches a Map-based reference for %o', (params) => {
    const sets = params.entries / params.assoc;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 200, size: 'max' }), (ops) => {
        const pc = new PasidCache(params);
        // One insertion-ordered Map per set: first key = next victim.
        const ref = Array.from(
          { length: sets },
          () => new Map<string, { rid: number; pasid: number; did: number; pfn: number }>(),
        );
        const setOf = (r: number, p: number) => ref[(r ^ p) % sets]!;
        let hits = 0;
        let evictions = 0;
        const drop = (pred: (e: { rid: number; pasid: number; did: number }) => boolean) => {
          for (const s of ref) for (const [k, e] of s) if (pred(e)) s.delete(k);
        };
        for (const o of ops) {
          switch (o.op) {
            case 'lookup': {
              const s = setOf(o.rid, o.pasid);
              const key = `${o.rid}/${o.pasid}`;
              const r = s.get(key);
              const e = pc.lookup(o.rid, o.pasid);
              expect(e >= 0).toBe(r !== undefined);
              if (r) {
                hits++;
                expect([pc.didOf(e), pc.fsptptrPfnOf(e)]).toEqual([r.did, r.pfn]);
                if (params.policy === 'lru') {
                  s.delete(key);
                  s.set(key, r);
                }
              }
              break;
            }
            case 'insert': {
              const s = setOf(o.rid, o.pasid);
              const key = `${o.rid}/${o.pasid}`;
              if (s.has(key)) s.delete(key);
              else if (s.size === params.assoc) {
                s.delete(s.keys().next().value!);
                evictions++;
              }
              s.set(key, { rid: o.rid, pasid: o.pasid, did: o.did, pfn: o.pfn });
              pc.insert(o.rid, o.pasid, true, false, o.did, 1, false, 0, o.pfn, true);
              break;
            }
            case 'pasid':
              pc.invalidatePasid(o.did, o.pasid);
              drop((e) => e.did === o.did && e.pasid === o.pasid);
              break;
            case 'domain':
              pc.invalidateDomain(o.did);
              drop((e) => e.did === o.did);
              break;
            case 'rid':
              pc.invalidateRid(o.rid);
              drop((e) => e.rid === o.rid);
              break;
            case 'all':
              pc.invalidateAll();
              drop(() => true);
              break;
          }
          expect(pc.valid).toBe(ref.reduce((a, s) => a + s.size, 0));
        }
        expect([pc.hits, pc.evictions]).toEqual([hits, evictions]);
      }),
      { numRuns: 150 },
    );
  });
});
