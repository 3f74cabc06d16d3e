/**
 * Seeded workload generators (DESIGN §1 Workload row): access patterns over a client buffer
 * and arrival processes. Client churn arrives later in this folder.
 */

export {
  ClosedLoop,
  closedLoop,
  OpenLoop,
  type OpenLoopOptions,
  openLoop,
} from './arrival.js';
export {
  type AccessPattern,
  createPattern,
  DEFAULT_ZIPF_THETA,
  PatternKind,
  type PatternSpec,
  type RandomSource,
  zipfCdf,
} from './patterns.js';
