/**
 * Seeded pseudo-random numbers for the model — DESIGN §3 (determinism).
 *
 * Every component that draws random numbers owns one `Rng`, built from the run's seed and a
 * stream id naming the component (device rid, client index, the kernel's fault sampler …).
 * A stream's sequence depends only on (seed, stream), never on which thread runs it or on
 * what other streams drew, so the inline and threaded runtimes see identical numbers.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG, 128-bit state with a
 * 32-bit counter: period at least 2^32 from any state, about 2^127 on average; passes
 * PractRand). Its state is seeded by hashing (seed, stream) — all 53 bits of each — with the
 * murmur3 32-bit finaliser under four different salts, then running 15 warm-up rounds, so
 * neighbouring seeds and neighbouring streams start at unrelated points of the state space.
 *
 * Not modelled / not provided: cryptographic quality, jump-ahead, serialising the state (a
 * component that must resume re-creates its stream and replays). `Math.random` is never used.
 * Every method is allocation-free.
 */

import { codedError, ErrorCode } from '../errors.js';

const TWO_POW_26 = 0x400_0000;
const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_53 = 0x20_0000_0000_0000;

/** murmur3's 32-bit finaliser: a bijection on 32-bit words with full avalanche. */
function fmix32(h: number): number {
  let x = h | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85eb_ca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2_ae35);
  return (x ^ (x >>> 16)) | 0;
}

/** Hashes the four input words under `salt` into one 32-bit word. */
function hash4(salt: number, w0: number, w1: number, w2: number, w3: number): number {
  let h = fmix32(salt ^ w0);
  h = fmix32((h + 0x9e37_79b9) ^ w1);
  h = fmix32((h + 0x9e37_79b9) ^ w2);
  return fmix32((h + 0x9e37_79b9) ^ w3);
}

function checkSafeInteger(what: string, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw codedError(ErrorCode.EINVAL, `EINVAL: rng ${what} must be a safe integer, got ${value}`);
  }
}

/** A seeded, allocation-free sfc32 generator for one stream of one run. */
export class Rng {
  /** The run seed this generator was built from. */
  readonly seed: number;
  /** The stream id this generator was built from. */
  readonly streamId: number;
  // Initialised to 0 (not left undeclared-undefined) so V8 keeps the fields as small
  // integers: an `undefined` start makes every nextU32() about twice as slow.
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /**
   * Builds the generator of stream `stream` of run `seed`. Both are safe integers (negative
   * allowed); the same pair always gives the same sequence.
   */
  constructor(seed: number, stream = 0) {
    checkSafeInteger('seed', seed);
    checkSafeInteger('stream', stream);
    this.seed = seed;
    this.streamId = stream;
    // Split each safe integer into its low and high 32-bit words (two's complement for
    // negatives) so no input bit is lost before hashing.
    const s0 = seed | 0;
    const s1 = Math.floor(seed / TWO_POW_32) | 0;
    const t0 = stream | 0;
    const t1 = Math.floor(stream / TWO_POW_32) | 0;
    this.a = hash4(0x243f_6a88, s0, s1, t0, t1);
    this.b = hash4(0x85a3_08d3, s0, s1, t0, t1);
    this.c = hash4(0x1319_8a2e, s0, s1, t0, t1);
    this.d = hash4(0x0370_7344, s0, s1, t0, t1);
    for (let i = 0; i < 15; i++) this.nextU32();
  }

  /** The generator of stream `streamId` of run `seed` (same as `new Rng(seed, streamId)`). */
  static stream(seed: number, streamId: number): Rng {
    return new Rng(seed, streamId);
  }

  /** Next uniformly distributed 32-bit unsigned integer, in [0, 2^32). */
  nextU32(): number {
    const a = this.a;
    const b = this.b;
    const c = this.c;
    const d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    this.d = (d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    this.c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /**
   * Next uniform double in [0, 1) with full 53-bit resolution (every multiple of 2^-53 is
   * equally likely). Consumes two 32-bit outputs.
   */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * TWO_POW_26 + lo) / TWO_POW_53;
  }

  /**
   * Uniform integer in [0, n) for an integer 1 ≤ n ≤ 2^53, without modulo bias: draws that
   * fall in the incomplete last block of the 32-bit (or, for n > 2^32, 53-bit) range are
   * rejected and redrawn (expected draws < 2).
   */
  int(n: number): number {
    if (n <= TWO_POW_32) {
      if (!(n >= 1) || n !== Math.floor(n)) throw new RangeError(`rng.int(n): bad n ${n}`);
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      let x = this.nextU32();
      while (x >= limit) x = this.nextU32();
      return x % n;
    }
    if (!(n <= TWO_POW_53) || n !== Math.floor(n)) throw new RangeError(`rng.int(n): bad n ${n}`);
    const limit = TWO_POW_53 - (TWO_POW_53 % n);
    let x = (this.nextU32() >>> 11) * TWO_POW_32 + this.nextU32();
    while (x >= limit) x = (this.nextU32() >>> 11) * TWO_POW_32 + this.nextU32();
    return x % n;
  }

  /** True with probability `p` (p ≤ 0 never, p ≥ 1 always). */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /**
   * Exponentially distributed real number with mean `meanNs` (≥ 0), e.g. open-loop
   * inter-arrival times. Not rounded: callers that schedule events round to integer ns.
   */
  exponential(meanNs: number): number {
    if (!(meanNs >= 0)) throw new RangeError(`rng.exponential(mean): bad mean ${meanNs}`);
    // 1 - next() lies in (0, 1], so the logarithm is finite and ≤ 0.
    return -meanNs * Math.log(1 - this.next());
  }
}
