import { describe, expect, it } from 'vitest';
import {
  ANCHOR,
  COST_KEYS,
  type CostParams,
  defaultCost,
  describeCost,
  type LatencyBucket,
  resolveCost,
  sampleBuckets,
  sampleFaultServiceNs,
  sampleInvDevtlbNs,
  sampleInvIotlbNs,
} from '../../src/sim/cost-model.js';
import { Rng } from '../../src/sim/rng.js';

const N = 100_000;

function sample(fn: (c: CostParams, r: Rng) => number, seed = 1, cost = defaultCost): number[] {
  const r = new Rng(seed, 9);
  return Array.from({ length: N }, () => fn(cost, r));
}

function fraction(xs: number[], lo: number, hi: number): number {
  return xs.filter((x) => x >= lo && x < hi).length / xs.length;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function expectEinval(fn: () => unknown, ...fragments: (string | RegExp)[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(Error);
  expect((err as { code?: string }).code).toBe('EINVAL');
  for (const f of fragments) expect((err as Error).message).toMatch(f);
}

describe('defaultCost', () => {
  it('is valid, frozen and lists every knob', () => {
    expect(resolveCost({})).toEqual(defaultCost);
    expect(resolveCost({ ...defaultCost })).toEqual(defaultCost);
    expect(Object.keys(defaultCost)).toEqual([...COST_KEYS]);
    expect(Object.isFrozen(defaultCost)).toBe(true);
    expect(Object.isFrozen(defaultCost.faultServiceBuckets)).toBe(true);
    expect(Object.isFrozen(defaultCost.faultServiceBuckets[0])).toBe(true);
    for (const k of COST_KEYS) {
      const v = defaultCost[k];
      if (typeof v === 'number' && k.endsWith('Ns')) expect(Number.isInteger(v)).toBe(true);
    }
  });

  it('reproduces the PCIe round trip at an IOTLB hit (546–560 ns)', () => {
    const c = defaultCost;
    const rt = 2 * c.pcieLatencyNs + c.iotlbLookupNs + c.memReadNs + 64 / c.dmaBytesPerNs;
    expect(rt).toBeGreaterThanOrEqual(546);
    expect(rt).toBeLessThanOrEqual(560);
  });

  it('reproduces the IOTLB miss penalty, hit rate and thrash throughput', () => {
    const c = defaultCost;
    expect(c.walkLevelNs).toBeGreaterThanOrEqual(230);
    expect(c.walkLevelNs).toBeLessThanOrEqual(280);
    expect(1e9 / c.iotlbLookupNs / 63.3e6).toBeCloseTo(1, 1);
    expect((c.walkers / c.walkLevelNs) * 1e9).toBeGreaterThan(19.2e6 * 0.97);
    expect((c.walkers / c.walkLevelNs) * 1e9).toBeLessThan(19.2e6 * 1.03);
  });

  it('keeps the IRQ latency in the low microseconds', () => {
    expect(defaultCost.irqLatencyNs).toBeGreaterThanOrEqual(1000);
    expect(defaultCost.irqLatencyNs).toBeLessThan(10_000);
    expect(defaultCost.prqInvalidNs).toBeLessThan(1000);
  });
});

describe('resolveCost()', () => {
  it('applies overrides and keeps the other defaults', () => {
    const buckets = [{ weight: 1, minNs: 5, maxNs: 5 }];
    const c = resolveCost({ pcieLatencyNs: 100, walkers: 2, faultServiceBuckets: buckets });
    expect(c.pcieLatencyNs).toBe(100);
    expect(c.walkers).toBe(2);
    expect(c.faultServiceBuckets).toEqual(buckets);
    expect(c.faultServiceBuckets).not.toBe(buckets);
    expect(Object.isFrozen(c)).toBe(true);
    expect(c.memReadNs).toBe(defaultCost.memReadNs);
    expect(resolveCost({ memReadNs: undefined }).memReadNs).toBe(defaultCost.memReadNs);
    expect(resolveCost({ dmaBytesPerNs: 0.5 }).dmaBytesPerNs).toBe(0.5);
    expect(resolveCost({ irqLatencyNs: 0 }).irqLatencyNs).toBe(0);
  });

  it('rejects an unknown key naming it and listing the allowed keys', () => {
    expectEinval(() => resolveCost({ pcieLatency: 3 }), /cost\.pcieLatency\b/, /allowed keys/);
    expectEinval(() => resolveCost({ pcieLatency: 3 }), ...COST_KEYS);
    expectEinval(() => resolveCost({ toString: 3 }), /cost\.toString/);
  });

  it('rejects non-numbers, negatives, fractional ns and impossible counts', () => {
    expectEinval(() => resolveCost({ memReadNs: '90' }), /cost\.memReadNs/, /number/);
    expectEinval(() => resolveCost({ memReadNs: null }), /cost\.memReadNs/);
    expectEinval(() => resolveCost({ memReadNs: Number.NaN }), /cost\.memReadNs/);
    expectEinval(() => resolveCost({ memReadNs: Number.POSITIVE_INFINITY }), /cost\.memReadNs/);
    expectEinval(() => resolveCost({ walkLevelNs: -1 }), /cost\.walkLevelNs/, /negative/);
    expectEinval(() => resolveCost({ walkLevelNs: 2.5 }), /cost\.walkLevelNs/, /integer/);
    expectEinval(() => resolveCost({ walkers: 0 }), /cost\.walkers/);
    expectEinval(() => resolveCost({ walkers: 1.5 }), /cost\.walkers/);
    expectEinval(() => resolveCost({ dmaBytesPerNs: 0 }), /cost\.dmaBytesPerNs/);
    expectEinval(() => resolveCost(5 as unknown as Record<string, unknown>), /cost must be/);
  });

  it('rejects malformed bucket lists naming the bucket and field', () => {
    const ok = { weight: 1, minNs: 100, maxNs: 200 };
    expectEinval(() => resolveCost({ invIotlbBuckets: [] }), /cost\.invIotlbBuckets/);
    expectEinval(() => resolveCost({ invIotlbBuckets: 7 }), /cost\.invIotlbBuckets/);
    expectEinval(() => resolveCost({ invIotlbBuckets: [ok, 3] }), /invIotlbBuckets\[1\]/);
    expectEinval(
      () => resolveCost({ invIotlbBuckets: [{ ...ok, weight: -1 }] }),
      /invIotlbBuckets\[0\]\.weight/,
    );
    expectEinval(
      () => resolveCost({ invIotlbBuckets: [{ ...ok, minNs: 0 }] }),
      /invIotlbBuckets\[0\]\.minNs/,
    );
    expectEinval(
      () => resolveCost({ invIotlbBuckets: [{ ...ok, maxNs: 50 }] }),
      /invIotlbBuckets\[0\]\.maxNs/,
    );
    expectEinval(
      () => resolveCost({ invIotlbBuckets: [{ ...ok, meanNs: 5 }] }),
      /invIotlbBuckets\[0\]\.meanNs/,
    );
    expectEinval(
      () => resolveCost({ invIotlbBuckets: [{ ...ok, weight: 0 }] }),
      /invIotlbBuckets/,
      /weights/,
    );
  });
});

describe('sampleFaultServiceNs()', () => {
  const xs = sample(sampleFaultServiceNs);
  const largest = Math.max(...defaultCost.faultServiceBuckets.map((b) => b.maxNs));

  it('has ≥ 95 % of the mass in [1 µs, 10 µs), like svm_prq', () => {
    expect(fraction(xs, 1000, 10_000)).toBeGreaterThanOrEqual(0.95);
    expect(fraction(xs, 1000, 10_000)).toBeCloseTo(0.971, 2);
    expect(fraction(xs, 10_000, 100_000)).toBeCloseTo(0.014, 2);
    expect(fraction(xs, 100_000, 1_000_000)).toBeCloseTo(0.015, 2);
  });

  it('has a tail above 100 µs, a mean near 9 µs and nothing past the largest bound', () => {
    expect(xs.some((x) => x > 100_000)).toBe(true);
    expect(mean(xs)).toBeGreaterThan(6000);
    expect(mean(xs)).toBeLessThan(12_000);
    expect(mean(xs) / 9000).toBeCloseTo(1, 1);
    expect(Math.max(...xs)).toBeLessThanOrEqual(largest);
    expect(largest).toBeLessThanOrEqual(560_000);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1000);
    expect(xs.every(Number.isInteger)).toBe(true);
  });

  it('is deterministic for a fixed seed', () => {
    expect(sample(sampleFaultServiceNs, 1)).toEqual(xs);
    expect(sample(sampleFaultServiceNs, 2)).not.toEqual(xs);
  });
});

describe('sampleInvIotlbNs() / sampleInvDevtlbNs()', () => {
  it('puts 70 % / 30 % of IOTLB invalidations in 0.1–1 µs / 1–2 µs', () => {
    const xs = sample(sampleInvIotlbNs);
    expect(fraction(xs, 100, 1000)).toBeCloseTo(0.7, 2);
    expect(fraction(xs, 1000, 2001)).toBeCloseTo(0.3, 2);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...xs)).toBeLessThanOrEqual(2000);
    expect(mean(xs)).toBeLessThan(1000);
  });

  it('puts 68 % / 32 % of device-TLB invalidations in 0.1–1 µs / 1–2 µs', () => {
    const xs = sample(sampleInvDevtlbNs);
    expect(fraction(xs, 100, 1000)).toBeCloseTo(0.675, 2);
    expect(fraction(xs, 1000, 2001)).toBeCloseTo(0.325, 2);
    expect(Math.max(...xs)).toBeLessThanOrEqual(2000);
    expect(mean(xs)).toBeLessThan(1000);
  });

  it('is deterministic for a fixed seed', () => {
    expect(sample(sampleInvIotlbNs, 4)).toEqual(sample(sampleInvIotlbNs, 4));
    expect(sample(sampleInvDevtlbNs, 4)).toEqual(sample(sampleInvDevtlbNs, 4));
  });
});

