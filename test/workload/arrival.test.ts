import { describe, expect, it } from 'vitest';
import { closedLoop, openLoop } from '../../src/workload/index.js';
import { TestRng, take } from './helpers.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('closedLoop()', () => {
  it('fills the queue depth first, then refills one job per completion', () => {
    const loop = closedLoop(16);
    expect(loop.queueDepth).toBe(16);
    expect(loop.submitCount()).toBe(16);
    expect(loop.outstanding).toBe(16);
    expect(loop.submitCount(0)).toBe(0);
    expect(loop.submitCount(3)).toBe(3);
    expect(loop.submitCount(16)).toBe(16);
    expect(loop.outstanding).toBe(16);
  });

  it('throws when more completions are reported than jobs are outstanding', () => {
    const loop = closedLoop(2);
    expect(() => loop.submitCount(1)).toThrow(/1 completions reported with 0 outstanding/);
    loop.submitCount();
    expect(() => loop.submitCount(3)).toThrow(/closed loop invariant/);
    expect(() => loop.submitCount(-1)).toThrow(/closed loop invariant/);
  });

  it('rejects a queue depth that is not a positive integer with EINVAL', () => {
    expect(codeOf(() => closedLoop(0))).toBe('EINVAL');
    expect(codeOf(() => closedLoop(1.5))).toBe('EINVAL');
    expect(() => closedLoop(-4)).toThrow(/queueDepth must be a positive integer, got -4/);
  });
});

describe('openLoop()', () => {
  it('gives fixed integer gaps with { poisson: false }', () => {
    const loop = openLoop(200_000, undefined, { poisson: false });
    expect(loop.poisson).toBe(false);
    expect(loop.meanGapNs).toBe(5000);
    expect(take(() => loop.nextGapNs(), 5)).toEqual([5000, 5000, 5000, 5000, 5000]);
  });

  it('carries fractional ns so fixed gaps keep the exact long-run rate', () => {
    const loop = openLoop(3, undefined, { poisson: false });
    const gaps = take(() => loop.nextGapNs(), 3000);
    for (const g of gaps) expect(g === 333_333_333 || g === 333_333_334).toBe(true);
    const total = gaps.reduce((s, g) => s + g, 0);
    expect(Math.abs(total - 1_000_000_000_000)).toBeLessThanOrEqual(1);
  });

  it('gives integer exponential gaps with the mean 1e9 / rate', () => {
    const loop = openLoop(200_000, new TestRng(9));
    expect(loop.poisson).toBe(true);
    const n = 40_000;
    const gaps = take(() => loop.nextGapNs(), n);
    expect(gaps.every((g) => Number.isInteger(g) && g >= 0)).toBe(true);
    const mean = gaps.reduce((s, g) => s + g, 0) / n;
    // exponential: sd = mean, so the sample mean is within 4 * 5000 / sqrt(n) = 100 ns
    expect(Math.abs(mean - 5000)).toBeLessThan(100);
    const cv = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / n) / mean;
    expect(cv).toBeGreaterThan(0.95);
    expect(cv).toBeLessThan(1.05);
  });

  it('is deterministic for a seed', () => {
    const a = openLoop(1e6, new TestRng(4));
    const b = openLoop(1e6, new TestRng(4));
    expect(take(() => a.nextGapNs(), 1000)).toEqual(take(() => b.nextGapNs(), 1000));
  });

  it('rejects a non-positive rate and Poisson without a random source with EINVAL', () => {
    expect(codeOf(() => openLoop(0, new TestRng(1)))).toBe('EINVAL');
    expect(codeOf(() => openLoop(-5, new TestRng(1)))).toBe('EINVAL');
    expect(codeOf(() => openLoop(Number.NaN, new TestRng(1)))).toBe('EINVAL');
    expect(codeOf(() => openLoop(Number.POSITIVE_INFINITY, new TestRng(1)))).toBe('EINVAL');
    expect(() => openLoop(100)).toThrow(/need a random source/);
    expect(codeOf(() => openLoop(100))).toBe('EINVAL');
  });
});
