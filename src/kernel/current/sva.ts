/**
 * The SVA binding layer, profile `current` (spec §10.1, §10.4; details §2.3, §3.3, §4.6, §5):
 * `iommu_sva_bind_device(dev, mm)` without flags, the PASID owned by the mm, refcounted
 * (device, mm) handles, one SVA domain per mm with its mmu notifier
 * (`intel_arch_invalidate_secondary_tlbs`, `intel_mm_release`), the attach
 * (`intel_svm_set_dev_pasid`) and the teardown with its drain (`intel_pasid_tear_down_entry`,
 * `intel_iommu_drain_pasid_prq`).
 *
 * State mirrors the kernel: `iommu_mm_data` per mm (its PASID and handles), a domain per mm
 * (the devices attached at its PASID, newest first as `dev_pasids` is), `iopf_refcount` per
 * function. Every path that sleeps is a kernel thread ({@link KThread}).
 *
 * Its flushes leave nothing stale: every unit holding a device of the domain gets its own
 * P_IOTLB over an aligned block covering the range, and every ATS function its own type 8h
 * invalidation, so the layer has no `kernelLeftStale`.
 *
 * iopf follows the attach (v6.16, P-IOPFATTACH, spec §10.2): the first SVA attach of a PRI
 * function enables it, the last detach — after the teardown and its drain — disables it
 * (`iopf_queue_remove_device`: partial requests freed, pending groups answered Invalid
 * Request). A function without PRI (no PRI capability, or behind a unit without ecap.PRS or
 * ecap.PDS) binds without iopf and without drains (P-SVANOPRI), unless the
 * `iopfAttachRegression` quirk reproduces v6.16 before its 2026 fix (ENODEV).
 *
 * Not modelled: LAM (-EBUSY), several SVA domains per mm (an attach that fails for the mm's
 * domain fails for a new one too in this model), iommufd / non-SVA domains at a PASID.
 */

import { describeValue } from '../../errors.js';
import {
  getField,
  PAGE_REQUEST,
  PASID_ENTRY,
  PASID_ENTRY_BYTES,
  QI_DONE,
  setField,
} from '../../layout/index.js';
import type { MmuNotifier, Process } from '../../mem/index.js';
import { Completion, type KThread } from '../../sim/kthread.js';
import { Errno, kernelError } from '../errors.js';
import { type DeviceInfo, type IntelIommu, ridName } from '../iommu.js';
import {
  PASID_FLAG_FL5LP,
  pasidEntryPresent,
  pasidGetEntry,
  pasidSetupFirstLevel,
  SVA_DID,
} from '../pasid.js';
import { QI_OPT_WAIT_DRAIN, qiPasidCache, qiPiotlb, qiSubmitSync, qiWait } from '../qi.js';
import type { KernelQuirks, KernelRunner, PasidBinding, SvaEnv, SvaLayer } from '../sva.js';
import { ALL_END, fullDevTlb, rangeDevTlb, rangePiotlb } from './flush.js';
import type { CurrentPrqThread } from './prq.js';

const PR = PAGE_REQUEST.fields;
const PE = PASID_ENTRY.fields;

/** `IOMMU_FIRST_GLOBAL_PASID`: PASID 0 is the RID's (IOMMU_NO_PASID). */
export const FIRST_GLOBAL_PASID = 1;

/**
 * `dev->iommu->max_pasids`: min(the function's PASID capability, the unit's `2 << ecap.PSS`);
 * 0 without PASID support on either side.
 */
export function devMaxPasids(info: DeviceInfo): number {
  if (!info.pasidSupported || info.pciMaxPasids <= 0) return 0;
  return Math.min(info.pciMaxPasids, info.iommu.maxPasids);
}

/** `iommu_global_pasid_ida`: the lowest free PASID in a range. */
export class GlobalPasids {
  private readonly used = new Set<number>();

  /** PASIDs allocated. */
  get inUse(): number {
    return this.used.size;
  }

