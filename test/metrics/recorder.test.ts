import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LATENCY_KINDS, LatencyKindIndex } from '../../src/metrics/kinds.js';
import {
  initMetrics,
  LATENCY_MAX_NS,
  LatencyRecorder,
  type LatencySummary,
} from '../../src/metrics/recorder.js';
import { Rng } from '../../src/sim/rng.js';

const ZERO: LatencySummary = { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };

/** Records `n` seeded values, spread over all kinds and many decades, into `recs` round-robin. */
function fill(recs: LatencyRecorder[], seed: number, n: number): void {
  const r = new Rng(seed);
  for (let i = 0; i < n; i++) {
    const kind = r.int(LATENCY_KINDS.length);
    const ns = Math.floor(10 ** (r.next() * 9)); // 1 ns .. 1 s
    recs[i % recs.length]!.record(kind, ns);
  }
}

describe('initMetrics()', () => {
  it('is required before the first recorder, and idempotent', async () => {
    expect(() => new LatencyRecorder()).toThrow(/initMetrics/);
    await Promise.all([initMetrics(), initMetrics()]);
    await initMetrics();
    const r = new LatencyRecorder();
    r.destroy();
  });
});

describe('LatencyRecorder', () => {
  it('summarises an empty kind as all zeros', async () => {
    await initMetrics();
    const r = new LatencyRecorder();
    r.record(LatencyKindIndex['prq.service'], 5000);
    const s = r.summary();
    expect(Object.keys(s)).toEqual([...LATENCY_KINDS]);
    expect(s['ats.translate']).toEqual(ZERO);
    expect(s['prq.service'].count).toBe(1);
    r.destroy();
  });

  it('gives the percentiles of 1..1000 µs uniform within HdrHistogram precision', async () => {
    await initMetrics();
    const r = new LatencyRecorder();
    const k = LatencyKindIndex['job.latency'];
    for (let i = 1; i <= 1000; i++) r.record(k, i * 1000);
    const s = r.summary()['job.latency'];
    const near = (v: number, want: number) => expect(Math.abs(v - want) / want).toBeLessThan(0.001);
    expect(s.count).toBe(1000);
    expect(s.min).toBe(1000); // below 2048 ns values are exact
    near(s.mean, 500_500);
    near(s.p50, 500_000);
    near(s.p90, 900_000);
    near(s.p99, 990_000);
    near(s.p999, 999_000);
    near(s.max, 1_000_000);
    expect(r.count('job.latency')).toBe(1000);
    expect(r.histogram('job.latency').totalCount).toBe(1000);
    r.destroy();
  });

  it('clamps values below 1 ns and above one hour, and throws on NaN', async () => {
    await initMetrics();
    const r = new LatencyRecorder();
    const k = LatencyKindIndex['iommu.walk'];
    r.record(k, 0);
    r.record(k, -5);
    r.record(k, 10 * LATENCY_MAX_NS);
    const s = r.summary()['iommu.walk'];
    expect(s.count).toBe(3);
    expect(s.min).toBe(1);
    expect(s.p50).toBe(1);
    expect(Math.abs(s.max - LATENCY_MAX_NS) / LATENCY_MAX_NS).toBeLessThan(0.001);
    expect(() => r.record(k, Number.NaN)).toThrow(/NaN/);
    r.destroy();
  });

  it('encodes the same values to the same strings whatever the recording order', async () => {
    await initMetrics();
    const a = new LatencyRecorder();
    const b = new LatencyRecorder();
    const values = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 100_003);
    for (const v of values) a.record(LatencyKindIndex['pri.roundtrip'], v);
    for (const v of [...values].reverse()) b.record(LatencyKindIndex['pri.roundtrip'], v);
    expect(b.encode()).toEqual(a.encode());
    expect(Object.keys(a.encode())).toEqual([...LATENCY_KINDS]);
    a.destroy();
    b.destroy();
  });

  it('decodeMerge() of two recorders equals one recorder that saw every value', async () => {
    await initMetrics();
    const all = new LatencyRecorder();
    const a = new LatencyRecorder();
    const b = new LatencyRecorder();
    fill([all], 17, 20_000);
    fill([a, b], 17, 20_000);
    const merged = LatencyRecorder.decodeMerge([a.encode(), b.encode()]);
    expect(merged.summary()).toEqual(all.summary());
    expect(merged.encode()).toEqual(all.encode());
    // in-thread merge agrees too
    a.merge(b);
    expect(a.encode()).toEqual(all.encode());
    for (const r of [all, a, b, merged]) r.destroy();
  });

  it('decodeMerge() equals the single recorder for any split of any values', async () => {
    await initMetrics();
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.integer({ min: 0, max: LATENCY_KINDS.length - 1 }),
            ns: fc.integer({ min: 0, max: 4_000_000_000_000 }),
            part: fc.integer({ min: 0, max: 2 }),
          }),
          { maxLength: 200 },
        ),
        (vals) => {
          const all = new LatencyRecorder();
          const parts = [new LatencyRecorder(), new LatencyRecorder(), new LatencyRecorder()];
          for (const v of vals) {
            all.record(v.kind, v.ns);
            parts[v.part]!.record(v.kind, v.ns);
          }
          const merged = LatencyRecorder.decodeMerge(parts.map((p) => p.encode()));
          try {
            expect(merged.encode()).toEqual(all.encode());
            expect(merged.summary()).toEqual(all.summary());
          } finally {
            for (const r of [all, merged, ...parts]) r.destroy();
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('mergeEncoded() accepts a subset of kinds and rejects unknown ones', async () => {
    await initMetrics();
    const src = new LatencyRecorder();
    src.record(LatencyKindIndex['inv.iotlb'], 700);
    const dst = new LatencyRecorder();
    dst.mergeEncoded({ 'inv.iotlb': src.encode()['inv.iotlb'] });
    dst.mergeEncoded({ 'inv.iotlb': src.encode()['inv.iotlb'] });
    expect(dst.summary()['inv.iotlb']).toMatchObject({ count: 2, min: 700, max: 700 });
    expect(() => dst.mergeEncoded({ 'inv.bogus': 'x' } as never)).toThrow(/unknown latency kind/);
    expect(() => dst.histogram(8)).toThrow(/unknown latency kind/);
    src.destroy();
    dst.destroy();
  });

  it('reset() empties every kind', async () => {
    await initMetrics();
    const r = new LatencyRecorder();
    fill([r], 3, 1000);
    r.reset();
    for (const k of LATENCY_KINDS) expect(r.summary()[k]).toEqual(ZERO);
    r.destroy();
  });
});
