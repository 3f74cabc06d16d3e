/**
 * What v5.8's own flushes leave stale (spec §5.1, §2.1.1, §5.2, §9): a record kept beside
 * the driver state — not state the kernel has — so that the invariant checker can tell a DMA
 * through a translation v5.8 never invalidated (kernel behaviour, counted as
 * `staleByKernel`) from one the model should never have produced (a violation).
 *
 * Two v5.8 bugs leave translations behind, both fixed in v5.11:
 * - the unaligned range flush (P-ALIGN): the P_IOTLB invalidates only the aligned 2^AM-page
 *   block holding start, so the unit's IOTLB keeps the range's pages past it, and its
 *   paging-structure caches keep the entries of regions the range reaches but the block does
 *   not — a walk through one may read a page table munmap freed;
 * - `svm->iommu` routing (P-UNIT): every range flush and the release go to the unit of the
 *   bond's first device, so a device behind another unit keeps all of it — its unit's PASID
 *   cache, IOTLB and paging-structure caches, and its own device TLB, whose invalidations are
 *   queued on the wrong unit and reach nobody.
 *
 * Entries are page ranges of a PASID, kept per unit (IOTLB, paging-structure and PASID
 * caches) and per function (its ATC), entered when the kernel issues a flush that misses them
 * and removed when a later flush the kernel issues covers them: a range flush on that unit
 * (its aligned block) or to that function (its device-TLB window), a PASID-selective
 * teardown flush. A function's ATC may have been refilled from its unit's stale entries, so
 * when a unit's entries of a PASID are flushed they pass to the ATCs of the functions behind
 * it that stay bound. Entries outlive the PASID's `intel_svm`: what a unit still caches
 * after the last unbind is still there when the PASID is handed out again.
 *
 * Not modelled: entries a cache evicted, or the implicit invalidation of a page request
 * removed, stay in the ledger (it may explain more than is still cached, never less).
 */

/** One past the last page number of any address space (2^57 bytes with LA57, 4 KiB pages). */
export const ALL_PAGES_END = 2 ** 45;

/** Pages covered by one paging-structure-cache entry of level L (index L): 512^(L−1). */
const PSC_SPAN = [0, 1, 512, 512 ** 2, 512 ** 3, 512 ** 4] as const;

/** A set of page numbers as sorted, disjoint, non-adjacent [first, end) ranges. */
export class PageRanges {
  /** first0, end0, first1, end1, … ascending. */
  private bounds: number[] = [];

  /** True when no page is in the set. */
  get empty(): boolean {
    return this.bounds.length === 0;
  }

  /** The ranges as [first, end) pairs (a copy). */
  ranges(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.bounds.length; i += 2)
      out.push([this.bounds[i]!, this.bounds[i + 1]!]);
    return out;
  }

  /** True when page `vpn` is in the set. */
  has(vpn: number): boolean {
    const b = this.bounds;
    for (let i = 0; i < b.length; i += 2) {
      if (vpn < b[i]!) return false;
      if (vpn < b[i + 1]!) return true;
    }
    return false;
  }

  /** Adds the pages [first, end). */
  add(first: number, end: number): void {
    if (!(first < end)) return;
    const b = this.bounds;
    const out: number[] = [];
    let i = 0;
    while (i < b.length && b[i + 1]! < first) out.push(b[i++]!, b[i++]!);
    let f = first;
    let e = end;
    while (i < b.length && b[i]! <= e) {
      f = Math.min(f, b[i]!);
      e = Math.max(e, b[i + 1]!);
      i += 2;
    }
    out.push(f, e);
    while (i < b.length) out.push(b[i++]!);
    this.bounds = out;
  }

  /** Removes the pages [first, end). */
  remove(first: number, end: number): void {
    if (!(first < end)) return;
    const b = this.bounds;
    const out: number[] = [];
    for (let i = 0; i < b.length; i += 2) {
      const f = b[i]!;
      const e = b[i + 1]!;
      if (e <= first || f >= end) out.push(f, e);
      else {
        if (f < first) out.push(f, first);
        if (e > end) out.push(end, e);
      }
    }
    this.bounds = out;
  }
}

/**
 * The pages whose translation a unit may still give the old way after a v5.8 flush was asked
 * to cover [first, end) but invalidated only [flushedFirst, flushedEnd) (an aligned block
 * holding `first`; empty when nothing reached the unit), with `levels`-level paging: the pages
 * of the range outside the block, and every page of the regions whose paging-structure-cache
 * entries (levels 2 … levels) overlap the range but not the block. One range, from the
 * block's end (or, with no block, the first region's start).
 */
