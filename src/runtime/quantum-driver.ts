/**
 * The quantum protocol of the threaded runtime (DESIGN §3): one partition of a two-partition
 * model per thread, messages between partitions over a pair of SPSC rings, and one barrier
 * crossing per quantum.
 *
 * Per quantum, with M the agreed start: run local events before min(M + quantum, limit + 1);
 * write the outbox into the outgoing ring (each record keeps the (time, source, seq) key its
 * sender gave it) and publish it — the tail before the progress; arrive at the barrier with
 * min(next local event, earliest message just sent). Every thread gets the same minimum,
 * which is the next M, and then drains its incoming ring (the other side published before it
 * arrived) into its queue, where the records sort as they would in one queue. Quanta with no
 * event anywhere are skipped because M is always the global earliest event.
 */

import type { QuantumBarrier } from '../ring/barrier.js';
import { SpscRing } from '../ring/spsc-ring.js';
import type { QuantumDriver } from '../sim/runner.js';
import type { World } from '../sim/simulator.js';

/** Words of one ring record: 16 message words, time (2), source, seq (2), destination. */
export const RECORD_WORDS = 24;
/** Slots of each ring: more than the messages one quantum can produce. */
export const RING_SLOTS = 1 << 15;

const TWO32 = 0x1_0000_0000;

/** Drives one partition's quanta over rings and a barrier. */
export class RingQuantumDriver implements QuantumDriver {
  private readonly world: World;
  private readonly partition: number;
  private readonly out: SpscRing;
  private readonly inbox: SpscRing;
  private readonly barrier: QuantumBarrier;
  private readonly quantumNs: number;
  /** Agreed start of the next quantum (NaN until the first agreement). */
  private nextNs = Number.NaN;
  /** Quanta run and records sent, for stats. */
  quanta = 0;
  sent = 0;

  constructor(
    world: World,
    partition: number,
    out: SpscRing,
    inbox: SpscRing,
    barrier: QuantumBarrier,
  ) {
    this.world = world;
    this.partition = partition;
    this.out = out;
    this.inbox = inbox;
    this.barrier = barrier;
    this.quantumNs = world.quantumNs;
  }

  private localNext(): number {
    return this.world.sims[this.partition]!.nextEventNs;
  }

  /** Agrees on the next quantum's start with the other thread. */
  resync(): void {
    this.nextNs = this.barrier.arrive(this.localNext());
  }

  /** Runs the next quantum if one is due at or before `limitNs` anywhere. */
  runQuantum(limitNs: number): boolean {
    if (Number.isNaN(this.nextNs)) this.resync();
    const start = this.nextNs;
    if (start > limitNs) return false;
    this.world.runPartition(this.partition, Math.min(start + this.quantumNs, limitNs + 1));
    let earliest = Number.POSITIVE_INFINITY;
    const out = this.out;
    this.world.takeOutbox((timeNs, source, seq, dest, words, offset) => {
      const o = out.reserve();
      if (o < 0) {
        throw new Error(
          `threaded runtime: the partition ring of ${RING_SLOTS} slots overflowed in one quantum`,
        );
      }
      const w = out.words;
      for (let k = 0; k < 16; k++) w[o + k] = words[offset + k]!;
      w[o + 16] = timeNs % TWO32;
      w[o + 17] = Math.floor(timeNs / TWO32);
      w[o + 18] = source;
      w[o + 19] = seq % TWO32;
      w[o + 20] = Math.floor(seq / TWO32);
      w[o + 21] = dest;
      out.commit();
      this.sent++;
      if (timeNs < earliest) earliest = timeNs;
    });
    out.publish(); // the tail before the progress (the barrier arrival)
    this.nextNs = this.barrier.arrive(Math.min(this.localNext(), earliest));
    this.drain();
    this.quanta++;
    return true;
  }

  private drain(): void {
    const inbox = this.inbox;
    const n = inbox.available();
    const w = inbox.words;
    for (let i = 0; i < n; i++) {
      const o = inbox.slotOffset(i);
      this.world.deliverRecord(
        w[o + 17]! * TWO32 + w[o + 16]!,
        w[o + 18]!,
        w[o + 20]! * TWO32 + w[o + 19]!,
        w[o + 21]!,
        w,
        o,
      );
    }
    inbox.consume(n);
    inbox.release();
  }
}

/** Shared memory of one threaded run, created by the main thread and handed to each worker. */
export interface ThreadedBuffers {
  /** Rings: [0] carries partition 0 → 1, [1] carries 1 → 0. */
  readonly rings: readonly [SharedArrayBuffer, SharedArrayBuffer];
  readonly barrier: SharedArrayBuffer;
  readonly deviceBuffers: SharedArrayBuffer;
}

/** Builds the driver for `partition` over the shared buffers. */
export function makeDriver(
  world: World,
  partition: number,
  buffers: ThreadedBuffers,
  barrier: QuantumBarrier,
): RingQuantumDriver {
  const out = new SpscRing(buffers.rings[partition]!);
  const inbox = new SpscRing(buffers.rings[1 - partition]!);
  return new RingQuantumDriver(world, partition, out, inbox, barrier);
}
