/**
 * Assembles the DESIGN §7 report of a run from the system's counters and recorders, the
 * invariant checker and what the run recorded.
 */

import { REPORT_VERSION, type Report, type ReportSeries } from '../report/types.js';
import type { Scenario } from '../scenario/types.js';
import type { InvariantChecker } from './checks.js';
import type { TraceWindow } from './sampler.js';
import type { System } from './system.js';

/** What a run knows at its end besides the system. */
export interface RunOutcome {
  readonly scenario: Scenario;
  readonly checker: InvariantChecker;
  readonly series: ReportSeries;
  readonly trace: TraceWindow | null;
  /** Simulated time the run covered. */
  readonly simulatedNs: number;
  /** Events run over every partition this thread ran. */
  readonly events: number;
  readonly wallNs: number;
  /** Simulated time a stop request ended the running phase, or −1. */
  readonly stoppedAtNs: number;
}

/** The report of one thread's run (inline: the whole run). */
export function assembleReport(sys: System, o: RunOutcome): Report {
  const totals = sys.counters.toTotals();
  totals.binds = sys.sva.binds;
  totals.unbinds = sys.sva.unbinds;
  totals.bindErrors = sys.sva.bindErrors;
  return {
    version: REPORT_VERSION,
    scenario: o.scenario,
    seed: o.scenario.seed,
    profile: o.scenario.profile,
    runtime: 'inline',
    threads: 1,
    simulatedNs: o.simulatedNs,
    wallMs: o.wallNs / 1e6,
    eventsPerWallSecond: o.wallNs > 0 ? o.events / (o.wallNs / 1e9) : 0,
    totals,
    latency: sys.latency.summary(),
    devices: sys.devices.map((d) => ({ rid: d.rid, ...sys.deviceCounters[d.index]!.toTotals() })),
    invariants: { checked: o.checker.checked, violations: o.checker.violations },
    histograms: sys.latency.encode(),
    series: o.series,
    ...(o.trace ? { trace: o.trace.records } : {}),
    ...(o.stoppedAtNs >= 0 ? { stoppedAtNs: o.stoppedAtNs } : {}),
  };
}
