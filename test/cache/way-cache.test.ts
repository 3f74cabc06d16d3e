import { describe, expect, it } from 'vitest';
import { type CacheParams, WayCache } from '../../src/cache/index.js';

/** A minimal cache keyed by (did, pasid, key) in one set per `key mod sets`. */
class KeyCache extends WayCache<CacheParams> {
  private readonly key = new Int32Array(this.params.entries);
  constructor(params: CacheParams) {
    super(params, params.entries / params.assoc, undefined);
  }
  lookup(did: number, pasid: number, key: number): number {
    const base = (key % (this.params.entries / this.assoc)) * this.assoc;
    for (let e = base; e < base + this.assoc; e++) {
      if (this.validBits[e] === 1 && this.key[e] === key && this.did[e] === did) {
        if (this.pasid[e] !== pasid) continue;
        this.ways.touch(e);
        this.hits++;
        return e;
      }
    }
    this.misses++;
    return -1;
  }
  insert(did: number, pasid: number, key: number): number {
    const set = key % (this.params.entries / this.assoc);
    const base = set * this.assoc;
    let match = -1;
    for (let e = base; e < base + this.assoc; e++) {
      if (this.validBits[e] !== 1 || this.key[e] !== key || this.did[e] !== did) continue;
      if (this.pasid[e] === pasid) match = e;
    }
    const e = this.claim(set, match);
    this.did[e] = did;
    this.pasid[e] = pasid;
    this.key[e] = key;
    return e;
  }
}

describe('WayCache.claim()', () => {
  it('renews the matching entry without an eviction, else fills a free way, else a victim', () => {
    const c = new KeyCache({ entries: 2, assoc: 2, policy: 'lru' });
    const a = c.insert(1, 1, 10);
    const b = c.insert(1, 1, 20);
    expect([a, b]).toEqual([0, 1]);
    expect(c.insert(1, 1, 10)).toBe(a); // same key: renewed, so 20 is now the oldest
    expect([c.valid, c.evictions]).toEqual([2, 0]);
    expect(c.insert(1, 1, 30)).toBe(b);
    expect([c.valid, c.evictions]).toEqual([2, 1]);
    expect([c.lookup(1, 1, 10), c.lookup(1, 1, 20)]).toEqual([a, -1]);
    expect([c.hits, c.misses]).toEqual([1, 1]);
  });
});

describe('WayCache invalidations', () => {
  it('invalidatePasid() drops only (did, pasid); invalidateDomain() every PASID of did', () => {
    const c = new KeyCache({ entries: 8, assoc: 8, policy: 'lru' });
    c.insert(1, 5, 1);
    c.insert(1, 6, 2);
    c.insert(2, 5, 3);
    c.invalidatePasid(1, 5);
    expect([c.lookup(1, 5, 1), c.lookup(1, 6, 2) >= 0, c.lookup(2, 5, 3) >= 0]).toEqual([
      -1,
      true,
      true,
    ]);
    c.invalidateDomain(1);
    expect([c.lookup(1, 6, 2), c.lookup(2, 5, 3) >= 0]).toEqual([-1, true]);
    expect([c.valid, c.invalidated]).toEqual([1, 2]);
  });

  it('invalidateAll() drops everything and counts it, keeping the other counters', () => {
    const c = new KeyCache({ entries: 4, assoc: 2, policy: 'fifo' });
    for (let k = 0; k < 3; k++) c.insert(0, 0, k);
    c.lookup(0, 0, 0);
    c.invalidateAll();
    expect([c.valid, c.invalidated, c.hits, c.misses]).toEqual([0, 3, 1, 0]);
  });
});
