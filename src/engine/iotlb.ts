/**
 * The IOTLB for first-stage (PASID-tagged) translations (spec §4.1 implicit invalidation,
 * §5.1, §7.3 P_IOTLB), plus the set-associative machinery every translation cache shares
 * (PASID cache, paging-structure cache, device TLB).
 *
 * One set-associative structure holds both 4 KiB and 2 MiB leaves. Tag: (did, pasid, page
 * number, page size). A 4 KiB entry lives in set `vpn mod sets` with tag vpn; a 2 MiB entry
 * lives in set `floor(vpn / 512) mod sets` with tag floor(vpn / 512). A lookup probes the
 * 4 KiB set first, then the 2 MiB set, so when both sizes cover an address (possible after a
 * remap the software has not invalidated yet) the 4 KiB entry wins (when both indexes name the
 * same set, as always in a fully associative TLB, that set is read once). An insert never
 * removes an entry of the other size. A page-selective invalidation reads only the sets that
 * can hold a page of its range, or every set when the range is that large.
 *
 * Storage is typed arrays indexed by entry (`set × assoc + way`); page numbers and frames are
 * kept in `Float64Array`s (exact to 2^53), so vpn ≥ 2^32 works; nothing allocates per lookup,
 * insert or invalidation; set indexes come from {@link modPow2}, not `%` or `&`. Replacement: an invalid way first (lowest index), else by policy —
 * `lru` (least recently hit or filled), `fifo` (oldest fill; hits do not count) or `random`
 * (an injected `() => number` in [0, 1), never `Math.random`). An insert whose tag is already
 * cached overwrites that entry and renews its age as a fill would; it is not an eviction.
 *
 * Not modelled: 1 GiB leaves, second-stage and nested entries (PGTT ≠ 001b), legacy
 * (requests-without-PASID) entries and the type 2h IOTLB invalidation (in scalable mode it
 * does not touch first-stage entries, spec §7.0), global (G-bit) entries, dirty/accessed
 * state, timing (the caller charges latencies).
 */

/** Replacement policies of every set-associative cache of the simulator. */
export const REPLACEMENT_POLICIES = ['lru', 'fifo', 'random'] as const;

/** One of {@link REPLACEMENT_POLICIES}. */
export type ReplacementPolicy = (typeof REPLACEMENT_POLICIES)[number];

/** Geometry and replacement policy shared by every cache's params. */
export interface CacheParams {
  /** Total number of entries (a positive multiple of `assoc`; entries / assoc a power of two). */
  readonly entries: number;
  /** Ways per set; `assoc === entries` makes the cache fully associative. */
  readonly assoc: number;
  /** Victim choice when a set is full. */
  readonly policy: ReplacementPolicy;
}

/** Page sizes a TLB entry can map. */
export type PageSize = '4k' | '2m';

/** 4 KiB pages in a 2 MiB page. */
export const PAGES_PER_2M = 512;

/**
 * `x mod m` for an integer page number 0 ≤ x < 2^53 and a power of two `m` (set counts, 512).
 * Exact, and much cheaper than `%` on a double, which V8 runs as a call to fmod; `>>` and `&`
 * cannot be used on page numbers (they truncate to 32 bits).
 */
export function modPow2(x: number, m: number): number {
  return x - Math.floor(x / m) * m;
}

/** Builds the `EINVAL` error of a bad cache parameter (API misuse: the caller must fix it). */
function einval(message: string): Error & { code: 'EINVAL' } {
  return Object.assign(new Error(message), { code: 'EINVAL' as const });
}

/**
 * Merges `given` over `defaults`, validates the result and returns it frozen; `name` prefixes
 * the message of the `EINVAL` error thrown on a bad value.
 */
