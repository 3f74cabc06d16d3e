/**
 * Scenarios (DESIGN §5): the input and resolved types, the defaults, resolution with every
 * problem reported by path, and the unit parsers and formatters.
 */

export {
  DEFAULT_FIRST_RID,
  defaultDeviceGroup,
  defaultScenario,
  resolveScenario,
} from './defaults.js';
export * from './types.js';
export * from './units.js';
