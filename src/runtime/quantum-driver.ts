/**
 * The quantum protocol of the threaded runtime (DESIGN §3): one partition of the model per
 * thread — partition 0 the engine side, the others accelerators — messages between them over
 * SPSC rings, one request ring (accelerator → engine) and one response ring (engine →
 * accelerator) per accelerator that lives off the engine's thread, and one barrier crossing
 * per quantum.
 *
 * Per quantum, with M the agreed start: run local events before min(M + quantum, limit + 1);
 * write the outbox into the rings (each record keeps the (time, source, seq) key its sender
 * gave it; the ring is the one of the accelerator at the message's device end) and publish
 * every ring written — the tails before the progress; arrive at the barrier with min(next
 * local event, earliest message just sent). Every thread gets the same minimum, which is the
 * next M, and then drains its incoming rings (their producers published before arriving) into
 * its queue, where the records sort as they would in one queue. Quanta with no event anywhere
 * are skipped because M is always the global earliest event.
 */

import type { QuantumDriver } from '../machine/run-options.js';
import type { QuantumBarrier } from '../ring/barrier.js';
import { SpscRing } from '../ring/spsc-ring.js';
import type { World } from '../sim/simulator.js';

/** Words of one ring record: 16 message words, time (2), source, seq (2), destination. */
export const RECORD_WORDS = 24;
/**
 * Slots of each ring: more than the messages one accelerator and the engine exchange in one
 * quantum (an accelerator has at most a few tens of requests outstanding).
 */
export const RING_SLOTS = 1 << 12;

const TWO32 = 0x1_0000_0000;

/**
 * Writes one record — the 16 message words at `words[offset]` and their key — at `dst[o]`:
 * time (lo, hi), source, seq (lo, hi), destination, after the message words.
 */
export function encodeRecord(
  dst: Uint32Array,
  o: number,
  timeNs: number,
  source: number,
  seq: number,
  dest: number,
  words: Uint32Array,
  offset: number,
): void {
  for (let k = 0; k < 16; k++) dst[o + k] = words[offset + k]!;
  dst[o + 16] = timeNs % TWO32;
  dst[o + 17] = Math.floor(timeNs / TWO32);
  dst[o + 18] = source;
  dst[o + 19] = seq % TWO32;
  dst[o + 20] = Math.floor(seq / TWO32);
  dst[o + 21] = dest;
}

/** Queues the record at `w[o]` (see {@link encodeRecord}) in `world` with its key. */
export function deliverEncoded(world: World, w: Uint32Array, o: number): void {
  world.deliverRecord(
    w[o + 17]! * TWO32 + w[o + 16]!,
    w[o + 18]!,
    w[o + 20]! * TWO32 + w[o + 19]!,
    w[o + 21]!,
    w,
    o,
  );
}

/** Barrier CONTROL bit: stop the run at the quantum boundary where every thread sees it. */
export const CONTROL_STOP = 1;

/** Drives one partition's quanta over rings and a barrier. */
export class RingQuantumDriver implements QuantumDriver {
  protected readonly world: World;
  protected readonly partition: number;
  /** Outgoing ring by accelerator (port); null where this partition sends nothing. */
  private readonly outByPort: (SpscRing | null)[];
  private readonly inboxes: SpscRing[];
  private readonly barrier: QuantumBarrier;
  private readonly quantumNs: number;
  /** Rings written in the current quantum, to publish once each. */
  private readonly dirty: SpscRing[] = [];
  private readonly dirtyFlag: Uint8Array;
  /** Agreed start of the next quantum (NaN until the first agreement). */
  private nextNs = Number.NaN;
  /** Quanta run and records sent, for stats. */
  quanta = 0;
  sent = 0;
  /** Called after every barrier crossing with the agreed start of the next quantum. */
  onBarrier: ((nextNs: number) => void) | null = null;
  /** Says whether this thread has control-plane commands waiting (checked every quantum). */
  controlCheck: (() => boolean) | null = null;

  /** True once the threads agreed, at a barrier, that the run stops. */
  get stopRequested(): boolean {
    return (this.barrier.control & CONTROL_STOP) !== 0;
  }

  /** True when control-plane commands wait for this thread. */
  get controlPending(): boolean {
    return this.controlCheck?.() === true;
  }

  constructor(
    world: World,
    partition: number,
    outByPort: (SpscRing | null)[],
    inboxes: SpscRing[],
    barrier: QuantumBarrier,
  ) {
    this.world = world;
    this.partition = partition;
    this.outByPort = outByPort;
    this.inboxes = inboxes;
    this.barrier = barrier;
    this.quantumNs = world.quantumNs;
    this.dirtyFlag = new Uint8Array(outByPort.length);
  }

  private localNext(): number {
    return this.world.sims[this.partition]!.nextEventNs;
  }

  /** Agrees on the next quantum's start with the other threads. */
  resync(): void {
    this.nextNs = this.barrier.arrive(this.localNext());
    this.onBarrier?.(this.nextNs);
  }

  /** The agreed start of the next quantum (NaN before the first agreement). */
  get agreedNextNs(): number {
    return this.nextNs;
  }

  /** Earliest time of the records sent in the current quantum (Infinity when none). */
  private earliestSent = Number.POSITIVE_INFINITY;

