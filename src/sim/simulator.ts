/**
 * The inline runtime's clock and event loop (DESIGN §2–3): integer nanoseconds of simulated
 * time, never wall-clock; events ordered by (time, source, sequence).
 *
 * Components are {@link Endpoint}s registered with a small integer id. A message event calls
 * `handle(slot, now)` with the message slot (≥ 0); a timer event calls `handle(-1 - code, now)`.
 * Rare control-path events may use closures ({@link Simulator.call}).
 */

import { codedError, ErrorCode } from '../errors.js';
import { EventQueue } from './event-queue.js';
import { type KThread, spawn } from './kthread.js';
import { MessagePool } from './message.js';

/** A component that receives events. */
export interface Endpoint {
  /** Message slot (≥ 0) or timer (−1 − code). */
  handle(arg: number, nowNs: number): void;
}

const CALLBACK = -1;

/** Simulated clock, event queue, message pool and endpoint table. */
export class Simulator {
  /** The partitioned world this simulator is one partition of, or null (a single partition). */
  readonly world: World | null;
  /** Index of this partition in its world. */
  readonly partition: number;

  constructor(world: World | null = null, partition = 0) {
    this.world = world;
    this.partition = partition;
  }

  /** Current simulated time in ns. */
  nowNs = 0;
  /** Events run so far. */
  events = 0;
  /** Events whose handler found nothing to do (a stale timer): see {@link noop}. */
  noopEvents = 0;
  /** Events run per target endpoint id (index 0: closures), for {@link eventsByKind}. */
  private eventsByTarget = new Float64Array(64);
  /** Message slots shared by every component of this thread. */
  readonly pool = new MessagePool();
  /** @internal the partition's event queue (the world delivers remote messages into it). */
  readonly queue = new EventQueue();
  private readonly endpoints: Endpoint[] = [];
  private readonly callbacks: ((nowNs: number) => void)[] = [];
  private readonly freeCallbacks: number[] = [];
  /** Endpoint whose handler is running (−1 between events and for closures). */
  currentTarget = -1;
  /** Depth of event handlers currently running (0 outside the loop). */
  private depth = 0;

  /** Registers a component; returns its endpoint id (also usable as its event source id). */
  register(ep: Endpoint): number {
    const id = this.world ? this.world.allocId(this.partition) : this.endpoints.length;
    this.endpoints[id] = ep;
    if (id + 1 >= this.eventsByTarget.length) {
      const grown = new Float64Array(Math.max(id + 2, this.eventsByTarget.length * 2));
      grown.set(this.eventsByTarget);
      this.eventsByTarget = grown;
    }
    return id;
  }

  /** A handler calls this when its event changed nothing (counted in {@link noopEvents}). */
  noop(): void {
    this.noopEvents++;
  }

  /** Events run so far by the class of their target endpoint (`closure` for callbacks). */
  eventsByKind(): Record<string, number> {
    const out: Record<string, number> = {};
    const add = (k: string, n: number): void => {
      if (n > 0) out[k] = (out[k] ?? 0) + n;
    };
    add('closure', this.eventsByTarget[0]!);
    for (const [id, ep] of this.endpoints.entries()) {
      if (ep) add(ep.constructor.name, this.eventsByTarget[id + 1]!);
    }
    return out;
  }

  /** True while an event handler is running. */
  get inEvent(): boolean {
    return this.depth > 0;
  }

  /** Delivers message `slot` to endpoint `dest` after `delayNs`, ordered under `source`. */
  send(delayNs: number, source: number, dest: number, slot: number): void {
    if (this.world !== null && this.world.owner[dest] !== this.partition) {
      this.world.post(this, this.nowNs + delayNs, source, dest, slot);
      return;
    }
    this.queue.pushAfter(this.nowNs, delayNs, source, dest, slot);
  }

  /** Fires timer `code` (≥ 0) at endpoint `dest` after `delayNs`. */
  timer(delayNs: number, source: number, dest: number, code: number): void {
    this.queue.pushAfter(this.nowNs, delayNs, source, dest, -1 - code);
  }

