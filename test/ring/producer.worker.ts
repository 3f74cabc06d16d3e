/**
 * Worker entry (through ts-worker.mjs): produces `total` sequenced messages into the ring in
 * `sab`, in batches of 1..maxBatch from a seeded rng, publishing once per batch and ringing the
 * data bell after each publish. On a full ring it publishes, rings, and parks on the space
 * bell with the value read before its last check. Posts a summary, then exits.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { SpscRing } from '../../src/ring/index.js';
import { noWakes, writePayload, xorshift32 } from './helpers.js';

interface ProducerData {
  sab: SharedArrayBuffer;
  total: number;
  seed: number;
  maxBatch: number;
  spinNs: number;
  timeoutMs: number;
}

const { sab, total, seed, maxBatch, spinNs, timeoutMs } = workerData as ProducerData;
const ring = new SpscRing(sab);
const rng = xorshift32(seed);
const wakes = noWakes();
const w = ring.wordsPerSlot;
let seq = 0;
while (seq < total) {
  const batch = 1 + (rng() % maxBatch);
  for (let i = 0; i < batch && seq < total; ) {
    let off = ring.reserve();
    if (off < 0) {
      // Full: hand over what we have, then sleep until the consumer frees slots.
      if (ring.publish()) ring.dataBell.ring();
      const seen = ring.spaceBell.read(); // read the bell BEFORE the last check …
      off = ring.reserve();
      if (off < 0) {
        wakes[ring.spaceBell.wait(seen, spinNs, timeoutMs)]++; // … and sleep on that value
        continue;
      }
    }
    writePayload(ring.words, off, seq, w);
    ring.commit();
    seq++;
    i++;
  }
  if (ring.publish()) ring.dataBell.ring();
}
ring.close();
parentPort!.postMessage({ sent: seq, wakes, batches: ring.readWord('PRODUCER_BATCHES') });
