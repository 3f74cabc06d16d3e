/**
 * Worker entry (through ts-worker.mjs): one party of a QuantumBarrier. Each round it reports
 * `nextEventNs(party, round)`, checks the minimum it gets back against `expectedMinimum`, and
 * folds it into a checksum. At `failAtRound` it throws an error of its own and aborts the
 * barrier, as a failing worker of the runtime must. Posts one summary, then exits.
 *
 * The schedule functions are exported for the main-thread side of the test; the party only
 * runs when this module is the worker's entry (workerData.entry is this file's URL).
 */

import { parentPort, workerData } from 'node:worker_threads';
import { QuantumBarrier } from '../../src/ring/index.js';
import { checksumStep } from './helpers.js';

/** Rounds in which no party has anything pending (the minimum is Infinity). */
function idleRound(round: number): boolean {
  return round % 97 === 13;
}

/**
 * Next-event time party `party` reports in round `round`: mostly overlapping values near
 * `round × 10 000` so the minimum comes from different parties; sometimes "nothing pending"
 * (as −1 from even parties, Infinity from odd ones) and sometimes a time just below 2^53.
 */
export function nextEventNs(party: number, round: number): number {
  if (idleRound(round)) return party % 2 === 0 ? -1 : Number.POSITIVE_INFINITY;
  let h = Math.imul(party + 1, 0x9e3779b9) ^ Math.imul(round + 1, 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  if (h % 7 === 0) return party % 2 === 0 ? -1 : Number.POSITIVE_INFINITY;
  if (h % 11 === 0) return Number.MAX_SAFE_INTEGER - (h % 1000);
  return round * 10_000 + (h % 50_000);
}

/** The minimum every party must get back in `round` (−1 counted as Infinity). */
export function expectedMinimum(parties: number, round: number): number {
  let min = Number.POSITIVE_INFINITY;
  for (let p = 0; p < parties; p++) {
    const v = nextEventNs(p, round);
    if (v >= 0 && v < min) min = v;
  }
  return min;
}

/** Folds a returned minimum (an integer below 2^53, or Infinity) into a 32-bit checksum. */
export function foldMinimum(sum: number, min: number): number {
  if (min === Number.POSITIVE_INFINITY) return checksumStep(checksumStep(sum, -1), -1);
  return checksumStep(checksumStep(sum, (min % 2 ** 32) | 0), Math.floor(min / 2 ** 32));
}

/** What a party posts when it is done. */
export interface PartySummary {
  party: number;
  completed: number;
  mismatches: number;
  firstMismatch?: { round: number; got: number; want: number };
  checksum: number;
  error?: { code?: string; message: string };
  /** Whether this party's abort() was the one that took effect. */
  abortedOthers: boolean;
}

interface PartyData {
  entry: string;
  sab: SharedArrayBuffer;
  byteOffset: number;
  party: number;
  rounds: number;
  failAtRound: number;
  spinNs: number;
  parkTimeoutMs: number;
  deadlineMs: number;
}

function run(data: PartyData): PartySummary {
  const { sab, byteOffset, party, rounds, failAtRound, spinNs, parkTimeoutMs, deadlineMs } = data;
  const barrier = new QuantumBarrier(sab, byteOffset, party, {
    spinNs,
    parkTimeoutMs,
    deadlineMs,
  });
  const summary: PartySummary = {
    party,
    completed: 0,
    mismatches: 0,
    checksum: 0,
    abortedOthers: false,
  };
  try {
    for (let round = 0; round < rounds; round++) {
      if (round === failAtRound) throw new Error(`party ${party} failed at round ${round}`);
      const got = barrier.arrive(nextEventNs(party, round));
      const want = expectedMinimum(barrier.parties, round);
      if (got !== want) {
        summary.mismatches++;
        summary.firstMismatch ??= { round, got, want };
      }
      summary.checksum = foldMinimum(summary.checksum, got);
      summary.completed++;
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    summary.error = { code: err.code, message: err.message };
    // A failure of our own (not the barrier saying it is over) must release the other parties.
    if (err.code !== 'ERR_BARRIER_ABORTED') summary.abortedOthers = barrier.abort(err.message);
  }
  return summary;
}

const data = workerData as PartyData | null;
if (data !== null && data.entry === import.meta.url) parentPort!.postMessage(run(data));
