/**
 * Report outputs of a run (DESIGN §5, §7): the terminal summary, the `--json` document, the
 * HdrHistogram log and `.hgrm` files of `--hlog`, and the self-contained page of `--html`.
 * Re-exports only; nothing here runs a simulation.
 */

export {
  formatHlog,
  formatPercentileDistribution,
  HLOG_VALUE_UNIT_RATIO,
  type HlogOptions,
  hgrmPath,
  type IntervalHistograms,
  type ReportWithIntervals,
  writeHlog,
} from './hlog.js';
export { renderHtml, scenarioYaml, writeHtml } from './html.js';
export { type JsonReport, toJsonReport, writeJsonReport } from './json.js';
export { type PercentilePoint, percentilePoints } from './plots.js';
export { formatSummary, type SummaryOptions, type ThresholdResult } from './summary.js';
