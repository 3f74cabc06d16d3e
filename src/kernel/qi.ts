/**
 * Queued invalidation, software side (spec §7; K-D `qi_submit_sync`, `qi_flush_*`).
 *
 * `qiSubmitSync` copies n descriptors plus one Invalidation Wait (status write of QI_DONE,
 * plus PD with `QI_OPT_WAIT_DRAIN`) into the queue memory, moves IQT once, then waits until
 * the status word in memory reads QI_DONE. An invalidation queue error (IQE) on one of its
 * descriptors is handled as `qi_check_fault` does: the bad slot is overwritten with a copy
 * of the wait descriptor, IQE is cleared, and the call fails with EINVAL.
 *
 * The `qi*` builders return the fields of one descriptor with the kernel's choices
 * (`qi_flush_piotlb`, `qi_flush_dev_iotlb`, `qi_flush_dev_iotlb_pasid`, …); `qiSubmitSync`
 * encodes them into the ring slots (no bigint, and nothing encoded is held while a
 * submitter waits for room: the kernel builds several per unbind).
 */

import type { InvalidationQueue } from '../engine/invalidation-queue.js';
import {
  encodeDevTlbRange,
  encodeInvDescU32,
  INV_DESC_BYTES,
  type InvDescInput,
  QI_CC_GRAN_DEVICE,
  QI_DEV_IOTLB_MAX_INVS,
  QI_DONE,
  QI_FREE,
  QI_GRAN_NONG_PASID,
  QI_GRAN_PSI_PASID,
  QI_IN_USE,
  QI_IOTLB_GRAN_DSI,
  QI_IWD_TYPE,
  QI_LENGTH,
  QI_PC_PASID_SEL,
  setField,
  WAIT_DESC,
  writeQwords,
} from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';
import { Fifo } from '../sim/fifo.js';
import { Completion, type KThread } from '../sim/kthread.js';
import { Errno, kernelError } from './errors.js';
import type { IntelIommu } from './iommu.js';

const W = WAIT_DESC.fields;

/** `QI_OPT_WAIT_DRAIN`: set PD in the appended wait descriptor. */
export const QI_OPT_WAIT_DRAIN = 1;

/** Encoded descriptor as four qwords (the codec edge: tests, hand-built descriptors). */
export type Qwords = readonly bigint[];

/**
 * One descriptor for {@link qiSubmitSync}: its fields, as the `qi*` builders return them
 * (encoded into the ring when submitted), its 8 dwords, or its 4 qwords.
 */
export type QiDesc = InvDescInput | Uint32Array | Qwords;

/** Descriptors for {@link qiSubmitSync}: a list, or one `Uint32Array` of 8 × n dwords. */
export type QiDescs = readonly QiDesc[] | Uint32Array;

/**
 * One `qi_submit_sync` call: waiting for room in the ring, then for its wait descriptor's
 * status write. One object and one completion per call, whatever it waits for.
 */
class Submission {
  /** Descriptors before the wait descriptor. */
  readonly n: number;
  /** Slot of the batch's first descriptor (set when it is written). */
  index = 0;
  /** Slot of the wait descriptor whose status word the submitter spins on. */
  waitIndex = 0;
  /** Resumes the submitter: room in the ring, or a status write / IQE to look at. */
  readonly wake = new Completion();
  /** Why hardware rejected a descriptor of the batch (IQE), or null. */
  failed: string | null = null;

  constructor(n: number) {
    this.n = n;
  }
}

/**
 * The kernel's invalidation queue of one unit (`struct q_inval`, `dmar_enable_qi`): 256
 * descriptors of 32 bytes (DW=1) in ring frames, the software tail (`free_head`), the
 * `desc_status` words in a frame of their own, and the submitters spinning on them.
 *
 * A submitter in `qi_submit_sync` spins on its own status word; here it sleeps until the
 * unit writes a status (or raises IQE) and only the submitters that write concerns wake —
 * those whose wait descriptor has completed, in ring order, and on IQE the oldest one (its
 * batch holds the head) — so a thousand concurrent unbinds cost one wake-up each, not one
 * per status write. Submitters that find the ring full queue in arrival order; the oldest
 * is woken when its batch fits, and wakes the next once it has submitted.
 */
export class QInval {
  /** Ring frames (IQA) and slots. */
  readonly basePfn: number;
  readonly entries = QI_LENGTH;
  /** `free_head`: the next slot software fills. */
  freeHead = 0;
  /** Frame of the `desc_status` words, one per slot. */
  readonly statusPfn: number;
  private readonly hw: InvalidationQueue;
  private readonly mem: PhysicalMemory;
  /** Submissions waiting for their status, in ring order. */
  private readonly pending: Submission[] = [];
  /**
   * Submitters waiting for room in the ring, in arrival order (a FIFO: thousands wait at
   * once when thousands of clients unbind together).
   */
  private readonly roomWaiters = new Fifo<Submission>();
  private listening = false;

  constructor(hw: InvalidationQueue, mem: PhysicalMemory) {
    this.hw = hw;
    this.mem = mem;
    this.basePfn = mem.allocFrames(Math.ceil((QI_LENGTH * INV_DESC_BYTES) / 4096));
    this.statusPfn = mem.allocFrame();
    hw.setQueue(this.basePfn, QI_LENGTH);
  }

