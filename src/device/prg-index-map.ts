/**
 * A map from page request group index (PRG index, 9 bits: 0..511, spec §4.7) to a PASID-sized
 * integer, in two small typed arrays.
 *
 * A function tracks its outstanding groups and unanswered stop markers by PRG index, one set
 * and one delete per page request. A `Map` with few entries rebuilds its hash table when it
 * shrinks or fills with deleted entries, so under a page-request storm (millions of requests
 * retried after auto-responses) those rebuilds were most of what a run allocated; here every
 * operation is a store into a fixed array.
 *
 * Not provided: iteration. Values are int32 (a PASID, or −1 for "no PASID").
 */

/** PRG indexes: 9 bits. */
export const PRG_INDEXES = 512;

/** PRG index → int32, with `Map`'s get / set / has / delete / size. */
export class PrgIndexMap {
  private readonly values = new Int32Array(PRG_INDEXES);
  private readonly present = new Uint8Array(PRG_INDEXES);
  private count = 0;

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  /** True when `prgIndex` has a value. */
  has(prgIndex: number): boolean {
    return this.present[this.check(prgIndex)] === 1;
  }

  /** The value of `prgIndex`, or undefined. */
  get(prgIndex: number): number | undefined {
    const i = this.check(prgIndex);
    return this.present[i] === 1 ? this.values[i] : undefined;
  }

  /** Sets the value of `prgIndex` (an int32). */
  set(prgIndex: number, value: number): void {
    const i = this.check(prgIndex);
    if ((value | 0) !== value) throw new RangeError(`PrgIndexMap: value ${value} is not an int32`);
    if (this.present[i] === 0) {
      this.present[i] = 1;
      this.count++;
    }
    this.values[i] = value;
  }

  /** Removes `prgIndex`; true when it had a value. */
  delete(prgIndex: number): boolean {
    const i = this.check(prgIndex);
    if (this.present[i] === 0) return false;
    this.present[i] = 0;
    this.count--;
    return true;
  }

  private check(prgIndex: number): number {
    if (!(prgIndex >= 0 && prgIndex < PRG_INDEXES) || (prgIndex | 0) !== prgIndex) {
      throw new RangeError(`PRG index ${prgIndex} out of range 0..${PRG_INDEXES - 1}`);
    }
    return prgIndex;
  }
}
