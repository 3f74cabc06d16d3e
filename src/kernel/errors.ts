/**
 * Error catalogue of the kernel layer: API misuse and bad input become an `Error` with a
 * stable string `code` (the errno name the kernel would return), matched on `code` rather
 * than on the class because errors lose their class crossing threads (STYLE.md).
 */

/** The errno names the SVA API returns (DESIGN §6). */
export const Errno = {
  EINVAL: 'EINVAL',
  ENOSPC: 'ENOSPC',
  EBUSY: 'EBUSY',
  ENODEV: 'ENODEV',
  EOPNOTSUPP: 'EOPNOTSUPP',
  EOVERFLOW: 'EOVERFLOW',
  ENOMEM: 'ENOMEM',
} as const;

/** One of the errno names. */
export type ErrnoCode = (typeof Errno)[keyof typeof Errno];

/** An `Error` carrying an errno `code`. */
export type KernelError = Error & { code: ErrnoCode };

/** Builds an error with `code` and a message that says what was wrong and what to do. */
export function kernelError(code: ErrnoCode, message: string): KernelError {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}
