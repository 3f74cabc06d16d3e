import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createPattern,
  DEFAULT_ZIPF_THETA,
  type PatternSpec,
  zipfCdf,
} from '../../src/workload/index.js';
import { TestRng, take } from './helpers.js';

const SPECS: readonly PatternSpec[] = [
  { kind: 'sequential' },
  { kind: 'strided', stride: 3 },
  { kind: 'strided', stride: 16 },
  { kind: 'uniform' },
  { kind: 'zipf' },
  { kind: 'zipf', theta: 0.5, permute: true },
];

function counts(values: readonly number[], pages: number): number[] {
  const c = new Array<number>(pages).fill(0);
  for (const v of values) c[v]!++;
  return c;
}

function harmonic(pages: number, theta: number): number {
  let h = 0;
  for (let k = 1; k <= pages; k++) h += k ** -theta;
  return h;
}

describe('createPattern()', () => {
  it('gives the same pages for the same seed', () => {
    for (const spec of SPECS) {
      const a = createPattern(spec, 256, new TestRng(7));
      const b = createPattern(spec, 256, new TestRng(7));
      expect(take(() => a.next(), 2000)).toEqual(take(() => b.next(), 2000));
    }
  });

  it('gives different pages for different seeds (random kinds)', () => {
    for (const spec of SPECS.filter((s) => s.kind === 'uniform' || s.kind === 'zipf')) {
      const a = createPattern(spec, 256, new TestRng(1));
      const b = createPattern(spec, 256, new TestRng(2));
      expect(take(() => a.next(), 200)).not.toEqual(take(() => b.next(), 200));
    }
  });

  it('stays within [0, pages) for every kind and size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.constantFrom(...SPECS),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (pages, spec, seed) => {
          const p = createPattern(spec, pages, new TestRng(seed));
          expect(p.pages).toBe(pages);
          for (let i = 0; i < 3 * pages + 5; i++) {
            const v = p.next();
            expect(Number.isInteger(v) && v >= 0 && v < pages).toBe(true);
          }
        },
      ),
    );
  });

  it('sequential counts up and wraps', () => {
    const p = createPattern({ kind: 'sequential' }, 4, new TestRng(1));
    expect(take(() => p.next(), 10)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
  });

  it('sequential and strided draw nothing from the random source', () => {
    const rng = new TestRng(1);
    const s = createPattern({ kind: 'sequential' }, 64, rng);
    const t = createPattern({ kind: 'strided', stride: 8 }, 64, rng);
    take(() => s.next() + t.next(), 500);
    expect(rng.draws).toBe(0);
  });

  it('strided visits i * stride mod pages when the stride is coprime', () => {
    const p = createPattern({ kind: 'strided', stride: 3 }, 10, new TestRng(1));
    expect(take(() => p.next(), 11)).toEqual([0, 3, 6, 9, 2, 5, 8, 1, 4, 7, 0]);
  });

  it('strided shifts the start by one page each lap when gcd(stride, pages) > 1', () => {
    const p = createPattern({ kind: 'strided', stride: 4 }, 8, new TestRng(1));
    expect(take(() => p.next(), 10)).toEqual([0, 4, 1, 5, 2, 6, 3, 7, 0, 4]);
  });

  it('strided with a multiple of pages as stride degenerates to sequential', () => {
    const p = createPattern({ kind: 'strided', stride: 12 }, 6, new TestRng(1));
    expect(take(() => p.next(), 7)).toEqual([0, 1, 2, 3, 4, 5, 0]);
  });

  it('strided covers every page exactly once per `pages` calls, periodically', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 1000 }),
        (pages, stride) => {
          const p = createPattern({ kind: 'strided', stride }, pages, new TestRng(1));
          const first = take(() => p.next(), pages);
          expect([...first].sort((a, b) => a - b)).toEqual([...Array(pages).keys()]);
          expect(take(() => p.next(), pages)).toEqual(first);
        },
      ),
    );
  });

  it('uniform passes a chi-square test', () => {
    const pages = 16;
    const n = 32_000;
    const p = createPattern({ kind: 'uniform' }, pages, new TestRng(42));
    const c = counts(
      take(() => p.next(), n),
      pages,
    );
    const expected = n / pages;
    const chi2 = c.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
    // chi-square, 15 degrees of freedom: P(X > 37.70) = 0.001
    expect(chi2).toBeLessThan(37.7);
  });

  it('zipf draws rank 0 with probability 1 / H(pages, theta)', () => {
    const pages = 100;
    const n = 100_000;
    const p = createPattern({ kind: 'zipf' }, pages, new TestRng(3));
    const c = counts(
      take(() => p.next(), n),
      pages,
    );
    const p0 = 1 / harmonic(pages, DEFAULT_ZIPF_THETA);
    const sigma = Math.sqrt(n * p0 * (1 - p0));
    expect(Math.abs(c[0]! - n * p0)).toBeLessThan(4 * sigma);
    const p9 = 10 ** -DEFAULT_ZIPF_THETA * p0;
    expect(Math.abs(c[9]! - n * p9)).toBeLessThan(4 * Math.sqrt(n * p9));
    expect(c[0]!).toBeGreaterThan(c[1]!);
    expect(c[1]!).toBeGreaterThan(c[10]!);
  });

  it('zipf with theta 1 and theta 0 follows the table (0 is uniform)', () => {
    expect(zipfCdf(4, 0)).toEqual(new Float64Array([0.25, 0.5, 0.75, 1]));
    const cdf = zipfCdf(3, 1); // weights 1, 1/2, 1/3; H = 11/6
    expect(cdf[0]).toBeCloseTo(6 / 11, 12);
    expect(cdf[1]).toBeCloseTo(9 / 11, 12);
    expect(cdf[2]).toBe(1);
  });

  it('zipf with permute scatters the ranks through a fixed seeded permutation', () => {
    const pages = 64;
    const n = 50_000;
    const hot = (seed: number): { top: number[]; max: number } => {
      const p = createPattern({ kind: 'zipf', permute: true }, pages, new TestRng(seed));
      const c = counts(
        take(() => p.next(), n),
        pages,
      );
      const order = [...c.keys()].sort((a, b) => c[b]! - c[a]!);
      return { top: order.slice(0, 4), max: c[order[0]!]! };
    };
    const a = hot(5);
    // the hottest page still carries rank 0's share
    const p0 = 1 / harmonic(pages, DEFAULT_ZIPF_THETA);
    expect(Math.abs(a.max - n * p0)).toBeLessThan(4 * Math.sqrt(n * p0));
    // the hot set is not the first pages, and the same seed gives the same hot set
    expect(a.top).not.toEqual([0, 1, 2, 3]);
    expect(hot(5).top).toEqual(a.top);
    expect(hot(6).top).not.toEqual(a.top);
  });

  it('rejects bad page counts, strides, thetas and kinds with EINVAL', () => {
    const rng = new TestRng(1);
    const bad: [PatternSpec, number, RegExp][] = [
      [{ kind: 'uniform' }, 0, /pages must be an integer/],
      [{ kind: 'uniform' }, 2.5, /pages must be an integer/],
      [{ kind: 'strided', stride: 0 }, 8, /stride must be a positive integer/],
      [{ kind: 'strided', stride: 1.5 }, 8, /stride must be a positive integer/],
      [{ kind: 'zipf', theta: -1 }, 8, /theta must be a finite number/],
      [{ kind: 'zipf', theta: Number.NaN }, 8, /theta must be a finite number/],
      [{ kind: 'hot' } as unknown as PatternSpec, 8, /unknown kind "hot"/],
    ];
    for (const [spec, pages, message] of bad) {
      expect(() => createPattern(spec, pages, rng)).toThrow(message);
      try {
        createPattern(spec, pages, rng);
      } catch (err) {
        expect((err as { code?: string }).code).toBe('EINVAL');
      }
    }
  });
});
