/**
 * Profile `current` (≈v6.13–v6.16+, spec §10): `iommu_sva_bind_device(dev, mm)` without
 * flags, the PASID owned by the mm, cache-tag range flushes from the CPU TLB-flush path
 * (v6.6+ mm), and the PRQ thread reporting to iopf groups with one response per group.
 */

import { MM_NOTIFIER_CALLS_TLB_GATHER } from '../../mem/index.js';
import { PROBE_CURRENT } from '../iommu.js';
import type { KernelProfile } from '../profile.js';
import { CurrentPrqThread, PRQ_ENTRIES } from './prq.js';
import { releaseDevice } from './remove.js';
import { CurrentSvaLayer } from './sva.js';

/** The `current` kernel profile. */
export const current: KernelProfile = {
  name: 'current',
  prqEntries: PRQ_ENTRIES,
  // v6.15+: PASIDE at probe, PRI only with ecap.PDS, PRQ_DEPTH outstanding requests (§10.2)
  probe: PROBE_CURRENT,
  createSva: (env) => new CurrentSvaLayer(env),
  createPrqService: (iommu, sva, sim, hooks) => {
    if (!(sva instanceof CurrentSvaLayer)) throw new Error('profile current: foreign SVA layer');
    const thread = new CurrentPrqThread(iommu, sva, sim, hooks);
    sva.prqThreads.set(iommu, thread);
    return thread;
  },
  releaseDevice: (_sva, prq, info) => {
    if (!(prq instanceof CurrentPrqThread)) throw new Error('profile current: foreign PRQ thread');
    return releaseDevice(prq, info);
  },
  // x86 from v6.6: invalidations from the CPU TLB flush over what really changed (spec §10.4)
  mmNotifierCalls: MM_NOTIFIER_CALLS_TLB_GATHER,
};
