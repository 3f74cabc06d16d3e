/**
 * The quantum barrier of the threaded runtime (DESIGN §3): at the end of every quantum each
 * thread (a "party") reports the simulated time of its next pending event, and every party gets
 * back the same global minimum — the start of the next quantum, so quanta with no events
 * anywhere are skipped. One call per party per round (`arrive`), one Atomics.notify per round at
 * most: wake-ups are batched per quantum, never per message.
 *
 * Next-event encoding. A time travels as a float64: an integer ns in [0, 2^53) is exact in a
 * double, and "nothing pending" is +Infinity ({@link BARRIER_NO_EVENT}); callers may pass −1 as
 * an alias for it, `arrive` never returns −1. Infinity is the identity of `min`, so the minimum
 * needs no special case and is Infinity exactly when no party has anything pending. Anything
 * else (NaN, a fraction, −2, 2^53) is rejected with EINVAL before the barrier is touched.
 *
 * Region layout (one 64-byte-aligned region of a SharedArrayBuffer, every written word on a
 * cache line of its own, like `RingWord`):
 *
 *   line   word(s)                  owner (writer after init)       meaning
 *   0      GENERATION  (Int32)      last arriver; abort()           round number, free-running
 *   1      ARRIVED     (Int32)      every party (add); last (store) arrivals in the current round
 *   2      SLEEPERS    (Int32)      waiters (add before park, sub)  parties parked on GENERATION
 *   3      ABORTED, REASON_LENGTH   the first abort() only          aborting party + 1; reason bytes
 *   4–6    reason bytes (UTF-8)     the first abort() only          why the barrier was aborted
 *   7      MAGIC, PARTIES           init() only (read-only after)   guards and geometry
 *          CONTROL                  anyone (Atomics.or), rarely     control bits (stop, commands)
 *   8, 9   RESULT[0], RESULT[1]     last arriver of a round         minimum, by generation parity
 *          (f64) + RESULT_GEN[0/1]                                  and the generation it belongs to,
 *          + RESULT_CTRL[0/1]                                       and CONTROL as the round saw it
 *   10+p   VALUE[p][0], VALUE[p][1] party p only                    next event, by generation parity
 *
 * One round (generation g), party p:
 *
 *   1. load GENERATION (must equal the view's private count g), then ABORTED;
 *   2. VALUE[p][g & 1] = next (plain store);
 *   3. t = Atomics.add(ARRIVED, 1) — SeqCst RMW: releases step 2 and acquires every earlier
 *      arrival's step 2 (the adds form one chain in ARRIVED's modification order);
 *   4. if t = parties − 1 (the last arriver): store ARRIVED = 0, compute the minimum of
 *      VALUE[*][g & 1], store RESULT[g & 1], tag it RESULT_GEN[g & 1] = g, Atomics.add
 *      (GENERATION, 1) (release), and notify GENERATION only if SLEEPERS is non-zero;
 *      otherwise: spin ~spinNs on GENERATION, then park with Atomics.wait(GENERATION, g, timeout)
 *      in a loop — always on g, the value it decided with — until GENERATION ≠ g or the
 *      deadline; then read RESULT[g & 1] if RESULT_GEN[g & 1] = g (else: aborted, or corrupt).
 *
 * Why rounds cannot mix. Round g+1 starts (GENERATION = g+1) only after all parties arrived in
 * round g, and round g+2 only after all parties arrived in round g+1 — which each did after it
 * had read round g's result. So round g's words are never written while anybody still needs
 * them: its VALUE slots are read by the last arriver before it bumps GENERATION, and RESULT[g & 1]
 * is next written by the last arriver of round g+2. Keeping VALUE and RESULT by generation
 * parity makes the margin a whole round: a fast party that has already entered round g+1 (it
 * saw the bump, wrote VALUE[p][(g+1) & 1], maybe is the last arriver writing RESULT[(g+1) & 1])
 * never touches a word of round g while a slow party is still reading RESULT[g & 1]. Parity is
 * enough because two rounds at once is the most the arrival count allows (g+2 needs every
 * party out of g); a single buffer would be correct only through the finer argument that each
 * party reads before it re-arrives. ARRIVED is single: the last arriver stores 0 before its
 * GENERATION add, and every arrival in round g+1 comes after seeing that add. The RESULT_GEN tag
 * turns the argument into a check: a waiter returns RESULT[g & 1] only when it is tagged g (the
 * slot held g−2 or its initial value before; it cannot hold g+2 while this party is in round g),
 * so reading another round's minimum would be reported as ERR_BARRIER_CORRUPT, never returned.
 *
 * Plain float64 accesses. Atomics has no Float64Array, and a plain float64 access may tear when
 * it races. None races: every VALUE store happens before its party's ARRIVED add, which happens
 * before the last arriver's add and hence its loads; every RESULT store happens before the
 * RESULT_GEN tag store (and the GENERATION add) that a waiter acquires before loading it.
 *
 * No lost wake-up (the doorbell's Dekker argument, DESIGN §3). A waiter adds to SLEEPERS, then
 * Atomics.wait compares GENERATION with g atomically with its enqueue; the last arriver adds to
 * GENERATION, then loads SLEEPERS. All four are SeqCst: either the load sees the waiter
 * (notify), or the waiter's compare comes after the bump and returns 'not-equal'. The waiter
 * never re-reads GENERATION to choose what to park on: it parks on g, the generation it arrived
 * in, which cannot move before its own arrival was counted.
 *
 * Abort. `abort(reason)` (any party, any time) claims ABORTED with a compareExchange, publishes
 * the reason, then ADDS to GENERATION and notifies: the bump is what releases parked parties,
 * since they wait on GENERATION. A party that sees GENERATION move checks ABORTED after it
 * (ABORTED was set before the bump, so it is visible) and throws ERR_BARRIER_ABORTED instead of
 * returning — unless its round had completed (RESULT_GEN tagged g), in which case it returns
 * that round's minimum and throws on its next arrival. So a round that completed delivers its
 * result to every party, and every round after it fails for every party: a worker failing in
 * round r leaves every party with exactly r results. An arrive() after the abort throws at once.
 * An aborted barrier stays aborted; GENERATION no longer counts rounds after it.
 *
 * Time limits. Every park has a timeout (`parkTimeoutMs`) and the wait loops on it; the whole
 * wait has a deadline (`deadlineMs`, finite). At the deadline the party aborts the barrier (its
 * arrival is counted and cannot be withdrawn, so the round is broken for everyone) and throws
 * ERR_BARRIER_TIMEOUT naming the party and generation. No wait can hang forever.
 *
 * Threads that cannot block (the main thread, as in `doorbell.ts`): `arrive()` there throws
 * ERR_BARRIER_MISUSE before touching the barrier; use `arriveAsync()`, which spins about
 * `spinNs` once and then polls GENERATION once per event-loop turn (setImmediate), never
 * parking. Such a party is a busy thread while it waits: count it against the cores.
 *
 * Agreed control word. Besides the minimum, every round hands all parties the same snapshot
 * of CONTROL, a word anybody (typically the main thread) may change at any time with
 * {@link QuantumBarrier.postControl} (an Atomics.or). The last arriver loads CONTROL once and
 * stores the snapshot as RESULT_CTRL[g & 1] before the RESULT_GEN tag, so every party reads
 * the value of the same instant after the same round ({@link QuantumBarrier.control}): a stop
 * or a pending command takes effect at one quantum boundary in every thread, whatever the
 * interleaving.
 *
 * Not modelled / not provided: reductions other than the minimum, parties joining or leaving,
 * reuse after an abort (format a fresh region with `init`), fairness of wake-up order.
 */

