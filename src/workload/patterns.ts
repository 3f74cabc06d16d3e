/**
 * Access patterns of the workload (DESIGN §1 Workload row): which page of a client buffer the
 * next job touches. Each generator returns page indexes in [0, pages) from a seeded random
 * source, allocates nothing per call and is deterministic for a given seed and stream.
 *
 * - `sequential`: 0, 1, …, pages − 1, then wraps to 0.
 * - `strided`: 0, s, 2s, … mod pages. When g = gcd(s, pages) > 1 one lap only reaches
 *   pages / g pages, so each new lap starts one page later (0, then 1, … then g − 1, then 0
 *   again): every run of `pages` calls visits every page exactly once.
 * - `uniform`: independent uniform pages (`rng.int(pages)`).
 * - `zipf`: rank k (0-based) drawn with probability ∝ 1 / (k + 1)^theta from a precomputed
 *   cumulative table (binary search, exact for any theta ≥ 0 including 1; theta 0 is
 *   uniform). Rank 0 is the hottest. By default rank k is page k, so the hot pages sit at the
 *   start of the buffer; with `permute: true` the ranks are mapped through a Fisher–Yates
 *   permutation drawn from the same random source when the pattern is created (so the hot
 *   set is scattered, fixed for the pattern's life, and still determined by the seed).
 *
 * Not modelled: page-crossing within a job (the caller turns a page into an address range),
 * mixtures of patterns, phase changes, and the Gray et al. O(1) zipf approximation (the table
 * costs 8 bytes per page and O(log pages) per draw).
 */

import { codedError, ErrorCode } from '../errors.js';

/** The random source the generators draw from (the API of `src/sim/rng.ts`'s `Rng`). */
export interface RandomSource {
  /** A uniform double in [0, 1). */
  next(): number;
  /** A uniform integer in [0, n). */
  int(n: number): number;
  /** An exponentially distributed double with the given mean. */
  exponential(mean: number): number;
}

/** The access pattern names (DESIGN §5 `workload.pattern`). */
export const PatternKind = {
  SEQUENTIAL: 'sequential',
  STRIDED: 'strided',
  UNIFORM: 'uniform',
  ZIPF: 'zipf',
} as const;

/** One of the access pattern names. */
export type PatternKind = (typeof PatternKind)[keyof typeof PatternKind];

/** Zipf skew used when a spec gives none (the YCSB constant). */
export const DEFAULT_ZIPF_THETA = 0.99;

/** What to generate: the pattern and its parameters (`stride` in pages). */
export type PatternSpec =
  | { readonly kind: 'sequential' }
  | { readonly kind: 'strided'; readonly stride: number }
  | { readonly kind: 'uniform' }
  | { readonly kind: 'zipf'; readonly theta?: number; readonly permute?: boolean };

/** A generator of page indexes in [0, pages). */
export interface AccessPattern {
  /** The number of pages the pattern ranges over. */
  readonly pages: number;
  /** The next page index, in [0, pages). */
  next(): number;
}