  /** Runs `fn` after `delayNs` (control path only: allocates a closure slot). */
  call(delayNs: number, source: number, fn: (nowNs: number) => void): void {
    let i = this.freeCallbacks.pop();
    if (i === undefined) {
      i = this.callbacks.length;
      this.callbacks.push(fn);
    } else {
      this.callbacks[i] = fn;
    }
    this.queue.push(this.nowNs + delayNs, source, CALLBACK, i);
  }

  /** Time of the next pending event (Infinity when none). */
  get nextEventNs(): number {
    return this.queue.peekTime();
  }

  /** Runs the earliest event; false when none is pending. */
  step(): boolean {
    const t = this.queue.pop();
    if (t < 0) return false;
    if (t < this.nowNs) {
      throw new Error(`simulated time went backwards: event at ${t} ns, clock at ${this.nowNs} ns`);
    }
    this.nowNs = t;
    this.events++;
    const target = this.queue.poppedTarget;
    this.eventsByTarget[target + 1]!++;
    const arg = this.queue.poppedArg;
    this.depth++;
    const outer = this.currentTarget;
    this.currentTarget = target;
    try {
      if (target === CALLBACK) {
        const fn = this.callbacks[arg]!;
        this.callbacks[arg] = undefined as never;
        this.freeCallbacks.push(arg);
        fn(t);
      } else {
        this.endpoints[target]!.handle(arg, t);
      }
    } finally {
      this.depth--;
    }
    // not restored when the handler threw: the failing endpoint stays visible to the caller
    this.currentTarget = outer;
    return true;
  }

  /** Runs every event up to and including time `endNs`; the clock ends at `endNs`. */
  runUntil(endNs: number): void {
    while (this.queue.peekTime() <= endNs) this.step();
    if (endNs > this.nowNs) this.nowNs = endNs;
  }

  /**
   * Runs kernel thread `body` to completion, advancing simulated time as far as it needs;
   * throws what the thread threw, or a deadlock error if it waits with nothing pending.
   */
  runThread<T>(what: string, body: KThread<T>): T {
    const r = spawn(body);
    while (!r.finished) {
      if (!this.step()) {
        throw new Error(
          `${what}: kernel thread blocked at ${this.nowNs} ns with no pending event (deadlock)`,
        );
      }
    }
    if (r.error !== undefined) throw r.error;
    return r.value as T;
  }
}

/** Receives one message for another partition: its key and its 16 words at `words[offset]`. */
export type OutboxVisitor = (
  timeNs: number,
  source: number,
  seq: number,
  dest: number,
  words: Uint32Array,
  offset: number,
) => void;

/**
 * A model split into partitions — the engine side and the device side — each with its own
 * simulator, synchronised the way the threaded runtime does it (DESIGN §3): time advances
 * in quanta no longer than the smallest link latency between partitions; a message to an
 * endpoint of another partition is held in an outbox with the (time, source, seq) key its
 * sender gave it and delivered at the end of the quantum, where it sorts exactly as it would
 * in one queue; each quantum starts at the earliest pending event of any partition, so empty
 * quanta are skipped. Run in one thread it proves the partitioning gives the inline result;
 * the threaded runtime moves the partitions into workers and the outboxes into rings.
 */
export class World {
  readonly sims: Simulator[] = [];
  /** Partition of every endpoint id. */
  readonly owner: number[] = [];
  /**
   * Port of every endpoint id: the accelerator (device index) it belongs to, or −1 for the
   * engine side's own endpoints. The threaded runtime carries a message between partitions
   * on the ring pair of the accelerator at its device end (DESIGN §3: one request ring and
   * one response ring per accelerator that crosses threads).
   */
  readonly port: number[] = [];
  /** Port given to endpoints registered from now on (set around building an accelerator). */
  portScope = -1;
  /** Length of a quantum: at most the smallest delay of a message between partitions. */
  readonly quantumNs: number;
  // Outbox: messages between partitions, in posting order.
  private outTime: number[] = [];
  private outSource: number[] = [];
  private outSeq: number[] = [];
  private outDest: number[] = [];
  private outWords: Uint32Array = new Uint32Array(16 * 256);
  private outLen = 0;
  /** Quanta run and messages carried between partitions. */
  quanta = 0;
  crossMessages = 0;