import { availableParallelism } from 'node:os';
import { codedError, ErrorCode } from '../errors.js';
import {
  CAN_BLOCK_HERE,
  DEFAULT_PARK_TIMEOUT_MS,
  DEFAULT_SPIN_NS,
  SPIN_CHECK_EVERY,
} from './doorbell.js';
import { CACHE_LINE_BYTES, CACHE_LINE_WORDS } from './layout.js';

/** Stable codes of barrier errors (STYLE.md "Errors, in four kinds"; match on `code`). */
export const BarrierErrorCode = {
  /** Bad input: a geometry, offset, party index, option or next-event time out of range. */
  EINVAL: ErrorCode.EINVAL,
  /** API misuse: `arrive()` where blocking is not allowed, two arrivals at once on one view. */
  MISUSE: ErrorCode.ERR_BARRIER_MISUSE,
  /** A broken invariant (two views for one party, a view over the wrong bytes): raw words. */
  CORRUPT: ErrorCode.ERR_BARRIER_CORRUPT,
  /** A party waited longer than its deadline; it aborted the barrier before throwing. */
  TIMEOUT: ErrorCode.ERR_BARRIER_TIMEOUT,
  /** Some party called `abort()`; every later or pending arrival throws this. */
  ABORTED: ErrorCode.ERR_BARRIER_ABORTED,
} as const;

/** One of the barrier error codes. */
export type BarrierErrorCodeValue = (typeof BarrierErrorCode)[keyof typeof BarrierErrorCode];

/** An `Error` carrying a barrier `code`, plus where it happened when that is known. */
export type BarrierError = Error & {
  code: BarrierErrorCodeValue;
  /** The party whose call threw. */
  party?: number;
  /** The generation (round) it was in, as an unsigned 32-bit count. */
  generation?: number;
  /** ERR_BARRIER_ABORTED: the party that aborted the barrier. */
  abortedBy?: number;
  /** ERR_BARRIER_ABORTED: the reason it gave (truncated to {@link BARRIER_REASON_BYTES}). */
  reason?: string;
};

/** Builds a barrier error with `code`, a message saying what was wrong, and `fields`. */
export function barrierError(
  code: BarrierErrorCodeValue,
  message: string,
  fields: Omit<Partial<BarrierError>, 'code' | 'message'> = {},
): BarrierError {
  return codedError(code, `${code}: ${message}`, fields) as BarrierError;
}

