/**
 * The SVA binding layer, profile v5.8 (spec §2.1, §2.4, §3.3, §4.6, §5; K-5.11 svm.c,
 * T-2020): `intel_svm_bind_mm`, `intel_svm_unbind_mm`, `intel_svm_get_pasid`, the mmu
 * notifier's range invalidation and release, and the PRQ drain on unbind.
 *
 * State mirrors the driver: a global list of `intel_svm` (one per PASID: mm, flags, devices),
 * each with `intel_svm_dev` entries (one per bound device, `users` refcount, DID 1, SID,
 * qdep, dev_iotlb). A repeated bind of the same (device, mm) takes a reference and returns
 * the same handle; every device bound to one mm shares the mm's PASID (unless
 * PRIVATE_PASID); a supervisor bind (mm NULL) binds the kernel's page tables with SRE.
 *
 * The notifier's flushes are v5.8's own, bugs included (spec §5.1, §2.1.1, §9): one P_IOTLB
 * with an unaligned address per device (P-ALIGN fixed it in v5.11), all range flushes and the
 * release on `svm->iommu` (P-UNIT, v5.11), devices newest first. What they leave cached is
 * recorded in a ledger the invariant checker reads (stale-ledger.ts).
 *
 * Every path that sleeps in the kernel is a kernel thread ({@link KThread}) so it runs in
 * modelled time: the invalidation queue's wait descriptors and the drain's wait on
 * `prq_complete` resume it.
 *
 * Bind checks are v5.8's, gaps included (spec §2.1, §2.1.1): only PRIVATE_PASID and
 * SUPERVISOR_MODE are tested, so GUEST_MODE, GUEST_PASID and unknown bits are kept in
 * `svm.flags` with no effect; a NULL mm binds init_mm with SRE even without SUPERVISOR_MODE;
 * a unit that is not SVM-capable gives ENOTSUPP (524).
 *
 * Not modelled: what GUEST_MODE / GUEST_PASID mean (they belong to `intel_svm_bind_gpasid`,
 * nested translation), `svm_dev_ops`, ENQCMD's `mm->pasid` publication (v5.10+), the
 * v5.9–v5.15 IOMMU_DEV_FEAT_SVA enable path.
 */

import { describeValue } from '../../errors.js';
import { getField, PAGE_REQUEST, QI_DEV_EIOTLB_MAX_INVS, QI_DONE } from '../../layout/index.js';
import type { MmuNotifier, Process } from '../../mem/index.js';
import { Completion, type KThread } from '../../sim/kthread.js';
import { Errno, kernelError } from '../errors.js';
import { type DeviceInfo, type IntelIommu, ridName } from '../iommu.js';
import {
  PASID_FLAG_FL5LP,
  PASID_FLAG_SUPERVISOR_MODE,
  pasidEntryPresent,
  pasidGetEntry,
  pasidSetupFirstLevel,
  pasidTearDownEntry,
  SVA_DID,
} from '../pasid.js';
import { QI_OPT_WAIT_DRAIN, qiDevIotlbPasid, qiPiotlb, qiSubmitSync, qiWait } from '../qi.js';
import {
  type KernelRunner,
  type PasidBinding,
  SVM_FLAG_PRIVATE_PASID,
  SVM_FLAG_SUPERVISOR_MODE,
  type SvaEnv,
  type SvaLayer,
} from '../sva.js';
import { IoasidAllocator, PASID_MIN } from './ioasid.js';
import { devTlbWindow, piotlbWindow, rangeDevTlb, rangePages, rangePiotlb } from './range-flush.js';
import { ALL_PAGES_END, StaleLedger, staleReach } from './stale-ledger.js';

/**
 * Runs `body` with `svm.flushesRunning` raised, so checkers know an invalidation is under way
 * and an unbind waits for it; the last one to finish completes `svm.flushesDone`.
 */
function* counted(svm: IntelSvm, body: KThread<void>): KThread<void> {
  svm.flushesRunning++;
  try {
    yield* body;
  } finally {
    svm.flushesRunning--;
    if (svm.flushesRunning === 0) svm.flushesDone?.complete();
  }
}

