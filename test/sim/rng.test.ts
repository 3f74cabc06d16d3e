import { describe, expect, it, vi } from 'vitest';
import { Rng } from '../../src/sim/rng.js';

const N = 100_000;

function draws(r: Rng, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = r.next();
  return out;
}

function correlation(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i]!;
    sy += y[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let cov = 0;
  let vx = 0;
  let vy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    cov += dx * dy;
    vx += dx * dx;
    vy += dy * dy;
  }
  return cov / Math.sqrt(vx * vy);
}

describe('Rng', () => {
  it('gives the same sequence for the same seed and stream', () => {
    const a = new Rng(1234, 5);
    const b = Rng.stream(1234, 5);
    for (let i = 0; i < 1000; i++) expect(a.nextU32()).toBe(b.nextU32());
  });

  it('keeps its golden sequence (the algorithm is part of the determinism contract)', () => {
    // sfc32 seeded by hash4 under four salts + 15 warm-up rounds; changing any of it changes
    // every recorded run, so it must be a deliberate decision.
    const r = new Rng(1, 0);
    expect([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([
      0xaa2c5626, 0xca2eff9c, 0xfce8eb70, 0x9b11e0bf,
    ]);
    const s = new Rng(42, 7);
    expect(s.next()).toBe(0.1381553273713927);
    expect(s.int(1000)).toBe(332);
  });

  it('gives different sequences for neighbouring seeds and streams', () => {
    const seqs = [new Rng(1, 0), new Rng(1, 1), new Rng(2, 0), new Rng(0, 1), new Rng(-1, 0)].map(
      (r) => Array.from({ length: 8 }, () => r.nextU32()).join(','),
    );
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('uses every bit of a 53-bit seed and stream', () => {
    const a = new Rng(2 ** 40, 0).nextU32();
    const b = new Rng(2 ** 40 + 2 ** 32, 0).nextU32();
    const c = new Rng(0, 2 ** 45).nextU32();
    const d = new Rng(0, 0).nextU32();
    expect(new Set([a, b, c, d]).size).toBe(4);
  });

  it('rejects seeds and streams that are not safe integers with code EINVAL', () => {
    expect(() => new Rng(1.5)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => new Rng(Number.NaN)).toThrow(/seed/);
    expect(() => new Rng(1, 2 ** 60)).toThrow(/stream/);
  });

  it('next() is uniform on [0, 1) with the right mean and variance', () => {
    const x = draws(new Rng(7), N);
    let sum = 0;
    let sq = 0;
    let outside = 0;
    for (const v of x) {
      if (!(v >= 0 && v < 1)) outside++;
      sum += v;
      sq += v * v;
    }
    const mean = sum / N;
    expect(outside).toBe(0);
    expect(mean).toBeCloseTo(0.5, 2);
    expect(sq / N - mean * mean).toBeCloseTo(1 / 12, 2);
  });

  it('nextU32() sets every bit half of the time', () => {
    const r = new Rng(99);
    const ones = new Array<number>(32).fill(0);
    let bad = 0;
    for (let i = 0; i < N; i++) {
      const v = r.nextU32();
      if (!(v >= 0 && v < 2 ** 32 && Number.isInteger(v))) bad++;
      for (let bit = 0; bit < 32; bit++) if ((v >>> bit) & 1) ones[bit]!++;
    }
    expect(bad).toBe(0);
    for (const c of ones) expect(Math.abs(c / N - 0.5)).toBeLessThan(0.01);
  });

  it('streams of one seed, and seeds of one stream, are uncorrelated', () => {
    // 100k pairs: the standard error of a correlation is 1/sqrt(N) ≈ 0.0032.
    const pairs: [Rng, Rng][] = [
      [new Rng(1, 0), new Rng(1, 1)],
      [new Rng(1, 41), new Rng(1, 42)],
      [new Rng(1, 3), new Rng(2, 3)],
      [new Rng(0, 0), new Rng(0, 2 ** 32)],
    ];
    for (const [a, b] of pairs)
      expect(Math.abs(correlation(draws(a, N), draws(b, N)))).toBeLessThan(0.015);
    // and consecutive draws of one stream
    const x = draws(new Rng(5, 5), N + 1);
    expect(Math.abs(correlation(x.subarray(0, N), x.subarray(1)))).toBeLessThan(0.015);
  });

  it('int(n) is uniform over [0, n) (chi-square, 10 bins)', () => {
    const r = new Rng(3);
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < N; i++) bins[r.int(10)]!++;
    const expected = N / 10;
    const chi2 = bins.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.88); // df 9, p = 0.001
  });

  it('int(n) has no modulo bias for n close to 2^32', () => {
    // n = 3·2^30: `nextU32() % n` would land below 2^30 half of the time instead of a third.
    const r = new Rng(11);
    const n = 3 * 2 ** 30;
    let low = 0;
    let bad = 0;
    for (let i = 0; i < N; i++) {
      const v = r.int(n);
      if (!(Number.isInteger(v) && v >= 0 && v < n)) bad++;
      if (v < 2 ** 30) low++;
    }
    expect(bad).toBe(0);
    expect(low / N).toBeCloseTo(1 / 3, 2);
  });

  it('int(n) covers n above 2^32 up to 2^53 and rejects bad n', () => {
    const r = new Rng(12);
    let bad = 0;
    for (const n of [2 ** 32 + 1, 2 ** 40 + 3, 2 ** 53]) {
      for (let i = 0; i < 1000; i++) {
        const v = r.int(n);
        if (!(Number.isInteger(v) && v >= 0 && v < n)) bad++;
      }
    }
    expect(bad).toBe(0);
    let high = 0;
    for (let i = 0; i < 10_000; i++) if (r.int(2 ** 40) >= 2 ** 39) high++;
    expect(high / 10_000).toBeCloseTo(0.5, 1);
    expect(r.int(1)).toBe(0);
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53 + 2])
      expect(() => r.int(bad)).toThrow(RangeError);
  });

  it('exponential(mean) is non-negative with the requested mean', () => {
    const r = new Rng(21);
    let sum = 0;
    let aboveMean = 0;
    let bad = 0;
    for (let i = 0; i < N; i++) {
      const v = r.exponential(5000);
      if (!(v >= 0 && Number.isFinite(v))) bad++;
      sum += v;
      if (v > 5000) aboveMean++;
    }
    expect(bad).toBe(0);
    expect(Math.abs(sum / N - 5000)).toBeLessThan(100);
    expect(aboveMean / N).toBeCloseTo(Math.exp(-1), 2);
    expect(r.exponential(0)).toBe(0);
    expect(() => r.exponential(-1)).toThrow(RangeError);
  });

  it('chance(p) is true with probability p', () => {
    const r = new Rng(8);
    let t = 0;
    for (let i = 0; i < N; i++) if (r.chance(0.05)) t++;
    expect(t / N).toBeCloseTo(0.05, 2);
    expect(r.chance(0)).toBe(false);
    expect(r.chance(1)).toBe(true);
  });

  it('never calls Math.random', () => {
    const spy = vi.spyOn(Math, 'random');
    const r = new Rng(1, 2);
    for (let i = 0; i < 100; i++) {
      r.next();
      r.int(7);
      r.exponential(3);
    }
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });
});
