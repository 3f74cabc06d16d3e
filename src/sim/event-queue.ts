/**
 * Discrete-event queue ordered by (time, source, sequence) — DESIGN §2–3.
 *
 * The tie-break makes the order of simultaneous events independent of insertion order across
 * components: two events at the same simulated nanosecond run in the order of their source
 * ids, and events of one source in the order that source scheduled them. The threaded runtime
 * relies on this to reproduce the inline order bit for bit.
 *
 * A binary min-heap over parallel typed arrays. An event carries two integers — a target and
 * an argument (a message slot, or a timer code) — so delivering a message allocates nothing.
 *
 * In front of the heap sit lanes: one FIFO per fixed delay (a link's latency), for events
 * pushed "now + that delay". Their times never decrease (the clock does not), so a lane is
 * sorted by time as it fills; among events due at the same instant the lane keeps (source,
 * sequence) order by a short insertion at its tail. Popping takes the smallest key among
 * the heap's top and the lanes' heads: the order is exactly the single heap's, at O(1) per
 * lane event instead of O(log n).
 */

/** A FIFO of events all pushed `delayNs` after the time they were pushed, sorted by key. */
class Lane {
  readonly delayNs: number;
  time = new Float64Array(64);
  key = new Float64Array(64);
  target = new Int32Array(64);
  arg = new Int32Array(64);
  head = 0;
  len = 0;

  constructor(delayNs: number) {
    this.delayNs = delayNs;
  }

  /** Time of the last event, or −1 when empty. */
  lastTime(): number {
    return this.len === 0 ? -1 : this.time[(this.head + this.len - 1) & (this.time.length - 1)]!;
  }

  /** Appends (timeNs ≥ every queued time), moving before equal-time events of larger key. */
  push(timeNs: number, key: number, target: number, arg: number): void {
    if (this.len === this.time.length) this.grow();
    const mask = this.time.length - 1;
    let i = (this.head + this.len) & mask;
    let n = this.len++;
    while (n > 0) {
      const j = (i - 1) & mask;
      if (this.time[j] !== timeNs || this.key[j]! < key) break;
      this.time[i] = this.time[j]!;
      this.key[i] = this.key[j]!;
      this.target[i] = this.target[j]!;
      this.arg[i] = this.arg[j]!;
      i = j;
      n--;
    }
    this.time[i] = timeNs;
    this.key[i] = key;
    this.target[i] = target;
    this.arg[i] = arg;
  }

  private grow(): void {
    const n = this.time.length;
    const copy = <T extends Float64Array | Int32Array>(a: T, b: T): T => {
      for (let k = 0; k < this.len; k++) b[k] = a[(this.head + k) & (n - 1)]!;
      return b;
    };
    this.time = copy(this.time, new Float64Array(n * 2));
    this.key = copy(this.key, new Float64Array(n * 2));
    this.target = copy(this.target, new Int32Array(n * 2));
    this.arg = copy(this.arg, new Int32Array(n * 2));
    this.head = 0;
  }
}

/** Most lanes a queue keeps (each pop looks at every lane's head). */
const MAX_LANES = 4;

/** Min-heap of events keyed by (timeNs, source, seq) with two integer payloads. */
export class EventQueue {
  private time = new Float64Array(256);
  private key = new Float64Array(256); // source * 2^32 + seq, exact below 2^53
  private target = new Int32Array(256);
  private arg = new Int32Array(256);
  private size = 0;
  private seqBySource = new Float64Array(64);

  /** Target of the event returned by the last {@link pop}. */
  poppedTarget = 0;
  /** Argument of the event returned by the last {@link pop}. */
  poppedArg = 0;

  /** Lanes, by delay (see the file header). */
  private lanes: Lane[] = [];

  /** Number of pending events. */
  get length(): number {
    let n = this.size;
    for (const l of this.lanes) n += l.len;
    return n;
  }

  /**
   * Gives events pushed with {@link pushAfter} and one of these delays (ns, positive
   * integers; the first {@link MAX_LANES}) a FIFO lane each. Set before any event is queued.
   */
  setLaneDelays(delays: readonly number[]): void {
    if (this.length > 0) throw new Error('event queue: lanes are set before any event is queued');
    this.lanes = [];
    for (const d of delays) {
      if (!Number.isInteger(d) || d <= 0) throw new Error(`event queue: lane delay ${d} ns`);
      if (this.lanes.length < MAX_LANES && !this.lanes.some((l) => l.delayNs === d)) {
        this.lanes.push(new Lane(d));
      }
    }
  }

  /** Time of the earliest pending event, or Infinity when empty. */
  peekTime(): number {
    let t = this.size === 0 ? Number.POSITIVE_INFINITY : this.time[0]!;
    for (const l of this.lanes) {
      if (l.len > 0 && l.time[l.head]! < t) t = l.time[l.head]!;
    }
    return t;
  }

