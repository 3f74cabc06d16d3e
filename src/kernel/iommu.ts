/**
 * The Intel IOMMU driver's per-unit and per-device state (spec §1, §2.1 step 5, §3.1), with
 * what differs between the profiles at probe in a {@link ProbePolicy}: root and context tables in scalable mode, the invalidation queue memory and its
 * status words, the page request queue memory, domain ids, and the function-level
 * PASID / ATS / PRI enables.
 *
 * Probe follows `domain_context_mapping_one` in scalable mode plus `intel_pasid_alloc_table`:
 * the PASID directory is 2^order contiguous frames covering at least 2^15 PASIDs, the
 * context entry points at it with PDTS, RID_PASID = 0 with the DMA domain's RID2PASID entry
 * programmed (spec §2.1.1), DTE when the function supports ATS and PRE when `pri_supported`.
 * The attach then enables PASID, PRI and ATS on the function (`iommu_enable_dev_iotlb`,
 * spec §2.1.1): v5.8 does it for every device at attach, not at the first SVA bind. In v5.8
 * PASIDE is set later, by the first SVA bind (`intel_iommu_enable_pasid`), with a
 * device-selective context-cache invalidation; profile current sets it at probe.
 *
 * Not modelled: the DMA domain's second-stage tables (nothing is mapped for DMA without
 * PASID), caching-mode flushes at probe time, IOMMU groups with several devices, SR-IOV
 * (every function is its own PF, so with ecap.DIT PFSID = SID), `pci_enable_*` failing.
 */

import type { VtdUnit } from '../engine/unit.js';
import {
  CONTEXT_ENTRY,
  CONTEXT_ENTRY_BYTES,
  getField,
  PAGE_REQUEST_BYTES,
  pdtsForMaxPasid,
  ROOT_ENTRY,
  ROOT_ENTRY_BYTES,
  setField,
} from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';
import { Completion, type KThread } from '../sim/kthread.js';
import { Errno, kernelError } from './errors.js';
import { pasidSetupRidPasid } from './pasid.js';
import { QInval, qiContextDevice, qiSubmitSync } from './qi.js';

const RE = ROOT_ENTRY.fields;
const CE = CONTEXT_ENTRY.fields;

/** `PASID_RID2PASID`: the PASID of requests without PASID, the DMA domain's entry. */
export const RID_PASID = 0;

/** `pci_enable_pri(pdev, 32)`: outstanding page request allocation before Linux 5.15. */
export const PRI_ALLOCATION_V58 = 32;

/**
 * How a kernel profile probes a function (spec §2.1.1 for v5.8, §10.2 for current): what the
 * context entry holds from the start and which functions get PRI.
 */
export interface ProbePolicy {
  /**
   * PASIDE set in the context entry at probe (current: `context_entry_set_pasid_table` sets
   * it for every PASID-capable function) rather than by the first SVA bind with a
   * context-cache flush (v5.8 `intel_iommu_enable_pasid`).
   */
  readonly pasideAtProbe: boolean;
  /**
   * `pri_supported` also needs ecap.PDS (current, P-PDS "PRS isn't usable if PDS isn't
   * supported", Sept 2025); in v5.8 ATS, ecap.PRS and the PRI capability are enough.
   */
  readonly priNeedsPds: boolean;
  /**
   * Outstanding page requests written to the PRI capability: 32 before v5.15 (v5.8), then
   * `PRQ_DEPTH`, the queue's entries (P-PRQ2), so several functions may together exceed it.
   */
  priAllocation(prqEntries: number): number;
}

/** v5.8: PASIDE at the first bind, PRI without ecap.PDS, 32 outstanding requests. */
export const PROBE_V58: ProbePolicy = Object.freeze({
  pasideAtProbe: false,
  priNeedsPds: false,
  priAllocation: () => PRI_ALLOCATION_V58,
});

/** current: PASIDE at probe, PRI only with ecap.PDS, `PRQ_DEPTH` outstanding requests. */
export const PROBE_CURRENT: ProbePolicy = Object.freeze({
  pasideAtProbe: true,
  priNeedsPds: true,
  priAllocation: (prqEntries: number) => prqEntries,
});

