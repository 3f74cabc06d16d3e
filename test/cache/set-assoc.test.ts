import { describe, expect, it } from 'vitest';
import { modPow2, SetAssocWays } from '../../src/cache/index.js';

describe('modPow2()', () => {
  it('equals % for page numbers above 2^32 and powers of two up to 512', () => {
    for (const x of [0, 1, 511, 512, 2 ** 32 + 7, 2 ** 52 - 1]) {
      for (const m of [1, 2, 8, 512]) expect(modPow2(x, m)).toBe(x % m);
    }
  });
});

describe('SetAssocWays', () => {
  it('fills invalid ways first, lowest index first', () => {
    const w = new SetAssocWays(2, 4, 'lru');
    expect(w.victim(1)).toBe(4);
    w.fill(4);
    expect(w.victim(1)).toBe(5);
    expect([w.validCount, w.evictions]).toEqual([1, 0]);
  });

  it('LRU: a touch protects a way; FIFO: it does not', () => {
    for (const [policy, victim] of [
      ['lru', 1],
      ['fifo', 0],
    ] as const) {
      const w = new SetAssocWays(1, 2, policy);
      w.fill(0);
      w.fill(1);
      w.touch(0);
      expect(w.replace(0)).toBe(victim);
    }
  });

  it('counts an eviction when a fill replaces a valid way, and drops as invalidations', () => {
    const w = new SetAssocWays(1, 2, 'lru');
    w.fill(0);
    w.fill(1);
    w.fill(0); // a victim refilled with another tag
    expect([w.validCount, w.evictions, w.dropped]).toEqual([2, 1, 0]);
    w.drop(1);
    w.drop(1); // already invalid: not counted twice
    expect([w.validCount, w.dropped]).toEqual([1, 1]);
    w.clear();
    expect([w.validCount, w.dropped]).toEqual([0, 2]);
  });

  it('random: takes the way the injected rng picks and refuses a value outside [0, 1)', () => {
    const values = [0.6, 1];
    const w = new SetAssocWays(1, 4, 'random', () => values.shift()!);
    expect(w.replace(0)).toBe(2); // floor(0.6 × 4)
    expect(() => w.replace(0)).toThrow(/outside \[0, 1\)/);
    expect(() => new SetAssocWays(1, 4, 'random')).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
  });

  it('dropTagged() drops by did, or by (did, pasid)', () => {
    const w = new SetAssocWays(1, 4, 'lru');
    const did = Int32Array.of(1, 1, 2, 1);
    const pasid = Int32Array.of(5, 6, 5, 5);
    for (let e = 0; e < 4; e++) w.fill(e);
    w.dropTagged(did, 1, pasid, 5);
    expect([...w.valid]).toEqual([0, 1, 1, 0]);
    w.dropTagged(did, 1, null, 0);
    expect([...w.valid]).toEqual([0, 0, 1, 0]);
  });
});
