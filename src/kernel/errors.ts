/**
 * Error catalogue of the kernel layer: API misuse and bad input become an `Error` with a
 * stable string `code` (the errno name the kernel would return), matched on `code` rather
 * than on the class because errors lose their class crossing threads (STYLE.md).
 */

import { codedError, ErrorCode } from '../errors.js';

/** The errno names the SVA API returns (DESIGN §6). */
export const Errno = {
  EINVAL: ErrorCode.EINVAL,
  ENOSPC: ErrorCode.ENOSPC,
  EBUSY: ErrorCode.EBUSY,
  ENODEV: ErrorCode.ENODEV,
  EOPNOTSUPP: ErrorCode.EOPNOTSUPP,
  /** Kernel-internal 524, which v5.8 leaks to SVA callers for a unit that is not SVM-capable. */
  ENOTSUPP: ErrorCode.ENOTSUPP,
  EOVERFLOW: ErrorCode.EOVERFLOW,
  ENOMEM: ErrorCode.ENOMEM,
} as const;

/** One of the errno names. */
export type ErrnoCode = (typeof Errno)[keyof typeof Errno];

/** An `Error` carrying an errno `code`. */
export type KernelError = Error & { code: ErrnoCode };

/** Builds an error with `code` and a message that says what was wrong and what to do. */
export function kernelError(code: ErrnoCode, message: string): KernelError {
  return codedError(code, `${code}: ${message}`);
}
