/**
 * The failure log of a run: binds and allocations that failed inside the scenario (PASID
 * exhaustion, frame exhaustion), each an outcome the run answers and goes on from, the way
 * the kernel and a client answer it (report/types.ts `FailureKind` says how for each kind).
 *
 * The log keeps every failure's count, a count per kind and code, and the first
 * {@link FAILURES_KEPT} records with their simulated time, so a run that fails millions of
 * allocations holds a few records, not millions. It lives with the engine side (partition
 * 0): only processes, page tables and the kernel allocate, so in the threaded runtime the
 * engine's worker holds the whole log.
 *
 * Which counter a failure goes to is decided where it happens (system.ts, clients.ts):
 * `bindErrors` counts failed binds whatever the cause, `allocFailures` failed allocations of
 * frames (ENOMEM) and PASIDs (ENOSPC) — so a bind refused for want of a PASID counts in both.
 */

import type { FailureKind, FailureLog, FailureRecord } from '../report/types.js';

/** Failure records a run keeps (the count goes on). */
export const FAILURES_KEPT = 20;

/** The errno names of a failed allocation: no frame (ENOMEM), no PASID (ENOSPC). */
export function isAllocFailure(code: string | undefined): boolean {
  return code === 'ENOMEM' || code === 'ENOSPC';
}

/** The failures of one run (see the file header). */
export class FailureRecorder {
  private total = 0;
  private readonly first: FailureRecord[] = [];
  /** Count per `kind code`, in first-seen order. */
  private readonly causes = new Map<string, { kind: FailureKind; code: string; count: number }>();

  /** Failures recorded so far. */
  get count(): number {
    return this.total;
  }

  /** Records one failure. */
  add(record: FailureRecord): void {
    this.total++;
    if (this.first.length < FAILURES_KEPT) this.first.push(record);
    const key = `${record.kind} ${record.code}`;
    const c = this.causes.get(key);
    if (c) c.count++;
    else this.causes.set(key, { kind: record.kind, code: record.code, count: 1 });
  }

  /** The report's `failures` (fresh objects; the log keeps running). */
  toReport(): FailureLog {
    return {
      count: this.total,
      causes: [...this.causes.values()].map((c) => ({ ...c })),
      first: this.first.map((r) => ({ ...r })),
    };
  }
}
