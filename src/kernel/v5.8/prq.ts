/**
 * The kernel's page request thread, profile v5.8 (spec §4.3; K-5.11 `prq_event_thread`):
 * a threaded IRQ per unit that consumes the page request queue in batches.
 *
 * Each pass: clear PPR first (so a new request re-raises the interrupt), snapshot head and
 * tail, service every descriptor in [head, tail) — PASID present and known (else Response
 * Failure), not a supervisor svm, canonical address, `mmget_not_zero`, VMA lookup, access check,
 * `handle_mm_fault` — and answer LPIG=1 requests with a page group response built from *this*
 * descriptor and *its* result (v5.8 handles each request of a group individually), with bit 5
 * (PDP) copied from the request's PP (spec §4.5), then write PQH = tail once. If PRO is set,
 * clear it, whatever is left in the queue (spec §4.3). Finally complete `prq_complete` for the
 * drain loop.
 *
 * The queue is 4 KiB ({@link PRQ_ORDER} 0): 128 descriptors (spec §4.1).
 *
 * `prq.service` is measured as the kernel's `svm_prq` (DMAR_LATENCY_PRQ) measures it: from
 * the moment the thread takes the request (`intel_svm_prq_report` stamps it) to the page
 * response, so it excludes the interrupt and queueing in the PRQ; `pri.roundtrip` at the
 * device covers the whole path.
 *
 * Service time comes from the cost model: `faultServiceNs` for requests that reach
 * `handle_mm_fault`, `prqInvalidNs` for the ones refused before it, plus the queued-
 * invalidation round trip of each response.
 *
 * Not modelled: GUEST_MODE forwarding to a fault consumer, private data (VT-d rev 3.x).
 */

import {
  getField,
  PAGE_GROUP_RESPONSE,
  PAGE_REQUEST,
  prqEntriesForPqs,
  QI_RESP_FAILURE,
  QI_RESP_INVALID,
  QI_RESP_SUCCESS,
  setField,
  writePageGroupResponse,
} from '../../layout/index.js';
import { Completion, type KThread } from '../../sim/kthread.js';
import type { Simulator } from '../../sim/simulator.js';
import type { IntelIommu } from '../iommu.js';
import { qiSubmitSync } from '../qi.js';
import type { PrqHooks, PrqService } from '../sva.js';
import { KernelTimer } from '../timer.js';
import type { SvmLayer } from './svm.js';

const PR = PAGE_REQUEST.fields;
const RESP = PAGE_GROUP_RESPONSE.fields;

/** v5.8's `PRQ_ORDER` (svm.c:28), written to PQS: one 4 KiB page. Raised in v5.15 and v5.19. */
export const PRQ_ORDER = 0;
/** Descriptors in v5.8's page request queue: 4 KiB / 32 B = 128 (spec §4.1). */
export const PRQ_ENTRIES = prqEntriesForPqs(PRQ_ORDER);

/** State of one unit's PRQ thread. */
export class PrqThread implements PrqService {
  /** Interrupts raised and not yet handled. */
  private irqPending = false;
  private readonly irq = new Completion();
  private readonly timer: KernelTimer;
  /** Passes run; requests handled. */
  passes = 0;
  handled = 0;

  private readonly iommu: IntelIommu;
  private readonly svm: SvmLayer;
  private readonly sim: Simulator;
  private readonly hooks: PrqHooks;
  /** Scratch words of the response descriptor. */
  private readonly resp = new Uint32Array(8);

  constructor(iommu: IntelIommu, svm: SvmLayer, sim: Simulator, hooks: PrqHooks) {
    this.iommu = iommu;
    this.svm = svm;
    this.sim = sim;
    this.hooks = hooks;
    this.timer = new KernelTimer(sim);
  }

  /** The page request interrupt (hardware raised an event). */
  interrupt(): void {
    this.irqPending = true;
    this.irq.complete();
  }