/** Int32 word index (into the region) of each barrier word; see the file header. */
export const BarrierWord = {
  /** Last arriver (add) and abort() (add): the round number, free-running 32-bit. Line 0. */
  GENERATION: 0 * CACHE_LINE_WORDS,
  /** Every party (add), the last arriver (store 0): arrivals in the current round. Line 1. */
  ARRIVED: 1 * CACHE_LINE_WORDS,
  /** Waiters: number of parties parked (or about to park) on GENERATION. Line 2. */
  SLEEPERS: 2 * CACHE_LINE_WORDS,
  /** First abort() only: 0, or the aborting party + 1. Line 3. */
  ABORTED: 3 * CACHE_LINE_WORDS,
  /** First abort() only: bytes of the reason, stored after them (0 until published). Line 3. */
  REASON_LENGTH: 3 * CACHE_LINE_WORDS + 1,
  /** Last arriver of an even round: the generation RESULT[0] belongs to. Line 8, after RESULT[0]. */
  RESULT_GEN_0: 8 * CACHE_LINE_WORDS + 2,
  /** Last arriver of an odd round: the generation RESULT[1] belongs to. Line 9, after RESULT[1]. */
  RESULT_GEN_1: 9 * CACHE_LINE_WORDS + 2,
  /** Constant {@link BARRIER_MAGIC}. Line 7. */
  MAGIC: 7 * CACHE_LINE_WORDS,
  /** Constant: number of parties. Line 7. */
  PARTIES: 7 * CACHE_LINE_WORDS + 1,
  /** Anyone, with Atomics.or, rarely: control bits the rounds hand to every party. Line 7. */
  CONTROL: 7 * CACHE_LINE_WORDS + 2,
  /** Last arriver of an even round: CONTROL as that round saw it. Line 8. */
  RESULT_CTRL_0: 8 * CACHE_LINE_WORDS + 3,
  /** Last arriver of an odd round: CONTROL as that round saw it. Line 9. */
  RESULT_CTRL_1: 9 * CACHE_LINE_WORDS + 3,
} as const;

/** First cache line of the abort reason bytes (lines 4–6). */
export const BARRIER_REASON_LINE = 4;

/** Bytes of the abort reason area; longer reasons are truncated. */
export const BARRIER_REASON_BYTES = 3 * CACHE_LINE_BYTES;

/** Cache line of RESULT[0] (float64 slot 0) and RESULT_GEN[0]; RESULT[1] etc. on the next. */
export const BARRIER_RESULT_LINE = 8;

/** Cache line of party 0's VALUE pair; party p uses line BARRIER_VALUE_LINE + p. */
export const BARRIER_VALUE_LINE = 10;

/** Float64 slots per cache line. */
const LINE_F64 = CACHE_LINE_BYTES / 8;

/** Value of the MAGIC word: ASCII "BAR1". */
export const BARRIER_MAGIC = 0x42415231;

/** Most parties a barrier accepts (far more threads than any machine we target has cores). */
export const BARRIER_MAX_PARTIES = 4096;

/** What `arrive` returns, and may be given, when nothing is pending: +Infinity. */
export const BARRIER_NO_EVENT = Number.POSITIVE_INFINITY;

/** Default deadline of one wait: a safety net against a lost party, never a pacing device. */
export const DEFAULT_BARRIER_DEADLINE_MS = 60_000;

/**
 * Default spin before parking for a barrier of `parties`: {@link DEFAULT_SPIN_NS} while every
 * party can have a core, 0 (park at once) when there are more parties than cores (DESIGN §3:
 * a spinning thread on a core it does not own slows everyone down).
 *
 * A longer spin was measured and not taken (2 threads on 2 cores, BENCHMARKS.md "Threads"):
 * 2 ms made dense-64 faster (2.0–2.3 s against 3.6–5.3 s) but a 16-accelerator variant 10×
 * slower (26–48 s against 2.6–3.1 s); 200 µs sat in between on both.
 */
export function defaultBarrierSpinNs(parties: number): number {
  return parties <= availableParallelism() ? DEFAULT_SPIN_NS : 0;
}

/** Options of a view (one party's handle) of a barrier. */
export interface QuantumBarrierOptions {
  /** Whether `arrive()` may park with `Atomics.wait`. Default {@link CAN_BLOCK_HERE}. */
  canBlock?: boolean;
  /** Spin before parking, in ns (0 parks at once). Default {@link defaultBarrierSpinNs}. */
  spinNs?: number;
  /** Timeout of one park, in ms (finite; the wait loops on it). Default 50 ms. */
  parkTimeoutMs?: number;
  /** Longest a single arrival may wait, in ms (finite). Default {@link DEFAULT_BARRIER_DEADLINE_MS}. */
  deadlineMs?: number;
}

/** Options of {@link QuantumBarrier.init}. */
export interface QuantumBarrierInitOptions {
  /**
   * Test-only: the generation to start from, an integer in [0, 2^32) (default 0). Starting
   * near 2^32 exercises the counter's wrap-around without four billion rounds.
   */
  initialGeneration?: number;
}

/** Options of {@link QuantumBarrier.create}: the format's and party 0's view's. */
export interface QuantumBarrierCreateOptions
  extends QuantumBarrierOptions,
    QuantumBarrierInitOptions {}

/** Bytes a barrier of `parties` parties occupies (a multiple of 64); throws EINVAL. */
function barrierByteLength(parties: number): number {
  if (!Number.isInteger(parties) || parties < 1 || parties > BARRIER_MAX_PARTIES) {
    throw barrierError(
      BarrierErrorCode.EINVAL,
      `parties must be an integer between 1 and ${BARRIER_MAX_PARTIES}, got ${parties}`,
    );
  }
  return (BARRIER_VALUE_LINE + parties) * CACHE_LINE_BYTES;
}