  constructor(partitions: number, quantumNs: number) {
    if (!(quantumNs >= 1) || !Number.isInteger(quantumNs))
      throw new Error(`quantum must be a positive integer ns, got ${quantumNs}`);
    this.quantumNs = quantumNs;
    for (let i = 0; i < partitions; i++) this.sims.push(new Simulator(this, i));
  }

  /** @internal a new endpoint id owned by `partition`. */
  allocId(partition: number): number {
    this.owner.push(partition);
    this.port.push(this.portScope);
    return this.owner.length - 1;
  }

  /**
   * Where messages to other partitions go at once instead of the outbox (the threaded
   * runtime writes them straight into its rings): called with the message's key and its
   * words in the sender's pool, which are released right after.
   */
  sink: OutboxVisitor | null = null;

  /** @internal holds a message for another partition until the end of the quantum. */
  post(from: Simulator, timeNs: number, source: number, dest: number, slot: number): void {
    if (timeNs < this.windowEndNs) {
      throw new Error(
        `message from endpoint ${source} to ${dest} arrives at ${timeNs} ns, inside the quantum ending at ${this.windowEndNs} ns: its link is shorter than the quantum (${this.quantumNs} ns)`,
      );
    }
    const sink = this.sink;
    if (sink !== null) {
      sink(timeNs, source, from.queue.takeSeq(source), dest, from.pool.words, from.pool.base(slot));
      from.pool.release(slot);
      this.crossMessages++;
      return;
    }
    const n = this.outLen++;
    if ((n + 1) * 16 > this.outWords.length) {
      const w = new Uint32Array(this.outWords.length * 2);
      w.set(this.outWords);
      this.outWords = w;
    }
    this.outTime[n] = timeNs;
    this.outSource[n] = source;
    this.outSeq[n] = from.queue.takeSeq(source);
    this.outDest[n] = dest;
    const b = from.pool.base(slot);
    const src = from.pool.words;
    const dst = this.outWords;
    for (let k = 0; k < 16; k++) dst[n * 16 + k] = src[b + k]!;
    from.pool.release(slot);
    this.crossMessages++;
  }

  private windowEndNs = 0;

  private deliver(): void {
    const n = this.outLen;
    this.outLen = 0;
    for (let k = 0; k < n; k++) {
      this.deliverRecord(
        this.outTime[k]!,
        this.outSource[k]!,
        this.outSeq[k]!,
        this.outDest[k]!,
        this.outWords,
        k * 16,
      );
    }
  }

  /**
   * Queues a message for its destination partition with the key its sender gave it: the
   * decoder of what another thread sent (the threaded runtime's ring records end here).
   * Throws `EINVAL` with the raw key when the key cannot be one a sender gave: `dest` no
   * endpoint, a time that is not an integer ns below 2^53, a source id of 2^21 or more or a
   * sequence number of 2^32 or more (the queue's key, source × 2^32 + seq, would no longer be
   * exact and the message would sort out of order), or a message outside `words`. Integer
   * compares only: every message between threads passes here.
   */
  deliverRecord(
    timeNs: number,
    source: number,
    seq: number,
    dest: number,
    words: Uint32Array,
    offset: number,
  ): void {
    const p = this.owner[dest];
    if (
      p === undefined ||
      !(Number.isSafeInteger(timeNs) && timeNs >= 0) ||
      !(Number.isSafeInteger(source) && source >= 0 && source <= RECORD_SOURCE_MAX) ||
      !(Number.isSafeInteger(seq) && seq >= 0 && seq < RECORD_SEQ_LIMIT) ||
      !(Number.isSafeInteger(offset) && offset >= 0 && offset + 16 <= words.length)
    ) {
      throw badRecord(this.owner.length, timeNs, source, seq, dest, words, offset);
    }
    const sim = this.sims[p]!;
    const slot = sim.pool.alloc();
    const b = sim.pool.base(slot);
    const dst = sim.pool.words;
    for (let k = 0; k < 16; k++) dst[b + k] = words[offset + k]!;
    sim.queue.pushKeyed(timeNs, source, seq, dest, slot);
  }