/** `intel_pasid_max_id` default (`PASID_MAX`). */
export const PASID_MAX = 0x10_0000;

/** One PASID's binding state (`struct intel_svm`). */
export class IntelSvm {
  /**
   * Bound devices, newest first: `list_add_rcu` links a new sdev at the head (svm.c:588), so
   * range flushes and the release go to the last device bound first. Grown by exact-size
   * copies (unshift would reserve spare slots in every svm).
   */
  devs: SvmDev[] = [];
  notifier: MmuNotifier | null = null;
  /** Notifier flushes (range invalidation or release) of this mm still running. */
  flushesRunning = 0;
  /** Completed when the last running notifier flush ends (made when an unbind waits). */
  flushesDone: Completion | null = null;
  readonly pasid: number;
  /** The bound mm, or null for a supervisor bind (the kernel's init_mm). */
  readonly mm: Process | null;
  readonly flags: number;
  /**
   * `svm->iommu`: the unit of the device whose bind created this svm (svm.c:522), never
   * updated, even once that device unbinds. Every range flush and the release of every
   * device of the bond go through it (spec §2.1.1; fixed by P-UNIT, v5.11).
   */
  readonly iommu: IntelIommu;

  constructor(pasid: number, mm: Process | null, flags: number, iommu: IntelIommu) {
    this.pasid = pasid;
    this.mm = mm;
    this.flags = flags;
    this.iommu = iommu;
  }
}

/**
 * The notifier an svm registers on its mm (`intel_mmuops`): one small object per svm, its
 * methods on the prototype.
 */
class SvmNotifier implements MmuNotifier {
  private readonly layer: SvmLayer;
  private readonly svm: IntelSvm;
  private readonly runSync: KernelRunner;

  constructor(layer: SvmLayer, svm: IntelSvm, runSync: KernelRunner) {
    this.layer = layer;
    this.svm = svm;
    this.runSync = runSync;
  }

  /** `intel_invalidate_range`. */
  invalidateRange(start: number, end: number): ReturnType<KernelRunner> {
    const svm = this.svm;
    return this.runSync(
      'mmu notifier invalidate_range',
      counted(svm, this.layer.flushSvmRange(svm, start, end)),
    );
  }

  /** `intel_mm_release`. */
  release(): ReturnType<KernelRunner> {
    const svm = this.svm;
    return this.runSync('mmu notifier release', counted(svm, this.layer.mmRelease(svm)));
  }
}

/** One device's bond to an {@link IntelSvm} (`struct intel_svm_dev`). */
export class SvmDev {
  users = 1;
  readonly did = SVA_DID;
  readonly sid: number;
  /** Invalidate queue depth for descriptors (0 when the function reports ≥ 32). */
  readonly qdep: number;
  readonly devIotlb: boolean;
  readonly svm: IntelSvm;
  readonly info: DeviceInfo;
  /** The public handle returned for this bond. */
  readonly handle: object;

  constructor(svm: IntelSvm, info: DeviceInfo, handle: object) {
    this.svm = svm;
    this.info = info;
    this.handle = handle;
    this.sid = info.sid;
    this.devIotlb = info.atsEnabled;
    const q = info.atsEnabled ? info.atsQdep : 0;
    this.qdep = q >= QI_DEV_EIOTLB_MAX_INVS ? 0 : q;
  }
}

/**
 * True when the unit's page request queue holds a request for `pasid` between head and tail
 * (the drain's scan of the software queue). The queue model counts its requests per PASID,
 * which answers in O(1) what reading every queued descriptor answers (up to 2047 per look,
 * on every unbind); when it cannot tell, the descriptors are read.
 */
function prqHoldsPasid(iommu: IntelIommu, pasid: number): boolean {
  const prq = iommu.unit.prq;
  const n = prq.queuedWithPasid(pasid);
  if (n >= 0) return n > 0;
  const u32 = iommu.mem.u32;
  const PR = PAGE_REQUEST.fields;
  for (let head = prq.head; head !== prq.tail; head = (head + 1) % prq.entries) {
    const dw = prq.slotAddress(head) / 4;
    if (getField(u32, dw, PR.pasidPresent) && getField(u32, dw, PR.pasid) === pasid) return true;
  }
  return false;
}

