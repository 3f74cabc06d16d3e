/**
 * Discrete-event queue ordered by (time, source, sequence) — DESIGN §2–3.
 *
 * The tie-break makes the order of simultaneous events independent of insertion order across
 * components: two events at the same simulated nanosecond run in the order of their source
 * ids, and events of one source in the order that source scheduled them. The threaded runtime
 * relies on this to reproduce the inline order bit for bit.
 *
 * A binary min-heap over parallel typed arrays (no object per entry on the heap itself); the
 * handlers live in a slot table indexed by the heap payload.
 */

/** Something the queue can run at its time. */
export type EventHandler = (nowNs: number) => void;

/** Min-heap of events keyed by (timeNs, source, seq). */
export class EventQueue {
  private time = new Float64Array(64);
  private key = new Float64Array(64); // source * 2^32 + seq, exact below 2^53
  private slot = new Int32Array(64);
  private handlers: (EventHandler | undefined)[] = [];
  private freeSlots: number[] = [];
  private size = 0;
  private seqBySource = new Map<number, number>();

  /** Number of pending events. */
  get length(): number {
    return this.size;
  }

  /** Time of the earliest pending event, or Infinity when empty. */
  peekTime(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : this.time[0]!;
  }

  /**
   * Schedules `handler` at `timeNs` on behalf of `source` (a small non-negative integer
   * naming the component). Sequence numbers are per source, so the order among equal times
   * does not depend on which component scheduled first.
   */
  push(timeNs: number, source: number, handler: EventHandler): void {
    if (!Number.isInteger(timeNs) || timeNs < 0) {
      throw new Error(`event time must be a non-negative integer ns, got ${timeNs}`);
    }
    const seq = this.seqBySource.get(source) ?? 0;
    if (seq >= 0x1_0000_0000) throw new Error(`source ${source} ran out of sequence numbers`);
    this.seqBySource.set(source, seq + 1);
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.handlers.length;
      this.handlers.push(handler);
    } else {
      this.handlers[s] = handler;
    }
    if (this.size === this.time.length) this.grow();
    let i = this.size++;
    const k = source * 0x1_0000_0000 + seq;
    // sift up
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(timeNs, k, this.time[p]!, this.key[p]!)) break;
      this.time[i] = this.time[p]!;
      this.key[i] = this.key[p]!;
      this.slot[i] = this.slot[p]!;
      i = p;
    }
    this.time[i] = timeNs;
    this.key[i] = k;
    this.slot[i] = s;
  }

  /** Removes the earliest event and returns its handler; the caller runs it. */
  pop(): { timeNs: number; handler: EventHandler } | undefined {
    if (this.size === 0) return undefined;
    const timeNs = this.time[0]!;
    const s = this.slot[0]!;
    const handler = this.handlers[s]!;
    this.handlers[s] = undefined;
    this.freeSlots.push(s);
    const n = --this.size;
    if (n > 0) {
      const t = this.time[n]!;
      const k = this.key[n]!;
      const sl = this.slot[n]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c =
          r < n && this.less(this.time[r]!, this.key[r]!, this.time[l]!, this.key[l]!) ? r : l;
        if (!this.less(this.time[c]!, this.key[c]!, t, k)) break;
        this.time[i] = this.time[c]!;
        this.key[i] = this.key[c]!;
        this.slot[i] = this.slot[c]!;
        i = c;
      }
      this.time[i] = t;
      this.key[i] = k;
      this.slot[i] = sl;
    }
    return { timeNs, handler };
  }

  private less(t1: number, k1: number, t2: number, k2: number): boolean {
    return t1 < t2 || (t1 === t2 && k1 < k2);
  }

  private grow(): void {
    const n = this.time.length * 2;
    const t = new Float64Array(n);
    t.set(this.time);
    const k = new Float64Array(n);
    k.set(this.key);
    const s = new Int32Array(n);
    s.set(this.slot);
    this.time = t;
    this.key = k;
    this.slot = s;
  }
}
