/**
 * A set-associative TLB of leaf translations of 4 KiB and 2 MiB pages, tagged by (did, pasid):
 * the structure the VT-d IOTLB (engine/iotlb.ts) and a device's ATS translation cache
 * (device/devtlb.ts) share.
 *
 * One structure holds both sizes. Tag: (did, pasid, page number, page size). A 4 KiB entry
 * lives in set `vpn mod sets` with tag vpn; a 2 MiB entry lives in set `floor(vpn / 512) mod
 * sets` with tag floor(vpn / 512). A lookup probes the 4 KiB set first, then the 2 MiB set, so
 * when both sizes cover an address (possible after a remap the software has not invalidated
 * yet) the 4 KiB entry wins (when both indexes name the same set, as always in a fully
 * associative TLB, that set is read once). An insert never removes an entry of the other size.
 * A range invalidation reads only the sets that can hold a page of its range, or every set
 * when the range is that large.
 *
 * Page numbers and frames are kept in `Float64Array`s (exact to 2^53), so vpn ≥ 2^32 works;
 * nothing allocates per lookup, insert or invalidation; set indexes come from {@link modPow2},
 * not `%` or `&`. An insert whose tag is already cached overwrites that entry and renews its
 * age as a fill would; it is not an eviction.
 *
 * Not modelled: 1 GiB leaves, global (G-bit) entries, dirty/accessed state, timing.
 */

import type { CacheParams } from './params.js';
import { modPow2 } from './set-assoc.js';
import { WayCache } from './way-cache.js';

/** Page sizes a TLB entry can map. */
export type PageSize = '4k' | '2m';

/** 4 KiB pages in a 2 MiB page. */
export const PAGES_PER_2M = 512;

/** Leaf translations of 4 KiB and 2 MiB pages tagged by (did, pasid). */
export abstract class PageTlb<P extends CacheParams> extends WayCache<P> {
  protected readonly sets: number;
  /** vpn for 4 KiB entries, floor(vpn / 512) for 2 MiB entries. */
  private readonly tag: Float64Array;
  /** 1 for a 2 MiB entry. */
  private readonly big: Uint8Array;
  /** Frame of the page start. */
  private readonly pfn: Float64Array;
  private readonly perms: Uint8Array;

  /** `params` already validated; `rng` in [0, 1) is required for the `random` policy. */
  constructor(params: P, rng: (() => number) | undefined) {
    const sets = params.entries / params.assoc;
    super(params, sets, rng);
    this.sets = sets;
    const entries = params.entries;
    this.tag = new Float64Array(entries);
    this.big = new Uint8Array(entries);
    this.pfn = new Float64Array(entries);
    this.perms = new Uint8Array(entries);
  }

  /** The 4 KiB frame backing `vpn` through `entry` (adds the offset inside a 2 MiB page). */
  pfnOf(entry: number, vpn: number): number {
    return this.big[entry] === 1 ? this.pfn[entry]! + modPow2(vpn, PAGES_PER_2M) : this.pfn[entry]!;
  }

  /** Permission bits of `entry` (the owner's `…Perm` table). */
  permsOf(entry: number): number {
    return this.perms[entry]!;
  }

  /** Page size of `entry`. */
  sizeOf(entry: number): PageSize {
    return this.big[entry] === 1 ? '2m' : '4k';
  }

