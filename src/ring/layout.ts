/**
 * Word layout of a SharedArrayBuffer ring (DESIGN §3): every word index of a ring's control
 * block is declared here and nowhere else, the way piscina keeps its shared words in
 * `src/symbols.ts`. Both threads build their views from these indices, so a change here
 * changes both sides at once.
 *
 * A ring occupies one 64-byte-aligned region of a SharedArrayBuffer:
 *
 *   bytes 0 .. RING_CONTROL_BYTES-1   control block: Int32 words, each written word on its own
 *                                     64-byte cache line (16 words), so the producer's stores
 *                                     never invalidate the line the consumer polls and back
 *   bytes RING_CONTROL_BYTES ..       `slots` slots of `wordsPerSlot` Uint32 words
 *   padding                           up to the next multiple of 64 bytes, so rings can be
 *                                     packed back to back in one buffer and stay aligned
 *
 * Owner of each word (the only thread that writes it after creation):
 *
 *   line  word              owner      meaning
 *   0     HEAD              consumer   free-running count of slots released to the producer
 *   1     CONSUMER_BATCHES  consumer   releases that moved HEAD (statistics)
 *   2     TAIL              producer   free-running count of slots published to the consumer
 *   3     PRODUCER_BATCHES  producer   publishes that moved TAIL (statistics)
 *   4     DATA_BELL         producer   doorbell the consumer parks on ("messages arrived")
 *   5     DATA_SLEEPERS     consumer   non-zero while the consumer is parked on DATA_BELL
 *   6     SPACE_BELL        consumer   doorbell the producer parks on ("slots freed")
 *   7     SPACE_SLEEPERS    producer   non-zero while the producer is parked on SPACE_BELL
 *   8     CLOSED            producer   1 once the producer has published its last message
 *   9     MAGIC, SLOTS, WORDS_PER_SLOT  written once by {@link SpscRing.create} before the
 *                                     buffer is shared, read-only afterwards (so they may
 *                                     share a line: nobody writes it again)
 *
 * Not modelled here: the barrier words of the threaded runtime (they get their own layout).
 */

import { MSG_DWORDS } from '../sim/message.js';
import { RingErrorCode, ringError } from './errors.js';

/** Bytes per cache line on the machines we target (x86-64, arm64). */
export const CACHE_LINE_BYTES = 64;

/** Int32 words per cache line. */
export const CACHE_LINE_WORDS = CACHE_LINE_BYTES / 4;

/** Int32 word index (into the control block) of each control word; see the file header. */
export const RingWord = {
  /** Consumer-owned: slots released (free-running 32-bit counter). Line 0. */
  HEAD: 0 * CACHE_LINE_WORDS,
  /** Consumer-owned: number of `release()` calls that moved HEAD. Line 1. */
  CONSUMER_BATCHES: 1 * CACHE_LINE_WORDS,
  /** Producer-owned: slots published (free-running 32-bit counter). Line 2. */
  TAIL: 2 * CACHE_LINE_WORDS,
  /** Producer-owned: number of `publish()` calls that moved TAIL. Line 3. */
  PRODUCER_BATCHES: 3 * CACHE_LINE_WORDS,
  /** Rung by the producer after a publish; the consumer waits on it. Line 4. */
  DATA_BELL: 4 * CACHE_LINE_WORDS,
  /** Count of consumer threads parked (or about to park) on DATA_BELL. Line 5. */
  DATA_SLEEPERS: 5 * CACHE_LINE_WORDS,
  /** Rung by the consumer after a release; the producer waits on it when full. Line 6. */
  SPACE_BELL: 6 * CACHE_LINE_WORDS,
  /** Count of producer threads parked (or about to park) on SPACE_BELL. Line 7. */
  SPACE_SLEEPERS: 7 * CACHE_LINE_WORDS,
  /** Producer-owned: 1 after the producer's final publish. Line 8. */
  CLOSED: 8 * CACHE_LINE_WORDS,
  /** Constant {@link RING_MAGIC}: guards against building a view over the wrong bytes. Line 9. */
  MAGIC: 9 * CACHE_LINE_WORDS,
  /** Constant: capacity in slots (a power of two). Line 9. */
  SLOTS: 9 * CACHE_LINE_WORDS + 1,
  /** Constant: Uint32 words per slot. Line 9. */
  WORDS_PER_SLOT: 9 * CACHE_LINE_WORDS + 2,
} as const;

/** Name of a control word. */
export type RingWordName = keyof typeof RingWord;

/** Cache lines in the control block. */
export const RING_CONTROL_LINES = 10;

/** Int32 words in the control block. */
export const RING_CONTROL_WORDS = RING_CONTROL_LINES * CACHE_LINE_WORDS;

/** Bytes in the control block; the slot area starts at this offset from the ring's base. */
export const RING_CONTROL_BYTES = RING_CONTROL_LINES * CACHE_LINE_BYTES;

/** Value of the MAGIC word: ASCII "RNG1". */
export const RING_MAGIC = 0x524e4731;

/**
 * Largest capacity in slots. Free-running counters are compared as 32-bit differences, which
 * is exact while the capacity is below 2^31; 2^24 slots is far beyond any useful ring.
 */
export const RING_MAX_SLOTS = 1 << 24;

/** Largest slot size in Uint32 words. */
export const RING_MAX_WORDS_PER_SLOT = 1024;

/** True when `n` is a positive integer power of two. */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 2 ** 30 && (n & (n - 1)) === 0;
}

/** Bytes of the slot area of a ring of `slots` slots of `wordsPerSlot` words (no checks). */
export function ringDataBytes(slots: number, wordsPerSlot: number): number {
  return slots * wordsPerSlot * 4;
}

/**
 * Reasons a ring geometry is rejected, or `undefined` when it is valid: `slots` a power of two
 * in [1, {@link RING_MAX_SLOTS}], `wordsPerSlot` an integer in [1, {@link RING_MAX_WORDS_PER_SLOT}].
 */
export function ringGeometryProblem(slots: number, wordsPerSlot: number): string | undefined {
  if (!isPowerOfTwo(slots) || slots > RING_MAX_SLOTS) {
    return `slots must be a power of two between 1 and ${RING_MAX_SLOTS}, got ${slots}`;
  }
  if (
    !Number.isInteger(wordsPerSlot) ||
    wordsPerSlot < 1 ||
    wordsPerSlot > RING_MAX_WORDS_PER_SLOT
  ) {
    return `wordsPerSlot must be an integer between 1 and ${RING_MAX_WORDS_PER_SLOT}, got ${wordsPerSlot}`;
  }
  return undefined;
}

/**
 * Bytes a ring of `slots` slots of `wordsPerSlot` Uint32 words occupies in a SharedArrayBuffer:
 * control block plus slot area, rounded up to a multiple of {@link CACHE_LINE_BYTES} so the next
 * ring packed after it starts on a fresh line. Throws `EINVAL` for a bad geometry.
 */
export function ringByteLength(slots: number, wordsPerSlot: number = MSG_DWORDS): number {
  const problem = ringGeometryProblem(slots, wordsPerSlot);
  if (problem !== undefined) {
    throw ringError(RingErrorCode.EINVAL, problem);
  }
  const raw = RING_CONTROL_BYTES + ringDataBytes(slots, wordsPerSlot);
  return Math.ceil(raw / CACHE_LINE_BYTES) * CACHE_LINE_BYTES;
}
