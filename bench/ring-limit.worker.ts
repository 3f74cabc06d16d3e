/**
 * One side of the raw ring benchmark: a closed loop of `outstanding` 16-word messages between
 * two threads over SPSC rings, publishing once per batch, spinning and then parking through
 * the doorbells. Side 0 sends requests and counts responses; side 1 answers each request.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { SpscRing } from '../src/ring/spsc-ring.js';

const { side, reqSab, rspSab, messages, outstanding } = workerData as {
  side: 0 | 1;
  reqSab: SharedArrayBuffer;
  rspSab: SharedArrayBuffer;
  messages: number;
  outstanding: number;
};
const req = new SpscRing(reqSab);
const rsp = new SpscRing(rspSab);
const inbox = side === 0 ? rsp : req;
const out = side === 0 ? req : rsp;

let sent = 0;
let received = 0;
const t0 = process.hrtime.bigint();
if (side === 0) {
  while (received < messages) {
    // keep `outstanding` requests in flight
    while (sent < messages && sent - received < outstanding) {
      const o = out.reserve();
      if (o < 0) break;
      out.words[o] = sent;
      out.commit();
      sent++;
    }
    out.publish();
    out.dataBell.ring();
    // read the bell before looking: a publish after this read changes it, so no wake-up is lost
    const bell = inbox.dataBell.read();
    const n = inbox.available();
    if (n === 0) {
      inbox.dataBell.wait(bell, 20_000, 50);
      continue;
    }
    inbox.consume(n);
    inbox.release();
    received += n;
  }
} else {
  while (received < messages) {
    const bell = inbox.dataBell.read();
    const n = inbox.available();
    if (n === 0) {
      inbox.dataBell.wait(bell, 20_000, 50);
      continue;
    }
    for (let i = 0; i < n; i++) {
      const o = out.reserve();
      if (o < 0) throw new Error('response ring full');
      out.words[o] = inbox.words[inbox.slotOffset(i)]!;
      out.commit();
    }
    inbox.consume(n);
    inbox.release();
    out.publish();
    out.dataBell.ring();
    received += n;
  }
}
const ns = Number(process.hrtime.bigint() - t0);
parentPort!.postMessage({ side, messages, ns });
