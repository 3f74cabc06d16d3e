/**
 * Event counters of a run — the `totals` of the JSON report, DESIGN §7.
 *
 * The names are the report's totals flattened (`pageResponses.success` …), each at a fixed
 * index into one `Float64Array`, so hot paths count with `counters.add(Counter.walks)` and
 * no allocation. The array may be a view into a SharedArrayBuffer; a `Counters` has one
 * writer (the thread that owns it), and other threads read it only after that thread
 * finished (final summaries) — no Atomics, because Float64Array has none.
 *
 * Float64 counts are exact up to 2^53, far beyond any run's event or byte count.
 */

/** The report's totals, flattened, in report order. */
export const COUNTER_NAMES = [
  'translations',
  'iotlbHits',
  'iotlbMisses',
  'devtlbHits',
  'devtlbMisses',
  'walks',
  'pageRequests',
  'pageResponses.success',
  'pageResponses.invalid',
  'pageResponses.failure',
  'autoResponses',
  'prqOverflows',
  'stopMarkers',
  'faultRecords',
  'dmaBytes',
  'dmaErrors',
  'jobs',
  'jobsFailed',
  'binds',
  'unbinds',
  'bindErrors',
  'invalidations',
  'jobsOffered',
  'allocFailures',
  'hostileRequests',
  'atsTrustBreaches',
  'staleByKernel',
] as const;

/** One flattened counter name. */
export type CounterName = (typeof COUNTER_NAMES)[number];

/** Index of each counter in `COUNTER_NAMES`. */
export const Counter = {
  translations: 0,
  iotlbHits: 1,
  iotlbMisses: 2,
  devtlbHits: 3,
  devtlbMisses: 4,
  walks: 5,
  pageRequests: 6,
  'pageResponses.success': 7,
  'pageResponses.invalid': 8,
  'pageResponses.failure': 9,
  autoResponses: 10,
  prqOverflows: 11,
  stopMarkers: 12,
  faultRecords: 13,
  dmaBytes: 14,
  dmaErrors: 15,
  jobs: 16,
  jobsFailed: 17,
  binds: 18,
  unbinds: 19,
  bindErrors: 20,
  invalidations: 21,
  jobsOffered: 22,
  allocFailures: 23,
  hostileRequests: 24,
  atsTrustBreaches: 25,
  staleByKernel: 26,
} as const satisfies Record<CounterName, number>;

/** One counter index. */
export type CounterId = (typeof Counter)[CounterName];

/** Number of counters. */
export const COUNTER_COUNT = COUNTER_NAMES.length;

/** Bytes one set of counters occupies (for carving views out of a SharedArrayBuffer). */
export const COUNTERS_BYTES = COUNTER_COUNT * Float64Array.BYTES_PER_ELEMENT;

/** The `totals` object of the JSON report (DESIGN §7), key order as there. */
export interface CounterTotals {
  translations: number;
  iotlbHits: number;
  iotlbMisses: number;
  devtlbHits: number;
  devtlbMisses: number;
  walks: number;
  pageRequests: number;
  pageResponses: { success: number; invalid: number; failure: number };
  autoResponses: number;
  prqOverflows: number;
  stopMarkers: number;
  faultRecords: number;
  dmaBytes: number;
  dmaErrors: number;
  jobs: number;
  jobsFailed: number;
  binds: number;
  unbinds: number;
  /** Binds that failed, whatever the cause (a failed retry counts again). */
  bindErrors: number;
  invalidations: number;
  /** Open loop: jobs the clients' schedules asked for (arrivals), whether or not submitted yet. */
  jobsOffered: number;
  /** Allocations that failed inside the run (frames for pages or tables: ENOMEM; PASIDs: ENOSPC). */
  allocFailures: number;
  /** Transactions hostile accelerators sent (scenario `adversary`). */
  hostileRequests: number;
  /**
   * Translated DMA of a hostile accelerator that reached a page its PASIDs were never granted.
   * VT-d passes translated requests through untranslated (the ATS trust gap, spec §1): this
   * counts what that gap gives away; it is hardware behaviour, not a model error.
   */
  atsTrustBreaches: number;
  /**
   * DMA that went through a translation the kernel's own flushes left stale (profile v5.8:
   * the unaligned range flush, `svm->iommu` routing; spec §5.1, §2.1.1, §9): the kernel's
   * behaviour, bugs included, which the invariant checker tells apart from a model error.
   */
  staleByKernel: number;
}