/** Checks a finite, non-negative option value; throws EINVAL. */
function finiteOption(name: string, value: number, positive: boolean): number {
  if (!(value >= 0 && value < Number.POSITIVE_INFINITY) || (positive && value === 0)) {
    throw barrierError(
      BarrierErrorCode.EINVAL,
      `${name} must be a finite number ${positive ? '> 0' : '>= 0'}, got ${value}`,
    );
  }
  return value;
}

/** Lets the event loop run (I/O, worker messages, timers) before the next poll. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * One party's view of a barrier shared by `parties` threads (the conservative synchronisation
 * of DESIGN §3): each round every party calls {@link arrive} (or {@link arriveAsync}) with the
 * time of its next pending event and all get the same minimum back.
 */
export class QuantumBarrier {
  /** The buffer holding the barrier (possibly among rings). */
  readonly sab: SharedArrayBuffer;
  /** Byte offset of the region in `sab` (a multiple of 64). */
  readonly byteOffset: number;
  /** Number of parties. */
  readonly parties: number;
  /** This view's party index, 0 .. parties − 1. */
  readonly party: number;
  /** Whether {@link arrive} may park (see the file header); {@link arriveAsync} never does. */
  readonly canBlock: boolean;
  /** Spin before parking, in ns. */
  readonly spinNs: number;
  /** Timeout of one park, in ms. */
  readonly parkTimeoutMs: number;
  /** Longest one arrival waits, in ms, before it aborts the barrier and throws. */
  readonly deadlineMs: number;
  /** The Int32 words of the region (see {@link BarrierWord}). */
  readonly i32: Int32Array;
  /** The float64 slots of the region (RESULT and VALUE). */
  readonly f64: Float64Array;

  /** The generation this party is in (private; equals GENERATION while the barrier is sound). */
  private gen: number;
  /** Float64 index of VALUE[party][0]. */
  private readonly valueIndex: number;
  /** True while an arriveAsync of this view has not settled. */
  private pending = false;
  /** CONTROL as the last round this party completed saw it (the same in every party). */
  private agreedControl = 0;

  /** Bytes a barrier of `parties` parties needs (a multiple of 64). Throws EINVAL. */
  static byteLength(parties: number): number {
    return barrierByteLength(parties);
  }

  /** Allocates a SharedArrayBuffer holding one new barrier and returns party 0's view of it. */
  static create(parties: number, options: QuantumBarrierCreateOptions = {}): QuantumBarrier {
    const sab = new SharedArrayBuffer(barrierByteLength(parties));
    QuantumBarrier.init(sab, 0, parties, options);
    return new QuantumBarrier(sab, 0, 0, options);
  }

  /**
   * Formats a barrier at `byteOffset` of an existing buffer. Precondition: no thread uses that
   * region yet; share the buffer only afterwards (postMessage orders these plain stores before
   * anything the receiver does).
   */
  static init(
    sab: SharedArrayBuffer,
    byteOffset: number,
    parties: number,
    options: QuantumBarrierInitOptions = {},
  ): void {
    const size = barrierByteLength(parties);
    checkRegion(sab, byteOffset, size);
    const start = options.initialGeneration ?? 0;
    if (!Number.isInteger(start) || start < 0 || start >= 2 ** 32) {
      throw barrierError(
        BarrierErrorCode.EINVAL,
        `initialGeneration must be an integer in [0, 2^32), got ${start}`,
      );
    }
    new Uint8Array(sab, byteOffset, size).fill(0);
    const i32 = new Int32Array(sab, byteOffset, size / 4);
    // All plain stores: nobody else has a view of this region yet (precondition).
    i32[BarrierWord.GENERATION] = start | 0;
    // Tags no round can have: odd in the even slot, even in the odd one.
    i32[BarrierWord.RESULT_GEN_0] = 1;
    i32[BarrierWord.RESULT_GEN_1] = 0;
    i32[BarrierWord.PARTIES] = parties;
    i32[BarrierWord.MAGIC] = BARRIER_MAGIC;
  }

