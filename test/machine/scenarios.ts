import type { ScenarioInput } from '../../src/scenario/types.js';

/** A small scenario for runtime tests: 2 devices, 6 clients with 64 KiB buffers, 300 µs, fast churn. */
export function small(over: ScenarioInput = {}): ScenarioInput {
  return {
    seed: 3,
    duration: '300us',
    devices: [{ count: 2, workQueue: { depth: 8 } }],
    clients: {
      count: 6,
      buffers: { count: 2, size: '64KiB' },
      churn: { bindLifetime: '80us', exitWhileBound: 0.3 },
    },
    workload: { arrival: { closedLoop: { queueDepth: 4 } } },
    memory: { frames: 8192 },
    ...over,
  };
}