  /** `ida_alloc_range(min, max)`: the lowest free value, or −1 when the range is full. */
  alloc(min: number, max: number): number {
    for (let p = min; p <= max; p++) {
      if (!this.used.has(p)) {
        this.used.add(p);
        return p;
      }
    }
    return -1;
  }

  has(pasid: number): boolean {
    return this.used.has(pasid);
  }

  free(pasid: number): void {
    this.used.delete(pasid);
  }
}

/** One device's handle on an mm (`struct iommu_sva`). */
export class SvaHandle {
  users = 1;
  readonly info: DeviceInfo;
  readonly mmData: MmData;
  /** The public handle returned for this bond. */
  readonly handle: object;

  constructor(info: DeviceInfo, mmData: MmData, handle: object) {
    this.info = info;
    this.mmData = mmData;
    this.handle = handle;
  }

  /** The PASID the device uses (the mm's). */
  get svm(): { readonly pasid: number } {
    return this.mmData;
  }
}

/**
 * `struct iommu_mm_data` with the mm's SVA domain: the PASID (owned by the mm until
 * `__mmdrop`), the handles, and the domain's attached devices and notifier.
 */
export class MmData implements PasidBinding {
  readonly pasid: number;
  readonly mm: Process;
  /** Handles with users, in bind order. */
  readonly handles: SvaHandle[] = [];
  /** The domain's `dev_pasids`, newest first (`list_add`). */
  devs: SvaHandle[] = [];
  /** The domain's notifier while it has users, else null (no domain). */
  notifier: MmuNotifier | null = null;
  /** Notifier flushes of this mm still running. */
  flushesRunning = 0;
  /** Completed when the last running notifier flush ends (made when an unbind waits). */
  flushesDone: Completion | null = null;

  constructor(pasid: number, mm: Process) {
    this.pasid = pasid;
    this.mm = mm;
  }
}

/** Runs `body` with `md.flushesRunning` raised; the last to finish completes `flushesDone`. */
function* counted(md: MmData, body: KThread<void>): KThread<void> {
  md.flushesRunning++;
  try {
    yield* body;
  } finally {
    md.flushesRunning--;
    if (md.flushesRunning === 0) md.flushesDone?.complete();
  }
}

/** The notifier of an SVA domain (`intel_mmuops`). */
class DomainNotifier implements MmuNotifier {
  private readonly layer: CurrentSvaLayer;
  private readonly md: MmData;
  private readonly runSync: KernelRunner;

  constructor(layer: CurrentSvaLayer, md: MmData, runSync: KernelRunner) {
    this.layer = layer;
    this.md = md;
    this.runSync = runSync;
  }

  /** `intel_arch_invalidate_secondary_tlbs`. */
  invalidateRange(start: number, end: number): ReturnType<KernelRunner> {
    return this.runSync(
      'mmu notifier arch_invalidate_secondary_tlbs',
      counted(this.md, this.layer.flushRange(this.md, start, end)),
    );
  }

  /** `intel_mm_release`. */
  release(): ReturnType<KernelRunner> {
    return this.runSync('mmu notifier release', counted(this.md, this.layer.mmRelease(this.md)));
  }
}

/**
 * True when the unit's page request queue holds a request of `rid` for `pasid` between head
 * and tail (v6.13's scan compares RID and PASID). The queue's per-PASID count answers "none"
 * at once; otherwise the descriptors are read.
 */
function prqHolds(iommu: IntelIommu, rid: number, pasid: number): boolean {
  const prq = iommu.unit.prq;
  if (prq.queuedWithPasid(pasid) === 0) return false;
  const u32 = iommu.mem.u32;
  for (let head = prq.head; head !== prq.tail; head = (head + 1) % prq.entries) {
    const dw = prq.slotAddress(head) / 4;
    if (
      getField(u32, dw, PR.pasidPresent) &&
      getField(u32, dw, PR.pasid) === pasid &&
      getField(u32, dw, PR.rid) === rid
    ) {
      return true;
    }
  }
  return false;
}

