/**
 * Geometry and replacement policy of a set-associative cache, with the validation every cache
 * of the simulator applies to its params (gem5 `SMMUv3.py` style knobs: `entries`, `assoc`,
 * `policy`).
 *
 * Not modelled: per-way partitioning, non-power-of-two set counts.
 */

/** Replacement policies of every set-associative cache of the simulator. */
export const REPLACEMENT_POLICIES = ['lru', 'fifo', 'random'] as const;

/** One of {@link REPLACEMENT_POLICIES}. */
export type ReplacementPolicy = (typeof REPLACEMENT_POLICIES)[number];

/** Geometry and replacement policy shared by every cache's params. */
export interface CacheParams {
  /** Total number of entries (a positive multiple of `assoc`; entries / assoc a power of two). */
  readonly entries: number;
  /** Ways per set; `assoc === entries` makes the cache fully associative. */
  readonly assoc: number;
  /** Victim choice when a set is full. */
  readonly policy: ReplacementPolicy;
}

/** Builds the `EINVAL` error of a bad cache parameter (API misuse: the caller must fix it). */
export function cacheParamError(message: string): Error & { code: 'EINVAL' } {
  return Object.assign(new Error(message), { code: 'EINVAL' as const });
}

/**
 * Merges `given` over `defaults`, validates the result and returns it frozen; `name` prefixes
 * the message of the `EINVAL` error thrown on a bad value.
 */
export function resolveCacheParams<P extends CacheParams>(
  name: string,
  defaults: P,
  given: Partial<P>,
): P {
  const p = Object.freeze({ ...defaults, ...given }) as P;
  if (!Number.isInteger(p.entries) || p.entries <= 0) {
    throw cacheParamError(`${name}.entries must be a positive integer, got ${p.entries}`);
  }
  if (!Number.isInteger(p.assoc) || p.assoc <= 0 || p.entries % p.assoc !== 0) {
    throw cacheParamError(
      `${name}.assoc must be a positive divisor of entries (${p.entries}), got ${p.assoc}`,
    );
  }
  const sets = p.entries / p.assoc;
  if (!Number.isInteger(Math.log2(sets))) {
    throw cacheParamError(
      `${name}: entries / assoc must be a power of two (sets), got ${p.entries} / ${p.assoc} = ${sets}`,
    );
  }
  if (!(REPLACEMENT_POLICIES as readonly string[]).includes(p.policy)) {
    throw cacheParamError(
      `${name}.policy must be one of ${REPLACEMENT_POLICIES.join(', ')}, got ${String(p.policy)}`,
    );
  }
  return p;
}