/** One set of counters over a Float64Array, indexed by `Counter`. */
export class Counters {
  /** The raw values, `COUNTER_COUNT` long, indexed by `Counter`. */
  readonly values: Float64Array;

  /**
   * Counters over `values` (exactly `COUNTER_COUNT` elements, e.g. a view into a
   * SharedArrayBuffer, left as it is) or over a fresh zeroed array.
   */
  constructor(values?: Float64Array) {
    if (values !== undefined && values.length !== COUNTER_COUNT) {
      throw new Error(`Counters: view has ${values.length} elements, expected ${COUNTER_COUNT}`);
    }
    this.values = values ?? new Float64Array(COUNTER_COUNT);
  }

  /** Adds `n` (default 1) to the counter at `index`. */
  add(index: CounterId, n = 1): void {
    this.values[index]! += n;
  }

  /** Current value of the counter at `index`. */
  get(index: CounterId): number {
    return this.values[index]!;
  }

  /** Adds every counter of `other` into this one. */
  mergeFrom(other: Counters): void {
    const a = this.values;
    const b = other.values;
    for (let i = 0; i < COUNTER_COUNT; i++) a[i]! += b[i]!;
  }

  /** Sets every counter to 0. */
  reset(): void {
    this.values.fill(0);
  }

  // Named reads, one per counter (the report's totals; `pageResponses` nested as there).
  /** `translations` (see {@link CounterTotals}). */
  get translations(): number {
    return this.values[Counter.translations]!;
  }
  /** `iotlbHits` (see {@link CounterTotals}). */
  get iotlbHits(): number {
    return this.values[Counter.iotlbHits]!;
  }
  /** `iotlbMisses` (see {@link CounterTotals}). */
  get iotlbMisses(): number {
    return this.values[Counter.iotlbMisses]!;
  }
  /** `devtlbHits` (see {@link CounterTotals}). */
  get devtlbHits(): number {
    return this.values[Counter.devtlbHits]!;
  }
  /** `devtlbMisses` (see {@link CounterTotals}). */
  get devtlbMisses(): number {
    return this.values[Counter.devtlbMisses]!;
  }
  /** `walks` (see {@link CounterTotals}). */
  get walks(): number {
    return this.values[Counter.walks]!;
  }
  /** `pageRequests` (see {@link CounterTotals}). */
  get pageRequests(): number {
    return this.values[Counter.pageRequests]!;
  }
  /** Page group responses by code: Success, Invalid Request, Response Failure. */
  get pageResponses(): { success: number; invalid: number; failure: number } {
    const v = this.values;
    return {
      success: v[Counter['pageResponses.success']]!,
      invalid: v[Counter['pageResponses.invalid']]!,
      failure: v[Counter['pageResponses.failure']]!,
    };
  }
  /** `autoResponses` (see {@link CounterTotals}). */
  get autoResponses(): number {
    return this.values[Counter.autoResponses]!;
  }
  /** `prqOverflows` (see {@link CounterTotals}). */
  get prqOverflows(): number {
    return this.values[Counter.prqOverflows]!;
  }
  /** `stopMarkers` (see {@link CounterTotals}). */
  get stopMarkers(): number {
    return this.values[Counter.stopMarkers]!;
  }
  /** `faultRecords` (see {@link CounterTotals}). */
  get faultRecords(): number {
    return this.values[Counter.faultRecords]!;
  }
  /** `dmaBytes` (see {@link CounterTotals}). */
  get dmaBytes(): number {
    return this.values[Counter.dmaBytes]!;
  }
  /** `dmaErrors` (see {@link CounterTotals}). */
  get dmaErrors(): number {
    return this.values[Counter.dmaErrors]!;
  }
  /** `jobs` (see {@link CounterTotals}). */
  get jobs(): number {
    return this.values[Counter.jobs]!;
  }
  /** `jobsFailed` (see {@link CounterTotals}). */
  get jobsFailed(): number {
    return this.values[Counter.jobsFailed]!;
  }
  /** `binds` (see {@link CounterTotals}). */
  get binds(): number {
    return this.values[Counter.binds]!;
  }
  /** `unbinds` (see {@link CounterTotals}). */
  get unbinds(): number {
    return this.values[Counter.unbinds]!;
  }
  /** `bindErrors` (see {@link CounterTotals}). */
  get bindErrors(): number {
    return this.values[Counter.bindErrors]!;
  }
  /** `invalidations` (see {@link CounterTotals}). */
  get invalidations(): number {
    return this.values[Counter.invalidations]!;
  }
  /** `jobsOffered` (see {@link CounterTotals}). */
  get jobsOffered(): number {
    return this.values[Counter.jobsOffered]!;
  }
  /** `allocFailures` (see {@link CounterTotals}). */
  get allocFailures(): number {
    return this.values[Counter.allocFailures]!;
  }
  /** `hostileRequests` (see {@link CounterTotals}). */
  get hostileRequests(): number {
    return this.values[Counter.hostileRequests]!;
  }
  /** `atsTrustBreaches` (see {@link CounterTotals}). */
  get atsTrustBreaches(): number {
    return this.values[Counter.atsTrustBreaches]!;
  }
  /** `staleByKernel` (see {@link CounterTotals}). */
  get staleByKernel(): number {
    return this.values[Counter.staleByKernel]!;
  }

