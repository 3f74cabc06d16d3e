// Entry point of a threaded-runtime worker (DESIGN §4: entry points only). piscina loads it
// once per worker; it hands back the partition task from the built package, or from the
// TypeScript sources through tsx when the main thread runs from them (tests, `tsx`).
import { workerData } from 'piscina';

let mod;
if (workerData?.fromSources) {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import('../src/runtime/partition-task.ts');
} else {
  mod = await import('../dist/runtime/partition-task.js');
}

export default mod.runPartitionTask;