  /**
   * Party `party`'s view of the barrier formatted at `byteOffset` of `sab` (by {@link create}
   * or {@link init}, possibly in another thread). Each thread builds its own; one view per party.
   * Build it before this party's first arrival (it starts from the current generation).
   */
  constructor(
    sab: SharedArrayBuffer,
    byteOffset: number,
    party: number,
    options: QuantumBarrierOptions = {},
  ) {
    if (!(sab instanceof SharedArrayBuffer)) {
      throw barrierError(BarrierErrorCode.EINVAL, 'a QuantumBarrier lives in a SharedArrayBuffer');
    }
    checkRegion(sab, byteOffset, BARRIER_VALUE_LINE * CACHE_LINE_BYTES);
    const head = new Int32Array(sab, byteOffset, BARRIER_VALUE_LINE * CACHE_LINE_WORDS);
    // MAGIC, PARTIES: written once by init() before the buffer was shared, read-only since;
    // plain loads suffice (the hand-over of the buffer ordered them).
    const magic = head[BarrierWord.MAGIC]!;
    const parties = head[BarrierWord.PARTIES]!;
    if (magic !== BARRIER_MAGIC) {
      throw barrierError(
        BarrierErrorCode.EINVAL,
        `no barrier at byte ${byteOffset}: magic word is 0x${(magic >>> 0).toString(16)}, ` +
          `expected 0x${BARRIER_MAGIC.toString(16)}; format the region with QuantumBarrier.init() ` +
          'or QuantumBarrier.create()',
      );
    }
    if (!Number.isInteger(parties) || parties < 1 || parties > BARRIER_MAX_PARTIES) {
      throw barrierError(
        BarrierErrorCode.CORRUPT,
        `barrier at byte ${byteOffset}: PARTIES word is ${parties}`,
      );
    }
    const size = barrierByteLength(parties);
    checkRegion(sab, byteOffset, size);
    if (!Number.isInteger(party) || party < 0 || party >= parties) {
      throw barrierError(
        BarrierErrorCode.EINVAL,
        `party must be an integer in [0, ${parties}) for this barrier, got ${party}`,
      );
    }
    this.sab = sab;
    this.byteOffset = byteOffset;
    this.parties = parties;
    this.party = party;
    this.canBlock = options.canBlock ?? CAN_BLOCK_HERE;
    this.spinNs = finiteOption('spinNs', options.spinNs ?? defaultBarrierSpinNs(parties), false);
    this.parkTimeoutMs = finiteOption(
      'parkTimeoutMs',
      options.parkTimeoutMs ?? DEFAULT_PARK_TIMEOUT_MS,
      true,
    );
    this.deadlineMs = finiteOption(
      'deadlineMs',
      options.deadlineMs ?? DEFAULT_BARRIER_DEADLINE_MS,
      true,
    );
    this.i32 = new Int32Array(sab, byteOffset, size / 4);
    this.f64 = new Float64Array(sab, byteOffset, size / 8);
    this.valueIndex = (BARRIER_VALUE_LINE + party) * LINE_F64;
    // GENERATION: last arriver / abort. SeqCst load (acquire): a view built late starts in the
    // round in progress, which cannot have completed without this party.
    this.gen = Atomics.load(this.i32, BarrierWord.GENERATION);
  }

  /**
   * Reports this party's next event time for the current round and blocks until every party has
   * arrived; returns the minimum over all parties (identical in every party), Infinity when none
   * has anything pending. `nextEventNs`: an integer in [0, 2^53), or Infinity / −1 for "nothing
   * pending". Throws EINVAL for another value, ERR_BARRIER_MISUSE on a view that cannot block,
   * ERR_BARRIER_ABORTED once any party aborted, ERR_BARRIER_TIMEOUT past `deadlineMs`.
   */
  arrive(nextEventNs: number): number {
    const value = encodeNextEvent(nextEventNs, this.party);
    if (!this.canBlock) {
      throw barrierError(
        BarrierErrorCode.MISUSE,
        `party ${this.party}: arrive() would block a thread that cannot block (the main thread?); ` +
          'use arriveAsync() there',
        { party: this.party, generation: this.gen >>> 0 },
      );
    }
    this.checkIdle();
    const g = this.gen;
    const done = this.enter(value, g);
    if (done !== undefined) return done;
    this.waitBlocking(g);
    return this.leave(g);
  }

  /**
   * As {@link arrive}, for any thread, never parking: spins about `spinNs` once, then polls once
   * per event-loop turn until the round completes. Call it again only after it settled.
   */
  async arriveAsync(nextEventNs: number): Promise<number> {
    const value = encodeNextEvent(nextEventNs, this.party);
    this.checkIdle();
    const g = this.gen;
    const done = this.enter(value, g);
    if (done !== undefined) return done;
    this.pending = true;
    try {
      const i32 = this.i32;
      const deadlineMs = performance.now() + this.deadlineMs;
      if (!this.spin(g)) {
        // GENERATION: last arriver / abort. SeqCst load (acquire) once per turn; a missed bump
        // only costs one more turn, the value stays moved.
        while (Atomics.load(i32, BarrierWord.GENERATION) === g) {
          if (performance.now() >= deadlineMs) this.timedOut(g);
          await yieldToEventLoop();
        }
      }
    } finally {
      this.pending = false;
    }
    return this.leave(g);
  }

  /**
   * Aborts the barrier for every party: pending and later arrivals throw ERR_BARRIER_ABORTED
   * naming this party and `reason` (UTF-8, truncated to {@link BARRIER_REASON_BYTES} bytes). Call
   * it from a party that fails, so the others stop instead of waiting for it. Returns true for
   * the abort that took effect, false when the barrier was already aborted. Never blocks.
   */
  abort(reason: string): boolean {
    const i32 = this.i32;
    // ABORTED: claimed once. SeqCst compareExchange: exactly one aborter wins and writes the
    // reason; a loser still bumps and notifies below, so nobody depends on the winner finishing.
    const won = Atomics.compareExchange(i32, BarrierWord.ABORTED, 0, this.party + 1) === 0;
    if (won) {
      const bytes = utf8Encoder.encode(reason).subarray(0, BARRIER_REASON_BYTES);
      new Uint8Array(
        this.sab,
        this.byteOffset + BARRIER_REASON_LINE * CACHE_LINE_BYTES,
        BARRIER_REASON_BYTES,
      ).set(bytes);
      // REASON_LENGTH: winner-owned, written once. SeqCst store = release of the plain reason
      // stores above; a reader that loads a non-zero length sees the bytes. Readers that look
      // before it only miss the text, never the abort (ABORTED is already set).
      Atomics.store(i32, BarrierWord.REASON_LENGTH, bytes.length);
    }
    // GENERATION: bumped by abort too, because parked parties wait on it; SeqCst add after
    // ABORTED was set, so whoever sees the bump sees ABORTED. Without it a party that checked
    // ABORTED just before parking would sleep through the abort until its deadline.
    Atomics.add(i32, BarrierWord.GENERATION, 1);
    // GENERATION: wake every parked party (unconditionally: an abort is rare). A party not yet
    // enqueued compares against the bumped word and returns 'not-equal'.
    Atomics.notify(i32, BarrierWord.GENERATION);
    return won;
  }