export function resolveCacheParams<P extends CacheParams>(
  name: string,
  defaults: P,
  given: Partial<P>,
): P {
  const p = Object.freeze({ ...defaults, ...given }) as P;
  if (!Number.isInteger(p.entries) || p.entries <= 0) {
    throw einval(`${name}.entries must be a positive integer, got ${p.entries}`);
  }
  if (!Number.isInteger(p.assoc) || p.assoc <= 0 || p.entries % p.assoc !== 0) {
    throw einval(
      `${name}.assoc must be a positive divisor of entries (${p.entries}), got ${p.assoc}`,
    );
  }
  const sets = p.entries / p.assoc;
  if (!Number.isInteger(Math.log2(sets))) {
    throw einval(
      `${name}: entries / assoc must be a power of two (sets), got ${p.entries} / ${p.assoc} = ${sets}`,
    );
  }
  if (!(REPLACEMENT_POLICIES as readonly string[]).includes(p.policy)) {
    throw einval(
      `${name}.policy must be one of ${REPLACEMENT_POLICIES.join(', ')}, got ${String(p.policy)}`,
    );
  }
  return p;
}

const POLICY_LRU = 0;
const POLICY_FIFO = 1;
const POLICY_RANDOM = 2;

/**
 * Valid bits and replacement state of a set-associative array of `sets × assoc` entries; the
 * owning cache keeps its tags and data in parallel typed arrays indexed the same way.
 */
export class SetAssocWays {
  readonly sets: number;
  readonly assoc: number;
  readonly entries: number;
  /** 1 when the entry holds a translation. */
  readonly valid: Uint8Array;
  /** Number of valid entries. */
  validCount = 0;
  /** Valid entries replaced by a fill of another tag. */
  evictions = 0;

  /** LRU: tick of the last hit or fill; FIFO: tick of the fill; unused for random. */
  private readonly stamp: Float64Array;
  private tick = 0;
  private readonly policyCode: number;
  private readonly rng: (() => number) | undefined;

  /** `rng` (values in [0, 1)) is required for the `random` policy and ignored otherwise. */
  constructor(sets: number, assoc: number, policy: ReplacementPolicy, rng?: () => number) {
    this.sets = sets;
    this.assoc = assoc;
    this.entries = sets * assoc;
    this.valid = new Uint8Array(this.entries);
    this.stamp = new Float64Array(this.entries);
    this.policyCode =
      policy === 'lru' ? POLICY_LRU : policy === 'fifo' ? POLICY_FIFO : POLICY_RANDOM;
    if (this.policyCode === POLICY_RANDOM && typeof rng !== 'function') {
      throw einval("policy 'random' needs an injected rng: pass a seeded () => number in [0, 1)");
    }
    this.rng = rng;
  }

  /** Records a hit on entry `e` (moves it to most recently used under LRU). */
  touch(e: number): void {
    if (this.policyCode === POLICY_LRU) this.stamp[e] = ++this.tick;
  }

  /** The entry of set `set` a new tag goes to: the first invalid way, else {@link replace}. */
  victim(set: number): number {
    const base = set * this.assoc;
    const end = base + this.assoc;
    for (let e = base; e < end; e++) if (this.valid[e] === 0) return e;
    return this.replace(set);
  }

  /** The policy's victim in set `set`, every way of which is valid. */
  replace(set: number): number {
    const assoc = this.assoc;
    const base = set * assoc;
    if (this.policyCode === POLICY_RANDOM) {
      const r = this.rng!();
      const way = Math.floor(r * assoc);
      if (!(way >= 0 && way < assoc)) {
        throw new Error(`replacement rng returned ${r}, outside [0, 1)`);
      }
      return base + way;
    }
    const end = base + assoc;
    const stamp = this.stamp;
    let best = base;
    let bestStamp = stamp[base]!;
    for (let e = base + 1; e < end; e++) {
      const s = stamp[e]!;
      if (s < bestStamp) {
        bestStamp = s;
        best = e;
      }
    }
    return best;
  }

  /** Marks entry `e` filled with a new tag (counts an eviction if it held another one). */
  fill(e: number): void {
    if (this.valid[e] === 1) this.evictions++;
    else {
      this.valid[e] = 1;
      this.validCount++;
    }
    this.stamp[e] = ++this.tick;
  }

  /** Entry `e` was refilled with its own tag: renews its age as a fill does. */
  refresh(e: number): void {
    this.stamp[e] = ++this.tick;
  }

