/**
 * The quantum protocol of the threaded runtime (DESIGN §3): one partition of the model per
 * thread — partition 0 the engine side, the others accelerators — messages between them over
 * SPSC rings, one request ring (device partition → engine) and one response ring (engine →
 * device partition) per device partition, and one barrier crossing per quantum.
 *
 * Per quantum, with M the agreed start: run local events before min(M + quantum, limit + 1);
 * every message to another partition goes straight into the ring of the partition pair as it
 * is sent (`World.sink`; each record keeps the (time, source, seq) key its sender gave it), and
 * every ring written is published once — the tails before the progress; arrive at the barrier
 * with min(next local event, earliest message just sent). Every thread gets the same minimum,
 * which is the next M, and then drains its incoming rings (their producers published before
 * arriving) into its queue, where the records sort as they would in one queue. Quanta with no
 * event anywhere are skipped because M is always the global earliest event.
 *
 * Rings by partition pair, not by accelerator: the engine's thread polls one ring per device
 * thread per quantum instead of one per accelerator (64 loads a quantum for dense-64 before).
 *
 * Each driver also times itself: wall time working (events, sending, draining) and waiting at
 * the barrier, and the first two moments of the work per quantum — what the threaded report
 * shows per thread and the scaling model of `bench/` is built from.
 */

import type { QuantumDriver } from '../machine/run-options.js';
import type { QuantumBarrier } from '../ring/barrier.js';
import { SpscRing } from '../ring/spsc-ring.js';
import type { World } from '../sim/simulator.js';

/** How one thread of a threaded run spent its wall time (the report's `threadStats`). */
export interface DriverTiming {
  /** Quanta run (barrier rounds, phase changes included). */
  quanta: number;
  /** Wall ns spent running events, sending and draining. */
  workNs: number;
  /** Wall ns spent at the barrier waiting for the other threads. */
  waitNs: number;
  /** Sum of the squares of the work of each quantum, ns² (for its variance). */
  workSqNs2: number;
  /** Records sent to other threads. */
  sent: number;
}

/** Words of one ring record: 16 message words, time (2), source, seq (2), destination. */
export const RECORD_WORDS = 24;
/**
 * Slots of each ring: more than the messages the engine and one device thread exchange in one
 * quantum (an accelerator has at most a few tens of requests outstanding, and a thread carries
 * at most a few hundred accelerators).
 */
