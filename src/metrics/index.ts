/**
 * Metrics of a run: the closed set of latency kinds, per-thread latency recorders with
 * mergeable encodings, and the event counters behind the report's totals (DESIGN §5, §7).
 */

export {
  COUNTER_COUNT,
  COUNTER_NAMES,
  COUNTERS_BYTES,
  Counter,
  type CounterId,
  type CounterName,
  Counters,
  type CounterTotals,
} from './counters.js';
export {
  LATENCY_KIND_COUNT,
  LATENCY_KINDS,
  type LatencyKind,
  type LatencyKindId,
  LatencyKindIndex,
} from './kinds.js';
export {
  type EncodedLatencies,
  initMetrics,
  initMetricsSync,
  LATENCY_MAX_NS,
  LATENCY_SIGNIFICANT_DIGITS,
  LatencyRecorder,
  type LatencySummary,
} from './recorder.js';