  /** The report's nested `totals` object (a fresh object; the counters keep running). */
  toTotals(): CounterTotals {
    const v = this.values;
    return {
      translations: v[Counter.translations]!,
      iotlbHits: v[Counter.iotlbHits]!,
      iotlbMisses: v[Counter.iotlbMisses]!,
      devtlbHits: v[Counter.devtlbHits]!,
      devtlbMisses: v[Counter.devtlbMisses]!,
      walks: v[Counter.walks]!,
      pageRequests: v[Counter.pageRequests]!,
      pageResponses: {
        success: v[Counter['pageResponses.success']]!,
        invalid: v[Counter['pageResponses.invalid']]!,
        failure: v[Counter['pageResponses.failure']]!,
      },
      autoResponses: v[Counter.autoResponses]!,
      prqOverflows: v[Counter.prqOverflows]!,
      stopMarkers: v[Counter.stopMarkers]!,
      faultRecords: v[Counter.faultRecords]!,
      dmaBytes: v[Counter.dmaBytes]!,
      dmaErrors: v[Counter.dmaErrors]!,
      jobs: v[Counter.jobs]!,
      jobsFailed: v[Counter.jobsFailed]!,
      binds: v[Counter.binds]!,
      unbinds: v[Counter.unbinds]!,
      bindErrors: v[Counter.bindErrors]!,
      invalidations: v[Counter.invalidations]!,
      jobsOffered: v[Counter.jobsOffered]!,
      allocFailures: v[Counter.allocFailures]!,
      hostileRequests: v[Counter.hostileRequests]!,
      atsTrustBreaches: v[Counter.atsTrustBreaches]!,
      staleByKernel: v[Counter.staleByKernel]!,
    };
  }
}

/** The value of a flattened counter name in nested totals. */
export function counterOf(t: CounterTotals, name: CounterName): number {
  switch (name) {
    case 'pageResponses.success':
      return t.pageResponses.success;
    case 'pageResponses.invalid':
      return t.pageResponses.invalid;
    case 'pageResponses.failure':
      return t.pageResponses.failure;
    default:
      return t[name];
  }
}
