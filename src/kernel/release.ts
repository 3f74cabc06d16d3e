/**
 * What the VT-d driver does to a function it releases (hot unplug), common to every profile:
 * the PCI enables turned off, the context entry cleared with its flushes, the function
 * unlinked from the unit's driver state. Each profile's `remove.ts` calls these in its own
 * order, around its own RID2PASID teardown and page-request cleanup.
 *
 * Not modelled: freeing the PASID directory and leaf tables (`intel_pasid_free_table`): the
 * frames stay allocated, so a removal leaves the memory counters where they were.
 */

import { CONTEXT_ENTRY_BYTES } from '../layout/index.js';
import type { KThread } from '../sim/kthread.js';
import type { DeviceInfo } from './iommu.js';
import { qiContextDevice, qiIotlbDomain, qiSubmitSync } from './qi.js';

/**
 * `iommu_disable_dev_iotlb(info)` (v5.8 iommu.c:1450; later `iommu_disable_pci_ats` and the
 * PASID / PRI disables of `intel_iommu_release_device`): ATS, PRI and PASID off in the driver's
 * view. The caller turns them off in the function's capabilities.
 */
export function disableDevIotlb(info: DeviceInfo): void {
  info.atsEnabled = false;
  info.priEnabled = false;
  info.priAllocation = 0;
  info.pasidEnabled = false;
}

/**
 * `domain_context_clear_one(iommu, bus, devfn)` (v5.8 iommu.c:2391): reads `did_old` with
 * `context_domain_id` — bits 72..87 of the entry, which a scalable-mode context entry gives to
 * RID_PASID[19:8] and RID_PRIV, so 0 with RID_PASID 0 — zeroes the 256-bit entry, then a
 * device-selective context-cache invalidation and a domain-selective IOTLB invalidation, both
 * with that DID, each its own `qi_submit_sync`.
 */
export function* domainContextClearOne(info: DeviceInfo): KThread<void> {
  const iommu = info.iommu;
  const addr = iommu.contextEntryAddress(info.bus, info.devfn, false);
  if (addr < 0) return;
  const u32 = iommu.mem.u32;
  const dw = addr / 4;
  // context->hi is qwords[1] = dwords 2..3; context_domain_id = (hi >> 8) & 0xffff
  const didOld = (u32[dw + 2]! >>> 8) & 0xffff;
  u32.fill(0, dw, dw + CONTEXT_ENTRY_BYTES / 4);
  yield* qiSubmitSync(iommu, [qiContextDevice(didOld, info.sid)]);
  yield* qiSubmitSync(iommu, [qiIotlbDomain(didOld)]);
}

/**
 * `unlink_domain_info` / `device_rbtree_remove`: the unit's driver state forgets the function,
 * so a page request still in its queue from that RID finds no probed device.
 */
export function unlinkDevice(info: DeviceInfo): void {
  const list = info.iommu.devices;
  const i = list.indexOf(info);
  if (i >= 0) list.splice(i, 1);
}
