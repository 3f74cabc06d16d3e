/**
 * The PASID cache: decoded scalable-mode PASID-table entries (spec §3.2, §7.2; VTD 6.2.1).
 *
 * An entry is keyed by (rid, pasid) — the requester and the PASID the context → PASID
 * directory → PASID table walk started from — and holds the fields the translation and page
 * request paths read: present, fpd, did, pgtt, sre, fspm and the frame of FSPTPTR, plus the
 * DTE bit of the context entry the walk went through (the model's context cache). The did is
 * the one of the cached PASID entry; PASID-cache invalidations (type 7h) select on it. Set
 * index: `(pasid XOR rid) mod sets` (both are small integers), so the devices sharing an SVA
 * PASID spread over sets. Replacement, storage, `EINVAL` validation and the did / PASID
 * invalidations are those of {@link WayCache} (see cache/); nothing allocates per lookup,
 * insert or invalidation. `insert` takes the fields flat. The PASID-cache granularities of
 * spec §7.2 map to `invalidatePasid` (G = 01b), `invalidateDomain` (G = 00b) and
 * `invalidateAll` (G = 11b).
 *
 * Not modelled: the context cache itself (a context-cache invalidation is mirrored with
 * {@link PasidCache.invalidateRid}), second-stage fields (SSPTPTR, AW, SSADE), PWSNP/PGSNP,
 * WPE/EAFE, timing.
 */

import { type CacheParams, resolveCacheParams, WayCache } from '../cache/index.js';

/** PASID-cache params: geometry and policy, with defaults in {@link defaultPasidCacheParams}. */
export interface PasidCacheParams extends CacheParams {}

/** Defaults: 64 entries, 4-way, LRU. */
export const defaultPasidCacheParams: PasidCacheParams = Object.freeze({
  entries: 64,
  assoc: 4,
  policy: 'lru',
});

const FLAG_PRESENT = 1;
const FLAG_FPD = 2;
const FLAG_SRE = 4;
const FLAG_DTE = 8;

/** Set-associative cache of decoded PASID-table entries keyed by (rid, pasid). */
export class PasidCache extends WayCache<PasidCacheParams> {
  private readonly setMask: number;
  private readonly rid: Int32Array;
  /** FLAG_PRESENT | FLAG_FPD | FLAG_SRE. */
  private readonly flags: Uint8Array;
  private readonly pgtt: Uint8Array;
  private readonly fspm: Uint8Array;
  private readonly fsptptrPfn: Float64Array;

  /** Validates `params` (`EINVAL`); `rng` in [0, 1) is required for the `random` policy. */
  constructor(params: Partial<PasidCacheParams> = {}, rng?: () => number) {
    const p = resolveCacheParams('pasidCache', defaultPasidCacheParams, params);
    super(p, p.entries / p.assoc, rng);
    const entries = p.entries;
    this.setMask = entries / p.assoc - 1;
    this.rid = new Int32Array(entries);
    this.flags = new Uint8Array(entries);
    this.pgtt = new Uint8Array(entries);
    this.fspm = new Uint8Array(entries);
    this.fsptptrPfn = new Float64Array(entries);
  }

  /** The entry of (rid, pasid), or −1; counts a hit or a miss. */
  lookup(rid: number, pasid: number): number {
    const base = ((pasid ^ rid) & this.setMask) * this.assoc;
    const end = base + this.assoc;
    for (let e = base; e < end; e++) {
      if (this.validBits[e] === 1 && this.pasid[e] === pasid && this.rid[e] === rid) {
        this.ways.touch(e);
        this.hits++;
        return e;
      }
    }
    this.misses++;
    return -1;
  }

  /**
   * The entry of (rid, pasid), or −1, without counting a hit or a miss or touching the
   * replacement state: for a check that uses what is cached but is not a lookup of its own.
   */
  peek(rid: number, pasid: number): number {
    const base = ((pasid ^ rid) & this.setMask) * this.assoc;
    const end = base + this.assoc;
    for (let e = base; e < end; e++) {
      if (this.validBits[e] === 1 && this.pasid[e] === pasid && this.rid[e] === rid) return e;
    }
    return -1;
  }

  /** DTE of the context entry the entry was reached through: the device TLB is enabled. */
  dteOf(entry: number): boolean {
    return (this.flags[entry]! & FLAG_DTE) !== 0;
  }

  /** PASID entry P bit (bit 0). */
  presentOf(entry: number): boolean {
    return (this.flags[entry]! & FLAG_PRESENT) !== 0;
  }

  /** FPD, fault processing disable (bit 1). */
  fpdOf(entry: number): boolean {
    return (this.flags[entry]! & FLAG_FPD) !== 0;
  }

  /** DID (bits 79:64). */
  didOf(entry: number): number {
    return this.did[entry]!;
  }

  /** PGTT (bits 8:6). */
  pgttOf(entry: number): number {
    return this.pgtt[entry]!;
  }

  /** SRE, supervisor requests enable (bit 128). */
  sreOf(entry: number): boolean {
    return (this.flags[entry]! & FLAG_SRE) !== 0;
  }

  /** FSPM, first-stage paging mode (bits 131:130): 0 4-level, 1 5-level. */
  fspmOf(entry: number): number {
    return this.fspm[entry]!;
  }

  /** Frame of FSPTPTR (bits 191:140), the first-stage root table. */
  fsptptrPfnOf(entry: number): number {
    return this.fsptptrPfn[entry]!;
  }

  /**
   * Caches the decoded PASID entry of (rid, pasid) and its context entry's DTE: overwrites
   * the entry with that key, else fills a victim. Returns the entry.
   */
  insert(
    rid: number,
    pasid: number,
    present: boolean,
    fpd: boolean,
    did: number,
    pgtt: number,
    sre: boolean,
    fspm: number,
    fsptptrPfn: number,
    dte: boolean,
  ): number {
    const set = (pasid ^ rid) & this.setMask;
    const base = set * this.assoc;
    const end = base + this.assoc;
    let match = -1;
    for (let e = base; e < end && match < 0; e++) {
      if (this.validBits[e] === 1 && this.pasid[e] === pasid && this.rid[e] === rid) match = e;
    }
    const e = this.claim(set, match);
    this.rid[e] = rid;
    this.pasid[e] = pasid;
    this.did[e] = did;
    this.flags[e] =
      (present ? FLAG_PRESENT : 0) |
      (fpd ? FLAG_FPD : 0) |
      (sre ? FLAG_SRE : 0) |
      (dte ? FLAG_DTE : 0);
    this.pgtt[e] = pgtt;
    this.fspm[e] = fspm;
    this.fsptptrPfn[e] = fsptptrPfn;
    return e;
  }

  /**
   * Drops every entry of requester `rid`. VT-d requires software to follow a device-selective
   * context-cache invalidation (type 1h) with a PASID-cache invalidation; this helper lets the
   * engine model the context entry's PASID-cache entries going with it (a context entry change
   * makes every PASID entry reached through it stale).
   */
  invalidateRid(rid: number): void {
    for (let e = 0; e < this.validBits.length; e++) {
      if (this.validBits[e] === 1 && this.rid[e] === rid) this.ways.drop(e);
    }
  }
}