  /**
   * Submits `descs` and waits for their completion (`qi_submit_sync(iommu, desc, count,
   * options)`); throws EINVAL when hardware rejected one of them.
   *
   * The thread body only waits; the work is in plain methods, so a sleeping submitter (tens
   * of thousands sleep at once when every client unbinds) holds a small generator frame.
   */
  *submitSync(descs: QiDescs, options = 0): KThread<void> {
    const me = new Submission(descs instanceof Uint32Array ? descs.length / 8 : descs.length);
    if (this.roomWaiters.length > 0 || !this.hasRoom(me.n)) {
      // Queue behind earlier waiters: they are woken in order, each when its batch fits.
      this.roomWaiters.push(me);
      do {
        me.wake.reinit();
        this.listen();
        yield me.wake;
      } while (!this.hasRoom(me.n));
      this.roomWaiters.shift();
    }
    this.write(me, descs, options);
    while (!this.completed(me)) {
      me.wake.reinit();
      this.listen();
      yield me.wake;
    }
    this.finish(me);
  }

  /** Copies the batch and its wait descriptor into the ring at `free_head` and moves IQT. */
  private write(me: Submission, descs: QiDescs, options: number): void {
    const qi = this.hw;
    const n = me.n;
    const len = this.entries;
    const u32 = this.mem.u32;
    const status = this.statusPfn * 1024; // dword index of desc_status[0]
    const index = this.freeHead;
    const waitIndex = (index + n) % len;
    try {
      // slots past IQT: hardware reads none of them until the tail moves
      for (let i = 0; i < n; i++) {
        const dw = qi.slotAddress((index + i) % len) / 4;
        if (descs instanceof Uint32Array) {
          for (let k = 0; k < 8; k++) u32[dw + k] = descs[i * 8 + k]!;
        } else {
          const d = descs[i]!;
          if (d instanceof Uint32Array) for (let k = 0; k < 8; k++) u32[dw + k] = d[k]!;
          else if (Array.isArray(d)) writeQwords(u32, dw, d as Qwords);
          else encodeInvDescU32(d as InvDescInput, u32, dw);
        }
      }
    } catch (e) {
      // a descriptor that cannot be encoded: nothing was submitted, the next waiter goes on
      this.wakeRoomWaiter();
      throw e;
    }
    for (let i = 0; i < n; i++) u32[status + ((index + i) % len)] = QI_IN_USE;
    // The wait descriptor: status write of QI_DONE to desc_status[waitIndex] (+PD on request).
    const waitDw = qi.slotAddress(waitIndex) / 4;
    u32.fill(0, waitDw, waitDw + 8);
    setField(u32, waitDw, W.type, QI_IWD_TYPE);
    setField(u32, waitDw, W.sw, 1);
    if (options & QI_OPT_WAIT_DRAIN) setField(u32, waitDw, W.pd, 1);
    setField(u32, waitDw, W.statusData, QI_DONE);
    setField(u32, waitDw, W.statusAddr, status + waitIndex);
    u32[status + waitIndex] = QI_IN_USE;
    this.freeHead = (waitIndex + 1) % len;
    me.index = index;
    me.waitIndex = waitIndex;
    this.pending.push(me);
    qi.writeTail(this.freeHead);
    this.wakeRoomWaiter();
  }

  /**
   * What the spinning submitter checks each time it looks: IQE on a descriptor of its batch
   * (`qi_check_fault`: the bad slot is overwritten with the wait descriptor, IQE cleared, the
   * call will fail), then its status word. True once the status reads QI_DONE.
   */
  private completed(me: Submission): boolean {
    const qi = this.hw;
    const u32 = this.mem.u32;
    if (qi.iqe) {
      const len = this.entries;
      const head = qi.head;
      const inBatch = (head - me.index + len) % len <= me.n;
      if (inBatch) {
        me.failed = qi.iqeReason;
        const waitDw = qi.slotAddress(me.waitIndex) / 4;
        u32.copyWithin(qi.slotAddress(head) / 4, waitDw, waitDw + 8);
        qi.clearIqe();
      }
    }
    return u32[this.statusPfn * 1024 + me.waitIndex] === QI_DONE;
  }

  /** The batch completed: frees its status words; throws EINVAL if hardware rejected it. */
  private finish(me: Submission): void {
    const u32 = this.mem.u32;
    const status = this.statusPfn * 1024;
    const len = this.entries;
    this.pending.splice(this.pending.indexOf(me), 1);
    for (let i = 0; i <= me.n; i++) u32[status + ((me.index + i) % len)] = QI_FREE;
    if (me.failed !== null) {
      throw kernelError(Errno.EINVAL, `invalidation queue error (IQE): ${me.failed}`);
    }
  }