/** SIDs of the ATS functions among `devs` behind `iommu`, `except` left out. */
function atcsBehind(iommu: IntelIommu, devs: readonly SvmDev[], except: SvmDev | null): number[] {
  const out: number[] = [];
  for (const d of devs) if (d !== except && d.devIotlb && d.info.iommu === iommu) out.push(d.sid);
  return out;
}

/** The SVA layer of the kernel: every unit's driver state plus the global PASID state. */
export class SvmLayer implements SvaLayer {
  /** `global_svm_list`, in bind order. */
  readonly svms = new Set<IntelSvm>();
  /**
   * The shared (not PRIVATE_PASID) svm of each mm — null for the kernel's supervisor bind —
   * which `global_svm_list` is searched for in step 4.
   */
  private readonly sharedByMm = new Map<Process | null, IntelSvm>();
  readonly ioasid = new IoasidAllocator();
  /** Live bonds by handle. */
  private readonly bonds = new Map<object, SvmDev>();
  private readonly byPasid = new Map<number, IntelSvm>();
  /**
   * What this layer's flushes left stale (stale-ledger.ts): not kernel state, a record the
   * invariant checker reads through {@link kernelLeftStale}.
   */
  readonly stale = new StaleLedger();
  /** Reports the duration of each unbind drain (ns); set by the runtime. */
  onDrain: (ns: number) => void = () => {};
  /** Reports each failed bind and its error; set by the runtime. */
  onBindError: (info: DeviceInfo, error: unknown) => void = () => {};
  /** The simulated clock; set by the runtime. */
  now: () => number = () => 0;
  /** Counters. */
  binds = 0;
  unbinds = 0;
  bindErrors = 0;

  readonly iommus: readonly IntelIommu[];
  /** The kernel's own mm (`init_mm`), bound by supervisor binds. */
  readonly initMm: Process;
  /** True when the CPU runs 5-level paging (LA57). */
  readonly la57: boolean;
  /** True when the CPU uses 1 GiB pages (X86_FEATURE_GBPAGES). */
  readonly gbpages: boolean;
  private readonly runSync: KernelRunner;

  constructor(env: SvaEnv) {
    this.iommus = env.iommus;
    this.initMm = env.initMm;
    this.la57 = env.la57;
    this.gbpages = env.gbpages;
    this.runSync = env.runSync;
  }

  /** `intel_pasid_max_id`: min over units of their max PASIDs, capped at 2^20. */
  get pasidMaxId(): number {
    let m = PASID_MAX;
    for (const i of this.iommus) if (i.unit.caps.pasid) m = Math.min(m, i.maxPasids);
    return m;
  }

  /** The svm of a PASID (`ioasid_find`), or undefined. */
  svmByPasid(pasid: number): IntelSvm | undefined {
    return this.byPasid.get(pasid);
  }

  /** What is bound at `pasid` (the svm), or undefined. */
  pasidBinding(pasid: number): PasidBinding | undefined {
    return this.byPasid.get(pasid);
  }

  /** PASIDs allocated. */
  get pasidsInUse(): number {
    return this.ioasid.inUse;
  }

  /** Live bond of a handle, or undefined after its last unbind. */
  bond(handle: object): SvmDev | undefined {
    return this.bonds.get(handle);
  }

  /** Number of live bonds (handles with users > 0). */
  get liveBonds(): number {
    return this.bonds.size;
  }

  /**
   * `intel_svm_bind_mm(dev, flags, ops = NULL, mm, &sdev)` (spec §2.1): returns the bond,
   * new or with one more user. `makeHandle` builds the public handle for a new bond.
   * Caller holds pasid_mutex (kernel threads of this layer never interleave binds).
   */
  *bind(
    info: DeviceInfo,
    mm: Process | null,
    flags: number,
    makeHandle: () => object,
  ): KThread<SvmDev> {
    try {
      const sdev = yield* this.bindMm(info, mm, flags, makeHandle);
      this.binds++;
      return sdev;
    } catch (e) {
      this.bindErrors++;
      this.onBindError(info, e);
      throw e;
    }
  }

