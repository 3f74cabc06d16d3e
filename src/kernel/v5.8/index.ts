/**
 * Profile v5.8 (DESIGN §1; spec §0.3 lists where it differs from later kernels): the
 * generic SVA API with a flags word (`intel_svm_bind_mm`), the global ioasid allocator, and
 * the `prq_event_thread` that answers each request of a group on its own.
 */

import { MM_NOTIFIER_CALLS_V58 } from '../../mem/index.js';
import { PROBE_V58 } from '../iommu.js';
import type { KernelProfile } from '../profile.js';
import { PRQ_ENTRIES, PrqThread } from './prq.js';
import { releaseDevice } from './remove.js';
import { SvmLayer } from './svm.js';

/** The v5.8 kernel profile. */
export const v58: KernelProfile = {
  name: 'v5.8',
  prqEntries: PRQ_ENTRIES,
  probe: PROBE_V58,
  createSva: (env) => new SvmLayer(env),
  createPrqService: (iommu, sva, sim, hooks) => {
    if (!(sva instanceof SvmLayer)) throw new Error('profile v5.8: foreign SVA layer');
    return new PrqThread(iommu, sva, sim, hooks);
  },
  releaseDevice: (_sva, _prq, info) => releaseDevice(info),
  // v5.8's mm: range_end calls invalidate_range, so munmap notifies twice and mprotect
  // whichever way the rights change (spec §5.1.1)
  mmNotifierCalls: MM_NOTIFIER_CALLS_V58,
};
