// Development entry for worker threads when svasim runs from its TypeScript sources (tests):
// Node 20 cannot load a .ts worker directly, so register tsx, then import the real entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
