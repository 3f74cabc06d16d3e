/**
 * What every set-associative translation cache of the simulator shares (gem5
 * `smmu_v3_caches.hh`: one API shape, `lookup` / `insert` / `invalidateX` per architectural
 * scope): validated params, the ways (valid bits and replacement), hit / miss / eviction /
 * invalidation counters, the (did, pasid) tag of every entry, and the invalidations that
 * select on that tag alone.
 *
 * A subclass keeps its own key and data in typed arrays indexed like the ways, scans a set
 * for its key, and lets {@link WayCache.claim} choose the entry an insert writes.
 *
 * Not modelled: timing (each owner charges its own latencies), caching of not-present entries.
 */

import type { CacheParams } from './params.js';
import { SetAssocWays } from './set-assoc.js';

/** Params, ways, counters and (did, pasid) tags of one set-associative cache. */
export abstract class WayCache<P extends CacheParams> {
  readonly params: P;
  /** Lookups that found an entry. */
  hits = 0;
  /** Lookups that found none. */
  misses = 0;
  protected readonly ways: SetAssocWays;
  protected readonly assoc: number;
  protected readonly validBits: Uint8Array;
  /** Domain id of every entry (always 0 in a cache without domains: the device TLB). */
  protected readonly did: Int32Array;
  /** PASID of every entry. */
  protected readonly pasid: Int32Array;

  /** `sets` sets of `params.assoc` ways; `rng` in [0, 1) is required for the `random` policy. */
  constructor(params: P, sets: number, rng: (() => number) | undefined) {
    this.params = params;
    this.assoc = params.assoc;
    this.ways = new SetAssocWays(sets, params.assoc, params.policy, rng);
    this.validBits = this.ways.valid;
    this.did = new Int32Array(this.ways.entries);
    this.pasid = new Int32Array(this.ways.entries);
  }

  /** Valid entries replaced by an insert of another key. */
  get evictions(): number {
    return this.ways.evictions;
  }

  /** Number of valid entries. */
  get valid(): number {
    return this.ways.validCount;
  }

  /** Valid entries removed by invalidations (any scope). */
  get invalidated(): number {
    return this.ways.dropped;
  }

  /**
   * PASID-selective invalidation: drops every entry of (did, pasid) — P_IOTLB G = 10b
   * (spec §7.3), PASID-cache G = 01b (spec §7.2), and the PSC part of both.
   */
  invalidatePasid(did: number, pasid: number): void {
    this.ways.dropTagged(this.did, did, this.pasid, pasid);
  }

  /** Domain-selective invalidation: drops every entry of domain `did`, all PASIDs. */
  invalidateDomain(did: number): void {
    this.ways.dropTagged(this.did, did, null, 0);
  }

  /** Global invalidation: drops every entry (the counters stay). */
  invalidateAll(): void {
    this.ways.clear();
  }

  /**
   * The entry an insert into `set` writes, after the caller scanned the set for its key:
   * `match` (the entry already holding the key, or −1) has its age renewed as a fill would —
   * it is not an eviction; otherwise the first invalid way, else the policy's victim, is
   * filled. The caller then writes key and data into the entry.
   */
  protected claim(set: number, match: number): number {
    if (match >= 0) {
      this.ways.refresh(match);
      return match;
    }
    const e = this.ways.victim(set);
    this.ways.fill(e);
    return e;
  }
}