  /**
   * The CONTROL word as the last round this party completed saw it: every party gets the same
   * value after the same round (0 before the first round).
   */
  get control(): number {
    return this.agreedControl;
  }

  /**
   * Sets `bits` in the CONTROL word (any thread, never blocks); the next round to complete
   * hands the new value to every party. Returns the word after the change.
   */
  postControl(bits: number): number {
    // CONTROL: anyone. SeqCst or: concurrent posts never lose a bit; the next last arriver's
    // load sees it. Parked parties need no wake-up: the value travels with the next round.
    return Atomics.or(this.i32, BarrierWord.CONTROL, bits) | bits;
  }

  /** Whether some party aborted the barrier. */
  isAborted(): boolean {
    // ABORTED: first aborter. SeqCst load; may turn true the moment after it returned false.
    return Atomics.load(this.i32, BarrierWord.ABORTED) !== 0;
  }

  /** Who aborted the barrier and why, or undefined while it is not aborted. */
  abortInfo(): { party: number; reason: string } | undefined {
    // ABORTED: first aborter. SeqCst load.
    const by = Atomics.load(this.i32, BarrierWord.ABORTED);
    if (by === 0) return undefined;
    return { party: by - 1, reason: this.readReason() };
  }

  /** The shared generation (rounds completed, mod 2^32; after an abort it no longer counts rounds). */
  generation(): number {
    // GENERATION: last arriver / abort. SeqCst load; for tests and stats, stale at once.
    return Atomics.load(this.i32, BarrierWord.GENERATION) >>> 0;
  }

  /** Parties that arrived in the round in progress (tests, stats, timeout messages). */
  arrived(): number {
    // ARRIVED: every party. SeqCst load; stale at once.
    return Atomics.load(this.i32, BarrierWord.ARRIVED);
  }

  /** Parties announced as parked on GENERATION (tests and stats). */
  sleepers(): number {
    // SLEEPERS: waiters. SeqCst load; stale at once.
    return Atomics.load(this.i32, BarrierWord.SLEEPERS);
  }

  // ---------------------------------------------------------------- internals

  /**
   * Steps 1–4 of the file header up to the wait: publishes `value` for generation `g` and
   * counts the arrival. Returns the round's minimum when this party was the last arriver (the
   * round is complete), undefined when it must wait for GENERATION to leave `g`.
   */
  private enter(value: number, g: number): number | undefined {
    const i32 = this.i32;
    // GENERATION: last arriver / abort. SeqCst load, BEFORE the ABORTED load: abort() sets
    // ABORTED before it bumps GENERATION, so a GENERATION that moved under us with ABORTED
    // still clear is a real corruption, not an abort seen half-way.
    const shared = Atomics.load(i32, BarrierWord.GENERATION);
    // ABORTED: first aborter. SeqCst load (acquire).
    if (Atomics.load(i32, BarrierWord.ABORTED) !== 0) throw this.abortedError(g);
    if (shared !== g) {
      this.corrupt(`GENERATION=${shared >>> 0} but this party is in generation ${g >>> 0}`);
    }
    const parity = g & 1;
    // VALUE[party][parity]: this party's own slot, plain store; published by the add below.
    this.f64[this.valueIndex + parity] = value;
    // ARRIVED: every party adds. SeqCst RMW: releases the store above and acquires the stores
    // of every party that arrived before us (one chain of adds). A lost arrival is impossible
    // (RMW); a plain store here could drop one and hang the round until the deadline.
    const ticket = Atomics.add(i32, BarrierWord.ARRIVED, 1);
    const last = this.parties - 1;
    if (ticket < last) return undefined;
    if (ticket !== last) {
      this.corrupt(`ARRIVED was ${ticket} before this arrival, more than ${last} other parties`);
    }
    // ARRIVED: the last arriver resets it. SeqCst store, before the GENERATION bump below: every
    // arrival of round g+1 comes after seeing that bump, hence counts from 0.
    Atomics.store(i32, BarrierWord.ARRIVED, 0);
    const f64 = this.f64;
    let min = Number.POSITIVE_INFINITY;
    for (let i = BARRIER_VALUE_LINE * LINE_F64 + parity, p = 0; p < this.parties; p++) {
      const v = f64[i]!; // VALUE[p][parity]: plain load, acquired by our ARRIVED add
      if (v < min) min = v;
      i += LINE_F64;
    }
    // RESULT[parity]: last arriver of round g only; plain store, published by the tag below.
    f64[(BARRIER_RESULT_LINE + parity) * LINE_F64] = min;
    // CONTROL: anyone (or). SeqCst load, once per round, by the last arriver only: the one
    // snapshot every party of this round gets. RESULT_CTRL[parity]: last arriver of round g;
    // plain-ordered like RESULT by the tag below.
    const control = Atomics.load(i32, BarrierWord.CONTROL);
    Atomics.store(
      i32,
      parity === 0 ? BarrierWord.RESULT_CTRL_0 : BarrierWord.RESULT_CTRL_1,
      control,
    );
    this.agreedControl = control;
    // RESULT_GEN[parity]: last arriver of round g only. SeqCst store = release of RESULT, and
    // before the bump: whoever sees the bump (or, after an abort, this tag) sees the minimum.
    Atomics.store(i32, parity === 0 ? BarrierWord.RESULT_GEN_0 : BarrierWord.RESULT_GEN_1, g);
    this.gen = (g + 1) | 0;
    // GENERATION: last arriver. SeqCst add = release of RESULT and of ARRIVED = 0, and ordered
    // before the SLEEPERS load (Dekker, file header). An add rather than a store so a concurrent
    // abort's bump is never overwritten.
    Atomics.add(i32, BarrierWord.GENERATION, 1);
    // SLEEPERS: waiters. SeqCst load after the bump: 0 means every waiter not yet announced will
    // compare after the bump and not sleep; non-zero means we must notify.
    if (Atomics.load(i32, BarrierWord.SLEEPERS) !== 0) {
      // GENERATION: wakes every parked party, once per round (batched per quantum).
      Atomics.notify(i32, BarrierWord.GENERATION);
    }
    return min;
  }