/** The SVA layer of profile `current`. */
export class CurrentSvaLayer implements SvaLayer {
  readonly pasids = new GlobalPasids();
  /** `mm->iommu_mm`, for mms holding a PASID. */
  private readonly byMm = new Map<Process, MmData>();
  private readonly byPasid = new Map<number, MmData>();
  /** Live handles. */
  private readonly bonds = new Map<object, SvaHandle>();
  /** `info->iopf_refcount`: SVA attachments of each PRI function. */
  private readonly iopfRefcount = new Map<DeviceInfo, number>();
  /** Each unit's page request thread (its iopf queue), registered when it is created. */
  readonly prqThreads = new Map<IntelIommu, CurrentPrqThread>();
  readonly quirks: KernelQuirks;
  onDrain: (ns: number) => void = () => {};
  onBindError: (info: DeviceInfo, error: unknown) => void = () => {};
  now: () => number = () => 0;
  binds = 0;
  unbinds = 0;
  bindErrors = 0;

  readonly iommus: readonly IntelIommu[];
  readonly la57: boolean;
  readonly gbpages: boolean;
  private readonly runSync: KernelRunner;

  constructor(env: SvaEnv) {
    this.iommus = env.iommus;
    this.la57 = env.la57;
    this.gbpages = env.gbpages;
    this.runSync = env.runSync;
    this.quirks = env.quirks ?? {};
  }

  get liveBonds(): number {
    return this.bonds.size;
  }

  get pasidsInUse(): number {
    return this.pasids.inUse;
  }

  pasidBinding(pasid: number): PasidBinding | undefined {
    return this.byPasid.get(pasid);
  }

  /** The mm data of the mm holding `pasid`, or undefined. */
  mmDataByPasid(pasid: number): MmData | undefined {
    return this.byPasid.get(pasid);
  }

  /** The mm attached at `pasid` of function `info` (its iopf handler's mm), or undefined. */
  attachedMm(info: DeviceInfo, pasid: number): Process | undefined {
    const md = this.byPasid.get(pasid);
    return md?.devs.some((h) => h.info === info) ? md.mm : undefined;
  }

  /** `info->iopf_refcount`. */
  iopfUsers(info: DeviceInfo): number {
    return this.iopfRefcount.get(info) ?? 0;
  }

  *bind(
    info: DeviceInfo,
    mm: Process | null,
    flags: number,
    makeHandle: () => object,
  ): KThread<SvaHandle> {
    try {
      const h = yield* this.bindDevice(info, mm, flags, makeHandle);
      this.binds++;
      return h;
    } catch (e) {
      this.bindErrors++;
      this.onBindError(info, e);
      throw e;
    }
  }

  /** `iommu_sva_bind_device(dev, mm)` (spec §10.1, §2.3). */
  private *bindDevice(
    info: DeviceInfo,
    mm: Process | null,
    flags: number,
    makeHandle: () => object,
  ): KThread<SvaHandle> {
    // The API takes no flags; a flags word is the v5.8 API's (spec §10.1).
    if (flags !== 0) {
      throw kernelError(
        Errno.EINVAL,
        `profile current binds take no flags (iommu_sva_bind_device(dev, mm)), got ${describeValue(flags)}`,
      );
    }
    // No supervisor SVA: there is no mm to bind but a process's.
    if (mm === null) {
      throw kernelError(Errno.EINVAL, 'profile current has no supervisor SVA: bind a process');
    }
    if (!mm.alive) {
      throw kernelError(Errno.EINVAL, `process ${mm.id} has exited; it cannot be bound`);
    }
    const md = this.allocMmData(info, mm);
    // Same (device, mm): one more user of the same handle.
    const existing = md.handles.find((h) => h.info === info);
    if (existing) {
      existing.users++;
      return existing;
    }
    yield* this.setDevPasid(info, md);
    const h = new SvaHandle(info, md, makeHandle());
    md.handles.push(h);
    if (md.notifier === null) {
      // a new SVA domain: its notifier (mmu_notifier_register grabs the mm)
      md.notifier = new DomainNotifier(this, md, this.runSync);
      mm.registerNotifier(md.notifier);
      mm.mmgrab();
    }
    md.devs = [h].concat(md.devs);
    this.bonds.set(h.handle, h);
    return h;
  }

