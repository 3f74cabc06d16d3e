/**
 * The page request thread and iopf groups of profile `current` (spec §10.3, §4.3, §4.4, §4.5;
 * K-6.13 `prq_event_thread`, K-F io-pgfault).
 *
 * Each pass: clear PPR, snapshot head and tail, and for every descriptor in order: a
 * non-canonical address, a privileged-mode request asking R or W, or an execute request
 * asking R is bad; a Stop Marker (LPIG=1, R=W=0) is dropped with no response; a RID that is
 * no probed function is bad; a bad request is answered Invalid Request only when LPIG=1.
 * Everything else is reported (`iommu_report_device_fault`): an LPIG=0 request waits on its
 * function's partial list; an LPIG=1 request gathers the partial requests with the same PRG
 * index (PASID not compared) into one group, handled by the handler of the domain attached at
 * its PASID (`iommu_sva_iopf_handler`), or answered Invalid Request when there is none (PP=0
 * included: the RID's DMA domain has no handler). Errors are sticky: the first non-success
 * ends the group and becomes its code. One response per group, none for LPIG=0 requests, none
 * for a group no longer pending. Then PQH = tail once; PRO is cleared only when the queue is
 * empty, after the partial lists are discarded; `prq_complete` wakes drainers.
 *
 * Response words (`intel_iommu_page_response`): qw0 = 9h | PP<<4 | RC<<12 | RID<<16 |
 * PASID<<32, bit 5 never set; qw1 = PRGI<<3 | LPIG<<2; qw2 = qw3 = 0.
 *
 * The group is handled in the thread rather than on the unit's workqueue: the modelled time is
 * the same, and the drain's `iopf_queue_flush_dev` has nothing left to wait for.
 *
 * `iopf_queue_remove_device` ({@link CurrentPrqThread.removeDevice}), when a function's last
 * iopf user detaches or the function is removed (remove.ts): its partial requests are freed
 * and every pending group of it is answered Invalid Request; the handler's own answer then
 * finds no pending group and sends nothing.
 *
 * Not modelled: private data.
 */

import {
  getField,
  PAGE_REQUEST,
  QI_RESP_INVALID,
  QI_RESP_SUCCESS,
  writePageGroupResponse,
} from '../../layout/index.js';
import { Completion, type KThread } from '../../sim/kthread.js';
import type { Simulator } from '../../sim/simulator.js';
import type { DeviceInfo, IntelIommu } from '../iommu.js';
import { qiSubmitSync } from '../qi.js';
import type { PrqHooks, PrqService } from '../sva.js';
import { KernelTimer } from '../timer.js';
import type { CurrentSvaLayer } from './sva.js';

const PR = PAGE_REQUEST.fields;

/** PRQ_ORDER 4 (v5.19+): 64 KiB, 2048 descriptors. */
export const PRQ_ENTRIES = 2048;

/** One reported page request (`struct iopf_fault`). */
export interface Iopf {
  readonly rid: number;
  readonly pp: boolean;
  readonly pasid: number;
  readonly prgi: number;
  readonly addr: number;
  readonly rd: boolean;
  readonly wr: boolean;
  readonly ex: boolean;
  /** When the thread took it (ns). */
  readonly pickedNs: number;
}

/** A group handed to a handler and not answered yet. */
export interface IopfGroup {
  readonly info: DeviceInfo;
  /** Partial requests (newest first, as `list_move` leaves them), then the last one. */
  readonly faults: readonly Iopf[];
  readonly last: Iopf;
}

/** True when byte `addr` is canonical for 48- (or 57-) bit virtual addresses. */
function canonical(addr: number, la57: boolean): boolean {
  const half = 2 ** (la57 ? 56 : 47);
  return addr < half || addr >= 2 ** 64 - half;
}

/** A unit's page request thread, profile `current`. */
export class CurrentPrqThread implements PrqService {
  private irqPending = false;
  private readonly irq = new Completion();
  private readonly timer: KernelTimer;
  passes = 0;
  handled = 0;
  /** `iopf_fault_param.partial` of each function behind the unit. */
  private readonly partial = new Map<DeviceInfo, Iopf[]>();
  /** Groups reported and not answered (`iopf_fault_param.faults`). */
  readonly pending = new Set<IopfGroup>();
  /** Responses submitted, by code (for tests and reports). */
  readonly responses: number[] = [];

  private readonly iommu: IntelIommu;
  private readonly sva: CurrentSvaLayer;
  private readonly sim: Simulator;
  private readonly hooks: PrqHooks;
  private readonly resp = new Uint32Array(8);

  constructor(iommu: IntelIommu, sva: CurrentSvaLayer, sim: Simulator, hooks: PrqHooks) {
    this.iommu = iommu;
    this.sva = sva;
    this.sim = sim;
    this.hooks = hooks;
    this.timer = new KernelTimer(sim);
  }

  interrupt(): void {
    this.irqPending = true;
    this.irq.complete();
  }

  /**
   * `iopf_queue_remove_device(queue, dev)` (spec §4.4, §10.3), for a function being removed:
   * frees its partial requests and answers every group of it still pending Invalid Request
   * (RC=1), in the order they were reported; a handler that finishes later finds its group
   * answered and sends nothing.
   */
  *removeDevice(info: DeviceInfo): KThread<void> {
    this.partial.delete(info);
    const groups = [...this.pending].filter((g) => g.info === info);
    for (const g of groups) {
      this.pending.delete(g);
      yield* this.respond(g.last, QI_RESP_INVALID);
    }
  }

  /** Requests waiting on the partial list of `info`. */
  partialCount(info: DeviceInfo): number {
    return this.partial.get(info)?.length ?? 0;
  }

