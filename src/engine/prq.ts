/**
 * The page request queue, hardware side (spec §4.1; VTD 7.5, 11.4.11): its registers, the
 * ring in memory, and page request reception with the hardware auto-response.
 *
 * Registers: PQA gives the ring's base and size (entries = 2^(PQS+7) in hardware; this model
 * accepts any power of two ≥ 4 so small queues can be tested), PQH/PQT are descriptor indexes
 * (the registers hold index × 32 in bits 18:5), PRS holds PPR (bit 0) and PRO (bit 1). A ring
 * of N entries holds at most N − 1 requests. Software changes them only through
 * {@link PageRequestQueue.setQueue}, {@link PageRequestQueue.writeHead},
 * {@link PageRequestQueue.clearPpr} and {@link PageRequestQueue.clearPro}; hardware moves PQT
 * and sets PPR and PRO.
 *
 * Reception ({@link PageRequestQueue.receive}), in hardware's order:
 * 1. table checks — context → PASID directory → PASID entry with PRE and RID_PASID
 *    ({@link checkPasidEntry}; page requests never walk first-stage tables): a failure records
 *    a fault (unless FPD) and answers an LPIG=1 request with a hardware Invalid Request; an
 *    LPIG=0 request is dropped;
 * 2. queue checks — PRO set or the queue full: PRO is set (with a page request event if PPR
 *    was clear), an LPIG=1 request is answered Success by hardware, an LPIG=0 one dropped;
 * 3. accepted — the implicit page-selective-within-PASID invalidation (VTD 6.5.3.1 Table 27),
 *    the 32-byte descriptor written at PQT, PQT advanced, PPR set, and the page request event
 *    raised when PPR and PRO were both clear.
 * A hardware response is written in place of the request ({@link writePageGroupResponse});
 * the unit sends it back to the device.
 *
 * A request without PASID is checked against the RID_PASID entry (spec §4.1) and, when that
 * entry is present, queued with PP=0 for software to decide.
 *
 * Not modelled: private data (PDP), the PQS encoding of the size, the event's interrupt
 * message registers (the event reaches the kernel `irqLatencyNs` after the write), the
 * implicit invalidation of second-stage (RID_PASID) translations, which the model never
 * caches.
 */

import {
  getField,
  PAGE_REQUEST,
  PAGE_REQUEST_BYTES,
  PASID_ENTRY,
  PageResponseCode,
  writePageGroupResponse,
} from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';
import type { RecordFault } from './fault-recording.js';
import { checkPasidEntry, pasidEntryCheck } from './walk.js';

const PR = PAGE_REQUEST.fields;
const PE = PASID_ENTRY.fields;

/** {@link PageRequestQueue.receive}: the request was queued or dropped, no response to send. */
export const PRQ_NO_RESPONSE = -1;

/** What page request reception acts on; the unit wires its fault recorder, caches and timer. */
export interface PageRequestTargets {
  /** RTADDR: frame of the root table the table checks start from. */
  rootTablePfn(): number;
  /** A request of device `dev` (index in registration order) arrived; `stopMarker`: R=W=0, LPIG=1. */
  received(dev: number, stopMarker: boolean): void;
  /** Records the fault of a request that failed the table checks (unless FPD). */
  readonly recordFault: RecordFault;
  /** A request of device `dev` met PRO set or a full queue. */
  overflow(dev: number): void;
  /** The implicit invalidation of an accepted request: IOTLB and PSC, page `vpn` of (did, pasid). */
  invalidatePage(did: number, pasid: number, vpn: number): void;
  /** Raises the page request event (it reaches software after the write and interrupt time). */
  raiseEvent(): void;
}

/** Registers, ring and reception of one page request queue. */
export class PageRequestQueue {
  /** PQA: base frame and number of 32-byte entries (0 = queue not enabled). */
  basePfn = 0;
  entries = 0;
  /** PQH (software-owned) and PQT (hardware-owned) as descriptor indexes. */
  head = 0;
  tail = 0;
  /** PRS.PPR: pending page request. */
  ppr = false;
  /** PRS.PRO: page request overflow. */
  pro = false;
  private readonly mem: PhysicalMemory;
  private targets: PageRequestTargets | null = null;
  /** Scratch of the table check (no allocation per request). */
  private readonly check = pasidEntryCheck();
  /**
   * What the model knows of the ring without reading it (see {@link queuedWithPasid}): the
   * PASID of each slot written since setQueue (−1 without PASID), the number of requests
   * per PASID in [head, tail), and the head and tail that count is for. Not architectural.
   */
  private slotPasid = new Int32Array(0);
  private readonly queued = new Map<number, number>();
  private countedHead = 0;
  private countedTail = 0;
  private counted = true;

  constructor(mem: PhysicalMemory) {
    this.mem = mem;
  }

  /** Connects reception to what it acts on. */
  attach(targets: PageRequestTargets): void {
    this.targets = targets;
  }

  /** Software programs PQA; head and tail reset. */
  setQueue(basePfn: number, entries: number): void {
    if (!Number.isInteger(entries) || entries < 4 || (entries & (entries - 1)) !== 0) {
      throw Object.assign(
        new Error(`PRQ size must be a power of two ≥ 4 entries, got ${entries}`),
        { code: 'EINVAL' },
      );
    }
    this.basePfn = basePfn;
    this.entries = entries;
    this.head = 0;
    this.tail = 0;
    this.slotPasid = new Int32Array(entries);
    this.queued.clear();
    this.countedHead = 0;
    this.countedTail = 0;
    this.counted = true;
  }

