/**
 * Worker entry (through ts-worker.mjs): consumes the ring in `sab` until it is closed and
 * drained, checking every message's sequence number and payload, folding every word into a
 * checksum, releasing once per batch and ringing the space bell. On an empty ring it parks on
 * the data bell with the value read before its last check. Posts a summary, then exits.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { SpscRing } from '../../src/ring/index.js';
import { checksumStep, noWakes, payloadMismatch } from './helpers.js';

interface ConsumerData {
  sab: SharedArrayBuffer;
  spinNs: number;
  timeoutMs: number;
}

const { sab, spinNs, timeoutMs } = workerData as ConsumerData;
const ring = new SpscRing(sab);
const wakes = noWakes();
const w = ring.wordsPerSlot;
let received = 0;
let checksum = 0;
let firstBad: { seq: number; word: number } | undefined;
for (;;) {
  const seen = ring.dataBell.read(); // read the bell BEFORE checking the ring …
  const closed = ring.isClosed(); // … and CLOSED before the tail, so a close is never missed
  const n = ring.available();
  if (n === 0) {
    if (closed) break;
    wakes[ring.dataBell.wait(seen, spinNs, timeoutMs)]++; // … and sleep on that value
    continue;
  }
  for (let i = 0; i < n; i++) {
    const off = ring.slotOffset(i);
    const bad = payloadMismatch(ring.words, off, received, w);
    if (bad >= 0 && firstBad === undefined) firstBad = { seq: received, word: bad };
    for (let k = 0; k < w; k++) checksum = checksumStep(checksum, ring.words[off + k]!);
    received++;
  }
  ring.consume(n);
  ring.release();
  ring.spaceBell.ring();
}
parentPort!.postMessage({
  received,
  checksum,
  firstBad,
  wakes,
  batches: ring.readWord('CONSUMER_BATCHES'),
});
