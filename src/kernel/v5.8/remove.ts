/**
 * Device release in profile v5.8 (hot unplug), after the driver's remove path unbound every
 * bond it held (each `intel_svm_unbind_mm`, drain included, svm.ts): the IOMMU's
 * `intel_iommu_release_device` → `dmar_remove_one_dev_info` → `__dmar_remove_one_dev_info`
 * (drivers/iommu/intel/iommu.c, v5.8.18, lines 5678, 5017, 4983), in its order:
 *
 * 1. `intel_pasid_tear_down_entry(iommu, dev, PASID_RID2PASID, false)` (pasid.c:492): the
 *    RID2PASID entry of the DMA domain cleared; PASID-cache (its DID, PASID 0), PASID-selective
 *    P_IOTLB, and with ATS the full-range device-TLB invalidation in its non-PASID form (3h),
 *    each its own submission ({@link pasidTearDownEntry}).
 * 2. `iommu_disable_dev_iotlb(info)`: ATS, PRI, PASID off.
 * 3. `domain_context_clear` → `domain_context_clear_one`: the context entry zeroed, then a
 *    device-selective context-cache flush and a domain-selective IOTLB flush with DID 0 (the
 *    DID `context_domain_id` reads from a scalable-mode entry).
 * 4. `intel_pasid_free_table`, `unlink_domain_info`: the driver forgets the function.
 *
 * v5.8 has no list of pending page groups: requests of the function still in the PRQ are
 * handled by the PRQ thread as any other (no bond left: Invalid Request when LPIG=1), and no
 * response is sent on the function's behalf at removal.
 */

import type { KThread } from '../../sim/kthread.js';
import { type DeviceInfo, RID_PASID } from '../iommu.js';
import { pasidTearDownEntry } from '../pasid.js';
import { disableDevIotlb, domainContextClearOne, unlinkDevice } from '../release.js';

/** `intel_iommu_release_device(dev)` as v5.8.18 runs it (see the file header). */
export function* releaseDevice(info: DeviceInfo): KThread<void> {
  yield* pasidTearDownEntry(info, RID_PASID, false);
  disableDevIotlb(info);
  yield* domainContextClearOne(info);
  unlinkDevice(info);
}
