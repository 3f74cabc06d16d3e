/**
 * Worker entry (through ts-worker.mjs): exercises `Doorbell.wait` where it may park. Phase 1
 * posts the results of a wait on a stale value and of a wait nobody rings (nothing rings the
 * bell before the main thread has this message). Phase 2 parks at once on the current value and
 * posts why it woke; the main thread rings only after it has seen this worker announce itself.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { CAN_BLOCK_HERE, Doorbell } from '../../src/ring/index.js';

interface ProbeData {
  sab: SharedArrayBuffer;
  bellIndex: number;
  sleepersIndex: number;
}

const { sab, bellIndex, sleepersIndex } = workerData as ProbeData;
const bell = new Doorbell(new Int32Array(sab), bellIndex, sleepersIndex);
const stale = bell.wait(bell.read() + 1, 0, 1_000);
const unrung = bell.wait(bell.read(), 0, 5);
const spunThenUnrung = bell.wait(bell.read(), 2_000, 5);
parentPort!.postMessage({ canBlock: bell.canBlock, CAN_BLOCK_HERE, stale, unrung, spunThenUnrung });
const woke = bell.wait(bell.read(), 0, 20_000);
parentPort!.postMessage({ woke, sleepersAfter: bell.sleepers() });
