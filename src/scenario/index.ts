/**
 * Scenarios (DESIGN §5): the input and resolved types, the defaults, the zod schema and its
 * JSON Schema, resolution with every problem reported by path, loading files and presets,
 * thresholds, and the unit parsers and formatters.
 */

export {
  DEFAULT_FIRST_RID,
  defaultAdversary,
  defaultDeviceGroup,
  defaultScenario,
  formatProblem,
  resolveScenario,
  scenarioError,
} from './defaults.js';
export {
  type LoadedScenario,
  loadScenario,
  resolveScenarioRef,
  type SourcePosition,
} from './load.js';
export { type Preset, presetNames, presets } from './presets.js';
export { formatPath, scenarioProblems } from './problems.js';
export { scenarioJsonSchema, scenarioSchema } from './schema.js';
export { THRESHOLD_KEYS } from './schema-sections.js';
export {
  evaluateThresholds,
  FAILURE_COUNTERS,
  type FailureCounter,
  type FailureReport,
  type ThresholdReport,
  type ThresholdResult,
  type UnallowedFailure,
  unallowedFailures,
  unallowedFailuresMessage,
} from './thresholds.js';
export * from './types.js';
export * from './units.js';
