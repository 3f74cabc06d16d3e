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

/**
 * {@link small} with 2-bit PASIDs: 3 PASIDs (1..3; 0 is reserved) for 6 clients, so 3 clients
 * wait for a PASID and retry their binds (ENOSPC) for the whole run.
 */
export function pasidsRunOut(over: ScenarioInput = {}): ScenarioInput {
  return small({ iommu: { pasidBits: 2 }, ...over });
}

/**
 * {@link small} in 200 frames (the 192 of the buffers and the machine's own 86 do not fit
 * beside the page tables), nothing prefaulted, no churn, 1 ms: the devices' page faults run out
 * of frames (ENOMEM) once the buffers fill up.
 */
export function framesRunOut(over: ScenarioInput = {}): ScenarioInput {
  return small({
    duration: '1ms',
    memory: { frames: 200 },
    clients: {
      count: 6,
      buffers: { count: 2, size: '64KiB', prefault: 'none' },
      churn: { enabled: false },
    },
    devices: [{ count: 2, workQueue: { depth: 8 }, engines: 4 }],
    ...over,
  });
}
