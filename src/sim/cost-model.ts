/**
 * The cost model: every modelled latency the simulator charges, in integer nanoseconds of
 * simulated time — DESIGN §2, calibrated against `ANCHORS.md` (each default names its row).
 *
 * Fixed costs are plain numbers; costs that vary per event (I/O page-fault service, queued
 * invalidation) are bucketed distributions sampled with the caller's seeded `Rng`: a bucket is
 * chosen by weight, then a value log-uniformly within it. The buckets reproduce the shape
 * Linux's `dmar_perf_latency` reports (decade buckets, min, max, mean).
 *
 * How the fixed costs compose (the calibration the defaults rely on):
 * - 64 B DMA read at an IOTLB hit = 2 × pcieLatencyNs + iotlbLookupNs + memReadNs
 *   + 64 / dmaBytesPerNs = 440 + 16 + 90 + 4 = 550 ns (anchor: 546–560 ns).
 * - An IOTLB miss whose upper levels hit the paging-structure cache walks one level:
 *   + walkLevelNs = 260 ns (anchor: +230–280 ns). walkLevelNs already includes the walker's
 *   own memory read; walkers must not add memReadNs on top.
 * - A walker is busy for the whole walk, so all-miss throughput = walkers / walk time
 *   = 5 / 260 ns = 19.2 M/s (anchor: 19.2 M/s at a 64 MiB window).
 *
 * Not modelled here: contention for DRAM or the link (the engine queues on walkers and on
 * the lookup pipeline only), CPU frequency, NUMA distance, per-device differences (every
 * device shares one CostParams; a scenario overrides knobs globally).
 */

import { codedError, ErrorCode } from '../errors.js';
import type { Rng } from './rng.js';

/** One bucket of a latency distribution: chosen with probability ∝ weight, then log-uniform. */
export interface LatencyBucket {
  /** Relative weight (any non-negative scale; the anchors' raw counts are used as is). */
  readonly weight: number;
  /** Smallest value the bucket yields, integer ns ≥ 1. */
  readonly minNs: number;
  /** Largest value the bucket yields (inclusive), integer ns ≥ minNs. */
  readonly maxNs: number;
}

/** Every cost knob of the model. Units are in the names; all times are integer ns. */
export interface CostParams {
  /** One-way PCIe link latency between a device and the root complex. */
  readonly pcieLatencyNs: number;
  /** One DRAM access for a DMA read or write (not for page walks: see walkLevelNs). */
  readonly memReadNs: number;
  /** Occupancy of the IOMMU translation pipeline per request (IOTLB lookup). */
  readonly iotlbLookupNs: number;
  /** One first-level walk level that misses the paging-structure cache, memory read included. */
  readonly walkLevelNs: number;
  /** Page walks the VT-d unit runs concurrently (count, ≥ 1). */
  readonly walkers: number;
  /** PASID cache miss: context entry + PASID directory entry + PASID table entry fetch. */
  readonly pasidCacheMissNs: number;
  /** Hardware writes one 32 B page request descriptor into the PRQ and updates the tail. */
  readonly prqWriteNs: number;
  /** PRQ interrupt until the kernel's PRQ thread runs (hard IRQ + threaded-IRQ wake-up). */
  readonly irqLatencyNs: number;
  /** Software service of one I/O page fault (what `svm_prq` measures). */
  readonly faultServiceBuckets: readonly LatencyBucket[];
  /** Software cost of a page request rejected before handle_mm_fault (bad PASID, no mm …). */
  readonly prqInvalidNs: number;
  /** Building a page group response and submitting it on the invalidation queue. */
  readonly pageResponseNs: number;
  /** Queued IOTLB / PASID-cache invalidation, submission to wait-descriptor completion. */
  readonly invIotlbBuckets: readonly LatencyBucket[];
  /** Queued device-TLB invalidation, submission to wait-descriptor completion. */
  readonly invDevtlbBuckets: readonly LatencyBucket[];
  /** DMA payload bandwidth of one device's link, bytes per ns (may be fractional, > 0). */
  readonly dmaBytesPerNs: number;
  /** Device-side ATC (device TLB) lookup. */
  readonly devtlbLookupNs: number;
  /** CPU-side page fault taken by a client process (trap + handle_mm_fault + return). */
  readonly cpuFaultNs: number;
}

/** The name of one cost knob. */
export type CostKey = keyof CostParams;