  /**
   * Drops every valid entry whose `did` matches and, when `pasidTags` is given, whose PASID
   * matches too: the PASID-selective and domain-selective invalidations of every cache.
   */
  dropTagged(didTags: Int32Array, did: number, pasidTags: Int32Array | null, pasid: number): void {
    const valid = this.valid;
    for (let e = 0; e < valid.length; e++) {
      if (valid[e] === 1 && didTags[e] === did && (pasidTags === null || pasidTags[e] === pasid))
        this.drop(e);
    }
  }

  /** Invalidates entry `e` (no-op when already invalid). */
  drop(e: number): void {
    if (this.valid[e] === 1) {
      this.valid[e] = 0;
      this.validCount--;
    }
  }

  /** Invalidates every entry. */
  clear(): void {
    this.valid.fill(0);
    this.validCount = 0;
  }
}

/**
 * What every set-associative cache here shares: validated params, the ways (valid bits and
 * replacement), hit/miss counters and the eviction / occupancy figures. Each subclass keeps
 * its own tags and data in typed arrays indexed like the ways.
 */
export abstract class WayCache<P extends CacheParams> {
  readonly params: P;
  /** Lookups that found an entry. */
  hits = 0;
  /** Lookups that found none. */
  misses = 0;
  protected readonly ways: SetAssocWays;
  protected readonly assoc: number;
  protected readonly validBits: Uint8Array;

  constructor(params: P, sets: number, rng: (() => number) | undefined) {
    this.params = params;
    this.assoc = params.assoc;
    this.ways = new SetAssocWays(sets, params.assoc, params.policy, rng);
    this.validBits = this.ways.valid;
  }

  /** Valid entries replaced by an insert of another key. */
  get evictions(): number {
    return this.ways.evictions;
  }

  /** Number of valid entries. */
  get valid(): number {
    return this.ways.validCount;
  }
}

/** Permission bits of a cached translation (`permsOf`). */
export const IotlbPerm = {
  /** Read allowed (present). */
  R: 1,
  /** Write allowed (R/W = 1 at every level). */
  W: 2,
  /** Execute allowed (XD = 0 at every level). */
  X: 4,
  /** User-mode access allowed (U/S = 1 at every level). */
  U: 8,
} as const;

/** IOTLB params: geometry and policy, with defaults in {@link defaultIotlbParams}. */
export interface IotlbParams extends CacheParams {}

/** Defaults: 64 entries, 4-way, LRU. */
export const defaultIotlbParams: IotlbParams = Object.freeze({
  entries: 64,
  assoc: 4,
  policy: 'lru',
});

/** Set-associative IOTLB of first-stage translations tagged by (did, pasid). */
export class Iotlb extends WayCache<IotlbParams> {
  private readonly sets: number;
  private readonly did: Int32Array;
  private readonly pasid: Int32Array;
  /** vpn for 4 KiB entries, floor(vpn / 512) for 2 MiB entries. */
  private readonly tag: Float64Array;
  /** 1 for a 2 MiB entry. */
  private readonly big: Uint8Array;
  /** Frame of the page start. */
  private readonly pfn: Float64Array;
  private readonly perms: Uint8Array;

  /** Validates `params` (`EINVAL`); `rng` in [0, 1) is required for the `random` policy. */
  constructor(params: Partial<IotlbParams> = {}, rng?: () => number) {
    const p = resolveCacheParams('iotlb', defaultIotlbParams, params);
    super(p, p.entries / p.assoc, rng);
    const entries = p.entries;
    this.sets = entries / p.assoc;
    this.did = new Int32Array(entries);
    this.pasid = new Int32Array(entries);
    this.tag = new Float64Array(entries);
    this.big = new Uint8Array(entries);
    this.pfn = new Float64Array(entries);
    this.perms = new Uint8Array(entries);
  }