  /**
   * After GENERATION left `g`: moves to the next round and returns round g's minimum, or throws
   * ERR_BARRIER_ABORTED when the round did not complete (GENERATION moved by an abort).
   */
  private leave(g: number): number {
    this.gen = (g + 1) | 0;
    const i32 = this.i32;
    const parity = g & 1;
    // RESULT_GEN[parity]: last arriver of round g. SeqCst load (acquire of RESULT). Tagged g
    // exactly when round g completed, even if an abort bumped GENERATION as well afterwards.
    const tag = Atomics.load(
      i32,
      parity === 0 ? BarrierWord.RESULT_GEN_0 : BarrierWord.RESULT_GEN_1,
    );
    // RESULT[g & 1]: written by round g's last arriver before its tag; next written in round
    // g+2, which cannot start before we arrive in round g+1.
    if (tag === g) {
      // RESULT_CTRL[g & 1]: written with RESULT, before the tag we just acquired.
      this.agreedControl = Atomics.load(
        i32,
        parity === 0 ? BarrierWord.RESULT_CTRL_0 : BarrierWord.RESULT_CTRL_1,
      );
      return this.f64[(BARRIER_RESULT_LINE + parity) * LINE_F64]!;
    }
    // ABORTED: first aborter. SeqCst load after the GENERATION load that saw the change: the
    // round did not complete, so an abort moved GENERATION, and it set ABORTED before that.
    if (Atomics.load(i32, BarrierWord.ABORTED) !== 0) throw this.abortedError(g);
    return this.corrupt(
      `GENERATION left ${g >>> 0} but RESULT_GEN[${parity}] is ${tag >>> 0} and nobody aborted`,
    );
  }

  /** Spins up to `spinNs` on GENERATION; true when it left `g`. */
  private spin(g: number): boolean {
    const i32 = this.i32;
    // GENERATION: last arriver / abort. SeqCst load (acquire).
    if (Atomics.load(i32, BarrierWord.GENERATION) !== g) return true;
    if (this.spinNs <= 0) return false;
    const endMs = performance.now() + this.spinNs / 1e6;
    for (;;) {
      for (let k = 0; k < SPIN_CHECK_EVERY; k++) {
        // GENERATION: SeqCst load every iteration; a plain read could be hoisted out of the
        // loop by the JIT and spin on a stale value until the deadline.
        if (Atomics.load(i32, BarrierWord.GENERATION) !== g) return true;
      }
      if (performance.now() >= endMs) return false;
    }
  }

  /** Waits (spin, then park in a loop) until GENERATION leaves `g`; throws at the deadline. */
  private waitBlocking(g: number): void {
    const deadlineMs = performance.now() + this.deadlineMs;
    if (this.spin(g)) return;
    const i32 = this.i32;
    for (;;) {
      const leftMs = deadlineMs - performance.now();
      if (leftMs <= 0) {
        this.timedOut(g);
        return;
      }
      // SLEEPERS: shared by waiters, read by the last arriver. SeqCst add announces us BEFORE
      // the compare inside Atomics.wait; announcing after it would let the last arriver skip
      // the notify between our compare and our announcement: a lost wake-up until the timeout.
      Atomics.add(i32, BarrierWord.SLEEPERS, 1);
      // GENERATION: compare-and-park on exactly g, the generation we arrived in — never a
      // re-read value (re-reading would swallow a bump that landed since we arrived and sleep
      // on the new value: the prototype's deadlock). 'not-equal' when the round already ended.
      Atomics.wait(i32, BarrierWord.GENERATION, g, Math.min(this.parkTimeoutMs, leftMs));
      // SLEEPERS: withdraw the announcement (SeqCst). Leaving it up only costs a needless notify.
      Atomics.sub(i32, BarrierWord.SLEEPERS, 1);
      // GENERATION: SeqCst load (acquire) whatever woke us: a timeout loops, and a notify is
      // only ever sent after a bump, but checking the word is what counts.
      if (Atomics.load(i32, BarrierWord.GENERATION) !== g) return;
    }
  }

