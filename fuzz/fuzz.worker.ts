/**
 * The fuzzing thread of `npm run fuzz` (watchdog.ts starts it): loads the targets, runs the
 * core with the shared heartbeat and counters, posts each finding as it is found and the
 * report at the end.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { type FuzzOptions, type FuzzTarget, runFuzz } from './core.js';

const data = workerData as {
  targetsModule: string;
  targetsExport: string;
  targetNames: readonly string[] | null;
  options: FuzzOptions;
  heartbeat: SharedArrayBuffer;
  stats: SharedArrayBuffer;
};
const mod = (await import(data.targetsModule)) as Record<string, () => FuzzTarget[]>;
const all = mod[data.targetsExport]!();
const targets =
  data.targetNames === null ? all : all.filter((t) => data.targetNames!.includes(t.name));
const report = runFuzz(targets, {
  ...data.options,
  heartbeat: new Int32Array(data.heartbeat),
  sharedStats: new Float64Array(data.stats),
  onFinding: (finding) => parentPort!.postMessage({ type: 'finding', finding }),
});
parentPort!.postMessage({ type: 'done', report });