  /** The entry translating `vpn` for (did, pasid), or −1; counts a hit or a miss. */
  lookup(did: number, pasid: number, vpn: number): number {
    const assoc = this.assoc;
    const valid = this.validBits;
    const tag = this.tag;
    const big = this.big;
    const pn2 = Math.floor(vpn / PAGES_PER_2M);
    const set4 = modPow2(vpn, this.sets);
    const set2 = modPow2(pn2, this.sets);
    // One pass over the 4 KiB set; it is also the 2 MiB set when both indexes agree (always
    // in a fully associative TLB). A 4 KiB match wins over a 2 MiB one.
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

  /** The 4 KiB frame backing `vpn` through `entry` (adds the offset inside a 2 MiB page). */
  pfnOf(entry: number, vpn: number): number {
    return this.big[entry] === 1 ? this.pfn[entry]! + modPow2(vpn, PAGES_PER_2M) : this.pfn[entry]!;
  }

  /** Permission bits of `entry` ({@link IotlbPerm}). */
  permsOf(entry: number): number {
    return this.perms[entry]!;
  }

  /** Page size of `entry`. */
  sizeOf(entry: number): PageSize {
    return this.big[entry] === 1 ? '2m' : '4k';
  }

  /**
   * Caches the translation of the page containing `vpn`; `pfn` is the frame of the page
   * start (512-aligned for 2 MiB). Overwrites the entry with the same tag, else fills a
   * victim. Returns the entry.
   */
  insert(
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
    let e = base;
    let free = -1;
    for (; e < end; e++) {
      if (this.validBits[e] !== 1) {
        if (free < 0) free = e;
      } else if (
        this.tag[e] === t &&
        this.big[e] === isBig &&
        this.pasid[e] === pasid &&
        this.did[e] === did
      ) {
        break;
      }
    }
    if (e < end) this.ways.refresh(e);
    else {
      e = free >= 0 ? free : this.ways.replace(set);
      this.ways.fill(e);
      this.did[e] = did;
      this.pasid[e] = pasid;
      this.tag[e] = t;
      this.big[e] = isBig;
    }
    this.pfn[e] = pfn;
    this.perms[e] = perms;
    return e;
  }

  /**
   * P_IOTLB page-selective-within-PASID (spec §7.3, G = 11b; also the implicit invalidation of
   * a page request, §4.1): drops the entries of (did, pasid) overlapping the naturally aligned
   * range of 2^am pages containing `vpn`, 2 MiB entries included.
   */
  invalidatePageInPasid(did: number, pasid: number, vpn: number, am: number): void {
    const pages = 2 ** am;
    const first = Math.floor(vpn / pages) * pages;
    const last = first + pages - 1;
    const sets = this.sets;
    const first2 = Math.floor(first / PAGES_PER_2M);
    const n4 = Math.min(sets, last - first + 1);
    const n2 = Math.min(sets, Math.floor(last / PAGES_PER_2M) - first2 + 1);
    if (n4 + n2 >= sets) {
      for (let set = 0; set < sets; set++) this.dropOverlapping(set, did, pasid, first, last);
      return;
    }
    // 4 KiB entries of the range sit in n4 consecutive sets, 2 MiB ones in n2.
    const s4 = modPow2(first, sets);
    for (let i = 0; i < n4; i++) this.dropOverlapping((s4 + i) % sets, did, pasid, first, last);
    const s2 = modPow2(first2, sets);
    for (let i = 0; i < n2; i++) this.dropOverlapping((s2 + i) % sets, did, pasid, first, last);
  }

  /** P_IOTLB PASID-selective (spec §7.3, G = 10b): drops every entry of (did, pasid). */
  invalidatePasid(did: number, pasid: number): void {
    this.ways.dropTagged(this.did, did, this.pasid, pasid);
  }

  /** Drops every entry of domain `did`, all PASIDs. */
  invalidateDomain(did: number): void {
    this.ways.dropTagged(this.did, did, null, 0);
  }

  /** Drops every entry. */
  invalidateAll(): void {
    this.ways.clear();
  }

  /** Drops entries of set `set` tagged (did, pasid) whose page overlaps [first, last]. */
  private dropOverlapping(
    set: number,
    did: number,
    pasid: number,
    first: number,
    last: number,
  ): void {
    const base = set * this.assoc;
    const end = base + this.assoc;
    for (let e = base; e < end; e++) {
      if (this.validBits[e] !== 1 || this.pasid[e] !== pasid || this.did[e] !== did) continue;
      const start = this.big[e] === 1 ? this.tag[e]! * PAGES_PER_2M : this.tag[e]!;
      const stop = this.big[e] === 1 ? start + PAGES_PER_2M - 1 : start;
      if (start <= last && stop >= first) this.ways.drop(e);
    }
  }
}