  /** Sleeps on the unit's next status write or IQE, once for every waiter. */
  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    const written = this.hw.statusWritten;
    written.reinit();
    written.onDone(this.onStatus);
  }

  /** The unit wrote a status word or raised IQE: wake whom it concerns. */
  private readonly onStatus = (): void => {
    this.listening = false;
    const u32 = this.mem.u32;
    const status = this.statusPfn * 1024;
    const pending = this.pending;
    // those whose status is written, in ring order, and on IQE the oldest other one
    let k = 0;
    while (k < pending.length && u32[status + pending[k]!.waitIndex] === QI_DONE) k++;
    if (this.hw.iqe && pending.length > k) k++;
    // waking one resumes it at once and it leaves `pending`: wake from a copy when several
    if (k === 1) pending[0]!.wake.complete();
    else if (k > 1) for (const s of pending.slice(0, k)) s.wake.complete();
    // The oldest submitter waiting for room goes on when its batch fits; it wakes the next.
    this.wakeRoomWaiter();
    if (this.pending.length > 0 || this.roomWaiters.length > 0) this.listen();
  };

  /** Wakes the oldest submitter waiting for room when its batch fits now. */
  private wakeRoomWaiter(): void {
    const first = this.roomWaiters.peek();
    if (first && this.hasRoom(first.n)) first.wake.complete();
  }

  /**
   * True when the ring has n + 2 free slots: the batch, its wait descriptor, and the one
   * slot that keeps a full ring distinguishable from an empty one.
   */
  private hasRoom(n: number): boolean {
    const len = this.entries;
    return (this.hw.head - this.freeHead - 1 + len) % len >= n + 1;
  }
}

/**
 * Submits `descs` on `iommu`'s invalidation queue and waits for their completion
 * (`qi_submit_sync`); see {@link QInval.submitSync}.
 */
export function qiSubmitSync(iommu: IntelIommu, descs: QiDescs, options = 0): KThread<void> {
  return iommu.qi.submitSync(descs, options);
}

/**
 * An Invalidation Wait without a status write (SW = 0), a fence when `fn`: what the drain
 * puts ahead of its flushes.
 */
export function qiWait(statusData: number, fn: boolean): InvDescInput {
  return { type: 'wait', fn, statusData };
}

/** `qi_flush_context` with device-selective granularity (DMA_CCMD_DEVICE_INVL). */
export function qiContextDevice(did: number, sid: number): InvDescInput {
  return { type: 'context-cache', g: QI_CC_GRAN_DEVICE, did, sid, fm: 0 };
}

/** Domain-selective IOTLB invalidation (`DMA_TLB_DSI_FLUSH`). */
export function qiIotlbDomain(did: number): InvDescInput {
  return { type: 'iotlb', g: QI_IOTLB_GRAN_DSI, did, dr: true, dw: true };
}

/** `pasid_cache_invalidation_with_pasid`: PASID-selective-within-domain (spec §7.2). */
export function qiPasidCache(did: number, pasid: number): InvDescInput {
  return { type: 'pasid-cache', g: QI_PC_PASID_SEL, did, pasid };
}

/**
 * `qi_flush_piotlb(did, pasid, addr, npages, ih)` (spec §7.3): npages −1 → PASID-selective;
 * otherwise page-selective-within-PASID with AM = log2(roundup_pow_of_two(npages)) and the
 * address aligned down to that size.
 */
export function qiPiotlb(
  did: number,
  pasid: number,
  addr: number,
  npages: number,
  ih = false,
): InvDescInput {
  if (npages === -1) return { type: 'piotlb', g: QI_GRAN_NONG_PASID, did, pasid };
  if (!(npages > 0)) throw new Error(`qi_flush_piotlb with npages ${npages}`);
  const am = Math.ceil(Math.log2(npages));
  const size = 4096 * 2 ** am;
  const base = addr - (addr % size);
  return { type: 'piotlb', g: QI_GRAN_PSI_PASID, did, pasid, am, ih, addr: base };
}

/**
 * `qi_flush_dev_iotlb(sid, pfsid, qdep, addr, mask)`: non-PASID device-TLB invalidation
 * (type 3h, spec §7.0); mask > 0 encodes 2^mask pages with S at qw1 bit 0.
 */
export function qiDevIotlb(
  sid: number,
  pfsid: number,
  qdep: number,
  addr: number,
  mask: number,
): InvDescInput {
  const range = encodeDevTlbRange(addr, mask);
  return {
    type: 'devtlb',
    sid,
    pfsid,
    qdep: qdep >= QI_DEV_IOTLB_MAX_INVS ? 0 : qdep,
    s: range.s,
    addr: range.addr,
  };
}

/**
 * `qi_flush_dev_iotlb_pasid(sid, pfsid, pasid, qdep, addr, size_order)`: PASID-based
 * device-TLB invalidation (type 8h, spec §7.4) with the "lowest zero bit" size encoding.
 */
export function qiDevIotlbPasid(
  sid: number,
  pfsid: number,
  pasid: number,
  qdep: number,
  addr: number,
  sizeOrder: number,
): InvDescInput {
  const range = encodeDevTlbRange(addr, sizeOrder);
  return {
    type: 'pdevtlb',
    sid,
    pfsid,
    pasid,
    qdep: qdep & 0x1f,
    s: range.s,
    addr: range.addr,
  };
}