  /**
   * `iommu_alloc_mm_data` (spec §10.1): the mm's PASID, allocated on its first bind from
   * [1, max_pasids − 1] of the binding device (ENOSPC when none is free, or the device has
   * no PASIDs); an mm that holds one is refused by a device whose PASIDs stop below it
   * (EOVERFLOW), its existing bonds untouched.
   */
  private allocMmData(info: DeviceInfo, mm: Process): MmData {
    const max = devMaxPasids(info);
    const md = this.byMm.get(mm);
    if (md) {
      if (md.pasid >= max) {
        throw kernelError(
          Errno.EOVERFLOW,
          `process ${mm.id} holds PASID ${md.pasid}, beyond device ${ridName(info.sid)} (max_pasids ${max})`,
        );
      }
      return md;
    }
    const pasid = max > 0 ? this.pasids.alloc(FIRST_GLOBAL_PASID, max - 1) : -1;
    if (pasid < 0) {
      throw kernelError(
        Errno.ENOSPC,
        max > 0
          ? `no free PASID in [1, ${max - 1}] for device ${ridName(info.sid)}`
          : `device ${ridName(info.sid)} has no PASIDs (max_pasids 0)`,
      );
    }
    const fresh = new MmData(pasid, mm);
    this.byMm.set(mm, fresh);
    this.byPasid.set(pasid, fresh);
    // mm_pasid_drop → iommu_free_global_pasid, from __mmdrop
    mm.onMmFree(() => {
      this.pasids.free(pasid);
      this.byMm.delete(mm);
      this.byPasid.delete(pasid);
    });
    return fresh;
  }

  /**
   * `intel_svm_set_dev_pasid` (spec §2.3 step 5, §10.1): `intel_iommu_sva_supported`, then the
   * first-level entry (present → EBUSY): P, PGTT first-stage, DID 1, FSPTPTR = pgd, FSPM by LA57.
   */
  private *setDevPasid(info: DeviceInfo, md: MmData): KThread<void> {
    const iommu = info.iommu;
    if (!iommu.svmCapable(this.la57, this.gbpages)) {
      throw kernelError(Errno.ENODEV, `IOMMU ${iommu.unit.index} is not SVM-capable`);
    }
    if (!info.pasidEnabled || !info.atsEnabled) {
      throw kernelError(
        Errno.EINVAL,
        `device ${ridName(info.sid)} needs PASID and ATS enabled for SVA (intel_iommu_sva_supported)`,
      );
    }
    // a function without PRI handles its own faults (P-SVANOPRI); one with PRI must have it on
    if (info.priSupported && !info.priEnabled) {
      throw kernelError(
        Errno.EINVAL,
        `device ${ridName(info.sid)} supports PRI but PRI is not enabled`,
      );
    }
    // PASIDE was set at probe (context_entry_set_pasid_table): no context-cache flush here.
    // iopf_for_domain_replace: the SVA domain has an iopf handler.
    this.enableIopf(info);
    const addr = pasidGetEntry(info, md.pasid);
    if (addr >= 0 && pasidEntryPresent(info, addr)) {
      yield* this.disableIopf(info); // out_unwind_iopf
      throw kernelError(
        Errno.EBUSY,
        `PASID ${md.pasid} of device ${ridName(info.sid)} already has a present entry`,
      );
    }
    yield* pasidSetupFirstLevel(
      info,
      md.mm.pgdPfn,
      md.pasid,
      SVA_DID,
      this.la57 ? PASID_FLAG_FL5LP : 0,
    );
  }

