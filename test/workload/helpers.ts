/**
 * A tiny deterministic random source for workload tests (mulberry32), standing in for
 * src/sim/rng.ts so these tests do not depend on it.
 */

import type { RandomSource } from '../../src/workload/index.js';

/** mulberry32: 32-bit state, good enough for distribution sanity checks. */
export class TestRng implements RandomSource {
  private state: number;
  /** Calls made so far, to check what a generator draws. */
  draws = 0;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextU32(): number {
    this.draws++;
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
}

/** Draws `n` values from `next`. */
export function take(next: () => number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(next());
  return out;
}
