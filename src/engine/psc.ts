/**
 * The paging-structure cache (PSC) of first-stage walks (VTD 6.2.4 "paging-structure caches";
 * spec §5.1 IH = 0, §7.3).
 *
 * It caches non-leaf first-stage entries. An entry of level L ∈ {2, 3, 4, 5} (PDE, PDPTE,
 * PML4E, PML5E) is keyed by (did, pasid, L, prefix) with prefix = floor(vpn / 512^(L−1)) — the
 * 512^(L−1) pages it maps — and holds the frame of the level L−1 table it points to. There is
 * one structure per level, as hardware keeps separate PDE / PDPTE / PML4E / PML5E caches, so a
 * stream of PDE fills cannot evict the upper levels; every level gets the same params
 * (`entries`, `assoc`, `policy`), so the total capacity is 4 × `entries`. Within a level the
 * set is `prefix mod sets`. Replacement, storage, `EINVAL` validation and the did / PASID
 * invalidations are those of {@link WayCache} (see cache/); nothing allocates per lookup,
 * insert or invalidation.
 *
 * The walker's protocol: after reading the entry of level L for `vpn` (not a leaf), call
 * `insert(did, pasid, L, vpn, nextTablePfn)`. Before a walk, `lookupDeepest` returns the level
 * of the deepest table whose frame is cached — e.g. 1 when the PDE is cached, with `lastPfn`
 * the page table's frame — or −1, in which case the walk starts at the root (FSPTPTR).
 *
 * Page-selective invalidation with IH = 0 drops every entry of that (did, pasid) whose
 * prefix range overlaps the invalidated range — all the upper-level entries a translation in
 * the range could have used (a superset of what an unmap frees, always correct). IH = 1
 * leaves the PSC alone (VTD 6.5.2.4: the hint says no paging-structure entry changed).
 *
 * Not modelled: second-stage and nested structure caches, caching of not-present entries
 * (caching mode), the accessed/dirty update a hardware walker does, timing.
 */

import { type CacheParams, modPow2, resolveCacheParams, WayCache } from '../cache/index.js';

/** PSC params, applied to each level's structure; defaults in {@link defaultPscParams}. */
export interface PscParams extends CacheParams {}

/** Defaults per level: 32 entries, 4-way, LRU. */
export const defaultPscParams: PscParams = Object.freeze({
  entries: 32,
  assoc: 4,
  policy: 'lru',
});

/** Lowest level of a cached (non-leaf) entry: the PDE. */
export const PSC_MIN_LEVEL = 2;
/** Highest level of a cached entry: the PML5E of 5-level paging. */
export const PSC_MAX_LEVEL = 5;

/** Pages mapped by one entry of level L (index L): 512^(L−1). */
const SPAN = new Float64Array([0, 1, 512, 512 ** 2, 512 ** 3, 512 ** 4]);

/** Paging-structure caches of levels 2…5, tagged by (did, pasid). */
export class PagingStructureCache extends WayCache<PscParams> {
  /** Table frame found by the last `lookupDeepest` (−1 after a miss). */
  lastPfn = -1;

  /** Sets per level; level L uses sets [(L − 2) × sets, (L − 1) × sets). */
  private readonly sets: number;
  private readonly prefix: Float64Array;
  private readonly pfn: Float64Array;

  /** Validates `params` (`EINVAL`); `rng` in [0, 1) is required for the `random` policy. */
  constructor(params: Partial<PscParams> = {}, rng?: () => number) {
    const p = resolveCacheParams('psc', defaultPscParams, params);
    super(p, (p.entries / p.assoc) * (PSC_MAX_LEVEL - PSC_MIN_LEVEL + 1), rng);
    this.sets = p.entries / p.assoc;
    const total = this.ways.entries;
    this.prefix = new Float64Array(total);
    this.pfn = new Float64Array(total);
  }

