/**
 * The error catalogue of svasim (STYLE.md "Errors, in four kinds"): every stable `code` an
 * error can carry, and the one way to build such an error. Architectural outcomes (faults,
 * Invalid Request, UR) and backpressure are values, never errors; what throws is API misuse
 * and bad input (errno names, as Node system errors carry them), broken invariants (the
 * `ERR_*_CORRUPT` / `ERR_INVARIANT` codes: bugs, never caught and continued) and failures of
 * the threaded runtime. Match on `code`, never on the class: errors lose their class
 * crossing threads. Each folder builds its errors with {@link codedError}, through a small
 * helper of its own where it words its messages in one way (the kernel prefixes the errno).
 */

/** Every stable error code. */
export const ErrorCode = {
  /** Bad argument or input: what was wrong and what to do is in the message. */
  EINVAL: 'EINVAL',
  /** Out of PASIDs (the allocator's range is spent). */
  ENOSPC: 'ENOSPC',
  /** The resource is in use (e.g. a PASID capability already enabled differently). */
  EBUSY: 'EBUSY',
  /** No such device (a device of another system, a unit without the capability). */
  ENODEV: 'ENODEV',
  /** The operation is not supported (by the unit, the device or the kernel profile). */
  EOPNOTSUPP: 'EOPNOTSUPP',
  /**
   * Not supported, in the kernel's own internal code 524 (`ENOTSUPP`, not EOPNOTSUPP = 95):
   * v5.8's `intel_svm_bind_mm` returns it for a unit that is not SVM-capable and it reaches
   * the caller of `iommu_sva_bind_device` unchanged (spec §2.1 step 1).
   */
  ENOTSUPP: 'ENOTSUPP',
  /** A value does not fit (a PASID beyond the device's width). */
  EOVERFLOW: 'EOVERFLOW',
  /** Out of simulated frames, or no room in an address space. */
  ENOMEM: 'ENOMEM',
  /** No such file, preset, process, device or handle. */
  ENOENT: 'ENOENT',
  /** Not allowed here (below mmap_min_addr, allocating on an attached memory). */
  EPERM: 'EPERM',
  /** CPU access to an address with no VMA or without the permission (SIGSEGV). */
  EFAULT: 'EFAULT',
  /** The process (mm) has exited. */
  ESRCH: 'ESRCH',
  /** A directory where a file was expected. */
  EISDIR: 'EISDIR',
  /** A file that cannot be read or written. */
  EACCES: 'EACCES',
  /** A broken invariant of the memory model: a bug. */
  ERR_INVARIANT: 'ERR_INVARIANT',
  /** Ring API misuse: commit without reserve, consuming more than is available. */
  ERR_RING_MISUSE: 'ERR_RING_MISUSE',
  /** Ring counters out of range: a bug; the message carries the raw words. */
  ERR_RING_CORRUPT: 'ERR_RING_CORRUPT',
  /** Barrier API misuse (a party arriving twice, a bad party index). */
  ERR_BARRIER_MISUSE: 'ERR_BARRIER_MISUSE',
  /** Barrier words out of range: a bug; the message carries the raw words. */
  ERR_BARRIER_CORRUPT: 'ERR_BARRIER_CORRUPT',
  /** A party waited at the barrier past its deadline. */
  ERR_BARRIER_TIMEOUT: 'ERR_BARRIER_TIMEOUT',
  /** Another party aborted the barrier (it failed). */
  ERR_BARRIER_ABORTED: 'ERR_BARRIER_ABORTED',
  /** A worker of the threaded runtime failed. */
  ERR_WORKER: 'ERR_WORKER',
  /** The threaded run failed; the error carries the partial report. */
  ERR_WORKER_FAILED: 'ERR_WORKER_FAILED',
  /** A worker thread of the threaded runtime exited or was terminated while its partition ran. */
  ERR_WORKER_EXITED: 'ERR_WORKER_EXITED',
  /** An exception or rejection escaped a worker outside its task's own error handling. */
  ERR_WORKER_UNCAUGHT: 'ERR_WORKER_UNCAUGHT',
  /** The caller aborted the threaded run (`abort()`). */
  ERR_RUN_ABORTED: 'ERR_RUN_ABORTED',
  /** A control command that needs the engine's worker reached another one. */
  ERR_ENGINE_ONLY: 'ERR_ENGINE_ONLY',
  /** A control command after the run ended. */
  ERR_RUN_ENDED: 'ERR_RUN_ENDED',
} as const;

/** One of the stable error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An `Error` carrying a stable `code`. */
export type CodedError<C extends ErrorCode = ErrorCode> = Error & { code: C };

/**
 * Builds an error with `code` and a message that says what was wrong and what to do; extra
 * `fields` (raw words, a partial report) ride along.
 */
export function codedError<C extends ErrorCode>(
  code: C,
  message: string,
  fields?: Record<string, unknown>,
): CodedError<C> {
  return Object.assign(new Error(message), fields, { code });
}

/**
 * A value as a message about bad input shows it: numbers as they are (NaN, Infinity, 1.9),
 * anything else by what it is, so the reader sees the wrong type as well as the wrong value.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'a plain object';
  }
  return `a ${typeof value}`;
}
