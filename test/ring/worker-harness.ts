/**
 * Main-thread side of the ring thread tests: starts a worker whose entry is a .ts module
 * (through the ts-worker.mjs bootstrap), queues its messages, and records its failure so a
 * polling loop can stop instead of spinning until its cap. The main thread never blocks: it
 * waits by yielding to its event loop.
 */

import { Worker } from 'node:worker_threads';

const BOOTSTRAP = new URL('./ts-worker.mjs', import.meta.url);

/** A running test worker. */
export interface TestWorker {
  worker: Worker;
  /** The next message the worker posts (rejects if it fails or exits first). */
  next<T>(): Promise<T>;
  /** Set once the worker threw or exited before it was terminated. */
  failure(): Error | undefined;
  /** Terminates the worker (idempotent); call it in `finally`. */
  stop(): Promise<void>;
}

/** Starts `entry` (a .ts file next to this one) in a worker with `data` as its workerData. */
export function startTsWorker(entry: string, data: Record<string, unknown>): TestWorker {
  const worker = new Worker(BOOTSTRAP, {
    workerData: { ...data, entry: new URL(entry, import.meta.url).href },
  });
  const inbox: unknown[] = [];
  const waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  let failed: Error | undefined;
  let stopping = false;
  const fail = (e: Error) => {
    if (stopping || failed) return;
    failed = e;
    for (const w of waiting.splice(0)) w.reject(e);
  };
  worker.on('message', (m: unknown) => {
    const w = waiting.shift();
    if (w) w.resolve(m);
    else inbox.push(m);
  });
  worker.on('error', (e) => fail(e));
  let exited = false;
  worker.on('exit', (code) => {
    exited = true;
    if (code !== 0) fail(new Error(`worker ${entry} exited with code ${code}`));
    // A clean exit is no failure, but nobody will answer whoever still waits.
    for (const w of waiting.splice(0))
      w.reject(new Error(`worker ${entry} exited without answering`));
  });
  return {
    worker,
    next<T>(): Promise<T> {
      if (inbox.length > 0) return Promise.resolve(inbox.shift() as T);
      if (failed) return Promise.reject(failed);
      if (exited) return Promise.reject(new Error(`worker ${entry} exited without answering`));
      return new Promise<T>((resolve, reject) => {
        waiting.push({ resolve: resolve as (v: unknown) => void, reject });
      });
    },
    failure: () => failed,
    async stop(): Promise<void> {
      stopping = true;
      await worker.terminate();
    },
  };
}

/** Lets the event loop run (I/O, worker messages) before the next poll. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
