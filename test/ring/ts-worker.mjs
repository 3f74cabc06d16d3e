// Bootstrap for worker threads whose entry is TypeScript (PLATFORM.md: tsx cannot load a .ts
// worker entry on Node 20, even with execArgv; registering its ESM hooks here and then
// importing the .ts module works, also under vitest). workerData.entry is the entry's file URL.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
