/**
 * Single-producer / single-consumer ring of fixed-size slots in a SharedArrayBuffer: the data
 * plane port between threads of the threaded runtime (DESIGN §3). A slot is `wordsPerSlot`
 * Uint32 words (16 by default, the `MSG_DWORDS` message slot of `sim/message.ts`).
 *
 * Publication protocol. The producer writes slot words with plain stores into `words`, calls
 * `commit()` per message (advancing a private cursor) and `publish()` once per batch: ONE
 * `Atomics.store` of TAIL, the release point that makes every earlier plain store visible. The
 * consumer's `available()` is ONE `Atomics.load` of TAIL (acquire); after it, plain loads of the
 * slots below that tail see the producer's words. Symmetrically the consumer's `release()`
 * stores HEAD once per batch (release: its reads of those slots are done) and the producer
 * loads HEAD (acquire) only when its cached copy says the ring is full. Nothing allocates per
 * message; a full ring is backpressure (`reserve()` returns −1), never an exception.
 *
 * Order of a producer's stores: slot words, then TAIL (`publish()`), then the doorbell
 * (`dataBell.ring()`) or the CLOSED flag — the tail before the progress, so whoever sees the
 * progress also sees the messages.
 *
 * Indices and wrap-around. HEAD and TAIL are free-running 32-bit counters (stored as Int32,
 * kept locally as int32 with `| 0`), never reset. `tail − head`, computed as `(tail − head) | 0`,
 * is exact modulo 2^32 and lies in [0, slots] because slots ≤ 2^24 < 2^31; the slot of counter
 * `c` is `c & (slots − 1)`, which for a power-of-two capacity (a divisor of 2^32) continues
 * seamlessly when the counter wraps from 2^32 − 1 (−1 as int32) to 0. A producer that has sent
 * 2^32 messages therefore just keeps going.
 *
 * Each thread builds its own `SpscRing` view over the shared buffer (`new SpscRing(sab)`) and
 * uses only one side of it: the producer side (`reserve`, `commit`, `publish`, `close`) or the
 * consumer side (`available`, `peek`, `slotOffset`, `consume`, `release`). The cursors of each
 * side are private to the view; two views used as producer and consumer in one thread behave as
 * two threads would.
 *
 * Not modelled / not provided: several producers or consumers, variable-size messages,
 * blocking inside the ring (waiting is the caller's, through `dataBell` and `spaceBell`).
 */

import { MSG_DWORDS } from '../sim/message.js';
import { Doorbell } from './doorbell.js';
import { RingErrorCode, ringError } from './errors.js';
import {
  CACHE_LINE_BYTES,
  RING_CONTROL_BYTES,
  RING_CONTROL_WORDS,
  RING_MAGIC,
  RingWord,
  type RingWordName,
  ringByteLength,
  ringGeometryProblem,
} from './layout.js';

/** Options of a view over an existing ring. */
export interface SpscRingViewOptions {
  /** Whether this view's doorbells may park with `Atomics.wait` (default: not on the main thread). */
  canBlock?: boolean;
}

/** Options of {@link SpscRing.create} and {@link SpscRing.init}. */
export interface SpscRingCreateOptions extends SpscRingViewOptions {
  /**
   * Test-only: the value HEAD and TAIL start from, an integer in [0, 2^32) (default 0). Starting
   * near 2^32 exercises the counters' wrap-around without sending four billion messages.
   */
  initialIndex?: number;
}

/** A single-producer / single-consumer ring of fixed-size Uint32 slots in a SharedArrayBuffer. */
export class SpscRing {
  /** The buffer holding the ring (possibly among other rings). */
  readonly sab: SharedArrayBuffer;
  /** Byte offset of the ring's control block in `sab` (a multiple of 64). */
  readonly byteOffset: number;
  /** The control block (see `RingWord`). */
  readonly ctl: Int32Array;
  /** The slot area: slot `s` occupies words `[s × wordsPerSlot, (s + 1) × wordsPerSlot)`. */
  readonly words: Uint32Array;
  /** Capacity in slots (a power of two). */
  readonly slots: number;
  /** Uint32 words per slot. */
  readonly wordsPerSlot: number;
  /** `slots − 1`. */
  readonly mask: number;
  /** Rung by the producer after publishing; the consumer parks on it when the ring is empty. */
  readonly dataBell: Doorbell;
  /** Rung by the consumer after releasing; the producer parks on it when the ring is full. */
  readonly spaceBell: Doorbell;

  // Producer side (private to this view).
  private writeTail: number;
  private publishedTail: number;
  private cachedHead: number;
  private reserved = false;
  private producerBatches: number;

