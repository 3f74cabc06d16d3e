/**
 * A first-in first-out queue with O(1) `push` and `shift`: a growable ring of slots.
 *
 * `Array.prototype.shift` moves every remaining element, so a queue of n waiters drained one
 * at a time costs O(n²); a kernel path with thousands of sleepers in arrival order (the
 * submitters of an invalidation queue waiting for room, say) uses this instead. Items leave
 * in exactly the order they came; the ring doubles when full and never shrinks (its
 * capacity is the longest the queue has been).
 *
 * Not provided: removal from the middle, iteration (a queue only ever looks at its head).
 */

/** FIFO queue of `T` over a ring that grows by doubling. */
export class Fifo<T> {
  private slots: (T | undefined)[];
  private head = 0;
  private count = 0;

  /** An empty queue with room for `capacity` items before it first grows (default 16). */
  constructor(capacity = 16) {
    let c = 1;
    while (c < capacity) c *= 2;
    this.slots = new Array<T | undefined>(c).fill(undefined);
  }

  /** Items in the queue. */
  get length(): number {
    return this.count;
  }

  /** Appends `item` at the tail. */
  push(item: T): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = item;
    this.count++;
  }

  /** The oldest item, or undefined when the queue is empty. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  /** Removes and returns the oldest item, or undefined when the queue is empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined; // drop the reference: the queue keeps no dead items
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.count--;
    return item;
  }

  private grow(): void {
    const old = this.slots;
    const n = old.length;
    const next = new Array<T | undefined>(n * 2).fill(undefined);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & (n - 1)];
    this.slots = next;
    this.head = 0;
  }
}