  /**
   * `iopf_for_domain_set` → `intel_iommu_enable_iopf` (v6.16, spec §10.2): one more iopf user
   * of a function with PRI enabled. A function without PRI gets no iopf (the 2026 fix), or,
   * with the `iopfAttachRegression` quirk, ENODEV as v6.16 gives.
   */
  private enableIopf(info: DeviceInfo): void {
    if (info.priEnabled) {
      this.iopfRefcount.set(info, this.iopfUsers(info) + 1);
      return;
    }
    if (this.quirks.iopfAttachRegression) {
      throw kernelError(
        Errno.ENODEV,
        `device ${ridName(info.sid)} has no PRI: v6.16's SVA attach enables iopf, which needs it (intel_iommu_enable_iopf)`,
      );
    }
  }

  /**
   * `iopf_for_domain_remove` → `intel_iommu_disable_iopf`: one iopf user less; the last one
   * removes the function from its unit's iopf queue (`iopf_queue_remove_device`).
   */
  private *disableIopf(info: DeviceInfo): KThread<void> {
    const refs = this.iopfUsers(info);
    if (refs === 0) return;
    if (refs > 1) {
      this.iopfRefcount.set(info, refs - 1);
      return;
    }
    this.iopfRefcount.delete(info);
    const thread = this.prqThreads.get(info.iommu);
    if (thread) yield* thread.removeDevice(info);
  }

  /**
   * `iommu_sva_unbind_device`: drop one user; at zero detach the device (teardown and drain,
   * spec §10.1, §10.4), and free the domain with its last device (the notifier goes, the mm
   * reference with it). The PASID stays with the mm. Precondition: the device stopped DMA and
   * page requests for this PASID.
   */
  *unbind(handle: object): KThread<void> {
    const h = this.bonds.get(handle);
    if (!h) {
      throw kernelError(
        Errno.EINVAL,
        'handle is not bound (already unbound as many times as bound)',
      );
    }
    this.unbinds++;
    h.users--;
    if (h.users > 0) return;
    const md = h.mmData;
    this.bonds.delete(handle);
    md.handles.splice(md.handles.indexOf(h), 1);
    // notifier calls return once their flushes are done: the teardown comes after them
    while (md.flushesRunning > 0) {
      md.flushesDone ??= new Completion();
      md.flushesDone.reinit();
      yield md.flushesDone;
    }
    const t0 = this.now();
    const drained = yield* this.tearDownEntry(h.info, md.pasid, false);
    if (drained) this.onDrain(this.now() - t0);
    md.devs = md.devs.filter((d) => d !== h);
    // after the teardown and its drain (the 6.16 fix "Fix UAF on sva unbind with pending IOPFs")
    yield* this.disableIopf(h.info);
    if (md.devs.length === 0 && md.notifier) {
      const n = md.notifier;
      md.notifier = null;
      md.mm.unregisterNotifier(n);
      md.mm.mmdrop();
    }
  }

  /**
   * `intel_pasid_tear_down_entry(iommu, dev, pasid, fault_ignore)` (spec §3.3, §10.4, v6.14+):
   * a present entry is cleared (FPD-only when `faultIgnore`), then PASID-cache (its DID),
   * PASID-selective P_IOTLB, and with ATS the full-range type 8h invalidation, each its own
   * submission; a not-present entry with FPD is zeroed without flushes; then, unless
   * `faultIgnore`, the drain. True when the drain ran.
   */
  *tearDownEntry(info: DeviceInfo, pasid: number, faultIgnore: boolean): KThread<boolean> {
    const iommu = info.iommu;
    const addr = pasidGetEntry(info, pasid);
    if (addr < 0) return false;
    const u32 = iommu.mem.u32;
    const dw = addr / 4;
    const dwEnd = (addr + PASID_ENTRY_BYTES) / 4;
    if (!pasidEntryPresent(info, addr)) {
      // nothing there: no flush, no drain; an FPD-only entry (mm exit) is zeroed and drained
      if (!getField(u32, dw, PE.fpd)) return false;
      u32.fill(0, dw, dwEnd);
      return faultIgnore ? false : yield* this.drainPrq(info, pasid);
    }
    const did = getField(u32, dw, PE.did);
    u32.fill(0, dw, dwEnd);
    if (faultIgnore) setField(u32, dw, PE.fpd, 1); // val[0] = 0x2
    yield* qiSubmitSync(iommu, [qiPasidCache(did, pasid)]);
    yield* qiSubmitSync(iommu, [qiPiotlb(did, pasid, 0, -1)]);
    if (info.atsEnabled) yield* qiSubmitSync(iommu, [fullDevTlb(info, pasid)]);
    return faultIgnore ? false : yield* this.drainPrq(info, pasid);
  }