  private *bindMm(
    info: DeviceInfo,
    mm: Process | null,
    flags: number,
    makeHandle: () => object,
  ): KThread<SvmDev> {
    const iommu = info.iommu;
    // v5.8 reads the flags as a C int (`flags = *(int *)drvdata`) and tests only PRIVATE_PASID
    // and SUPERVISOR_MODE: GUEST_MODE, GUEST_PASID and unknown bits pass silently and stay in
    // svm->flags (spec §2.1). What is refused here is a value that is no flags word at all.
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xffff_ffff) {
      throw kernelError(
        Errno.EINVAL,
        `bind flags must be a 32-bit flags word (an integer 0..0xffffffff), got ${describeValue(flags)}`,
      );
    }
    // 1. IOMMU not SVM-capable: -ENOTSUPP, the kernel-internal 524 (spec §2.1 step 1).
    if (!iommu.svmCapable(this.la57, this.gbpages)) {
      throw kernelError(
        Errno.ENOTSUPP,
        `IOMMU ${iommu.unit.index} is not SVM-capable (intel_svm_check needs ecap.PASID${this.gbpages ? ', cap.FL1GP as the CPU uses 1 GiB pages' : ''}${this.la57 ? ', cap.FL5LP with 5-level paging' : ''})`,
      );
    }
    // 2. pasid_max from the PCI PASID capability.
    let pasidMax = info.pciMaxPasids;
    if (pasidMax < 0) {
      throw kernelError(
        Errno.EINVAL,
        `device ${ridName(info.sid)} has no PASID capability (pasidBits 0)`,
      );
    }
    // 3. Supervisor mode: SRS required and mm must be NULL (T-2020). A NULL mm without the
    // flag is not refused (spec §2.1.1): setup below binds init_mm with SRE all the same.
    const supervisor = (flags & SVM_FLAG_SUPERVISOR_MODE) !== 0;
    if (supervisor) {
      if (!iommu.unit.caps.srs) {
        throw kernelError(
          Errno.EINVAL,
          `IOMMU ${iommu.unit.index} lacks ecap.SRS: supervisor binds are not possible`,
        );
      }
      if (mm !== null) {
        throw kernelError(
          Errno.EINVAL,
          'supervisor PASID with user provided mm: pass null as the process for SVM_FLAG_SUPERVISOR_MODE',
        );
      }
    } else if (mm !== null && !mm.alive) {
      throw kernelError(Errno.EINVAL, `process ${mm.id} has exited; it cannot be bound`);
    }
    // 4. Look for an existing, non-private svm of this mm.
    let svm: IntelSvm | undefined;
    if (!(flags & SVM_FLAG_PRIVATE_PASID)) {
      svm = this.sharedByMm.get(mm);
      if (svm) {
        if (svm.pasid >= pasidMax) {
          throw kernelError(
            Errno.ENOSPC,
            `limited PASID width: device ${ridName(info.sid)} supports PASIDs below ${pasidMax}, cannot use existing PASID ${svm.pasid}`,
          );
        }
        const existing = svm.devs.find((d) => d.info === info);
        if (existing) {
          existing.users++;
          return existing;
        }
      }
    }
    // 5. Enable PASID in the context entry and on the function.
    yield* iommu.enablePasid(info);
    // `mm ? 0 : PASID_FLAG_SUPERVISOR_MODE`: SRE follows the mm, not the bind flag (svm.c:553-558)
    const pasidFlags =
      (mm === null ? PASID_FLAG_SUPERVISOR_MODE : 0) | (this.la57 ? PASID_FLAG_FL5LP : 0);
    const pgdPfn = (mm ?? this.initMm).pgdPfn;
    if (!svm) {
      // 7. New PASID, notifier, PASID entry, global list.
      pasidMax = Math.min(pasidMax, this.pasidMaxId);
      const pasid = this.ioasid.alloc(PASID_MIN, pasidMax - 1);
      const fresh = new IntelSvm(pasid, mm, flags, iommu);
      if (mm) {
        fresh.notifier = this.makeNotifier(fresh);
        mm.registerNotifier(fresh.notifier);
        mm.mmgrab();
      }
      try {
        yield* this.setupFirstLevel(info, pgdPfn, fresh, pasidFlags);
      } catch (e) {
        if (mm && fresh.notifier) {
          mm.unregisterNotifier(fresh.notifier);
          mm.mmdrop();
        }
        this.ioasid.free(pasid);
        throw e;
      }
      this.svms.add(fresh);
      if (!(flags & SVM_FLAG_PRIVATE_PASID) && !this.sharedByMm.has(mm)) {
        this.sharedByMm.set(mm, fresh);
      }
      this.byPasid.set(pasid, fresh);
      svm = fresh;
    } else {
      // 8. Shared PASID, new device: program this device's entry.
      yield* this.setupFirstLevel(info, pgdPfn, svm, pasidFlags);
    }
    // 6 + 9. The sdev, linked into the svm at the head of its list (list_add_rcu).
    const sdev = new SvmDev(svm, info, makeHandle());
    svm.devs = [sdev].concat(svm.devs);
    this.bonds.set(sdev.handle, sdev);
    return sdev;
  }

  /**
   * `intel_pasid_setup_first_level` for `svm` on the device's own unit; in caching mode its
   * PASID-cache and P_IOTLB flushes (SVA_DID) clean that unit's caches of the PASID, which the
   * ledger records.
   */
  private *setupFirstLevel(
    info: DeviceInfo,
    pgdPfn: number,
    svm: IntelSvm,
    pasidFlags: number,
  ): KThread<void> {
    yield* pasidSetupFirstLevel(info, pgdPfn, svm.pasid, SVA_DID, pasidFlags);
    if (info.iommu.unit.caps.cm) {
      this.stale.unitFlushedPasid(
        info.iommu.unit.index,
        svm.pasid,
        atcsBehind(info.iommu, svm.devs, null),
      );
    }
  }

  /**
   * `intel_svm_unbind_mm` (spec §2.1): drop one user; at zero tear down the PASID entry,
   * drain the PRQ for the PASID, and when no device is left free the PASID, unregister the
   * notifier and remove the svm. Precondition, as in the kernel: the device stopped issuing
   * DMA and page requests for this PASID.
   */
  *unbind(handle: object): KThread<void> {
    const sdev = this.dropUser(handle);
    if (sdev === null) return;
    // The mm's notifier calls return only once their flushes are done (exit_mmap runs the
    // release, munmap the range invalidation, before going on). Here a call made inside the
    // simulation is a kernel thread of its own: wait for this svm's, so the teardown, the
    // drain and the PASID's release come after them as they would in the kernel.
    const svm = sdev.svm;
    while (svm.flushesRunning > 0) {
      svm.flushesDone ??= new Completion();
      svm.flushesDone.reinit();
      yield svm.flushesDone;
    }
    this.noteTearDown(svm, sdev, sdev.info.iommu, svm.devs);
    yield* pasidTearDownEntry(sdev.info, sdev.svm.pasid, false);
    const t0 = this.now();
    yield* this.drainPrq(sdev.info, sdev.svm.pasid);
    if (sdev.info.priEnabled) this.onDrain(this.now() - t0);
    if (sdev.svm.devs.length === 0) this.freeSvm(sdev.svm);
  }

  /**
   * Drops one user of the handle's bond; at zero unlinks the bond and returns it (its entry
   * is then torn down), else null. EINVAL for a handle that is not bound.
   */
  private dropUser(handle: object): SvmDev | null {
    const sdev = this.bonds.get(handle);
    if (!sdev)
      throw kernelError(
        Errno.EINVAL,
        'handle is not bound (already unbound as many times as bound)',
      );
    this.unbinds++;
    sdev.users--;
    if (sdev.users > 0) return null;
    const svm = sdev.svm;
    svm.devs.splice(svm.devs.indexOf(sdev), 1);
    this.bonds.delete(handle);
    return sdev;
  }

  /** The last device left the svm: free the PASID, unregister the notifier, drop the svm. */
  private freeSvm(svm: IntelSvm): void {
    this.ioasid.free(svm.pasid);
    if (svm.mm && svm.notifier) {
      svm.mm.unregisterNotifier(svm.notifier);
      svm.mm.mmdrop();
    }
    this.svms.delete(svm);
    if (this.sharedByMm.get(svm.mm) === svm) this.sharedByMm.delete(svm.mm);
    this.byPasid.delete(svm.pasid);
  }

  /**
   * `intel_svm_drain_prq(dev, pasid)` (spec §4.6, v5.8): wait until no request for the PASID
   * is left in the software queue, then submit fence-wait + P_IOTLB + P_DEVTLB with a
   * draining wait, repeated while PRO is set.
   */
  *drainPrq(info: DeviceInfo, pasid: number): KThread<void> {
    if (!info.priEnabled) return;
    const iommu = info.iommu;
    const prq = iommu.unit.prq;
    // Software queue: rescan from the current head after every PRQ-thread pass.
    for (;;) {
      iommu.prqComplete.reinit();
      if (!prqHoldsPasid(iommu, pasid)) break;
      yield iommu.prqComplete;
    }
    // Hardware drain (VTD 7.10): v5.8 uses the default domain's DID and qw1 = 0 for the
    // P_DEVTLB (one page at address 0), as the driver's memset descriptors do.
    const did = info.domainDid;
    const descs = [
      qiWait(QI_DONE, true),
      qiPiotlb(did, pasid, 0, -1),
      qiDevIotlbPasid(info.sid, info.pfsid, pasid, info.atsQdep, 0, 0),
    ];
    for (;;) {
      iommu.prqComplete.reinit();
      yield* qiSubmitSync(iommu, descs, QI_OPT_WAIT_DRAIN);
      if (!prq.pro) break;
      yield iommu.prqComplete;
    }
  }

  /** `intel_svm_get_pasid(handle)`. */
  getPasid(handle: object): number {
    const sdev = this.bonds.get(handle);
    if (!sdev) throw kernelError(Errno.EINVAL, 'handle is not bound');
    return sdev.svm.pasid;
  }

  /**
   * The mm's notifier: range invalidation (spec §5.1, v5.8–v6.5 form) and release on exit
   * (spec §5.2). Both run synchronously from the mm operation that fired them.
   */
  private makeNotifier(svm: IntelSvm): MmuNotifier {
    return new SvmNotifier(this, svm, this.runSync);
  }

  /**
   * `intel_invalidate_range` → `intel_flush_svm_range(svm, start, pages, ih = 0)` →
   * `intel_flush_svm_range_dev` for every bound device, newest first (spec §5.1, v5.8 form;
   * range-flush.ts): one page-selective-within-PASID P_IOTLB with the unaligned start and
   * AM = ilog2(roundup_pow_of_two(pages)), then, with ATS, one PASID-based device-TLB
   * invalidation without PFSID; each its own `qi_submit_sync`, all on `svm->iommu`
   * (spec §2.1.1). What that leaves cached goes to the ledger ({@link noteRangeFlush}).
   */
  *flushSvmRange(svm: IntelSvm, start: number, end: number): KThread<void> {
    const pages = rangePages(start, end);
    // the mm never notifies an empty range (v5.8 would compute AM from roundup_pow_of_two(0))
    if (pages <= 0) return;
    const devs = [...svm.devs];
    this.noteRangeFlush(svm, devs, start, end, pages);
    const iommu = svm.iommu;
    for (const sdev of devs) {
      yield* qiSubmitSync(iommu, [rangePiotlb(sdev.did, svm.pasid, start, pages)]);
      if (sdev.devIotlb) {
        yield* qiSubmitSync(iommu, [rangeDevTlb(sdev.sid, svm.pasid, sdev.qdep, start, pages)]);
      }
    }
  }

  /**
   * Records in the ledger what a range flush of [start, end) (`pages` pages) to `devs` leaves
   * stale, when it is issued: on `svm->iommu`, the pages and paging-structure regions past the
   * P_IOTLB's aligned block (P-ALIGN); on every other unit with a device of the bond, and in
   * those devices' ATCs, the whole range (P-UNIT). What the flush does cover leaves the ledger.
   */
  private noteRangeFlush(
    svm: IntelSvm,
    devs: readonly SvmDev[],
    start: number,
    end: number,
    pages: number,
  ): void {
    if (devs.length === 0) return;
    const ledger = this.stale;
    const pasid = svm.pasid;
    const home = svm.iommu.unit.index;
    const levels = this.la57 ? 5 : 4;
    const first = Math.floor(start / 4096);
    const last = Math.ceil(end / 4096);
    const [wFirst, wEnd] = piotlbWindow(start, pages);
    ledger.unitFlushed(home, pasid, wFirst, wEnd);
    const missed = staleReach(first, last, wFirst, wEnd, levels);
    if (missed !== null) ledger.unitMissed(home, pasid, missed[0], missed[1]);
    const [dFirst, dEnd] = devTlbWindow(start, pages);
    for (const sdev of devs) {
      if (sdev.info.iommu === svm.iommu) {
        if (sdev.devIotlb) ledger.functionFlushed(sdev.sid, pasid, dFirst, dEnd);
        continue;
      }
      const reach = staleReach(first, last, 0, 0, levels)!;
      ledger.unitMissed(sdev.info.iommu.unit.index, pasid, reach[0], reach[1]);
      if (sdev.devIotlb) ledger.functionMissed(sdev.sid, pasid, first, last);
    }
  }

  /**
   * Records in the ledger what `intel_pasid_tear_down_entry(iommu, sdev->dev, pasid)` is about
   * to flush (call it before, while the entry still says whether it is present): a present
   * entry's flushes carry its DID, so `iommu`'s caches of the PASID come clean (their stale
   * pages may live on in the ATCs of `others` behind it), and so does the device's ATC when
   * the full device-TLB flush reaches it. A device behind another unit than `iommu` (the
   * release through `svm->iommu`, P-UNIT) keeps everything: its unit's PASID cache still
   * holds the old entry. So does the ATC of a device whose unit is in caching mode (no
   * device-TLB flush then).
   */
  private noteTearDown(
    svm: IntelSvm,
    sdev: SvmDev,
    iommu: IntelIommu,
    others: readonly SvmDev[],
  ): void {
    const ledger = this.stale;
    const pasid = svm.pasid;
    const info = sdev.info;
    const addr = pasidGetEntry(info, pasid);
    const reachesDevice = info.iommu === iommu && !iommu.unit.caps.cm;
    if (addr >= 0 && pasidEntryPresent(info, addr)) {
      ledger.unitFlushedPasid(iommu.unit.index, pasid, atcsBehind(iommu, others, sdev));
      if (reachesDevice && sdev.devIotlb) ledger.functionFlushedAll(sdev.sid, pasid);
    }
    if (info.iommu !== iommu) ledger.unitMissed(info.iommu.unit.index, pasid, 0, ALL_PAGES_END);
    if (!reachesDevice && sdev.devIotlb) ledger.functionMissed(sdev.sid, pasid, 0, ALL_PAGES_END);
  }

  /**
   * True when a DMA of function `sid` behind unit `unit` at page `vpn` of `pasid` may go
   * through a translation v5.8's own flushes left stale (stale-ledger.ts).
   */
  kernelLeftStale(unit: number, sid: number, pasid: number, vpn: number): boolean {
    return this.stale.explains(unit, sid, pasid, vpn);
  }

  /**
   * `intel_mm_release` (spec §5.2): tear down every device's entry, newest first, with
   * fault_ignore (FPD-only entry, flushes, no drain), the flushes on `svm->iommu` for every
   * device (svm.c:211-215; P-UNIT, v5.11, moved them to each device's unit); bonds, handles
   * and the PASID stay until the driver unbinds.
   */
  *mmRelease(svm: IntelSvm): KThread<void> {
    const devs = [...svm.devs];
    for (const sdev of devs) {
      this.noteTearDown(svm, sdev, svm.iommu, devs);
      yield* pasidTearDownEntry(sdev.info, svm.pasid, true, svm.iommu);
    }
  }
}