  // Consumer side (private to this view).
  private readHead: number;
  private releasedHead: number;
  private cachedTail: number;
  private consumerBatches: number;

  /** Bytes a ring of `slots` slots of `wordsPerSlot` words needs (a multiple of 64). */
  static byteLength(slots: number, wordsPerSlot: number = MSG_DWORDS): number {
    return ringByteLength(slots, wordsPerSlot);
  }

  /** Allocates a SharedArrayBuffer holding one new, empty ring and returns a view of it. */
  static create(
    slots: number,
    wordsPerSlot: number = MSG_DWORDS,
    options: SpscRingCreateOptions = {},
  ): SpscRing {
    const sab = new SharedArrayBuffer(ringByteLength(slots, wordsPerSlot));
    SpscRing.init(sab, 0, slots, wordsPerSlot, options);
    return new SpscRing(sab, 0, options);
  }

  /**
   * Formats an empty ring at `byteOffset` of an existing buffer (to pack several rings in one
   * buffer, at offsets that are sums of {@link byteLength}). Precondition: no thread uses that
   * region yet; share the buffer only afterwards (postMessage orders these plain stores before
   * anything the receiver does).
   */
  static init(
    sab: SharedArrayBuffer,
    byteOffset: number,
    slots: number,
    wordsPerSlot: number = MSG_DWORDS,
    options: SpscRingCreateOptions = {},
  ): void {
    const size = ringByteLength(slots, wordsPerSlot);
    checkRegion(sab, byteOffset, size);
    const start = options.initialIndex ?? 0;
    if (!Number.isInteger(start) || start < 0 || start >= 2 ** 32) {
      throw ringError(
        RingErrorCode.EINVAL,
        `initialIndex must be an integer in [0, 2^32), got ${start}`,
      );
    }
    new Uint8Array(sab, byteOffset, size).fill(0);
    const ctl = new Int32Array(sab, byteOffset, RING_CONTROL_WORDS);
    // All plain stores: nobody else has a view of this region yet (precondition).
    ctl[RingWord.HEAD] = start | 0;
    ctl[RingWord.TAIL] = start | 0;
    ctl[RingWord.SLOTS] = slots;
    ctl[RingWord.WORDS_PER_SLOT] = wordsPerSlot;
    ctl[RingWord.MAGIC] = RING_MAGIC;
  }

  /**
   * A view of the ring formatted at `byteOffset` of `sab` (by {@link create} or {@link init},
   * possibly in another thread). Reads the geometry from the control block and starts both
   * sides' private cursors at the current HEAD and TAIL.
   */
  constructor(sab: SharedArrayBuffer, byteOffset = 0, options: SpscRingViewOptions = {}) {
    if (!(sab instanceof SharedArrayBuffer)) {
      throw ringError(RingErrorCode.EINVAL, 'an SpscRing lives in a SharedArrayBuffer');
    }
    checkRegion(sab, byteOffset, RING_CONTROL_BYTES);
    const ctl = new Int32Array(sab, byteOffset, RING_CONTROL_WORDS);
    // Geometry words: written once by init() before the buffer was shared, read-only since;
    // plain loads suffice (the hand-over of the buffer ordered them).
    const magic = ctl[RingWord.MAGIC]!;
    const slots = ctl[RingWord.SLOTS]!;
    const wordsPerSlot = ctl[RingWord.WORDS_PER_SLOT]!;
    if (magic !== RING_MAGIC) {
      throw ringError(
        RingErrorCode.EINVAL,
        `no ring at byte ${byteOffset}: magic word is 0x${(magic >>> 0).toString(16)}, expected ` +
          `0x${RING_MAGIC.toString(16)}; format the region with SpscRing.init() or SpscRing.create()`,
      );
    }
    const problem = ringGeometryProblem(slots, wordsPerSlot);
    if (problem !== undefined) {
      throw ringError(RingErrorCode.CORRUPT, `ring at byte ${byteOffset}: ${problem}`);
    }
    checkRegion(sab, byteOffset, ringByteLength(slots, wordsPerSlot));

    this.sab = sab;
    this.byteOffset = byteOffset;
    this.ctl = ctl;
    this.words = new Uint32Array(sab, byteOffset + RING_CONTROL_BYTES, slots * wordsPerSlot);
    this.slots = slots;
    this.wordsPerSlot = wordsPerSlot;
    this.mask = slots - 1;
    this.dataBell = new Doorbell(ctl, RingWord.DATA_BELL, RingWord.DATA_SLEEPERS, options);
    this.spaceBell = new Doorbell(ctl, RingWord.SPACE_BELL, RingWord.SPACE_SLEEPERS, options);

    // HEAD: consumer-owned; TAIL: producer-owned. SeqCst loads (acquire) so a view built late
    // starts from the counters as they are, including slots published or released already.
    const head = Atomics.load(ctl, RingWord.HEAD);
    const tail = Atomics.load(ctl, RingWord.TAIL);
    this.writeTail = tail;
    this.publishedTail = tail;
    this.cachedHead = head;
    this.readHead = head;
    this.releasedHead = head;
    this.cachedTail = tail;
    // Batch counters: each owned by its side; only this view's side ever writes its copy.
    this.producerBatches = Atomics.load(ctl, RingWord.PRODUCER_BATCHES);
    this.consumerBatches = Atomics.load(ctl, RingWord.CONSUMER_BATCHES);
  }

