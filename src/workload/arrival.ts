/**
 * Arrival processes of the workload (DESIGN §1 Workload row, §5 `workload.arrival`): when a
 * client submits its next job.
 *
 * - Closed loop: the client keeps `queueDepth` jobs outstanding; each completion (successful,
 *   failed or rejected at submission) frees one slot, which is refilled at once.
 * - Open loop: jobs arrive at `ratePerSec` regardless of completions, with exponential
 *   inter-arrival gaps (a Poisson process) or, with `poisson: false`, fixed gaps. Gaps are
 *   integer ns of simulated time; the fractional part of each exact gap is carried into the
 *   next one, so n gaps always sum to within 1 ns of the exact total and the long-run rate
 *   is exact (a fixed 3/s mixes gaps of 333333333 and 333333334 ns).
 *
 * Not modelled: think time between a completion and the next submission, bursts or
 * time-varying rates, and backpressure (an open loop keeps arriving when the device is full;
 * the caller decides whether to queue or drop).
 */

import { codedError, ErrorCode } from '../errors.js';
import type { RandomSource } from './patterns.js';

const NS_PER_SEC = 1_000_000_000;

function invalid(message: string): Error & { code: 'EINVAL' } {
  return codedError(ErrorCode.EINVAL, message);
}

/** A closed-loop arrival process: a fixed number of jobs kept outstanding. */
export class ClosedLoop {
  /** Jobs kept outstanding. */
  readonly queueDepth: number;
  /** Jobs submitted and not yet reported complete. */
  outstanding = 0;

  constructor(queueDepth: number) {
    if (!Number.isSafeInteger(queueDepth) || queueDepth < 1) {
      throw invalid(`closed loop: queueDepth must be a positive integer, got ${queueDepth}`);
    }
    this.queueDepth = queueDepth;
  }

  /**
   * Reports `completed` jobs finished since the last call (count a job rejected at
   * submission as completed too) and returns how many to submit now; those are counted as
   * outstanding. The first call, with 0, returns `queueDepth`.
   */
  submitCount(completed = 0): number {
    if (!Number.isInteger(completed) || completed < 0 || completed > this.outstanding) {
      throw new Error(
        `closed loop invariant: ${completed} completions reported with ${this.outstanding} outstanding`,
      );
    }
    const n = this.queueDepth - (this.outstanding - completed);
    this.outstanding = this.queueDepth;
    return n;
  }
}

/** Keeps `queueDepth` jobs outstanding. */
export function closedLoop(queueDepth: number): ClosedLoop {
  return new ClosedLoop(queueDepth);
}

/** Options of {@link openLoop}. */
export interface OpenLoopOptions {
  /** Exponential gaps (Poisson arrivals) when true, the default; fixed gaps when false. */
  readonly poisson?: boolean;
}

/** An open-loop arrival process: jobs arrive at a rate, whatever completes. */
export class OpenLoop {
  /** Mean arrivals per second of simulated time. */
  readonly ratePerSec: number;
  /** Mean gap between arrivals in ns (possibly fractional). */
  readonly meanGapNs: number;
  /** Whether gaps are exponential (true) or fixed (false). */
  readonly poisson: boolean;
  private readonly rng: RandomSource | undefined;
  /** Fractional ns owed to the next gap, in [0, 1). */
  private carryNs = 0;

  constructor(ratePerSec: number, rng: RandomSource | undefined, options: OpenLoopOptions = {}) {
    if (!Number.isFinite(ratePerSec) || ratePerSec <= 0) {
      throw invalid(`open loop: rate must be a positive number per second, got ${ratePerSec}`);
    }
    this.poisson = options.poisson ?? true;
    if (this.poisson && rng === undefined) {
      throw invalid('open loop: Poisson arrivals need a random source (or pass poisson: false)');
    }
    this.ratePerSec = ratePerSec;
    this.meanGapNs = NS_PER_SEC / ratePerSec;
    this.rng = rng;
  }

  /** The gap in integer ns from the previous arrival to the next (0 when two coincide). */
  nextGapNs(): number {
    const exact = this.poisson ? this.rng!.exponential(this.meanGapNs) : this.meanGapNs;
    const total = exact + this.carryNs;
    const gap = Math.floor(total);
    this.carryNs = total - gap;
    return gap;
  }
}

/**
 * Arrivals at `ratePerSec` per second of simulated time: exponential gaps drawn from `rng`,
 * or fixed gaps with `{ poisson: false }` (then `rng` may be omitted).
 */
export function openLoop(
  ratePerSec: number,
  rng?: RandomSource,
  options: OpenLoopOptions = {},
): OpenLoop {
  return new OpenLoop(ratePerSec, rng, options);
}
