/**
 * The closed set of latency kinds the simulator records — DESIGN §5, in the spirit of Linux's
 * `drivers/iommu/intel/perf.h` (a fixed enum, recorded by small integer on the hot path).
 *
 * All kinds are modelled time in integer ns. Adding a kind is a change to this file, the
 * report and the HTML plots together; nothing records a kind by free-form string.
 */

/** Every latency kind, in index order. */
export const LATENCY_KINDS = [
  'ats.translate',
  'iommu.walk',
  'prq.service',
  'pri.roundtrip',
  'job.latency',
  'inv.iotlb',
  'inv.devtlb',
  'unbind.drain',
] as const;

/** One latency kind name. */
export type LatencyKind = (typeof LATENCY_KINDS)[number];

/** Index of each kind in `LATENCY_KINDS`, for recording by small integer. */
export const LatencyKindIndex = {
  /** Device view of an ATS translation request: request sent to completion received. */
  'ats.translate': 0,
  /** One first-level page walk inside the VT-d unit, queueing for a walker included. */
  'iommu.walk': 1,
  /** PRQ write to page group response submitted (the kernel's `svm_prq`). */
  'prq.service': 2,
  /** Device view of PRI: page request sent to page group response received. */
  'pri.roundtrip': 3,
  /** Job submitted to the device's work queue until its completion. */
  'job.latency': 4,
  /** Queued IOTLB invalidation: submission to wait-descriptor completion. */
  'inv.iotlb': 5,
  /** Queued device-TLB invalidation: submission to wait-descriptor completion. */
  'inv.devtlb': 6,
  /** Unbind: start of the PASID drain until the PASID can be freed. */
  'unbind.drain': 7,
} as const satisfies Record<LatencyKind, number>;

/** One latency kind index. */
export type LatencyKindId = (typeof LatencyKindIndex)[LatencyKind];

/** Number of latency kinds. */
export const LATENCY_KIND_COUNT = LATENCY_KINDS.length;