  /**
   * Schedules an event `delayNs` after `nowNs` (the caller's clock, which never goes back)
   * on behalf of `source`: into the lane of that delay if there is one, else the heap.
   */
  pushAfter(nowNs: number, delayNs: number, source: number, target: number, arg: number): void {
    const timeNs = nowNs + delayNs;
    for (const l of this.lanes) {
      if (l.delayNs === delayNs) {
        if (timeNs >= l.lastTime()) {
          l.push(timeNs, source * 0x1_0000_0000 + this.takeSeq(source), target, arg);
          return;
        }
        break;
      }
    }
    this.push(timeNs, source, target, arg);
  }

  /**
   * Schedules an event at `timeNs` on behalf of `source` (a small non-negative integer naming
   * the component). Sequence numbers are per source, so the order among equal times does not
   * depend on which component scheduled first.
   */
  push(timeNs: number, source: number, target: number, arg: number): void {
    this.pushKeyed(timeNs, source, this.takeSeq(source), target, arg);
  }

  /** The next sequence number of `source` (also used for messages to other partitions). */
  takeSeq(source: number): number {
    if (source >= this.seqBySource.length) {
      const s = new Float64Array(Math.max(source + 1, this.seqBySource.length * 2));
      s.set(this.seqBySource);
      this.seqBySource = s;
    }
    const seq = this.seqBySource[source]!;
    if (seq >= 0x1_0000_0000) throw new Error(`event source ${source} ran out of sequence numbers`);
    this.seqBySource[source] = seq + 1;
    return seq;
  }

  /**
   * Schedules an event with an explicit sequence number: a message from another partition
   * keeps the (time, source, seq) key its sender gave it, so it sorts exactly as it would in
   * a single queue.
   */
  pushKeyed(timeNs: number, source: number, seq: number, target: number, arg: number): void {
    if (!(timeNs >= 0) || timeNs !== Math.floor(timeNs)) {
      throw new Error(`event time must be a non-negative integer ns, got ${timeNs}`);
    }
    if (this.size === this.time.length) this.grow();
    const k = source * 0x1_0000_0000 + seq;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const tp = this.time[p]!;
      if (tp < timeNs || (tp === timeNs && this.key[p]! < k)) break;
      this.time[i] = tp;
      this.key[i] = this.key[p]!;
      this.target[i] = this.target[p]!;
      this.arg[i] = this.arg[p]!;
      i = p;
    }
    this.time[i] = timeNs;
    this.key[i] = k;
    this.target[i] = target;
    this.arg[i] = arg;
  }

  /**
   * Removes the earliest event and returns its time (−1 when empty); its target and argument
   * are left in {@link poppedTarget} and {@link poppedArg}.
   */
  pop(): number {
    let lane: Lane | null = null;
    let bestT = this.size === 0 ? Number.POSITIVE_INFINITY : this.time[0]!;
    let bestK = this.size === 0 ? 0 : this.key[0]!;
    for (const l of this.lanes) {
      if (l.len === 0) continue;
      const t = l.time[l.head]!;
      if (t < bestT || (t === bestT && l.key[l.head]! < bestK)) {
        lane = l;
        bestT = t;
        bestK = l.key[l.head]!;
      }
    }
    if (lane !== null) {
      this.poppedTarget = lane.target[lane.head]!;
      this.poppedArg = lane.arg[lane.head]!;
      lane.head = (lane.head + 1) & (lane.time.length - 1);
      lane.len--;
      return bestT;
    }
    if (this.size === 0) return -1;
    const timeNs = this.time[0]!;
    this.poppedTarget = this.target[0]!;
    this.poppedArg = this.arg[0]!;
    const n = --this.size;
    if (n > 0) {
      const t = this.time[n]!;
      const k = this.key[n]!;
      const tg = this.target[n]!;
      const a = this.arg[n]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n) {
          const tr = this.time[r]!;
          const tl = this.time[l]!;
          if (tr < tl || (tr === tl && this.key[r]! < this.key[l]!)) c = r;
        }
        const tc = this.time[c]!;
        if (tc > t || (tc === t && this.key[c]! > k)) break;
        this.time[i] = tc;
        this.key[i] = this.key[c]!;
        this.target[i] = this.target[c]!;
        this.arg[i] = this.arg[c]!;
        i = c;
      }
      this.time[i] = t;
      this.key[i] = k;
      this.target[i] = tg;
      this.arg[i] = a;
    }
    return timeNs;
  }

  private grow(): void {
    const n = this.time.length * 2;
    const t = new Float64Array(n);
    t.set(this.time);
    const k = new Float64Array(n);
    k.set(this.key);
    const tg = new Int32Array(n);
    tg.set(this.target);
    const a = new Int32Array(n);
    a.set(this.arg);
    this.time = t;
    this.key = k;
    this.target = tg;
    this.arg = a;
  }
}