/** Capabilities of a PCIe function as the driver sees them. */
export interface FunctionCaps {
  readonly rid: number;
  /** PASID capability width in bits; 0 = no PASID capability. */
  readonly pasidBits: number;
  readonly ats: boolean;
  readonly pri: boolean;
  /** ATS invalidate queue depth (`pci_ats_queue_depth`); 0 means 32. */
  readonly atsQdep: number;
  /**
   * PRI Status "PRG Response PASID Required" (`pci_prg_resp_pasid_required`): v5.8 enables
   * PRI on a function with PASID enabled only when this is set.
   */
  readonly prgRespPasidRequired: boolean;
}

/**
 * Per-device driver state (`struct device_domain_info`); the device carries it as
 * `device.info` (`dev_iommu_priv_set`).
 */
export class DeviceInfo {
  readonly bus: number;
  readonly devfn: number;
  /** Requester id used as source id in descriptors. */
  readonly sid: number;
  /**
   * Physical-function source id (`info->pfsid`): the function itself (no SR-IOV here) when
   * the unit has ecap.DIT, else 0, the field being reserved (spec §7.4).
   */
  pfsid = 0;
  /** `info->pasid_supported`: the unit has ecap.PASID and the function a PASID capability. */
  readonly pasidSupported: boolean;
  /**
   * `info->pri_supported`: the function has ATS and PRI and the unit ecap.PRS (and, in
   * profile current, ecap.PDS). A function without it is treated as having no PRI: no PRE in
   * its context entry, PRI never enabled, no iopf and no drain.
   */
  readonly priSupported: boolean;
  pasidEnabled = false;
  atsEnabled = false;
  priEnabled = false;
  /** Outstanding page request allocation written to the PRI capability when enabled. */
  priAllocation = 0;
  /** `info->ats_qdep` once ATS is enabled. */
  atsQdep = 0;
  /** PASID directory: first frame, order (2^order frames), PASIDs it covers. */
  readonly pasidDirPfn: number;
  readonly pasidTableOrder: number;
  readonly pasidTableMax: number;
  /** Frames of allocated PASID leaf tables, by directory index. */
  readonly leafTables = new Map<number, number>();
  /** DID of the default (DMA) domain attached at probe. */
  readonly domainDid: number;

  readonly iommu: IntelIommu;
  readonly fn: FunctionCaps;
  /** The public device object this state belongs to. */
  readonly owner: object;

  constructor(iommu: IntelIommu, fn: FunctionCaps, owner: object) {
    this.iommu = iommu;
    this.fn = fn;
    this.owner = owner;
    this.bus = fn.rid >>> 8;
    this.devfn = fn.rid & 0xff;
    this.sid = fn.rid;
    this.pasidSupported = iommu.unit.caps.pasid && fn.pasidBits > 0;
    const caps = iommu.unit.caps;
    this.priSupported =
      fn.ats && fn.pri && caps.prs && (!iommu.probePolicy.priNeedsPds || caps.pds);
    // intel_pasid_alloc_table: size = max_pasid >> (PASID_PDE_SHIFT - 3) bytes of directory.
    const maxPasid = fn.pasidBits > 0 ? 2 ** fn.pasidBits : iommu.maxPasids;
    const bytes = Math.floor(maxPasid / 8);
    let order = 0;
    while (4096 * 2 ** order < bytes) order++;
    this.pasidTableOrder = order;
    this.pasidTableMax = 2 ** (order + 15);
    this.pasidDirPfn = iommu.mem.allocFrames(2 ** order);
    this.domainDid = iommu.allocDomainId();
  }

  /** pci_max_pasids(): 1 << width, or −1 without a PASID capability. */
  get pciMaxPasids(): number {
    return this.fn.pasidBits > 0 ? 2 ** this.fn.pasidBits : -1;
  }
}