function invalid(message: string): Error & { code: 'EINVAL' } {
  return codedError(ErrorCode.EINVAL, message);
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

class SequentialPattern implements AccessPattern {
  readonly pages: number;
  private page = 0;

  constructor(pages: number) {
    this.pages = pages;
  }

  next(): number {
    const p = this.page;
    this.page = p + 1 === this.pages ? 0 : p + 1;
    return p;
  }
}

class StridedPattern implements AccessPattern {
  readonly pages: number;
  private readonly stride: number;
  private readonly lapPages: number;
  private readonly laps: number;
  private lapStart = 0;
  private step = 0;
  private page = 0;

  constructor(pages: number, stride: number) {
    this.pages = pages;
    this.stride = stride % pages;
    this.laps = gcd(this.stride, pages); // gcd(0, pages) = pages: one page per lap
    this.lapPages = pages / this.laps;
  }

  next(): number {
    const p = this.page;
    if (++this.step === this.lapPages) {
      this.step = 0;
      this.lapStart = this.lapStart + 1 === this.laps ? 0 : this.lapStart + 1;
      this.page = this.lapStart;
    } else {
      const q = p + this.stride;
      this.page = q >= this.pages ? q - this.pages : q;
    }
    return p;
  }
}

class UniformPattern implements AccessPattern {
  readonly pages: number;
  private readonly rng: RandomSource;

  constructor(pages: number, rng: RandomSource) {
    this.pages = pages;
    this.rng = rng;
  }

  next(): number {
    return this.rng.int(this.pages);
  }
}

class ZipfPattern implements AccessPattern {
  readonly pages: number;
  private readonly rng: RandomSource;
  /** cdf[k] = P(rank ≤ k); the last entry is exactly 1. */
  private readonly cdf: Float64Array;
  /** Page of each rank, or null for the identity. */
  private readonly pageOfRank: Uint32Array | null;

  constructor(pages: number, theta: number, permute: boolean, rng: RandomSource) {
    this.pages = pages;
    this.rng = rng;
    this.cdf = zipfCdf(pages, theta);
    if (permute) {
      const perm = new Uint32Array(pages);
      for (let i = 0; i < pages; i++) perm[i] = i;
      for (let i = pages - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
      }
      this.pageOfRank = perm;
    } else {
      this.pageOfRank = null;
    }
  }

  next(): number {
    const u = this.rng.next();
    const cdf = this.cdf;
    // smallest k with u < cdf[k]
    let lo = 0;
    let hi = this.pages - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (u < cdf[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return this.pageOfRank === null ? lo : this.pageOfRank[lo]!;
  }
}

/**
 * The cumulative zipf distribution over `pages` ranks: entry k is P(rank ≤ k) with
 * P(rank = k) = (k + 1)^−theta / H(pages, theta); the last entry is exactly 1.
 */
export function zipfCdf(pages: number, theta: number): Float64Array {
  const cdf = new Float64Array(pages);
  let sum = 0;
  for (let k = 0; k < pages; k++) {
    sum += (k + 1) ** -theta;
    cdf[k] = sum;
  }
  for (let k = 0; k < pages; k++) cdf[k] = cdf[k]! / sum;
  cdf[pages - 1] = 1;
  return cdf;
}

/**
 * Creates the access pattern `spec` over `pages` pages, drawing from `rng` (sequential and
 * strided draw nothing; a permuted zipf draws its permutation here). Throws `EINVAL` for a
 * non-positive page count, a stride that is not a positive integer or a bad theta.
 */
export function createPattern(spec: PatternSpec, pages: number, rng: RandomSource): AccessPattern {
  if (!Number.isInteger(pages) || pages < 1 || pages > 0xffff_ffff) {
    throw invalid(`access pattern: pages must be an integer 1..2^32-1, got ${pages}`);
  }
  switch (spec.kind) {
    case 'sequential':
      return new SequentialPattern(pages);
    case 'strided':
      if (!Number.isSafeInteger(spec.stride) || spec.stride < 1) {
        throw invalid(
          `strided pattern: stride must be a positive integer of pages, got ${spec.stride}`,
        );
      }
      return new StridedPattern(pages, spec.stride);
    case 'uniform':
      return new UniformPattern(pages, rng);
    case 'zipf': {
      const theta = spec.theta ?? DEFAULT_ZIPF_THETA;
      if (!Number.isFinite(theta) || theta < 0) {
        throw invalid(`zipf pattern: theta must be a finite number ≥ 0, got ${theta}`);
      }
      return new ZipfPattern(pages, theta, spec.permute ?? false, rng);
    }
    default: {
      const kind: unknown = (spec as { kind: unknown }).kind;
      throw invalid(
        `access pattern: unknown kind ${JSON.stringify(kind)}; expected one of ` +
          Object.values(PatternKind).join(', '),
      );
    }
  }
}
