/**
 * Error catalogue of the memory model (simulated physical memory, page tables, processes).
 *
 * API misuse and bad input become an `Error` with a stable string `code` the way Node system
 * errors carry one (`EINVAL`, `ENOMEM`, `EPERM`, `EFAULT`, `ESRCH`): callers match on `code`,
 * never on the class, because errors lose their class crossing threads. Broken invariants
 * (freeing a free frame, mapping over a mapping) throw at once with code `ERR_INVARIANT` and the
 * raw values in the message; they are bugs, never caught and continued.
 */

import { type CodedError, codedError, ErrorCode } from '../errors.js';

/** Stable error codes raised by src/mem. */
export const MemErrorCode = {
  /** Bad argument: unaligned address, bad length, bad prot, range overlapping a mapping. */
  EINVAL: ErrorCode.EINVAL,
  /** Out of simulated frames, no gap in the address space, range outside user space. */
  ENOMEM: ErrorCode.ENOMEM,
  /** Operation not allowed here (below mmap_min_addr, allocating on an attached memory). */
  EPERM: ErrorCode.EPERM,
  /** CPU access to an address with no VMA or without the permission (SIGSEGV). */
  EFAULT: ErrorCode.EFAULT,
  /** The process (mm) has exited. */
  ESRCH: ErrorCode.ESRCH,
  /** A broken internal invariant: a bug, never an expected outcome. */
  ERR_INVARIANT: ErrorCode.ERR_INVARIANT,
} as const;

/** One of the codes of {@link MemErrorCode}. */
export type MemErrorCode = (typeof MemErrorCode)[keyof typeof MemErrorCode];

/** An `Error` carrying a string `code`. */
export type MemError = CodedError<MemErrorCode>;

/** Builds an `Error` with a stable `code` (API misuse, bad input, resource exhaustion). */
export function memError(code: MemErrorCode, message: string): MemError {
  return codedError(code, message);
}

/** Builds the error for a broken invariant; the message must carry the raw values. */
export function invariantError(message: string): MemError {
  return memError(MemErrorCode.ERR_INVARIANT, `svasim mem invariant broken: ${message}`);
}

/** Formats a byte address or page number as hex for messages (exact for safe integers). */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}