/** Driver state of one VT-d unit (`struct intel_iommu`). */
export class IntelIommu {
  /** Root table frame (also written to the unit's RTADDR). */
  readonly rootTablePfn: number;
  /** The invalidation queue (`iommu->qi`). */
  readonly qi: QInval;
  /** Page request queue ring frames. */
  readonly prqBasePfn: number;
  readonly prqFrames: number;
  /** `iommu->prq_complete`: completed by the PRQ thread after each pass. */
  readonly prqComplete = new Completion();
  /** Context tables allocated per bus: [lower, upper] frames (0 = none). */
  private readonly contextTables = new Map<number, [number, number]>();
  /** Next domain id: 0 is reserved and 1 is FLPT_DEFAULT_DID in scalable mode. */
  private nextDid = 2;
  readonly devices: DeviceInfo[] = [];

  readonly unit: VtdUnit;
  readonly mem: PhysicalMemory;
  readonly probePolicy: ProbePolicy;
  /** PRI outstanding-request allocation of functions behind this unit. */
  readonly priAllocation: number;

  constructor(
    unit: VtdUnit,
    mem: PhysicalMemory,
    prqEntries: number,
    probePolicy: ProbePolicy = PROBE_V58,
  ) {
    this.unit = unit;
    this.mem = mem;
    this.probePolicy = probePolicy;
    this.priAllocation = probePolicy.priAllocation(prqEntries);
    this.rootTablePfn = mem.allocFrame();
    unit.setRootTable(this.rootTablePfn);
    this.qi = new QInval(unit.qi, mem);
    // intel_svm_enable_prq: the ring, PQA programmed with its size.
    this.prqFrames = Math.max(1, Math.ceil((prqEntries * PAGE_REQUEST_BYTES) / 4096));
    this.prqBasePfn = mem.allocFrames(this.prqFrames);
    unit.prq.setQueue(this.prqBasePfn, prqEntries);
  }

  /** Maximum PASIDs of the unit (`2 << ecap.PSS`), 0 without PASID support. */
  get maxPasids(): number {
    return this.unit.maxPasids;
  }

  /**
   * `VTD_FLAG_SVM_CAPABLE` as v5.8's `intel_svm_check` sets it (spec §1): `pasid_supported`
   * (scalable mode, always on here, and ecap.PASID), cap.FL1GP when the CPU uses 1 GiB pages
   * (X86_FEATURE_GBPAGES: the CPU page tables a PASID shares may then hold 1 GiB leaves, in the
   * kernel's direct map or a hugetlb mapping), and cap.FL5LP when it runs 5-level paging.
   * ecap.FLTS is not part of it: a unit without it passes, and the bind fails later in
   * `intel_pasid_setup_first_level` with EINVAL, after PASIDE was set and a PASID allocated.
   */
  svmCapable(la57: boolean, gbpages: boolean): boolean {
    const c = this.unit.caps;
    return c.pasid && (!gbpages || c.fl1gp) && (!la57 || c.fl5lp);
  }

  /** Address width value for the PASID entry AW field (agaw: 2 = 48-bit, 3 = 57-bit). */
  get agaw(): number {
    return this.unit.caps.fl5lp ? 3 : 2;
  }

  /** Allocates the next domain id of this unit. */
  allocDomainId(): number {
    if (this.nextDid > 0xffff) throw kernelError(Errno.ENOSPC, 'domain ids of the unit exhausted');
    return this.nextDid++;
  }

  /**
   * Probes a function and attaches it to its DMA domain: PASID table, RID2PASID entry,
   * context entry (present, PASIDE clear), then the function's enables
   * ({@link enableDevIotlb}). Probe runs at boot, before the function is used: the caller
   * applies the enables to the function's capabilities at once (they are configuration
   * writes on the real machine).
   */
  probe(fn: FunctionCaps, owner: object): DeviceInfo {
    const info = new DeviceInfo(this, fn, owner);
    const ctx = this.contextEntryAddress(info.bus, info.devfn, true);
    const dw = ctx / 4;
    const u32 = this.mem.u32;
    setField(u32, dw, CE.pasidDirPtr, info.pasidDirPfn);
    setField(u32, dw, CE.pdts, pdtsForMaxPasid(info.pasidTableMax));
    setField(u32, dw, CE.ridPasid, RID_PASID);
    if (fn.ats) setField(u32, dw, CE.dte, 1);
    if (info.priSupported) setField(u32, dw, CE.pre, 1);
    // current: context_entry_set_pasid_table sets PASIDE with the table (spec §10.2)
    if (this.probePolicy.pasideAtProbe && info.pasidSupported) setField(u32, dw, CE.paside, 1);
    // the RID2PASID entry of the DMA domain (spec §2.1.1), before the context entry goes present
    pasidSetupRidPasid(info, RID_PASID);
    setField(u32, dw, CE.p, 1);
    // v5.8: domain_context_mapping_one → iommu_enable_dev_iotlb (iommu.c:2126); current:
    // intel_iommu_probe_device → pci_enable_pasid, iommu_enable_pci_ats / _pri (P-PRIPROBE)
    enableDevIotlb(info);
    this.devices.push(info);
    return info;
  }