  // ---------------------------------------------------------------- producer side

  /**
   * Producer: the word offset in `words` of the next free slot, or −1 when the ring is full
   * (backpressure: publish, ring `dataBell`, and retry after the consumer releases). Calling it
   * again before `commit()` returns the same slot. Write the message with plain stores into
   * `words[offset .. offset + wordsPerSlot − 1]`, then `commit()`.
   */
  reserve(): number {
    const tail = this.writeTail;
    if (((tail - this.cachedHead) | 0) >= this.slots) {
      // HEAD: consumer-owned. SeqCst load = acquire, pairing with the consumer's release():
      // its reads of the slots it released happen before our next writes into them, so we
      // never overwrite a message still being read. Loaded only when the cached copy says
      // "full", so the common path touches no shared line.
      const head = Atomics.load(this.ctl, RingWord.HEAD);
      const used = (tail - head) | 0;
      if (used < 0 || used > this.slots) this.corrupt('producer', head, this.readTailWord());
      this.cachedHead = head;
      if (used === this.slots) return -1;
    }
    this.reserved = true;
    return (tail & this.mask) * this.wordsPerSlot;
  }

  /** Producer: the slot returned by the last `reserve()` holds a complete message. */
  commit(): void {
    if (!this.reserved) {
      throw ringError(RingErrorCode.MISUSE, 'commit() without a successful reserve() before it');
    }
    this.reserved = false;
    this.writeTail = (this.writeTail + 1) | 0;
  }

  /**
   * Producer: makes every committed message visible to the consumer with ONE atomic store of
   * TAIL. Returns false (and stores nothing) when nothing was committed since the last publish.
   * Ring `dataBell` afterwards if the consumer may be parked.
   */
  publish(): boolean {
    const tail = this.writeTail;
    if (tail === this.publishedTail) return false;
    this.producerBatches = (this.producerBatches + 1) | 0;
    // PRODUCER_BATCHES: producer-owned statistic. Plain store, made visible by the TAIL store
    // below like the slot words; a reader racing it sees an older count, never a torn one.
    this.ctl[RingWord.PRODUCER_BATCHES] = this.producerBatches;
    // TAIL: producer-owned. SeqCst store = release: every plain store into the slots (and the
    // counter above) is ordered before it, so a consumer that loads this tail sees the
    // messages. Nothing is lost if the consumer misses it: the tail stays until it looks again;
    // a parked consumer needs `dataBell.ring()` after this store, never before.
    Atomics.store(this.ctl, RingWord.TAIL, tail);
    this.publishedTail = tail;
    return true;
  }

  /** Producer: messages committed but not yet published. */
  unpublished(): number {
    return (this.writeTail - this.publishedTail) | 0;
  }

  /**
   * Producer: publishes what is committed, marks the ring closed (no more messages) and rings
   * `dataBell` — in that order, so a consumer that sees CLOSED also sees the final tail.
   */
  close(): void {
    this.publish();
    // CLOSED: producer-owned. SeqCst store after the TAIL store (release): a consumer that
    // loads CLOSED = 1 and then TAIL reads the final tail. Storing it before publishing would
    // let the consumer stop with messages left in the ring.
    Atomics.store(this.ctl, RingWord.CLOSED, 1);
    this.dataBell.ring();
  }

  // ---------------------------------------------------------------- consumer side

  /**
   * Consumer: messages ready to read (published and not yet consumed through this view). ONE
   * atomic load of TAIL per call: call it once per batch, then `peek` / `consume` that many.
   */
  available(): number {
    // TAIL: producer-owned. SeqCst load = acquire, pairing with publish(): the plain stores of
    // every slot below this tail are visible to our plain loads afterwards. A stale value only
    // delays messages to the next call; it cannot lose them.
    const tail = Atomics.load(this.ctl, RingWord.TAIL);
    const n = (tail - this.readHead) | 0;
    if (n < 0 || n > this.slots) this.corrupt('consumer', this.readHeadWord(), tail);
    this.cachedTail = tail;
    return n;
  }

