/**
 * SharedArrayBuffer transport of the threaded runtime (DESIGN §3): the control-block layout,
 * single-producer / single-consumer rings of fixed-size slots, and doorbells. Re-exports only.
 */

export * from './barrier.js';
export {
  CAN_BLOCK_HERE,
  DEFAULT_PARK_TIMEOUT_MS,
  DEFAULT_SPIN_NS,
  Doorbell,
  type DoorbellOptions,
  SPIN_CHECK_EVERY,
  type WakeReason,
} from './doorbell.js';
export {
  type RingError,
  RingErrorCode,
  type RingErrorCodeValue,
  ringError,
} from './errors.js';
export {
  CACHE_LINE_BYTES,
  CACHE_LINE_WORDS,
  isPowerOfTwo,
  RING_CONTROL_BYTES,
  RING_CONTROL_LINES,
  RING_CONTROL_WORDS,
  RING_MAGIC,
  RING_MAX_SLOTS,
  RING_MAX_WORDS_PER_SLOT,
  RingWord,
  type RingWordName,
  ringByteLength,
  ringDataBytes,
  ringGeometryProblem,
} from './layout.js';
export { SpscRing, type SpscRingCreateOptions, type SpscRingViewOptions } from './spsc-ring.js';