export const RING_SLOTS = 1 << 14;

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
  /** The rings this partition writes (one per peer partition it talks to). */
  private readonly outRings: SpscRing[];
  /** Index into `outRings` by accelerator (port); −1 where this partition sends nothing. */
  private readonly ringOfPort: Int32Array;
  private readonly inboxes: SpscRing[];
  private readonly barrier: QuantumBarrier;
  private readonly quantumNs: number;
  /** Whether each out ring was written this quantum (published once at the end). */
  private readonly dirty: Uint8Array;
  /** Agreed start of the next quantum (NaN until the first agreement). */
  private nextNs = Number.NaN;
  /** Wall time of this thread: work and waits (see {@link DriverTiming}). */
  readonly timing: DriverTiming = { quanta: 0, workNs: 0, waitNs: 0, workSqNs2: 0, sent: 0 };
  /** Work of each quantum, µs, when asked for ({@link recordQuanta}). */
  private quantumWork: Float32Array | null = null;
  /** performance.now() when the last wait ended (ms; NaN before the first). */
  private lastWaitEndMs = Number.NaN;
  /** Called after every barrier crossing with the agreed start of the next quantum. */
  onBarrier: ((nextNs: number) => void) | null = null;
  /** Says whether this thread has control-plane commands waiting (checked every quantum). */
  controlCheck: (() => boolean) | null = null;

  /** Keeps the work of every quantum from now on (see {@link quantumWorkUs}). */
  recordQuanta(): void {
    this.quantumWork ??= new Float32Array(1 << 16);
  }

  /** The work of each quantum so far, µs (null unless {@link recordQuanta} was called). */
  get quantumWorkUs(): Float32Array | null {
    return this.quantumWork?.slice(0, this.timing.quanta) ?? null;
  }

  /** Quanta run, for stats. */
  get quanta(): number {
    return this.timing.quanta;
  }

  /** Records sent to other threads, for stats. */
  get sent(): number {
    return this.timing.sent;
  }

  /** True once the threads agreed, at a barrier, that the run stops. */
  get stopRequested(): boolean {
    return (this.barrier.control & CONTROL_STOP) !== 0;
  }

  /** True when control-plane commands wait for this thread. */
  get controlPending(): boolean {
    return this.controlCheck?.() === true;
  }

  /**
   * `outRings[ringOfPort[p]]` carries the messages of accelerator `p` from this partition;
   * `inboxes` are the rings this partition drains. Messages to other partitions are written
   * into the rings as they are sent (the world's sink).
   */
  constructor(
    world: World,
    partition: number,
    outRings: SpscRing[],
    ringOfPort: Int32Array,
    inboxes: SpscRing[],
    barrier: QuantumBarrier,
  ) {
    this.world = world;
    this.partition = partition;
    this.outRings = outRings;
    this.ringOfPort = ringOfPort;
    this.inboxes = inboxes;
    this.barrier = barrier;
    this.quantumNs = world.quantumNs;
    this.dirty = new Uint8Array(outRings.length);
    world.sink = this.send;
  }

  private localNext(): number {
    return this.world.sims[this.partition]!.nextEventNs;
  }

  /** Arrives at the barrier with `next`; counts the wall time before it as work. */
  private arrive(next: number): number {
    const t1 = performance.now();
    if (!Number.isNaN(this.lastWaitEndMs)) {
      const w = (t1 - this.lastWaitEndMs) * 1e6;
      this.timing.workNs += w;
      this.timing.workSqNs2 += w * w;
      const q = this.quantumWork;
      if (q !== null) {
        const i = this.timing.quanta;
        if (i >= q.length) {
          const grown = new Float32Array(q.length * 2);
          grown.set(q);
          this.quantumWork = grown;
        }
        this.quantumWork![i] = w / 1e3;
      }
    }
    const agreed = this.barrier.arrive(next);
    const t2 = performance.now();
    this.timing.waitNs += (t2 - t1) * 1e6;
    this.timing.quanta++;
    this.lastWaitEndMs = t2;
    return agreed;
  }

  /** Agrees on the next quantum's start with the other threads. */
  resync(): void {
    this.flush();
    this.nextNs = this.arrive(Math.min(this.localNext(), this.earliestSent));
    this.earliestSent = Number.POSITIVE_INFINITY;
    this.drain();
    this.onBarrier?.(this.nextNs);
  }

  /** The agreed start of the next quantum (NaN before the first agreement). */
  get agreedNextNs(): number {
    return this.nextNs;
  }

  /** Earliest time of the records sent since the last barrier (Infinity when none). */
  private earliestSent = Number.POSITIVE_INFINITY;

  /** The world's sink, built once: writes one record to the ring of its accelerator's pair. */
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
    this.timing.sent++;
    if (timeNs < this.earliestSent) this.earliestSent = timeNs;
  };

  /** Runs the next quantum if one is due at or before `limitNs` anywhere. */
  runQuantum(limitNs: number): boolean {
    if (Number.isNaN(this.nextNs)) this.resync();
    const start = this.nextNs;
    if (start > limitNs) return false;
    this.world.runPartition(this.partition, Math.min(start + this.quantumNs, limitNs + 1));
    this.flush();
    this.nextNs = this.arrive(Math.min(this.localNext(), this.earliestSent));
    this.earliestSent = Number.POSITIVE_INFINITY;
    this.drain();
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
    const r = p >= 0 && p < this.ringOfPort.length ? this.ringOfPort[p]! : -1;
    if (r < 0) {
      throw new Error(
        `threaded runtime: no ring from partition ${this.partition} for a message from endpoint ${source} to ${dest} (accelerator ${p})`,
      );
    }
    const out = this.outRings[r]!;
    const o = out.reserve();
    if (o < 0) {
      throw new Error(
        `threaded runtime: a ring from partition ${this.partition} (${RING_SLOTS} slots) overflowed in one quantum at ${timeNs} ns`,
      );
    }
    encodeRecord(out.words, o, timeNs, source, seq, dest, words, offset);
    out.commit();
    this.dirty[r] = 1;
  }

  /** Publishes every ring written this quantum: the tails before the progress (the arrival). */
  protected flush(): void {
    const dirty = this.dirty;
    for (let r = 0; r < dirty.length; r++) {
      if (dirty[r] === 0) continue;
      dirty[r] = 0;
      this.outRings[r]!.publish();
    }
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
   * The rings, packed: device partition p (1 … partitions − 1) has its request ring (to the
   * engine) at `ringOffsets[p]` and its response ring right after; −1 for partition 0.
   */
  readonly rings: SharedArrayBuffer;
  readonly ringOffsets: readonly number[];
  readonly barrier: SharedArrayBuffer;
  readonly deviceBuffers: SharedArrayBuffer;
  /** Live counters: one row of float64s per partition (partition-task.ts `LIVE_ROW`). */
  readonly live: SharedArrayBuffer;
  /** Control-plane commands the main thread sent each partition (Int32 per partition). */
  readonly control: SharedArrayBuffer;
  /** Which partition failed first, and the thread of each partition (run-failure.ts). */
  readonly failure: SharedArrayBuffer;
}

/** Lays out and formats the rings of a run of `partitions` partitions. */
export function createRings(partitions: number): {
  rings: SharedArrayBuffer;
  ringOffsets: number[];
} {
  const bytes = SpscRing.byteLength(RING_SLOTS, RECORD_WORDS);
  const ringOffsets: number[] = [-1];
  for (let p = 1; p < partitions; p++) ringOffsets.push((p - 1) * 2 * bytes);
  const rings = new SharedArrayBuffer(Math.max(1, (partitions - 1) * 2 * bytes));
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
  const out: SpscRing[] = [];
  const inboxes: SpscRing[] = [];
  /** Index into `out` by peer partition. */
  const ringOfPeer: number[] = [];
  for (let p = 1; p < buffers.partitions; p++) {
    const off = buffers.ringOffsets[p]!;
    if (partition === 0) {
      ringOfPeer[p] = out.length;
      out.push(new SpscRing(buffers.rings, off + bytes)); // response ring: we produce
      inboxes.push(new SpscRing(buffers.rings, off)); // request ring: we consume
    } else if (p === partition) {
      ringOfPeer[0] = out.length;
      out.push(new SpscRing(buffers.rings, off));
      inboxes.push(new SpscRing(buffers.rings, off + bytes));
    }
  }
  const ringOfPort = new Int32Array(buffers.placement.length).fill(-1);
  buffers.placement.forEach((p, i) => {
    if (p === 0) return; // the engine's own accelerators cross no thread
    if (partition === 0) ringOfPort[i] = ringOfPeer[p]!;
    else if (p === partition) ringOfPort[i] = ringOfPeer[0]!;
  });
  return new RingQuantumDriver(world, partition, out, ringOfPort, inboxes, barrier);
}