export function staleReach(
  first: number,
  end: number,
  flushedFirst: number,
  flushedEnd: number,
  levels: number,
): [number, number] | null {
  if (!(first < end)) return null;
  if (!(flushedFirst < flushedEnd)) {
    // nothing reached the unit: every entry overlapping the range is left
    const span = PSC_SPAN[levels]!;
    return [Math.floor(first / span) * span, Math.ceil(end / span) * span];
  }
  if (end <= flushedEnd) return null;
  let to = end;
  for (let level = 2; level <= levels; level++) {
    const span = PSC_SPAN[level]!;
    const regionsFrom = Math.ceil(flushedEnd / span) * span;
    const regionsTo = Math.ceil(end / span) * span;
    if (regionsFrom < regionsTo) to = Math.max(to, regionsTo);
  }
  return [flushedEnd, to];
}

/** Page ranges per key and PASID. */
class Scoped {
  private readonly byKey = new Map<number, Map<number, PageRanges>>();

  get(key: number, pasid: number): PageRanges | undefined {
    return this.byKey.get(key)?.get(pasid);
  }

  add(key: number, pasid: number, first: number, end: number): void {
    let m = this.byKey.get(key);
    if (m === undefined) {
      m = new Map();
      this.byKey.set(key, m);
    }
    let r = m.get(pasid);
    if (r === undefined) {
      r = new PageRanges();
      m.set(pasid, r);
    }
    r.add(first, end);
  }

  remove(key: number, pasid: number, first: number, end: number): void {
    const r = this.get(key, pasid);
    if (r === undefined) return;
    r.remove(first, end);
    if (r.empty) this.drop(key, pasid);
  }

  /** Removes and returns the ranges of (key, pasid). */
  drop(key: number, pasid: number): PageRanges | undefined {
    const m = this.byKey.get(key);
    const r = m?.get(pasid);
    if (r === undefined) return undefined;
    m!.delete(pasid);
    if (m!.size === 0) this.byKey.delete(key);
    return r;
  }

  get size(): number {
    let n = 0;
    for (const m of this.byKey.values()) n += m.size;
    return n;
  }
}

/** What v5.8's flushes left stale, per unit (by index) and per function (by SID). */
export class StaleLedger {
  private readonly units = new Scoped();
  private readonly functions = new Scoped();

  /** Unit `unit`'s caches may still translate pages [first, end) of `pasid` the old way. */
  unitMissed(unit: number, pasid: number, first: number, end: number): void {
    this.units.add(unit, pasid, first, end);
  }

  /** A page-selective flush of unit `unit` invalidated pages [first, end) of `pasid`. */
  unitFlushed(unit: number, pasid: number, first: number, end: number): void {
    this.units.remove(unit, pasid, first, end);
  }

  /**
   * The PASID cache, IOTLB and paging-structure caches of unit `unit` were flushed for
   * `pasid` (a teardown with the entry's DID). What they held stale may live on in the ATCs
   * of the functions `atcs` (SIDs: ATS functions behind that unit still bound at the PASID).
   */
  unitFlushedPasid(unit: number, pasid: number, atcs: readonly number[]): void {
    const r = this.units.drop(unit, pasid);
    if (r === undefined) return;
    for (const [first, end] of r.ranges())
      for (const sid of atcs) this.functions.add(sid, pasid, first, end);
  }

  /** Function `sid`'s ATC may still hold pages [first, end) of `pasid`. */
  functionMissed(sid: number, pasid: number, first: number, end: number): void {
    this.functions.add(sid, pasid, first, end);
  }

  /** A device-TLB invalidation reached function `sid` for pages [first, end) of `pasid`. */
  functionFlushed(sid: number, pasid: number, first: number, end: number): void {
    this.functions.remove(sid, pasid, first, end);
  }

  /** A device-TLB invalidation of the whole address space reached function `sid`. */
  functionFlushedAll(sid: number, pasid: number): void {
    this.functions.drop(sid, pasid);
  }

  /**
   * True when a DMA of function `sid` behind unit `unit` at page `vpn` of `pasid` may go
   * through a translation v5.8 left stale (in the unit's caches or the function's ATC).
   */
  explains(unit: number, sid: number, pasid: number, vpn: number): boolean {
    return (
      this.units.get(unit, pasid)?.has(vpn) === true ||
      this.functions.get(sid, pasid)?.has(vpn) === true
    );
  }

  /** The stale ranges recorded for unit `unit` at `pasid` (a copy; for tests and reports). */
  unitRanges(unit: number, pasid: number): [number, number][] {
    return this.units.get(unit, pasid)?.ranges() ?? [];
  }

  /** The stale ranges recorded for function `sid` at `pasid` (a copy). */
  functionRanges(sid: number, pasid: number): [number, number][] {
    return this.functions.get(sid, pasid)?.ranges() ?? [];
  }

  /** Number of (unit or function, PASID) pairs with something recorded. */
  get entries(): number {
    return this.units.size + this.functions.size;
  }
}