  /**
   * The lowest table level whose frame is cached for `vpn` in a walk of `levels` (4 or 5)
   * levels — L − 1 for the deepest cached entry of level L ≤ `levels` — with the frame in
   * `lastPfn`; −1 (and `lastPfn` −1) when nothing is cached. Counts a hit or a miss.
   */
  lookupDeepest(did: number, pasid: number, vpn: number, levels: number): number {
    const sets = this.sets;
    const assoc = this.assoc;
    const top = Math.min(levels, PSC_MAX_LEVEL);
    for (let level = PSC_MIN_LEVEL; level <= top; level++) {
      const p = Math.floor(vpn / SPAN[level]!);
      const base = ((level - PSC_MIN_LEVEL) * sets + modPow2(p, sets)) * assoc;
      const end = base + assoc;
      for (let e = base; e < end; e++) {
        if (
          this.validBits[e] === 1 &&
          this.prefix[e] === p &&
          this.pasid[e] === pasid &&
          this.did[e] === did
        ) {
          this.ways.touch(e);
          this.hits++;
          this.lastPfn = this.pfn[e]!;
          return level - 1;
        }
      }
    }
    this.misses++;
    this.lastPfn = -1;
    return -1;
  }

  /**
   * Caches the level-`level` entry (2…5) used to translate `vpn`: `tablePfn` is the frame of
   * the level − 1 table it points to. Overwrites the entry with that key, else fills a victim.
   * Returns the entry.
   */
  insert(did: number, pasid: number, level: number, vpn: number, tablePfn: number): number {
    if (!(level >= PSC_MIN_LEVEL && level <= PSC_MAX_LEVEL) || !Number.isInteger(level)) {
      throw Object.assign(new Error(`psc.insert: level must be 2…5, got ${level}`), {
        code: 'EINVAL',
      });
    }
    const p = Math.floor(vpn / SPAN[level]!);
    const set = (level - PSC_MIN_LEVEL) * this.sets + modPow2(p, this.sets);
    const base = set * this.assoc;
    const end = base + this.assoc;
    let match = -1;
    for (let e = base; e < end && match < 0; e++) {
      if (this.validBits[e] === 1 && this.prefix[e] === p && this.pasid[e] === pasid) {
        if (this.did[e] === did) match = e;
      }
    }
    const e = this.claim(set, match);
    this.did[e] = did;
    this.pasid[e] = pasid;
    this.prefix[e] = p;
    this.pfn[e] = tablePfn;
    return e;
  }

  /**
   * The PSC part of a P_IOTLB page-selective-within-PASID (spec §7.3): with `ih` false, drops
   * the entries of (did, pasid) at every level whose pages overlap the naturally aligned range
   * of 2^am pages containing `vpn`; with `ih` true, nothing.
   */
  invalidateRange(did: number, pasid: number, vpn: number, am: number, ih: boolean): void {
    if (ih) return;
    const pages = 2 ** am;
    const first = Math.floor(vpn / pages) * pages;
    const last = first + pages - 1;
    const sets = this.sets;
    const assoc = this.assoc;
    for (let level = PSC_MIN_LEVEL; level <= PSC_MAX_LEVEL; level++) {
      const span = SPAN[level]!;
      const p0 = Math.floor(first / span);
      const p1 = Math.floor(last / span);
      const n = Math.min(sets, p1 - p0 + 1);
      const region = (level - PSC_MIN_LEVEL) * sets;
      const s0 = modPow2(p0, sets);
      for (let i = 0; i < n; i++) {
        const base = (region + ((s0 + i) % sets)) * assoc;
        const end = base + assoc;
        for (let e = base; e < end; e++) {
          if (
            this.validBits[e] === 1 &&
            this.pasid[e] === pasid &&
            this.did[e] === did &&
            this.prefix[e]! >= p0 &&
            this.prefix[e]! <= p1
          ) {
            this.ways.drop(e);
          }
        }
      }
    }
  }
}