/** The `ANCHORS.md` rows the defaults cite, by their exact first-column text. */
export const ANCHOR = {
  pcieRoundTrip: 'PCIe DMA read round trip, 64 B, IOTLB hit',
  iotlbMissPenalty: 'IOTLB miss penalty, 4 KiB mappings',
  iotlbThrash: 'Throughput when the IOTLB thrashes',
  invalidation: 'Queued invalidation latency',
  faultService: 'I/O page-fault software service (`svm_prq`: PRQ report to page response)',
  priRoundTrip: 'End-to-end PRI round trip seen by the device',
} as const;

function bucket(weight: number, minNs: number, maxNs: number): LatencyBucket {
  return Object.freeze({ weight, minNs, maxNs });
}

/** The calibrated default cost model (frozen). */
export const defaultCost: CostParams = Object.freeze({
  // ANCHOR.pcieRoundTrip: median 546–560 ns = 2 × link + lookup 16 + DRAM 90 + 64 B at
  // 16 B/ns (4) ⇒ link ≈ 220 ns one way (round trip 550 ns). This is also the lookahead of
  // the threaded runtime (DESIGN §3).
  pcieLatencyNs: 220,
  // ANCHOR.pcieRoundTrip: the DRAM share of that round trip, ~80–100 ns; middle value.
  memReadNs: 90,
  // ANCHOR.iotlbThrash: 63.3 M/s of hits at a ≤ 256 KiB window ⇒ 1 / 63.3 M/s ≈ 15.8 ns per
  // request through the lookup pipeline; 16 ns gives 62.5 M/s.
  iotlbLookupNs: 16,
  // ANCHOR.iotlbMissPenalty: +230–280 ns median for a 4 KiB miss; with the upper levels in the
  // paging-structure cache a miss walks one level, so one level ≈ 255 ns; 260 so that
  // walkers / walkLevelNs lands on the thrash row exactly (below). A cold 4-level walk is then
  // ≈ 1.0 µs, the row's p99.9 ≈ 1.2 µs.
  walkLevelNs: 260,
  // ANCHOR.iotlbThrash: 19.2 M/s when nearly every request misses (64 MiB window) ⇒
  // walkers = 19.2 M/s × 260 ns ≈ 5.0 ⇒ 5 walkers = 19.23 M/s.
  walkers: 5,
  // ANCHOR.iotlbMissPenalty: three dependent table reads (context entry, PASID directory
  // entry, PASID table entry) at the per-level cost: 3 × 260 = 780 ns.
  pasidCacheMissNs: 780,
  // ANCHOR.priRoundTrip ("PRQ write"): one posted 32 B write to DRAM plus the tail-register
  // update, about one memory access: 100 ns.
  prqWriteNs: 100,
  // ANCHOR.priRoundTrip ("interrupt + thread wake-up"): hard IRQ ≈ 1 µs plus waking and
  // switching to the PRQ thread ≈ 3 µs. With the fault service below the device sees a PRI
  // round trip of ≈ 10 µs median, ≈ 14 µs mean: the row's "low tens of µs".
  irqLatencyNs: 4000,
  // ANCHOR.faultService: weights are the measured counts out of 25,965 faults. The 25,206
  // faults in 1–10 µs are split 7,000 / 18,206 at 3 µs so that the mean comes out at ≈ 9.2 µs
  // (measured: 9 µs; one log-uniform 1–10 µs bucket alone would give 8.3 µs) and the median
  // at ≈ 4.5 µs. 10–100 µs: 364; 100 µs–556 µs (the measured max): 395 (1.5 %).
  faultServiceBuckets: Object.freeze([
    bucket(7000, 1000, 3000),
    bucket(18206, 3000, 10_000),
    bucket(364, 10_000, 100_000),
    bucket(395, 100_000, 556_000),
  ]),
  // ANCHOR.faultService: a request that fails the PASID / mm / VMA checks never reaches
  // handle_mm_fault, so it costs well under the row's 1 µs minimum: 300 ns.
  prqInvalidNs: 300,
  // ANCHOR.priRoundTrip ("response"): fill a 32 B descriptor, bump the QI tail: 200 ns.
  pageResponseNs: 200,
  // ANCHOR.invalidation: inv_iotlb counts 286 in 0.1–1 µs and 123 in 1–10 µs (70 % / 30 %),
  // max printed 1 µs and mean below 1 µs ⇒ upper bucket 1–2 µs. Mean ≈ 0.71 µs.
  invIotlbBuckets: Object.freeze([bucket(286, 100, 1000), bucket(123, 1000, 2000)]),
  // ANCHOR.invalidation: inv_devtlb counts 276 / 133 (68 % / 32 %), max 2 µs. Mean ≈ 0.73 µs.
  invDevtlbBuckets: Object.freeze([bucket(276, 100, 1000), bucket(133, 1000, 2000)]),
  // ANCHOR.pcieRoundTrip (no anchor row gives bandwidth): 16 B/ns ≈ the payload rate of
  // PCIe Gen3 x16, half of Gen4 x16; a 64 B transfer adds the 4 ns folded into the round trip.
  dmaBytesPerNs: 16,
  // ANCHOR.iotlbThrash: the IOMMU's lookup is ~16 ns per request; a device-local ATC is
  // smaller and next to the engine: 10 ns.
  devtlbLookupNs: 10,
  // ANCHOR.faultService: handle_mm_fault alone costs at least ~1 µs (the row's minimum); a
  // CPU fault adds exception entry and return: 1.5 µs.
  cpuFaultNs: 1500,
});

