/**
 * The jobs a client submits to an accelerator's work queue (spec §4.7; ANCHORS "Accelerator
 * topology"): a DSA/IAA-like descriptor — copy, fill, compare or read over client buffers
 * addressed by (PASID, virtual address) — and the statuses a job ends with.
 *
 * Not modelled: batch descriptors, completion records in memory, the descriptor's 64-byte
 * encoding (a job is plain fields here).
 */

/** Job operations, by the name a scenario gives them (`workload.op`), with their codes. */
export const JobOp = { copy: 0, fill: 1, compare: 2, read: 3 } as const;
/** A job operation's name. */
export type JobOpName = keyof typeof JobOp;
/** A job operation's code. */
export type JobOpCode = (typeof JobOp)[JobOpName];

/** How a job ended. */
export const JobStatus = {
  SUCCESS: 1,
  /** Stopped at a fault without block-on-fault: `done` bytes were processed. */
  PAGE_FAULT: 2,
  /** Failed: UR, or an Invalid Request / Response Failure page response. */
  FAILED: 3,
  /** Compare found a difference (a successful job with a result). */
  MISMATCH: 4,
} as const;

/** A job as a client submits it; the accelerator copies the fields into its job table. */
export interface JobSpec {
  op: JobOpCode;
  pasid: number;
  /** Source virtual address (copy, compare, read). */
  src: number;
  /** Destination virtual address (copy, fill, compare's second operand). */
  dst: number;
  length: number;
  /** Fill byte. */
  pattern: number;
  /** Opaque id the client uses to match the completion. */
  cookie: number;
  /**
   * When the client meant to submit the job (its scheduled arrival in an open loop), ns;
   * `job.latency` runs from it, so time waiting for a work-queue entry counts (no
   * coordinated omission). Absent or later than now: the time of submission.
   */
  issuedNs?: number;
}

/**
 * Completion callback: the job's cookie, status and bytes done, and from the descriptor its
 * length and when it was issued (a client resubmitting the rest after a page fault needs
 * both).
 */
export type JobDone = (
  cookie: number,
  status: number,
  done: number,
  nowNs: number,
  length: number,
  issuedNs: number,
) => void;
