/**
 * SpscRing across two real threads. The main thread never blocks (PLATFORM.md): when it has
 * nothing to do it spins briefly through the non-blocking doorbell, then yields to its event
 * loop, under an iteration cap that fails the test instead of hanging it. Workers park with
 * `Atomics.wait`. Nothing here asserts on wall-clock time.
 */

import { describe, expect, it } from 'vitest';
import { SpscRing } from '../../src/ring/index.js';
import {
  expectedChecksum,
  noWakes,
  payloadMismatch,
  type WakeCounts,
  writePayload,
  xorshift32,
} from './helpers.js';
import { startTsWorker, yieldToEventLoop } from './worker-harness.js';

/** Yields to the event loop allowed per test before it is declared hung. */
const MAX_YIELDS = 2_000_000;

describe('SpscRing across threads', () => {
  it('carries 200 000 messages from a worker producer to the main thread, once each, in order', async () => {
    const total = 200_000;
    const ring = SpscRing.create(64, 16);
    const w = startTsWorker('./producer.worker.ts', {
      sab: ring.sab,
      total,
      seed: 0x5eed,
      maxBatch: 100, // more than the 64 slots: the producer also meets a full ring
      spinNs: 20_000,
      timeoutMs: 1_000,
    });
    try {
      let received = 0;
      let firstBad: { seq: number; word: number } | undefined;
      let yields = 0;
      const mainWakes = noWakes();
      for (;;) {
        const seen = ring.dataBell.read();
        const closed = ring.isClosed();
        const n = ring.available();
        if (n === 0) {
          if (closed) break;
          const failure = w.failure();
          if (failure) throw failure;
          // Main thread: spins up to 20 µs, never parks ('timeout' means "go yield").
          const why = ring.dataBell.wait(seen, 20_000, 0);
          mainWakes[why]++;
          if (why === 'timeout') {
            if (++yields > MAX_YIELDS) throw new Error(`hung after ${received} messages`);
            await yieldToEventLoop();
          }
          continue;
        }
        for (let i = 0; i < n; i++) {
          const bad = payloadMismatch(ring.words, ring.slotOffset(i), received, 16);
          if (bad >= 0 && firstBad === undefined) firstBad = { seq: received, word: bad };
          received++;
        }
        ring.consume(n);
        ring.release();
        ring.spaceBell.ring(); // notifies only if the producer parked on a full ring
      }
      const summary = await w.next<{ sent: number; wakes: WakeCounts; batches: number }>();
      expect(firstBad).toBeUndefined();
      expect(received).toBe(total);
      expect(summary.sent).toBe(total);
      expect(ring.available()).toBe(0);
      // Batches, not messages: the producer published fewer times than it sent.
      expect(summary.batches).toBeGreaterThan(0);
      expect(summary.batches).toBeLessThan(total);
    } finally {
      await w.stop();
    }
  });

  it('wakes a worker consumer parked on the data bell; count and checksum match', async () => {
    const total = 100_000;
    const w16 = 16;
    const ring = SpscRing.create(64, w16);
    const w = startTsWorker('./consumer.worker.ts', {
      sab: ring.sab,
      spinNs: 1_000, // park almost at once, so most idle moments end in Atomics.wait
      timeoutMs: 1_000,
    });
    try {
      const rng = xorshift32(0xb0a7);
      let seq = 0;
      let batches = 0;
      let handshakes = 0;
      let notified = 0;
      let yields = 0;
      const idle = async (what: string) => {
        const failure = w.failure();
        if (failure) throw failure;
        if (++yields > MAX_YIELDS) throw new Error(`hung ${what} after ${seq} messages`);
        await yieldToEventLoop();
      };
      while (seq < total) {
        if (batches % 8 === 0) {
          // Handshake: wait until the consumer has drained and announced it parks, so the
          // ring() after this batch goes through Atomics.notify (the path under test).
          while (ring.dataBell.sleepers() === 0) await idle('waiting for the consumer to park');
          handshakes++;
        }
        const batch = 1 + (rng() % 48);
        for (let i = 0; i < batch && seq < total; ) {
          const off = ring.reserve();
          if (off < 0) {
            if (ring.publish()) ring.dataBell.ring();
            await idle('on a full ring');
            continue;
          }
          writePayload(ring.words, off, seq, w16);
          ring.commit();
          seq++;
          i++;
        }
        ring.publish();
        if (ring.dataBell.ring()) notified++;
        batches++;
      }
      ring.close();
      const summary = await w.next<{
        received: number;
        checksum: number;
        firstBad?: { seq: number; word: number };
        wakes: WakeCounts;
        batches: number;
      }>();
      expect(summary.firstBad).toBeUndefined();
      expect(summary.received).toBe(total);
      expect(summary.checksum).toBe(expectedChecksum(total, w16));
      expect(handshakes).toBeGreaterThan(0);
      // Each handshake saw the consumer announced; unless its park timed out in between, the
      // ring that followed notified it. One is enough to show the notify path works.
      expect(notified).toBeGreaterThan(0);
      expect(summary.wakes.changed + summary.wakes['not-equal']).toBeGreaterThan(0);
    } finally {
      await w.stop();
    }
  });
});