type KnobKind = 'ns' | 'count' | 'rate' | 'buckets';

interface KnobSpec {
  readonly kind: KnobKind;
  readonly unit: string;
  readonly anchor: string;
}

/** Kind, unit and anchor of every knob, in declaration order (drives validation and reports). */
const KNOBS: { readonly [K in CostKey]: KnobSpec } = {
  pcieLatencyNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.pcieRoundTrip },
  memReadNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.pcieRoundTrip },
  iotlbLookupNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.iotlbThrash },
  walkLevelNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.iotlbMissPenalty },
  walkers: { kind: 'count', unit: 'walks', anchor: ANCHOR.iotlbThrash },
  pasidCacheMissNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.iotlbMissPenalty },
  prqWriteNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.priRoundTrip },
  irqLatencyNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.priRoundTrip },
  faultServiceBuckets: { kind: 'buckets', unit: 'ns', anchor: ANCHOR.faultService },
  prqInvalidNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.faultService },
  pageResponseNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.priRoundTrip },
  invIotlbBuckets: { kind: 'buckets', unit: 'ns', anchor: ANCHOR.invalidation },
  invDevtlbBuckets: { kind: 'buckets', unit: 'ns', anchor: ANCHOR.invalidation },
  dmaBytesPerNs: { kind: 'rate', unit: 'B/ns', anchor: ANCHOR.pcieRoundTrip },
  devtlbLookupNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.iotlbThrash },
  cpuFaultNs: { kind: 'ns', unit: 'ns', anchor: ANCHOR.faultService },
};

/** The names of all cost knobs, in declaration order. */
export const COST_KEYS: readonly CostKey[] = Object.freeze(Object.keys(KNOBS) as CostKey[]);

function einval(message: string): Error & { code: 'EINVAL' } {
  return codedError(ErrorCode.EINVAL, `EINVAL: ${message}`);
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

function checkBuckets(key: string, value: unknown): readonly LatencyBucket[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw einval(
      `cost.${key} must be a non-empty array of { weight, minNs, maxNs }, got ${describeValue(value)}`,
    );
  }
  let total = 0;
  const out: LatencyBucket[] = [];
  for (const [i, b] of value.entries()) {
    const at = `cost.${key}[${i}]`;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) {
      throw einval(`${at} must be an object { weight, minNs, maxNs }, got ${describeValue(b)}`);
    }
    const rec = b as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      if (k !== 'weight' && k !== 'minNs' && k !== 'maxNs') {
        throw einval(`${at}.${k} is not a bucket field; allowed: weight, minNs, maxNs`);
      }
    }
    const { weight, minNs, maxNs } = rec;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw einval(`${at}.weight must be a finite number ≥ 0, got ${describeValue(weight)}`);
    }
    if (typeof minNs !== 'number' || !Number.isSafeInteger(minNs) || minNs < 1) {
      throw einval(`${at}.minNs must be an integer number of ns ≥ 1, got ${describeValue(minNs)}`);
    }
    if (typeof maxNs !== 'number' || !Number.isSafeInteger(maxNs) || maxNs < minNs) {
      throw einval(
        `${at}.maxNs must be an integer number of ns ≥ minNs (${minNs}), got ${describeValue(maxNs)}`,
      );
    }
    total += weight;
    out.push(bucket(weight, minNs, maxNs));
  }
  if (!(total > 0)) throw einval(`cost.${key}: the bucket weights must not all be 0`);
  return Object.freeze(out);
}