  /**
   * Consumer: word offset in `words` of the `i`-th unconsumed message, `0 ≤ i < available()`
   * (as of the last `available()` call). Checked; {@link slotOffset} is the unchecked twin.
   */
  peek(i: number): number {
    const n = (this.cachedTail - this.readHead) | 0;
    if ((i | 0) !== i || i < 0 || i >= n) {
      throw ringError(
        RingErrorCode.MISUSE,
        `peek(${i}) outside the ${n} message(s) the last available() returned`,
      );
    }
    return ((this.readHead + i) & this.mask) * this.wordsPerSlot;
  }

  /** Consumer: as {@link peek} without the bounds check (hot loops that already know `i < n`). */
  slotOffset(i: number): number {
    return ((this.readHead + i) & this.mask) * this.wordsPerSlot;
  }

  /** Consumer: marks the next `n` messages read (their slots stay reserved until `release()`). */
  consume(n: number): void {
    const ready = (this.cachedTail - this.readHead) | 0;
    if ((n | 0) !== n || n < 0 || n > ready) {
      throw ringError(
        RingErrorCode.MISUSE,
        `consume(${n}) with ${ready} message(s) available as of the last available() call`,
      );
    }
    this.readHead = (this.readHead + n) | 0;
  }

  /**
   * Consumer: returns every consumed slot to the producer with ONE atomic store of HEAD.
   * Returns false (and stores nothing) when nothing was consumed since the last release. Ring
   * `spaceBell` afterwards if the producer may be parked on a full ring.
   */
  release(): boolean {
    const head = this.readHead;
    if (head === this.releasedHead) return false;
    this.consumerBatches = (this.consumerBatches + 1) | 0;
    // CONSUMER_BATCHES: consumer-owned statistic; plain store, published by the HEAD store.
    this.ctl[RingWord.CONSUMER_BATCHES] = this.consumerBatches;
    // HEAD: consumer-owned. SeqCst store = release: our plain loads of the consumed slots are
    // ordered before it, so the producer (which acquires HEAD before reusing a slot) cannot
    // overwrite a slot we are still reading. A parked producer needs `spaceBell.ring()` after.
    Atomics.store(this.ctl, RingWord.HEAD, head);
    this.releasedHead = head;
    return true;
  }

  /**
   * Consumer: whether the producer closed the ring. Check it BEFORE `available()`: when it is
   * true, the following `available()` sees the final tail, so `closed && available() === 0`
   * means the stream has ended.
   */
  isClosed(): boolean {
    // CLOSED: producer-owned. SeqCst load = acquire, pairing with close(): the final TAIL store
    // is ordered before it, hence visible to the available() that follows.
    return Atomics.load(this.ctl, RingWord.CLOSED) !== 0;
  }

  /** A control word as an unsigned 32-bit value (statistics, tests, debugging). */
  readWord(name: RingWordName): number {
    // Any control word, any owner. SeqCst load; for statistics the value may be stale at once.
    return Atomics.load(this.ctl, RingWord[name]) >>> 0;
  }

  private readTailWord(): number {
    // TAIL: producer-owned; SeqCst load, only to report raw words in a broken-invariant error.
    return Atomics.load(this.ctl, RingWord.TAIL);
  }

  private readHeadWord(): number {
    // HEAD: consumer-owned; SeqCst load, only to report raw words in a broken-invariant error.
    return Atomics.load(this.ctl, RingWord.HEAD);
  }

  private corrupt(side: string, head: number, tail: number): never {
    const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
    throw ringError(
      RingErrorCode.CORRUPT,
      `${side} sees tail − head outside [0, ${this.slots}]: HEAD=${hex(head)} TAIL=${hex(tail)} ` +
        `writeTail=${hex(this.writeTail)} readHead=${hex(this.readHead)} ` +
        `ring at byte ${this.byteOffset} of a ${this.sab.byteLength}-byte buffer ` +
        '(two producers or two consumers on one ring, or a view over the wrong bytes?)',
    );
  }
}

function checkRegion(sab: SharedArrayBuffer, byteOffset: number, size: number): void {
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % CACHE_LINE_BYTES !== 0) {
    throw ringError(
      RingErrorCode.EINVAL,
      `ring byteOffset must be a non-negative multiple of ${CACHE_LINE_BYTES}, got ${byteOffset}`,
    );
  }
  if (byteOffset + size > sab.byteLength) {
    throw ringError(
      RingErrorCode.EINVAL,
      `a ring of ${size} bytes at byte ${byteOffset} does not fit a ${sab.byteLength}-byte buffer`,
    );
  }
}