  /** Byte address of the context entry for (bus, devfn), allocating its table if asked. */
  contextEntryAddress(bus: number, devfn: number, allocate: boolean): number {
    let tables = this.contextTables.get(bus);
    const upper = devfn >= 0x80 ? 1 : 0;
    if (!tables) {
      tables = [0, 0];
      this.contextTables.set(bus, tables);
    }
    if (tables[upper] === 0) {
      if (!allocate) return -1;
      const pfn = this.mem.allocFrame();
      tables[upper] = pfn;
      const rootDw = (this.rootTablePfn * 4096 + bus * ROOT_ENTRY_BYTES) / 4;
      setField(this.mem.u32, rootDw, upper ? RE.uctp : RE.lctp, pfn);
      setField(this.mem.u32, rootDw, upper ? RE.up : RE.lp, 1);
    }
    return tables[upper]! * 4096 + (devfn & 0x7f) * CONTEXT_ENTRY_BYTES;
  }

  /**
   * `intel_iommu_enable_pasid` (spec §2.1 step 5, v5.8): set PASIDE in the context entry with
   * a device-selective context-cache invalidation if it was clear. EINVAL when the function
   * has no PASID support. v5.8 also calls `iommu_enable_dev_iotlb` here when PASID is not yet
   * enabled on the function; here it always is, since the attach enabled it (pci_enable_pasid
   * does not fail in the model), so the bind writes no configuration.
   */
  *enablePasid(info: DeviceInfo): KThread<void> {
    if (!info.pasidSupported) {
      throw kernelError(Errno.EINVAL, `device ${ridName(info.sid)} has no PASID capability`);
    }
    const dw = this.contextEntryAddress(info.bus, info.devfn, false) / 4;
    if (!getField(this.mem.u32, dw, CE.paside)) {
      setField(this.mem.u32, dw, CE.paside, 1);
      yield* qiSubmitSync(this, [qiContextDevice(info.domainDid, info.sid)]);
    }
  }
}

/**
 * The function's enables, the same in both profiles but for the PRI allocation and when they
 * happen: v5.8's `iommu_enable_dev_iotlb(info)` when the function is attached to its DMA
 * domain (spec §2.1.1; iommu.c:1403-1446), current's probe (`pci_enable_pasid`,
 * `iommu_enable_pci_ats`, `iommu_enable_pci_pri`, v6.15 P-PRIPROBE, spec §10.2). PFSID from
 * ecap.DIT; then PASID when supported; PRI when `pri_supported` and, with PASID enabled, only
 * if the function sets "PRG Response PASID Required" (allocation: 32 in v5.8, `PRQ_DEPTH` in
 * current); then ATS with its queue depth. Sets the driver's view; the caller applies the
 * enables to the function.
 */
function enableDevIotlb(info: DeviceInfo): void {
  const fn = info.fn;
  info.pfsid = info.iommu.unit.caps.dit ? fn.rid : 0;
  if (info.pasidSupported) info.pasidEnabled = true;
  if (info.priSupported && (info.pasidEnabled ? fn.prgRespPasidRequired : true)) {
    info.priEnabled = true;
    info.priAllocation = info.iommu.priAllocation;
  }
  if (fn.ats) {
    info.atsEnabled = true;
    info.atsQdep = fn.atsQdep;
  }
}

/** Formats a requester id as bus:dev.fn. */
export function ridName(rid: number): string {
  const bus = (rid >>> 8).toString(16).padStart(2, '0');
  const dev = ((rid >>> 3) & 0x1f).toString(16).padStart(2, '0');
  return `${bus}:${dev}.${rid & 7}`;
}