function checkNumber(key: string, kind: KnobKind, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw einval(`cost.${key} must be a number, got ${describeValue(value)}`);
  }
  if (value < 0) throw einval(`cost.${key} must not be negative, got ${value}`);
  if (kind === 'ns' && !Number.isSafeInteger(value)) {
    throw einval(`cost.${key} must be an integer number of ns, got ${value}`);
  }
  if (kind === 'count' && (!Number.isSafeInteger(value) || value < 1)) {
    throw einval(`cost.${key} must be an integer ≥ 1, got ${value}`);
  }
  if (kind === 'rate' && value === 0) throw einval(`cost.${key} must be greater than 0`);
  return value;
}

/**
 * The defaults with `overrides` applied (frozen). Throws an Error with `code: 'EINVAL'` naming
 * the key for an unknown key (listing the allowed ones), a value that is not a number (or,
 * for `*Buckets`, not a well-formed bucket array), a negative value, a fractional ns value,
 * `walkers` < 1 or `dmaBytesPerNs` = 0. An `undefined` value keeps the default.
 */
export function resolveCost(overrides: Record<string, unknown> = {}): CostParams {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw einval(`cost must be an object of overrides, got ${describeValue(overrides)}`);
  }
  const out: Record<string, unknown> = { ...defaultCost };
  for (const [key, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(KNOBS, key)) {
      throw einval(`cost.${key} is not a cost knob; allowed keys: ${COST_KEYS.join(', ')}`);
    }
    if (value === undefined) continue;
    const spec = KNOBS[key as CostKey];
    out[key] =
      spec.kind === 'buckets' ? checkBuckets(key, value) : checkNumber(key, spec.kind, value);
  }
  return Object.freeze(out) as unknown as CostParams;
}

/**
 * Draws one integer ns value: a bucket with probability ∝ weight, then a value log-uniform
 * over [minNs, maxNs + 1) rounded down, so every result lies in [minNs, maxNs]. Uses two
 * `rng.next()` draws (one when there is a single bucket); allocation-free.
 */
export function sampleBuckets(buckets: readonly LatencyBucket[], rng: Rng): number {
  const n = buckets.length;
  let b = buckets[0]!;
  if (n > 1) {
    let total = 0;
    for (let i = 0; i < n; i++) total += buckets[i]!.weight;
    let r = rng.next() * total;
    for (let i = 0; i < n; i++) {
      const c = buckets[i]!;
      if (c.weight <= 0) continue; // never chosen, not even by rounding at the end
      b = c;
      r -= c.weight;
      if (r < 0) break;
    }
  }
  const min = b.minNs;
  const max = b.maxNs;
  if (max <= min) return min;
  const v = Math.floor(min * Math.exp(rng.next() * Math.log((max + 1) / min)));
  return Math.min(v, max);
}

/** One I/O page-fault software service time (the `svm_prq` distribution), integer ns. */
export function sampleFaultServiceNs(cost: CostParams, rng: Rng): number {
  return sampleBuckets(cost.faultServiceBuckets, rng);
}

/** One queued IOTLB invalidation latency, integer ns. */
export function sampleInvIotlbNs(cost: CostParams, rng: Rng): number {
  return sampleBuckets(cost.invIotlbBuckets, rng);
}

/** One queued device-TLB invalidation latency, integer ns. */
export function sampleInvDevtlbNs(cost: CostParams, rng: Rng): number {
  return sampleBuckets(cost.invDevtlbBuckets, rng);
}

/** One row of the cost table a report prints. */
export interface CostRow {
  /** The knob's name. */
  readonly key: CostKey;
  /** Its value; bucket distributions are rendered as text. */
  readonly value: number | string;
  /** Unit of `value` (`ns`, `B/ns`, `walks`). */
  readonly unit: string;
  /** The `ANCHORS.md` row the default comes from. */
  readonly anchor: string;
}

function formatBuckets(buckets: readonly LatencyBucket[]): string {
  let total = 0;
  for (const b of buckets) total += b.weight;
  return buckets
    .map((b) => `${((100 * b.weight) / total).toFixed(1)}% ${b.minNs}–${b.maxNs}`)
    .join(', ');
}

/** The cost table for reports: one row per knob, in declaration order. */
export function describeCost(cost: CostParams = defaultCost): CostRow[] {
  return COST_KEYS.map((key) => {
    const spec = KNOBS[key];
    const v = cost[key];
    const value = typeof v === 'number' ? v : formatBuckets(v);
    return { key, value, unit: spec.unit, anchor: spec.anchor };
  });
}