describe('sampleBuckets()', () => {
  it('returns minNs for a degenerate bucket and never picks a zero-weight bucket', () => {
    const r = new Rng(3);
    const buckets: LatencyBucket[] = [
      { weight: 0, minNs: 1, maxNs: 1 },
      { weight: 2, minNs: 700, maxNs: 700 },
      { weight: 0, minNs: 9, maxNs: 9 },
    ];
    for (let i = 0; i < 1000; i++) expect(sampleBuckets(buckets, r)).toBe(700);
  });

  it('stays within [minNs, maxNs] and is log-uniform inside a bucket', () => {
    const r = new Rng(4);
    const b = [{ weight: 1, minNs: 10, maxNs: 9999 }];
    const xs = Array.from({ length: N }, () => sampleBuckets(b, r));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...xs)).toBeLessThanOrEqual(9999);
    // equal mass per decade
    expect(fraction(xs, 10, 100)).toBeCloseTo(1 / 3, 1);
    expect(fraction(xs, 100, 1000)).toBeCloseTo(1 / 3, 1);
  });
});

describe('describeCost()', () => {
  it('has one row per knob, in order, each citing an ANCHORS.md row', () => {
    const rows = describeCost();
    expect(rows.map((r) => r.key)).toEqual([...COST_KEYS]);
    const anchors = new Set<string>(Object.values(ANCHOR));
    for (const row of rows) {
      expect(anchors.has(row.anchor)).toBe(true);
      expect(row.unit.length).toBeGreaterThan(0);
    }
    expect(rows.find((r) => r.key === 'pcieLatencyNs')?.value).toBe(220);
    expect(rows.find((r) => r.key === 'invIotlbBuckets')?.value).toBe(
      '69.9% 100–1000, 30.1% 1000–2000',
    );
  });

  it('describes an overridden model', () => {
    const rows = describeCost(resolveCost({ walkers: 9 }));
    expect(rows.find((r) => r.key === 'walkers')?.value).toBe(9);
  });
});
