/**
 * Error catalogue of the ring layer (STYLE.md "Errors, in four kinds"). A full ring is
 * backpressure and is never an error (`reserve()` returns −1). What throws:
 *
 *   EINVAL            bad input: a geometry or buffer that cannot hold a ring, a negative spin
 *   ERR_RING_MISUSE   API misuse: commit without reserve, consuming more than is available
 *   ERR_RING_CORRUPT  a broken invariant: counters out of range; the message carries the raw
 *                     words, and nobody should catch it and continue
 *
 * Match on `code`, not on the class: errors lose their class crossing threads.
 */

import { codedError, ErrorCode } from '../errors.js';

/** Stable codes of ring errors. */
export const RingErrorCode = {
  EINVAL: ErrorCode.EINVAL,
  MISUSE: ErrorCode.ERR_RING_MISUSE,
  CORRUPT: ErrorCode.ERR_RING_CORRUPT,
} as const;

/** One of the ring error codes. */
export type RingErrorCodeValue = (typeof RingErrorCode)[keyof typeof RingErrorCode];

/** An `Error` carrying a ring error `code`. */
export type RingError = Error & { code: RingErrorCodeValue };

/** Builds an error with `code` and a message that says what was wrong and what to do. */
export function ringError(code: RingErrorCodeValue, message: string): RingError {
  return codedError(code, `${code}: ${message}`);
}
