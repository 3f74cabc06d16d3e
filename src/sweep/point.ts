/**
 * Running one point of a sweep in this process (`svasim sweep … --index N`, what each local
 * worker process and each cluster task does): the point's scenario input is built and
 * resolved — validated on its own, an invalid value is the point's failure, named with the
 * point — then run (inline unless the sweep forces `--runtime`), its thresholds evaluated, and
 * its report written to the folder with `point` first. A failure writes the error file.
 *
 * Not here: signals. A point process stopped by a signal dies without writing: a point is
 * whole or pending, never partial.
 */

import { availableParallelism } from 'node:os';
import { runScenarioAsync } from '../machine/run.js';
import { toJsonReport } from '../report/json.js';
import { runScenarioThreaded } from '../runtime/threaded.js';
import { resolveScenario } from '../scenario/defaults.js';
import { loadScenario } from '../scenario/load.js';
import { evaluateThresholds, unallowedFailures } from '../scenario/thresholds.js';
import type { Scenario } from '../scenario/types.js';
import { writePointError, writePointReport } from './folder.js';
import { pointInput, pointLabel, runtimeOverride, type SweepPoint } from './grid.js';
import type { SweepManifest } from './manifest.js';

/** The error code of a point that failed without a code of its own (a crash, a signal). */
export const POINT_FAILED = 'ERR_POINT_FAILED';

/** How a point ended. */
export type PointOutcome =
  | {
      ok: true;
      file: string;
      /** Thresholds missed, invariant violations, failures no threshold allows. */
      missed: number;
      violations: number;
      unallowed: number;
    }
  | { ok: false; file: string; code: string; message: string; exitStatus: number };

/**
 * The resolved scenario of `point`: throws `EINVAL` naming the point when the point's values
 * make the scenario invalid (or the scenario cannot be loaded).
 */
export function pointScenario(m: SweepManifest, point: SweepPoint): Scenario {
  const label = pointLabel(point, m.seeds);
  try {
    const input = pointInput(loadScenario(m.scenario).input, m.overrides, point);
    return resolveScenario(input);
  } catch (e) {
    const err = e as Error & { code?: string };
    const wrapped = new Error(`${label}: ${err.message}`);
    throw Object.assign(wrapped, { code: err.code ?? 'EINVAL' });
  }
}

/**
 * Runs `point` of the sweep `m` and writes its report (or its error file) into `dir`. Never
 * throws for the point's own failure: the outcome says what happened. `auto` decides the
 * runtime of a sweep forced to `--runtime auto` (the command line's chooser; without it,
 * inline).
 */
export async function runPoint(
  m: SweepManifest,
  point: SweepPoint,
  dir: string,
  auto: (sc: Scenario) => 'inline' | 'threaded' = () => 'inline',
): Promise<PointOutcome> {
  try {
    const sc = pointScenario(m, point);
    const choice = runtimeOverride(m.overrides);
    const runtime = choice === 'auto' ? auto(sc) : choice;
    let report =
      runtime === 'threaded'
        ? await runScenarioThreaded(sc, {
            // the engine's thread and at least one for the accelerators
            threads: Math.max(
              2,
              Math.min(
                sc.runtime.threads || availableParallelism(),
                sc.devices.reduce((n, g) => n + g.count, 0) + 1,
              ),
            ),
          })
        : await runScenarioAsync(sc, { durationNs: sc.duration });
    const thresholds = evaluateThresholds(sc.thresholds, report);
    report = { ...report, thresholds };
    const file = writePointReport(dir, point, toJsonReport(report));
    return {
      ok: true,
      file,
      missed: thresholds.filter((t) => !t.ok).length,
      violations: report.invariants.violations.length,
      unallowed: unallowedFailures(sc.thresholds, report).length,
    };
  } catch (e) {
    const err = e as Error & { code?: string };
    const code = typeof err.code === 'string' ? err.code : POINT_FAILED;
    const message = err.message.startsWith('point ')
      ? err.message
      : `${pointLabel(point, m.seeds)}: ${err.message}`;
    // bad input (an invalid value, a missing scenario file) exits 2, as `svasim run` does
    const exitStatus = code === 'EINVAL' || code === 'ENOENT' ? 2 : 1;
    const file = writePointError(dir, point, { code, message, exitStatus });
    return { ok: false, file, code, message, exitStatus };
  }
}
