/**
 * Shared by the ring tests and their worker entries (which run in other threads and import
 * this file through the tsx bootstrap): the payload every message carries, a seeded rng for
 * batch sizes, and an order-sensitive checksum.
 */

/** Word `k` of message number `seq`: word 0 is `seq`, the others a mix of both. */
export function payloadWord(seq: number, k: number): number {
  if (k === 0) return seq >>> 0;
  let x = Math.imul(seq ^ Math.imul(k, 0x9e3779b9), 0x85ebca6b);
  x ^= x >>> 13;
  return (Math.imul(x, 0xc2b2ae35) ^ k) >>> 0;
}

/** Writes message `seq` into `words[offset .. offset + wordsPerSlot − 1]` with plain stores. */
export function writePayload(
  words: Uint32Array,
  offset: number,
  seq: number,
  wordsPerSlot: number,
): void {
  for (let k = 0; k < wordsPerSlot; k++) words[offset + k] = payloadWord(seq, k);
}

/** Index of the first word of message `seq` at `offset` that differs from its payload, or −1. */
export function payloadMismatch(
  words: Uint32Array,
  offset: number,
  seq: number,
  wordsPerSlot: number,
): number {
  for (let k = 0; k < wordsPerSlot; k++) {
    if (words[offset + k] !== payloadWord(seq, k)) return k;
  }
  return -1;
}

/** Folds one word into an order-sensitive 32-bit checksum. */
export function checksumStep(sum: number, word: number): number {
  return (Math.imul(sum, 31) + word) | 0;
}

/** Checksum of messages 0 .. count − 1 as a consumer folding every word in order computes it. */
export function expectedChecksum(count: number, wordsPerSlot: number): number {
  let sum = 0;
  for (let seq = 0; seq < count; seq++) {
    for (let k = 0; k < wordsPerSlot; k++) sum = checksumStep(sum, payloadWord(seq, k));
  }
  return sum;
}

/** A seeded xorshift32 generator of uint32 values (never `Math.random`: runs must repeat). */
export function xorshift32(seed: number): () => number {
  let s = seed | 0 || 0x2545f491;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** Counts of each doorbell wake reason. */
export interface WakeCounts {
  changed: number;
  timeout: number;
  'not-equal': number;
}

/** Zeroed wake counts. */
export function noWakes(): WakeCounts {
  return { changed: 0, timeout: 0, 'not-equal': 0 };
}