  /**
   * Runs partition `p` alone up to (not including) `windowEndNs`; its messages to other
   * partitions stay in the outbox (the threaded runtime carries them over rings).
   */
  runPartition(p: number, windowEndNs: number): void {
    this.windowEndNs = windowEndNs;
    const s = this.sims[p]!;
    while (s.nextEventNs < windowEndNs) s.step();
    this.windowEndNs = 0;
  }

  /** Earliest pending event of any partition (Infinity when none). */
  get nextEventNs(): number {
    let t = Number.POSITIVE_INFINITY;
    for (const s of this.sims) t = Math.min(t, s.nextEventNs);
    return t;
  }

  /**
   * Runs one quantum starting at the earliest pending event, if it is at or before `endNs`:
   * every partition runs its events before the quantum's end (and not after `endNs`), then
   * the messages between partitions are delivered. Returns false when nothing was due.
   */
  runQuantum(endNs: number): boolean {
    const start = this.nextEventNs;
    if (start > endNs) return false;
    this.windowEndNs = Math.min(start + this.quantumNs, endNs + 1);
    for (const s of this.sims) {
      while (s.nextEventNs < this.windowEndNs) s.step();
    }
    this.quanta++;
    this.windowEndNs = 0;
    this.deliver();
    return true;
  }

  /** Runs until no event is pending at or before `endNs`; every clock ends at `endNs`. */
  runUntil(endNs: number): void {
    while (this.runQuantum(endNs)) {}
    for (const s of this.sims) if (s.nowNs < endNs) s.nowNs = endNs;
  }
}

/** Largest source id of a record between partitions (the queue key needs source < 2^21). */
export const RECORD_SOURCE_MAX = 0x1f_ffff;
/** Sequence numbers of a record are below 2^32 (`EventQueue.takeSeq`). */
export const RECORD_SEQ_LIMIT = 0x1_0000_0000;

/** The error of {@link World.deliverRecord}: the first thing wrong, with the raw key and words. */
function badRecord(
  endpoints: number,
  timeNs: number,
  source: number,
  seq: number,
  dest: number,
  words: Uint32Array,
  offset: number,
): Error {
  const inside = Number.isInteger(offset) && offset >= 0 && offset + 16 <= words.length;
  let what: string;
  if (!Number.isInteger(dest) || dest < 0 || dest >= endpoints) {
    what = `dest ${String(dest)} is not one of the ${endpoints} endpoint ids`;
  } else if (!Number.isSafeInteger(timeNs) || timeNs < 0) {
    what = `time ${String(timeNs)} ns is not an integer in [0, 2^53)`;
  } else if (!Number.isInteger(source) || source < 0 || source > RECORD_SOURCE_MAX) {
    what = `source ${String(source)} is not an integer in [0, ${RECORD_SOURCE_MAX}]`;
  } else if (!Number.isInteger(seq) || seq < 0 || seq >= RECORD_SEQ_LIMIT) {
    what = `seq ${String(seq)} is not an integer in [0, 2^32)`;
  } else {
    what = `the 16 words at ${String(offset)} are outside the ${words.length}-word array`;
  }
  const raw = inside
    ? ` [${Array.from(words.subarray(offset, offset + 16), (w) => w.toString(16).padStart(8, '0')).join(' ')}]`
    : '';
  return codedError(
    ErrorCode.EINVAL,
    `message record between partitions refused: ${what}; key (time ${String(timeNs)}, source ` +
      `${String(source)}, seq ${String(seq)}, dest ${String(dest)})${raw}`,
    { timeNs, source, seq, dest },
  );
}