  /**
   * The deadline passed in generation `g`. Returns if the round ended after all (checked one
   * last time); otherwise aborts the barrier (our arrival is counted and cannot be taken back,
   * so the round is broken for everyone) and throws ERR_BARRIER_TIMEOUT.
   */
  private timedOut(g: number): void {
    // GENERATION: SeqCst load, the last chance for a round that ended right at the deadline.
    if (Atomics.load(this.i32, BarrierWord.GENERATION) !== g) return;
    const arrived = this.arrived();
    const what =
      `party ${this.party} waited more than ${this.deadlineMs} ms in generation ${g >>> 0} ` +
      `(${arrived} of ${this.parties} parties arrived)`;
    this.abort(`${what}: timed out`);
    this.gen = (g + 1) | 0;
    throw barrierError(
      BarrierErrorCode.TIMEOUT,
      `${what}; the barrier is now aborted. A party stopped arriving (crashed, stuck, or ` +
        'skipped a round); raise deadlineMs only if rounds legitimately take this long',
      { party: this.party, generation: g >>> 0 },
    );
  }

  private checkIdle(): void {
    if (this.pending) {
      throw barrierError(
        BarrierErrorCode.MISUSE,
        `party ${this.party} arrived again while its arriveAsync() for generation ` +
          `${this.gen >>> 0} is still pending; await it first`,
        { party: this.party, generation: this.gen >>> 0 },
      );
    }
  }

  private readReason(): string {
    // REASON_LENGTH: first aborter, stored after the bytes. SeqCst load (acquire).
    const n = Atomics.load(this.i32, BarrierWord.REASON_LENGTH);
    if (n <= 0 || n > BARRIER_REASON_BYTES) return '(reason not published yet)';
    // slice() copies into an unshared buffer: TextDecoder refuses shared memory.
    const bytes = new Uint8Array(
      this.sab,
      this.byteOffset + BARRIER_REASON_LINE * CACHE_LINE_BYTES,
      n,
    ).slice();
    return utf8Decoder.decode(bytes);
  }

  private abortedError(g: number): BarrierError {
    const info = this.abortInfo() ?? { party: -1, reason: '(unknown)' };
    return barrierError(
      BarrierErrorCode.ABORTED,
      `barrier aborted by party ${info.party}: ${info.reason} ` +
        `(seen by party ${this.party} in generation ${g >>> 0})`,
      {
        party: this.party,
        generation: g >>> 0,
        abortedBy: info.party,
        reason: info.reason,
      },
    );
  }

  private corrupt(what: string): never {
    const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
    const i32 = this.i32;
    // Any word, any owner: SeqCst loads, only to report raw words in a broken-invariant error.
    const words =
      `GENERATION=${hex(Atomics.load(i32, BarrierWord.GENERATION))} ` +
      `ARRIVED=${hex(Atomics.load(i32, BarrierWord.ARRIVED))} ` +
      `SLEEPERS=${hex(Atomics.load(i32, BarrierWord.SLEEPERS))} ` +
      `ABORTED=${hex(Atomics.load(i32, BarrierWord.ABORTED))}`;
    throw barrierError(
      BarrierErrorCode.CORRUPT,
      `party ${this.party}: ${what}; ${words}; barrier at byte ${this.byteOffset} of a ` +
        `${this.sab.byteLength}-byte buffer (two views for one party, a party that skipped a ` +
        'round, or a view over the wrong bytes?)',
      { party: this.party, generation: this.gen >>> 0 },
    );
  }
}

/**
 * The float64 a next-event time is stored as (see the file header): the integer itself, or
 * Infinity for "nothing pending" (given as Infinity or −1). Throws EINVAL for anything else.
 */
export function encodeNextEvent(nextEventNs: number, party = -1): number {
  if (Number.isSafeInteger(nextEventNs) && nextEventNs >= 0) return nextEventNs;
  if (nextEventNs === -1 || nextEventNs === BARRIER_NO_EVENT) return BARRIER_NO_EVENT;
  throw barrierError(
    BarrierErrorCode.EINVAL,
    `next event time must be an integer ns in [0, 2^53) or Infinity / -1 for none, got ` +
      `${nextEventNs}${party >= 0 ? ` from party ${party}` : ''}`,
  );
}

function checkRegion(sab: SharedArrayBuffer, byteOffset: number, size: number): void {
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % CACHE_LINE_BYTES !== 0) {
    throw barrierError(
      BarrierErrorCode.EINVAL,
      `barrier byteOffset must be a non-negative multiple of ${CACHE_LINE_BYTES}, got ${byteOffset}`,
    );
  }
  if (byteOffset + size > sab.byteLength) {
    throw barrierError(
      BarrierErrorCode.EINVAL,
      `a barrier of ${size} bytes at byte ${byteOffset} does not fit a ${sab.byteLength}-byte buffer`,
    );
  }
}