  /** The entry translating `vpn` for (did, pasid), or −1; counts a hit or a miss. */
  protected find(did: number, pasid: number, vpn: number): number {
    const assoc = this.assoc;
    const valid = this.validBits;
    const tag = this.tag;
    const big = this.big;
    const pn2 = Math.floor(vpn / PAGES_PER_2M);
    const set4 = modPow2(vpn, this.sets);
    const set2 = modPow2(pn2, this.sets);
    // One pass over the 4 KiB set; it is also the 2 MiB set when both indexes agree (always
    // when fully associative). A 4 KiB match wins over a 2 MiB one.
    let found2 = -1;
    let base = set4 * assoc;
    let end = base + assoc;
    for (let e = base; e < end; e++) {
      if (valid[e] !== 1) continue;
      const t = tag[e];
      if (t === vpn && big[e] === 0 && this.pasid[e] === pasid && this.did[e] === did) {
        this.ways.touch(e);
        this.hits++;
        return e;
      }
      if (t === pn2 && big[e] === 1 && this.pasid[e] === pasid && this.did[e] === did) found2 = e;
    }
    if (set2 !== set4) {
      base = set2 * assoc;
      end = base + assoc;
      for (let e = base; e < end; e++) {
        if (
          valid[e] === 1 &&
          tag[e] === pn2 &&
          big[e] === 1 &&
          this.pasid[e] === pasid &&
          this.did[e] === did
        ) {
          found2 = e;
          break;
        }
      }
    }
    if (found2 >= 0) {
      this.ways.touch(found2);
      this.hits++;
      return found2;
    }
    this.misses++;
    return -1;
  }

  /**
   * Caches the translation of the page containing `vpn` for (did, pasid); `pfn` is the frame
   * of the page start (512-aligned for 2 MiB). Overwrites the entry with the same tag, else
   * fills a victim. Returns the entry.
   */
  protected put(
    did: number,
    pasid: number,
    vpn: number,
    pageSize: PageSize,
    pfn: number,
    perms: number,
  ): number {
    const isBig = pageSize === '2m' ? 1 : 0;
    const t = isBig === 1 ? Math.floor(vpn / PAGES_PER_2M) : vpn;
    const set = modPow2(t, this.sets);
    const base = set * this.assoc;
    const end = base + this.assoc;
    let match = -1;
    for (let e = base; e < end && match < 0; e++) {
      if (this.validBits[e] === 1 && this.tag[e] === t && this.big[e] === isBig) {
        if (this.pasid[e] === pasid && this.did[e] === did) match = e;
      }
    }
    const e = this.claim(set, match);
    this.did[e] = did;
    this.pasid[e] = pasid;
    this.tag[e] = t;
    this.big[e] = isBig;
    this.pfn[e] = pfn;
    this.perms[e] = perms;
    return e;
  }

  /**
   * Drops the entries of domain `did` — of `pasid` only, unless `anyPasid` — whose page
   * overlaps the pages [first, last], 2 MiB entries included.
   */
  protected dropPages(
    did: number,
    pasid: number,
    anyPasid: boolean,
    first: number,
    last: number,
  ): void {
    const sets = this.sets;
    const first2 = Math.floor(first / PAGES_PER_2M);
    const n4 = Math.min(sets, last - first + 1);
    const n2 = Math.min(sets, Math.floor(last / PAGES_PER_2M) - first2 + 1);
    if (n4 + n2 >= sets) {
      for (let set = 0; set < sets; set++)
        this.dropOverlapping(set, did, pasid, anyPasid, first, last);
      return;
    }
    // 4 KiB entries of the range sit in n4 consecutive sets, 2 MiB ones in n2.
    const s4 = modPow2(first, sets);
    for (let i = 0; i < n4; i++)
      this.dropOverlapping((s4 + i) % sets, did, pasid, anyPasid, first, last);
    const s2 = modPow2(first2, sets);
    for (let i = 0; i < n2; i++)
      this.dropOverlapping((s2 + i) % sets, did, pasid, anyPasid, first, last);
  }

  /** Drops the entries of set `set` that {@link dropPages} selects. */
  private dropOverlapping(
    set: number,
    did: number,
    pasid: number,
    anyPasid: boolean,
    first: number,
    last: number,
  ): void {
    const base = set * this.assoc;
    const end = base + this.assoc;
    for (let e = base; e < end; e++) {
      if (this.validBits[e] !== 1 || this.did[e] !== did) continue;
      if (!anyPasid && this.pasid[e] !== pasid) continue;
      const start = this.big[e] === 1 ? this.tag[e]! * PAGES_PER_2M : this.tag[e]!;
      const stop = this.big[e] === 1 ? start + PAGES_PER_2M - 1 : start;
      if (start <= last && stop >= first) this.ways.drop(e);
    }
  }
}
