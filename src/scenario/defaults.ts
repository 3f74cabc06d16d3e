/**
 * Scenario defaults and resolution (DESIGN §5): the default values (default-values.ts, re-
 * exported here) and {@link resolveScenario}, which turns what a user wrote into a complete
 * {@link Scenario} with the zod schema of schema.ts: it merges with the defaults (objects
 * deeply; `devices` replaced as a whole list, each group filled from `defaultDeviceGroup`;
 * `workload.arrival` replaced as a whole, since it is a choice of one key), parses units, and
 * checks values and the cross-field rules, collecting every problem into one `EINVAL` error,
 * listed in the order the input was written.
 *
 * Rids: a group without `rid` starts right after the previous group's last rid, the first
 * group at `DEFAULT_FIRST_RID` (0x0100: bus 1, device 0, function 0). Rids within a group are
 * consecutive (+1 each, VF-like routing IDs across devfn).
 *
 * Not done here: checking `cost` names against the cost model (it owns them), YAML parsing
 * and presets (load.ts, presets.ts).
 */

import { scenarioProblems } from './problems.js';
import { scenarioSchema } from './schema.js';
import type {
  Scenario,
  ScenarioError,
  ScenarioInput,
  ScenarioProblem,
  ThresholdBound,
} from './types.js';

export {
  DEFAULT_FIRST_RID,
  defaultAdversary,
  defaultDeviceGroup,
  defaultScenario,
} from './default-values.js';

/** The one-line form of a problem: `path: message`, `(scenario)` for the whole scenario. */
export function formatProblem(p: ScenarioProblem): string {
  return `${p.path === '' ? '(scenario)' : p.path}: ${p.message}`;
}

/** Builds the `EINVAL` error listing `problems`, one per line under a `header`. */
export function scenarioError(
  problems: readonly ScenarioProblem[],
  header = 'invalid scenario',
  line: (p: ScenarioProblem) => string = formatProblem,
): ScenarioError {
  const n = problems.length;
  const lines = problems.map((p) => `  ${line(p)}`);
  const err = new Error(`${header} (${n} problem${n === 1 ? '' : 's'}):\n${lines.join('\n')}`);
  return Object.assign(err, {
    code: 'EINVAL' as const,
    problems: [...problems],
  }) satisfies ScenarioError;
}

function throwProblems(problems: readonly ScenarioProblem[]): never {
  throw scenarioError(problems);
}

/**
 * Resolves what a user wrote into a complete scenario: merges with `defaultScenario`, parses
 * units and checks values. Throws one `EINVAL` error listing every problem in `problems`
 * (each with its path, e.g. `devices[0].pasidBits`). The input is not modified and the
 * result shares nothing with it or with the defaults.
 */
export function resolveScenario(input: ScenarioInput = {}): Scenario {
  const r = scenarioSchema.safeParse(input);
  if (!r.success) throwProblems(scenarioProblems(r.error.issues, input));
  const scenario = r.data;
  // thresholds in the order they were written (the schema lists them in its own order)
  const written = Object.keys(input.thresholds ?? {});
  const thresholds: Record<string, ThresholdBound> = {};
  for (const key of written) thresholds[key] = scenario.thresholds[key]!;
  scenario.thresholds = thresholds;
  return scenario;
}
