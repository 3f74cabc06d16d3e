/**
 * Failures of the threaded runtime (DESIGN §3, "Lifecycle"): which partition failed first,
 * and how partitions and their failures are named in errors and reports.
 *
 * The failure words: a few Int32 words of one SharedArrayBuffer per run, created by the main
 * thread and handed to every worker with the other buffers:
 *
 *   word        owner (writer)                              meaning
 *   FIRST       whoever notices a failure first             0: none yet; p + 1: partition p failed
 *               (one compareExchange 0 → v, ever)           first; −1: the caller aborted the run;
 *                                                           −2: a worker that could not be told
 *   THREAD[p]   the worker running partition p (one store   its threadId (0 until its task started)
 *               when its task starts)
 *
 * "First" is the first claim of FIRST. Every failure is claimed before anything else can see
 * it: a partition failing of its own error — thrown in one of its events, or escaping
 * asynchronously — claims and then aborts the barrier, in that program order; the main thread,
 * seeing a worker exit or fail outside its task, claims for that partition and then aborts;
 * `abort()` claims for the caller and then aborts. A survivor's ERR_BARRIER_ABORTED is thrown
 * after it saw an abort, hence after that abort's claim: it never claims and cannot be first.
 * The compareExchanges on one word are totally ordered (SeqCst), so exactly one claim wins and
 * every thread reads the same winner; a lost claim costs nothing and never waits.
 *
 * Timestamps were not taken: each worker has its own performance.timeOrigin, Date.now() ties
 * within a millisecond, and a thread that died is only ever noticed (by the main thread's
 * 'exit' event), never timestamped at its death — a claim records that same order of noticing,
 * without ties or clocks. What the word cannot tell: two partitions failing of their own errors
 * in the same quantum (the one that claimed is named; both end 'failed'), and a death the main
 * thread notices only after a survivor's barrier deadline (60 s of a stalled main thread).
 */

/** Int32 word index of each failure word (see the file header). */
export const FailureWord = {
  /** First claim only (compareExchange): 0, the failing partition + 1, or a negative sentinel. */
  FIRST: 0,
  /** THREAD[p] is word THREAD + p: the worker of partition p (store once), read by the main thread. */
  THREAD: 1,
} as const;

/** `RunFailure.partition` when the caller aborted the run. */
export const FAILED_BY_CALLER = -1;
/** `RunFailure.partition` when a worker failed whose partition could not be told. */
export const FAILED_UNKNOWN = -2;

/** The failure words of a run of `partitions` partitions (all zero). */
export function createFailureWords(partitions: number): SharedArrayBuffer {
  return new SharedArrayBuffer((FailureWord.THREAD + partitions) * 4);
}

/**
 * Claims FIRST for `partition` (or {@link FAILED_BY_CALLER} / {@link FAILED_UNKNOWN}); true
 * when this claim is the first. Call it before aborting the barrier (see the file header).
 */
export function claimFirstFailure(words: Int32Array, partition: number): boolean {
  const v = partition >= 0 ? partition + 1 : partition;
  // FIRST: any thread. SeqCst compareExchange: exactly one claim ever succeeds, and it is
  // ordered before the barrier abort that follows it in this thread.
  return Atomics.compareExchange(words, FailureWord.FIRST, 0, v) === 0;
}

/** The partition that claimed FIRST (or a negative sentinel), or null when nobody did. */
export function firstFailure(words: Int32Array): number | null {
  // FIRST: SeqCst load; a claim made after it is missed only by a reader that is early.
  const v = Atomics.load(words, FailureWord.FIRST);
  if (v === 0) return null;
  return v > 0 ? v - 1 : v;
}

/** Records that `threadId` runs `partition` (the worker, when its task starts). */
export function noteThread(words: Int32Array, partition: number, threadId: number): void {
  // THREAD[p]: the worker of partition p only. SeqCst store; the main thread reads it when
  // that worker's thread ended or failed, long after.
  Atomics.store(words, FailureWord.THREAD + partition, threadId);
}

/** The worker thread that ran `partition` (0 while its task has not started). */
export function threadOf(words: Int32Array, partition: number): number {
  // THREAD[p]: SeqCst load.
  return Atomics.load(words, FailureWord.THREAD + partition);
}

/** The partition run by thread `threadId`, or {@link FAILED_UNKNOWN}. */
export function partitionOfThread(words: Int32Array, partitions: number, threadId: number): number {
  for (let p = 0; p < partitions; p++) if (threadOf(words, p) === threadId) return p;
  return FAILED_UNKNOWN;
}

/**
 * Device indices as short text: `device 3`, `devices 0, 2`, `devices 0-31, 40`.
 */
export function deviceList(indices: readonly number[]): string {
  if (indices.length === 0) return 'no devices';
  const runs: string[] = [];
  for (let i = 0; i < indices.length; ) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j]! + 1) j++;
    runs.push(j - i >= 2 ? `${indices[i]}-${indices[j]}` : indices.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return `${indices.length === 1 ? 'device' : 'devices'} ${runs.join(', ')}`;
}

/**
 * A partition in words: `the engine's worker (partition 0)`, or `accelerator partition 2
 * (devices 1, 3)` with the device indices `placement` puts on it; `the caller` and `a worker
 * of the run` for the sentinels.
 */
export function partitionName(partition: number, placement: readonly number[]): string {
  if (partition === FAILED_BY_CALLER) return 'the caller';
  if (partition < 0) return 'a worker of the run';
  if (partition === 0) return "the engine's worker (partition 0)";
  const mine = placement.flatMap((p, i) => (p === partition ? [i] : []));
  return `accelerator partition ${partition} (${deviceList(mine)})`;
}

/** `text` on one line (error messages go into one-line causes and barrier reasons). */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The exit code in piscina's error for a worker that exited with a task in flight. */
export function exitCodeInMessage(message: string): number | undefined {
  const m = /worker exited with code: (-?\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}
