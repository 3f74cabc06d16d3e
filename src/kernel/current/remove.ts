/**
 * Device release in profile `current` (hot unplug, spec §4.4, §10.2–10.3), after the driver's
 * remove path unbound every bond it held (`iommu_sva_unbind_device`, teardown and drain
 * included, sva.ts):
 *
 * 1. `iopf_queue_remove_device`: the function's partial requests freed and every group of it
 *    still pending answered Invalid Request (RC=1) — a handler that finishes later finds its
 *    group answered and sends nothing ({@link CurrentPrqThread.removeDevice}).
 * 2. The core attaches the release domain (`blocking_domain` → `device_block_translation`):
 *    `intel_pasid_tear_down_entry(iommu, dev, IOMMU_NO_PASID, false)` — present check,
 *    entry cleared, PASID-cache (its DID, PASID 0), then for a second-stage entry a
 *    domain-selective IOTLB flush (`flush_iotlb(DSI)`, not P_IOTLB: that is for first-level
 *    and pass-through entries) and `devtlb_invalidation_with_pasid`, which for IOMMU_NO_PASID
 *    is the non-PASID full-range form (3h); no drain (the function has no iopf user left) —
 *    and `domain_context_clear` (context entry zeroed, device-selective context-cache and
 *    domain-selective IOTLB flushes with the DID the entry reads as, 0).
 * 3. `intel_iommu_release_device`: ATS, PRI and PASID off, `device_rbtree_remove`,
 *    `intel_pasid_free_table`.
 *
 * Not modelled: the Intel PASID-cache / device-TLB flushes `intel_context_flush_no_pasid`
 * adds after a context entry of a scalable-mode unit is cleared in later kernels.
 */

import { getField, PASID_ENTRY, PASID_ENTRY_BYTES } from '../../layout/index.js';
import type { KThread } from '../../sim/kthread.js';
import { type DeviceInfo, RID_PASID } from '../iommu.js';
import { pasidEntryPresent, pasidGetEntry } from '../pasid.js';
import { qiDevIotlb, qiIotlbDomain, qiPasidCache, qiSubmitSync } from '../qi.js';
import { disableDevIotlb, domainContextClearOne, unlinkDevice } from '../release.js';
import type { CurrentPrqThread } from './prq.js';

const PE = PASID_ENTRY.fields;

/** `intel_iommu_release_device(dev)` and what precedes it in profile current (file header). */
export function* releaseDevice(prq: CurrentPrqThread, info: DeviceInfo): KThread<void> {
  yield* prq.removeDevice(info);
  yield* tearDownRidPasid(info);
  yield* domainContextClearOne(info);
  disableDevIotlb(info);
  unlinkDevice(info);
}

/** `intel_pasid_tear_down_entry(iommu, dev, IOMMU_NO_PASID, false)` for the DMA domain's entry. */
function* tearDownRidPasid(info: DeviceInfo): KThread<void> {
  const iommu = info.iommu;
  const addr = pasidGetEntry(info, RID_PASID);
  if (addr < 0 || !pasidEntryPresent(info, addr)) return;
  const u32 = iommu.mem.u32;
  const dw = addr / 4;
  const did = getField(u32, dw, PE.did);
  u32.fill(0, dw, dw + PASID_ENTRY_BYTES / 4);
  yield* qiSubmitSync(iommu, [qiPasidCache(did, RID_PASID)]);
  yield* qiSubmitSync(iommu, [qiIotlbDomain(did)]);
  if (info.atsEnabled && !iommu.unit.caps.cm) {
    yield* qiSubmitSync(iommu, [qiDevIotlb(info.sid, info.pfsid, info.atsQdep, 0, 64 - 12)]);
  }
}