  *run(): KThread<void> {
    const unit = this.iommu.unit;
    const prq = unit.prq;
    const u32 = this.iommu.mem.u32;
    const source = unit.id;
    for (;;) {
      while (!this.irqPending) {
        this.irq.reinit();
        yield this.irq;
      }
      this.irqPending = false;
      this.passes++;
      prq.clearPpr();
      const tail = prq.tail;
      let head = prq.head;
      while (head !== tail) {
        const dw = prq.slotAddress(head) / 4;
        yield* this.one(u32, dw, source);
        this.handled++;
        head = (head + 1) % prq.entries;
      }
      prq.writeHead(tail);
      if (prq.pro && prq.head === prq.tail) {
        this.partial.clear(); // iopf_queue_discard_partial
        prq.clearPro();
      }
      this.iommu.prqComplete.complete();
    }
  }

  /** One descriptor: the bad-request checks in order, then the report. */
  private *one(u32: Uint32Array, dw: number, source: number): KThread<void> {
    const f: Iopf = {
      rid: getField(u32, dw, PR.rid),
      pp: getField(u32, dw, PR.pasidPresent) === 1,
      pasid: getField(u32, dw, PR.pasid),
      prgi: getField(u32, dw, PR.prgIndex),
      addr: getField(u32, dw, PR.addr) * 4096,
      rd: getField(u32, dw, PR.rdReq) === 1,
      wr: getField(u32, dw, PR.wrReq) === 1,
      ex: getField(u32, dw, PR.exeReq) === 1,
      pickedNs: this.sim.nowNs,
    };
    const lpig = getField(u32, dw, PR.lpig) === 1;
    const pm = getField(u32, dw, PR.pmReq) === 1;
    let bad = !canonical(f.addr, this.sva.la57) || (pm && (f.rd || f.wr)) || (f.ex && f.rd);
    if (!bad && lpig && !f.rd && !f.wr) {
      // Stop Marker: dropped, no response
      yield this.timer.sleep(this.hooks.prqInvalidNs, source);
      return;
    }
    const info = bad ? undefined : this.iommu.devices.find((d) => d.sid === f.rid);
    if (!info) bad = true;
    if (bad || !info) {
      yield this.timer.sleep(this.hooks.prqInvalidNs, source);
      if (lpig) yield* this.respond(f, QI_RESP_INVALID);
      return;
    }
    if (!lpig) {
      const list = this.partial.get(info);
      if (list) list.push(f);
      else this.partial.set(info, [f]);
      yield this.timer.sleep(this.hooks.prqInvalidNs, source);
      return;
    }
    // iopf_group_alloc: the last request, then each partial of the same PRG index moved to
    // the head of the group's list
    const faults: Iopf[] = [f];
    const list = this.partial.get(info);
    if (list) {
      const keep: Iopf[] = [];
      for (const p of list) {
        if (p.prgi === f.prgi) faults.unshift(p);
        else keep.push(p);
      }
      if (keep.length > 0) this.partial.set(info, keep);
      else this.partial.delete(info);
    }
    const group: IopfGroup = { info, faults, last: f };
    this.pending.add(group);
    yield* this.handleGroup(group, source);
  }

  /** `iommu_sva_iopf_handler` (or no handler): sticky errors, one response. */
  private *handleGroup(group: IopfGroup, source: number): KThread<void> {
    const mm = group.last.pp ? this.sva.attachedMm(group.info, group.last.pasid) : undefined;
    let status = QI_RESP_INVALID;
    let cost = this.hooks.prqInvalidNs;
    if (mm) {
      status = QI_RESP_SUCCESS;
      cost = 0;
      for (const f of group.faults) {
        if (status !== QI_RESP_SUCCESS) break;
        const r = this.handleMm(mm, f);
        status = r.code;
        cost += r.costNs;
      }
    }
    yield this.timer.sleep(cost, source);
    // iopf_group_response: only a group still pending is answered
    if (!this.pending.delete(group)) return;
    yield* this.respond(group.last, status);
  }

  /** `iommu_sva_handle_mm`: mmget, VMA and access check, handle_mm_fault. */
  private handleMm(
    mm: NonNullable<ReturnType<CurrentSvaLayer['attachedMm']>>,
    f: Iopf,
  ): { code: number; costNs: number } {
    const bad = { code: QI_RESP_INVALID, costNs: this.hooks.prqInvalidNs };
    if (f.addr >= mm.taskSize || !mm.mmgetNotZero()) return bad;
    const vma = mm.vmaAt(f.addr);
    if (!vma || (f.rd && !vma.read) || (f.wr && !vma.write) || (f.ex && !vma.exec)) return bad;
    const costNs = this.hooks.faultServiceNs();
    try {
      const ok = mm.serviceFault(f.addr, { write: f.wr, exec: f.ex }) === 'ok';
      return { code: ok ? QI_RESP_SUCCESS : QI_RESP_INVALID, costNs };
    } catch (e) {
      // VM_FAULT_OOM is a VM_FAULT_ERROR → INVALID; anything else is a bug
      if ((e as { code?: string }).code !== 'ENOMEM') throw e;
      this.hooks.faultFailed(f.rid, f.pasid, mm.id, f.addr, e as Error);
      return { code: QI_RESP_INVALID, costNs };
    }
  }

  /** `intel_iommu_page_response` for the group whose last request is `f`. */
  private *respond(f: Iopf, code: number): KThread<void> {
    yield this.timer.sleep(this.hooks.pageResponseNs, this.iommu.unit.id);
    const r = this.resp;
    writePageGroupResponse(r, 0, f.rid, f.pp, f.pasid, f.prgi, code, true);
    this.responses.push(code);
    this.hooks.responded(f.rid, code, this.sim.nowNs - f.pickedNs);
    yield* qiSubmitSync(this.iommu, r);
  }
}