  /** Software writes PQH: the descriptors before `head` are consumed. */
  writeHead(head: number): void {
    if (!Number.isInteger(head) || head < 0 || head >= this.entries) {
      throw new Error(`PQH write out of range: ${head} (queue of ${this.entries} descriptors)`);
    }
    if (this.countsHold()) {
      for (let i = this.head; i !== head; i = (i + 1) % this.entries) {
        const pasid = this.slotPasid[i]!;
        if (pasid >= 0) this.queued.set(pasid, this.queued.get(pasid)! - 1);
      }
      this.countedHead = head;
    } else this.counted = false;
    this.head = head;
  }

  /**
   * Requests with PASID `pasid` between head and tail — what software finds scanning the
   * ring for them (the drain on unbind does) — kept as requests are accepted and PQH moves,
   * so the answer costs O(1) instead of a read of every queued descriptor. −1 when the model
   * cannot tell: head or tail was set other than by reception and writeHead (tests that
   * build the ring by hand); the caller then reads the ring.
   */
  queuedWithPasid(pasid: number): number {
    return this.countsHold() ? (this.queued.get(pasid) ?? 0) : -1;
  }

  private countsHold(): boolean {
    return this.counted && this.head === this.countedHead && this.tail === this.countedTail;
  }

  /** Software clears PRS.PPR (write 1 to clear): the next accepted request raises an event. */
  clearPpr(): void {
    this.ppr = false;
  }

  /** Software clears PRS.PRO (write 1 to clear): requests are accepted again. */
  clearPro(): void {
    this.pro = false;
  }

  /** Byte address of descriptor slot `index`. */
  slotAddress(index: number): number {
    return this.basePfn * 4096 + index * PAGE_REQUEST_BYTES;
  }

  /** Number of requests waiting between head and tail. */
  get pending(): number {
    return (this.tail - this.head + this.entries) % this.entries;
  }

  /** The PRQ status as the public API shows it. */
  status(): { entries: number; head: number; tail: number; ppr: boolean; pro: boolean } {
    return {
      entries: this.entries,
      head: this.head,
      tail: this.tail,
      ppr: this.ppr,
      pro: this.pro,
    };
  }

  /**
   * Receives the page request descriptor in the 8 dwords of `w` from `d`, sent by device
   * `dev`, at `nowNs`. Returns {@link PRQ_NO_RESPONSE} when it was queued or dropped, else the response
   * code of the hardware page group response written over the request in `w`.
   */
  receive(w: Uint32Array, d: number, dev: number, nowNs: number): number {
    const t = this.targets!;
    const rid = getField(w, d, PR.rid);
    const pp = getField(w, d, PR.pasidPresent) === 1;
    const pasid = pp ? getField(w, d, PR.pasid) : 0;
    const lpig = getField(w, d, PR.lpig) === 1;
    t.received(dev, lpig && !getField(w, d, PR.rdReq) && !getField(w, d, PR.wrReq));
    // 1. Table checks.
    const c = this.check;
    const reason = checkPasidEntry(this.mem, t.rootTablePfn(), rid, pp, pasid, true, c);
    if (reason !== 0) {
      const addr = getField(w, d, PR.addr) * 4096;
      const write = getField(w, d, PR.wrReq) === 1;
      t.recordFault(reason, rid, pp, pasid, addr, write, c.fpd, dev, nowNs);
      return this.autoRespond(w, d, lpig, PageResponseCode.INVALID);
    }
    // 2. Queue checks.
    if (this.pro || (this.tail + 1) % this.entries === this.head) {
      if (!this.pro) {
        this.pro = true;
        t.overflow(dev);
        // PRO set: an event fires if PPR was clear (VTD 7.5)
        if (!this.ppr) t.raiseEvent();
      } else {
        t.overflow(dev);
      }
      return this.autoRespond(w, d, lpig, PageResponseCode.SUCCESS);
    }
    // 3. Accepted: implicit invalidation, the descriptor at the tail, PPR and the event. A
    // request without PASID went through the RID_PASID entry of the DMA domain, whose
    // second-stage translations the model never caches: nothing to invalidate for it.
    const u32 = this.mem.u32;
    if (pp) t.invalidatePage(getField(u32, c.entryDw, PE.did), pasid, getField(w, d, PR.addr));
    const dst = this.slotAddress(this.tail) / 4;
    for (let i = 0; i < 8; i++) u32[dst + i] = w[d + i]!;
    if (this.countsHold()) {
      this.slotPasid[this.tail] = pp ? pasid : -1;
      if (pp) this.queued.set(pasid, (this.queued.get(pasid) ?? 0) + 1);
      this.countedTail = (this.tail + 1) % this.entries;
    } else this.counted = false;
    this.tail = (this.tail + 1) % this.entries;
    const raise = !this.ppr && !this.pro;
    this.ppr = true;
    if (raise) t.raiseEvent();
    return PRQ_NO_RESPONSE;
  }

  /** The hardware page group response of an LPIG=1 request, in place of the request. */
  private autoRespond(w: Uint32Array, d: number, lpig: boolean, code: number): number {
    if (!lpig) return PRQ_NO_RESPONSE;
    const rid = getField(w, d, PR.rid);
    const pp = getField(w, d, PR.pasidPresent) === 1;
    const pasid = getField(w, d, PR.pasid);
    writePageGroupResponse(w, d, rid, pp, pasid, getField(w, d, PR.prgIndex), code, true);
    return code;
  }
}
