/**
 * Valid bits and replacement state of a set-associative array of `sets × assoc` entries; the
 * owning cache keeps its tags and data in parallel typed arrays indexed the same way
 * (`set × assoc + way`).
 *
 * Replacement: an invalid way first (lowest index), else by policy — `lru` (least recently hit
 * or filled), `fifo` (oldest fill; hits do not count) or `random` (an injected `() => number`
 * in [0, 1), never `Math.random`). Nothing allocates per operation.
 *
 * Not modelled: pseudo-LRU trees, replacement state shared between sets.
 */

import { cacheParamError, type ReplacementPolicy } from './params.js';

/**
 * `x mod m` for an integer page number 0 ≤ x < 2^53 and a power of two `m` (set counts, 512).
 * Exact, and much cheaper than `%` on a double, which V8 runs as a call to fmod; `>>` and `&`
 * cannot be used on page numbers (they truncate to 32 bits).
 */
export function modPow2(x: number, m: number): number {
  return x - Math.floor(x / m) * m;
}

const POLICY_LRU = 0;
const POLICY_FIFO = 1;
const POLICY_RANDOM = 2;

/** Valid bits, replacement stamps and occupancy counters of `sets × assoc` entries. */
export class SetAssocWays {
  readonly sets: number;
  readonly assoc: number;
  readonly entries: number;
  /** 1 when the entry holds a translation. */
  readonly valid: Uint8Array;
  /** Number of valid entries. */
  validCount = 0;
  /** Valid entries replaced by a fill of another tag. */
  evictions = 0;
  /** Valid entries removed by invalidations ({@link drop} and {@link clear}). */
  dropped = 0;

  /** LRU: tick of the last hit or fill; FIFO: tick of the fill; unused for random. */
  private readonly stamp: Float64Array;
  private tick = 0;
  private readonly policyCode: number;
  private readonly rng: (() => number) | undefined;

  /** `rng` (values in [0, 1)) is required for the `random` policy and ignored otherwise. */
  constructor(sets: number, assoc: number, policy: ReplacementPolicy, rng?: () => number) {
    this.sets = sets;
    this.assoc = assoc;
    this.entries = sets * assoc;
    this.valid = new Uint8Array(this.entries);
    this.stamp = new Float64Array(this.entries);
    this.policyCode =
      policy === 'lru' ? POLICY_LRU : policy === 'fifo' ? POLICY_FIFO : POLICY_RANDOM;
    if (this.policyCode === POLICY_RANDOM && typeof rng !== 'function') {
      throw cacheParamError(
        "policy 'random' needs an injected rng: pass a seeded () => number in [0, 1)",
      );
    }
    this.rng = rng;
  }

  /** Records a hit on entry `e` (moves it to most recently used under LRU). */
  touch(e: number): void {
    if (this.policyCode === POLICY_LRU) this.stamp[e] = ++this.tick;
  }

  /** The entry of set `set` a new tag goes to: the first invalid way, else {@link replace}. */
  victim(set: number): number {
    const base = set * this.assoc;
    const end = base + this.assoc;
    for (let e = base; e < end; e++) if (this.valid[e] === 0) return e;
    return this.replace(set);
  }

  /** The policy's victim in set `set`, every way of which is valid. */
  replace(set: number): number {
    const assoc = this.assoc;
    const base = set * assoc;
    if (this.policyCode === POLICY_RANDOM) {
      const r = this.rng!();
      const way = Math.floor(r * assoc);
      if (!(way >= 0 && way < assoc)) {
        throw new Error(`replacement rng returned ${r}, outside [0, 1)`);
      }
      return base + way;
    }
    const end = base + assoc;
    const stamp = this.stamp;
    let best = base;
    let bestStamp = stamp[base]!;
    for (let e = base + 1; e < end; e++) {
      const s = stamp[e]!;
      if (s < bestStamp) {
        bestStamp = s;
        best = e;
      }
    }
    return best;
  }

  /** Marks entry `e` filled with a new tag (counts an eviction if it held another one). */
  fill(e: number): void {
    if (this.valid[e] === 1) this.evictions++;
    else {
      this.valid[e] = 1;
      this.validCount++;
    }
    this.stamp[e] = ++this.tick;
  }

  /** Entry `e` was refilled with its own tag: renews its age as a fill does. */
  refresh(e: number): void {
    this.stamp[e] = ++this.tick;
  }

  /**
   * Drops every valid entry whose `did` matches and, when `pasidTags` is given, whose PASID
   * matches too: the PASID-selective and domain-selective invalidations of every cache.
   */
  dropTagged(didTags: Int32Array, did: number, pasidTags: Int32Array | null, pasid: number): void {
    const valid = this.valid;
    for (let e = 0; e < valid.length; e++) {
      if (valid[e] === 1 && didTags[e] === did && (pasidTags === null || pasidTags[e] === pasid))
        this.drop(e);
    }
  }

  /** Invalidates entry `e` (no-op when already invalid). */
  drop(e: number): void {
    if (this.valid[e] === 1) {
      this.valid[e] = 0;
      this.validCount--;
      this.dropped++;
    }
  }

  /** Invalidates every entry. */
  clear(): void {
    this.dropped += this.validCount;
    this.valid.fill(0);
    this.validCount = 0;
  }
}
