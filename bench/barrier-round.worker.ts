/**
 * One party of the bare barrier benchmark: crosses the threaded runtime's quantum barrier
 * `rounds` times with no work in between and posts the wall ns it took. What one quantum's
 * synchronisation costs when nobody is late — the scaling model's per-quantum sync term.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { QuantumBarrier } from '../src/ring/barrier.js';

const { sab, party, rounds } = workerData as {
  sab: SharedArrayBuffer;
  party: number;
  rounds: number;
};
const barrier = new QuantumBarrier(sab, 0, party);
const t0 = process.hrtime.bigint();
for (let i = 0; i < rounds; i++) barrier.arrive(i + party);
parentPort!.postMessage({ ns: Number(process.hrtime.bigint() - t0) });