  /**
   * `intel_iommu_drain_pasid_prq(dev, pasid)` (spec §4.6, v6.13+): nothing while
   * `iopf_refcount` is 0; else wait until no request of the function for the PASID is left in
   * the software queue, then fence wait + PASID-selective P_IOTLB (the RID domain's DID) +
   * full-range type 8h with a draining wait, repeated while PRO is set. True when it ran.
   */
  *drainPrq(info: DeviceInfo, pasid: number): KThread<boolean> {
    if (this.iopfUsers(info) === 0) return false;
    const iommu = info.iommu;
    for (;;) {
      iommu.prqComplete.reinit();
      if (!prqHolds(iommu, info.sid, pasid)) break;
      yield iommu.prqComplete;
    }
    const descs = [
      qiWait(QI_DONE, true),
      qiPiotlb(info.domainDid, pasid, 0, -1),
      fullDevTlb(info, pasid),
    ];
    for (;;) {
      iommu.prqComplete.reinit();
      yield* qiSubmitSync(iommu, descs, QI_OPT_WAIT_DRAIN);
      if (!iommu.unit.prq.pro) break;
      yield iommu.prqComplete;
    }
    return true;
  }

  getPasid(handle: object): number {
    const h = this.bonds.get(handle);
    if (!h) throw kernelError(Errno.EINVAL, 'handle is not bound');
    return h.mmData.pasid;
  }

  /**
   * `intel_arch_invalidate_secondary_tlbs` (spec §10.4): (0, ~0) → per unit a PASID-selective
   * P_IOTLB and per ATS function a full-range type 8h; any other range → per unit one P_IOTLB
   * over the aligned block covering it and per ATS function one type 8h over the same block.
   * One batch per unit, units in the order their first device attached, each device through
   * its own unit.
   */
  *flushRange(md: MmData, start: number, end: number): KThread<void> {
    if (end <= start) return;
    const all = start === 0 && end >= ALL_END;
    const attachOrder = [...md.devs].reverse();
    const units: IntelIommu[] = [];
    for (const h of attachOrder) if (!units.includes(h.info.iommu)) units.push(h.info.iommu);
    for (const iommu of units) {
      const batch = [
        all ? qiPiotlb(SVA_DID, md.pasid, 0, -1) : rangePiotlb(SVA_DID, md.pasid, start, end),
      ];
      for (const h of attachOrder) {
        if (h.info.iommu !== iommu || !h.info.atsEnabled) continue;
        batch.push(all ? fullDevTlb(h.info, md.pasid) : rangeDevTlb(h.info, md.pasid, start, end));
      }
      yield* qiSubmitSync(iommu, batch);
    }
  }

  /**
   * `intel_mm_release` (spec §5.2, §10.4): every attached device's entry, newest first, torn
   * down with fault_ignore (FPD-only entry, the same flushes, no drain). Handles and the PASID
   * stay until the driver unbinds.
   */
  *mmRelease(md: MmData): KThread<void> {
    for (const h of [...md.devs]) yield* this.tearDownEntry(h.info, md.pasid, true);
  }
}