  /** The thread body: runs forever, one pass per interrupt. */
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
      // 1. Clear PPR before reading head and tail.
      prq.clearPpr();
      const tail = prq.tail;
      let head = prq.head;
      while (head !== tail) {
        const dw = prq.slotAddress(head) / 4;
        // svm_prq starts when the thread reports the request (intel_svm_prq_report).
        const pickedNs = this.sim.nowNs;
        const result = this.service(u32, dw);
        yield this.timer.sleep(result.costNs, source);
        if (getField(u32, dw, PR.lpig)) {
          yield this.timer.sleep(this.hooks.pageResponseNs, source);
          const rid = getField(u32, dw, PR.rid);
          const pp = getField(u32, dw, PR.pasidPresent);
          const r = this.resp;
          writePageGroupResponse(
            r,
            0,
            rid,
            pp === 1,
            getField(u32, dw, PR.pasid),
            getField(u32, dw, PR.prgIndex),
            result.code,
            true,
          );
          // QI_PGRP_PDP(req->pasid_present) (svm.c:916): bit 5 from PP, not from the request's
          // PDP; a v5.8 bug fixed in v5.10 (P-PDP, spec §4.5). qw2 = qw3 = 0 as written.
          setField(r, 0, RESP.privDataPresent, pp);
          this.hooks.responded(rid, result.code, this.sim.nowNs - pickedNs);
          yield* qiSubmitSync(this.iommu, r);
        }
        this.handled++;
        head = (head + 1) % prq.entries;
      }
      // 2. PQH = tail, once for the whole batch.
      prq.writeHead(tail);
      // 3. Clear PRO on every pass, without looking at head and tail again (svm.c:932-939):
      // requests that arrived during the pass may still be queued. v5.14 clears it only once
      // the queue is empty (spec §4.3).
      if (prq.pro) prq.clearPro();
      // 4. Wake drainers.
      this.iommu.prqComplete.complete();
    }
  }

  private readonly out = { code: 0, costNs: 0 };

  /**
   * The per-descriptor checks of v5.8 and handle_mm_fault; returns the response code and CPU
   * cost. Spec §4.3: PP=0 ("Page request without PASID") and a PASID `ioasid_find` does not
   * know are answered Response Failure (0xF), which stops PRI at the function (spec §4.7);
   * every later refusal is Invalid Request.
   */
  private service(u32: Uint32Array, dw: number): { code: number; costNs: number } {
    const out = this.out;
    out.code = QI_RESP_FAILURE;
    out.costNs = this.hooks.prqInvalidNs;
    if (!getField(u32, dw, PR.pasidPresent)) return out;
    const pasid = getField(u32, dw, PR.pasid);
    const svm = this.svm.svmByPasid(pasid);
    if (!svm) return out;
    out.code = QI_RESP_INVALID;
    const mm = svm.mm;
    if (!mm) return out; // a supervisor svm
    const addr = getField(u32, dw, PR.addr) * 4096;
    if (addr >= mm.taskSize) return out; // not canonical for the user half
    if (!mm.mmgetNotZero()) return out;
    const vma = mm.vmaAt(addr);
    const rd = getField(u32, dw, PR.rdReq) === 1;
    const wr = getField(u32, dw, PR.wrReq) === 1;
    const ex = getField(u32, dw, PR.exeReq) === 1;
    if (!vma || (rd && !vma.read) || (wr && !vma.write) || (ex && !vma.exec)) return out;
    out.costNs = this.hooks.faultServiceNs();
    let ok = false;
    try {
      ok = mm.serviceFault(addr, { write: wr, exec: ex }) === 'ok';
    } catch (e) {
      // VM_FAULT_OOM is a VM_FAULT_ERROR → INVALID (spec §4.3); anything else is a bug
      if ((e as { code?: string }).code !== 'ENOMEM') throw e;
      this.hooks.faultFailed(getField(u32, dw, PR.rid), pasid, mm.id, addr, e as Error);
    }
    if (ok) out.code = QI_RESP_SUCCESS;
    return out;
  }
}