  /** Outbox visitor, built once: writes one record to its accelerator's outgoing ring. */
  private readonly send = (
    timeNs: number,
    source: number,
    seq: number,
    dest: number,
    words: Uint32Array,
    offset: number,
  ): void => {
    // the accelerator at the device end of the message names the ring
    const port = this.world.port;
    const p = this.partition === 0 ? port[dest]! : port[source]!;
    this.write(p, timeNs, source, seq, dest, words, offset);
    this.sent++;
    if (timeNs < this.earliestSent) this.earliestSent = timeNs;
  };

  /** Runs the next quantum if one is due at or before `limitNs` anywhere. */
  runQuantum(limitNs: number): boolean {
    if (Number.isNaN(this.nextNs)) this.resync();
    const start = this.nextNs;
    if (start > limitNs) return false;
    this.world.runPartition(this.partition, Math.min(start + this.quantumNs, limitNs + 1));
    this.earliestSent = Number.POSITIVE_INFINITY;
    this.world.takeOutbox(this.send);
    this.flush();
    this.nextNs = this.barrier.arrive(Math.min(this.localNext(), this.earliestSent));
    this.drain();
    this.quanta++;
    this.onBarrier?.(this.nextNs);
    return true;
  }

  /** Queues one record for accelerator `p`'s outgoing ring. */
  protected write(
    p: number,
    timeNs: number,
    source: number,
    seq: number,
    dest: number,
    words: Uint32Array,
    offset: number,
  ): void {
    const out = this.outByPort[p];
    if (out === undefined || out === null) {
      throw new Error(
        `threaded runtime: no ring from partition ${this.partition} for a message from endpoint ${source} to ${dest} (accelerator ${p})`,
      );
    }
    const o = out.reserve();
    if (o < 0) {
      throw new Error(
        `threaded runtime: the ring of accelerator ${p} (${RING_SLOTS} slots) overflowed in one quantum at ${timeNs} ns`,
      );
    }
    encodeRecord(out.words, o, timeNs, source, seq, dest, words, offset);
    out.commit();
    if (this.dirtyFlag[p] === 0) {
      this.dirtyFlag[p] = 1;
      this.dirty.push(out);
    }
  }

  /** Publishes every ring written this quantum: the tails before the progress (the arrival). */
  protected flush(): void {
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) dirty[i]!.publish();
    dirty.length = 0;
    this.dirtyFlag.fill(0);
  }

  /** Queues every record the other threads sent last quantum. */
  protected drain(): void {
    const inboxes = this.inboxes;
    for (let r = 0; r < inboxes.length; r++) {
      const inbox = inboxes[r]!;
      const n = inbox.available();
      if (n === 0) continue;
      const w = inbox.words;
      for (let i = 0; i < n; i++) deliverEncoded(this.world, w, inbox.slotOffset(i));
      inbox.consume(n);
      inbox.release();
    }
  }
}

/** Shared memory of one threaded run, created by the main thread and handed to each worker. */
export interface ThreadedBuffers {
  /** Number of partitions (threads), the engine's included. */
  readonly partitions: number;
  /** Partition of each accelerator, by device index. */
  readonly placement: readonly number[];
  /**
   * The rings, packed: accelerator i off the engine's partition has its request ring (to the
   * engine) at `ringOffsets[i]` and its response ring right after; −1 for accelerators on the
   * engine's partition.
   */
  readonly rings: SharedArrayBuffer;
  readonly ringOffsets: readonly number[];
  readonly barrier: SharedArrayBuffer;
  readonly deviceBuffers: SharedArrayBuffer;
  /** Live counters: one row of float64s per partition (partition-task.ts `LIVE_ROW`). */
  readonly live: SharedArrayBuffer;
  /** Control-plane commands the main thread sent each partition (Int32 per partition). */
  readonly control: SharedArrayBuffer;
}

/** Lays out and formats the rings of a run with `placement`. */
export function createRings(placement: readonly number[]): {
  rings: SharedArrayBuffer;
  ringOffsets: number[];
} {
  const bytes = SpscRing.byteLength(RING_SLOTS, RECORD_WORDS);
  const ringOffsets: number[] = [];
  let n = 0;
  for (const p of placement) {
    ringOffsets.push(p === 0 ? -1 : n * 2 * bytes);
    if (p !== 0) n++;
  }
  const rings = new SharedArrayBuffer(Math.max(1, n * 2 * bytes));
  for (const off of ringOffsets) {
    if (off < 0) continue;
    SpscRing.init(rings, off, RING_SLOTS, RECORD_WORDS);
    SpscRing.init(rings, off + bytes, RING_SLOTS, RECORD_WORDS);
  }
  return { rings, ringOffsets };
}

/** Builds the driver for `partition` over the shared buffers. */
export function makeDriver(
  world: World,
  partition: number,
  buffers: ThreadedBuffers,
  barrier: QuantumBarrier,
): RingQuantumDriver {
  const bytes = SpscRing.byteLength(RING_SLOTS, RECORD_WORDS);
  const out: (SpscRing | null)[] = [];
  const inboxes: SpscRing[] = [];
  buffers.placement.forEach((p, i) => {
    const off = buffers.ringOffsets[i]!;
    let ring: SpscRing | null = null;
    if (off >= 0 && partition === 0) {
      ring = new SpscRing(buffers.rings, off + bytes); // response ring: we produce
      inboxes.push(new SpscRing(buffers.rings, off)); // request ring: we consume
    } else if (off >= 0 && p === partition) {
      ring = new SpscRing(buffers.rings, off);
      inboxes.push(new SpscRing(buffers.rings, off + bytes));
    }
    out.push(ring);
  });
  return new RingQuantumDriver(world, partition, out, inboxes, barrier);
}
