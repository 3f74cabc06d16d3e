/**
 * One VT-d remapping unit (DMAR unit): capability registers, RTADDR, and the wiring of its
 * hardware units — translation pipeline (PASID cache, IOTLB, paging-structure cache, walker),
 * page request queue, fault recording, invalidation queue (spec §1, §4.1, §6, §7). It is an
 * event endpoint: devices send it ATS translation requests, untranslated and translated DMA,
 * page requests and device-TLB invalidation completions over links with `pcieLatencyNs`.
 *
 * The capabilities are the subset the SVA paths read (spec §1): ecap.PASID, ecap.PSS (PASID
 * size: `max_pasids = 2 << PSS`), ecap.SRS, ecap.FLTS, ecap.SMPWC, ecap.PDS, cap.CM (caching
 * mode), cap.PSI (page-selective invalidation), cap.FL5LP, cap.FL1GP.
 *
 * Not modelled: requests without PASID, interrupt remapping, posted interrupts, the
 * performance-monitoring unit, register-based invalidation.
 */

import {
  CONTEXT_CACHE_INV,
  CONTEXT_ENTRY,
  FaultReason,
  getField,
  PAGE_GROUP_RESPONSE,
  PASID_CACHE_INV,
  PIOTLB_INV,
  QI_CC_TYPE,
  QI_DEIOTLB_TYPE,
  QI_DIOTLB_TYPE,
  QI_EIOTLB_TYPE,
  QI_GRAN_PSI_PASID,
  QI_PC_ALL_PASIDS,
  QI_PC_PASID_SEL,
  QI_PC_TYPE,
  QI_PGRP_RESP_TYPE,
} from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';
import { Completion } from '../sim/kthread.js';
import { CplStatus, MsgFlag, MsgKind, MW, Perm } from '../sim/message.js';
import type { Endpoint, Simulator } from '../sim/simulator.js';
import type { UnitCacheParams, UnitObserver, UnitTiming, VtdUnitCaps } from './caps.js';
import { FaultRecorder } from './fault-recording.js';
import { InvalidationQueue, type InvLogEntry } from './invalidation-queue.js';
import { Iotlb } from './iotlb.js';
import { PasidCache } from './pasid-cache.js';
import { PageRequestQueue, PRQ_NO_RESPONSE } from './prq.js';
import { PagingStructureCache } from './psc.js';
import { TranslationPipeline, Xlate } from './translate.js';
import { contextEntryAddress, pasidEntryAddress } from './walk.js';
import { FirstLevelWalker } from './walker.js';

export {
  defaultUnitCaps,
  type UnitCacheParams,
  type UnitObserver,
  type UnitTiming,
  type VtdUnitCaps,
} from './caps.js';

const QI_STEP = 0;
const FAULT_IRQ = 1;
const PRQ_IRQ = 2;

const RESP = PAGE_GROUP_RESPONSE.fields;
const PI = PIOTLB_INV.fields;
const PC = PASID_CACHE_INV.fields;
const CC = CONTEXT_CACHE_INV.fields;
const CE = CONTEXT_ENTRY.fields;

/** A device as the unit knows it: where to send messages and where its DMA data lives. */
interface AttachedDevice {
  readonly endpoint: number;
  readonly index: number;
  readonly buffer: Uint8Array;
  /** 32-bit view of `buffer` for aligned copies. */
  readonly buffer32: Uint32Array;
  /** Arrival time of the last message sent down the link: the link delivers in order. */
  lastArrivalNs: number;
}

/** A VT-d remapping unit. */
export class VtdUnit implements Endpoint {
  /** Index of the unit in the system (`system.iommus[index]`). */
  readonly index: number;
  readonly caps: VtdUnitCaps;
  /** Endpoint id (also the event source id) of the unit. */
  readonly id: number;
  readonly qi: InvalidationQueue;
  readonly prq: PageRequestQueue;
  readonly faults: FaultRecorder;
  readonly pipeline: TranslationPipeline;
  readonly iotlb: Iotlb;
  readonly pasidCache: PasidCache;
  readonly psc: PagingStructureCache;
  readonly walker: FirstLevelWalker;
  /** Called when a page request event is raised (the kernel's PRQ interrupt). */
  onPrqEvent: () => void = () => {};
  /** Called when a fault event is raised (the kernel's dmar_fault interrupt). */
  onFaultEvent: () => void = () => {};
  observer: UnitObserver | null = null;
  private readonly mem: PhysicalMemory;
  private readonly sim: Simulator;
  private readonly timing: UnitTiming;
  private readonly byRid = new Map<number, AttachedDevice>();
  // Hot-path copies of timing parameters.
  private readonly pcieNs: number;
  private readonly memReadNs: number;
  private readonly dmaBytesPerNs: number;
  private readonly byEndpoint = new Map<number, AttachedDevice>();

  constructor(
    index: number,
    caps: VtdUnitCaps,
    mem: PhysicalMemory,
    sim: Simulator,
    timing: UnitTiming,
    caches: UnitCacheParams,
    prqEntries: number,
  ) {
    if (!Number.isInteger(caps.pasidBits) || caps.pasidBits < 1 || caps.pasidBits > 20) {
      throw Object.assign(new Error(`iommu.pasidBits must be 1..20, got ${caps.pasidBits}`), {
        code: 'EINVAL',
      });
    }
    this.index = index;
    this.caps = caps;
    this.mem = mem;
    this.sim = sim;
    this.timing = timing;
    this.id = sim.register(this);
    this.faults = new FaultRecorder(caps.faultRecords);
    this.iotlb = new Iotlb(caches.iotlb);
    this.pasidCache = new PasidCache(caches.pasidCache);
    this.psc = new PagingStructureCache(caches.psc);
    this.walker = new FirstLevelWalker(mem, this.psc, timing.walkers, timing.walkLevelNs);
    this.pipeline = new TranslationPipeline(
      mem,
      caps,
      timing,
      this.iotlb,
      this.pasidCache,
      this.walker,
    );
    this.pcieNs = timing.pcieLatencyNs;
    this.memReadNs = timing.memReadNs;
    this.dmaBytesPerNs = timing.dmaBytesPerNs;
    this.qi = new InvalidationQueue(mem);
    this.qi.attach({
      execute: (code, u32, dw, now) => this.executeInvalidation(code, u32, dw, now),
      schedule: (delay) => sim.timer(delay, this.id, this.id, QI_STEP),
      now: () => sim.nowNs,
    });
    this.prq = new PageRequestQueue(mem);
    this.prq.attach({
      rootTablePfn: () => this.pipeline.rootTablePfn,
      received: (d, stopMarker) => {
        this.observer?.pageRequest(d);
        if (stopMarker) this.observer?.stopMarker(d);
      },
      recordFault: (reason, sid, pp, pasid, addr, write, fpd, d, now) =>
        this.recordFault(reason, sid, pp, pasid, addr, write, fpd, d, now),
      overflow: (d) => this.observer?.prqOverflow(d),
      invalidatePage: (did, pasid, vpn) => {
        this.iotlb.invalidatePageInPasid(did, pasid, vpn, 0);
        this.psc.invalidateRange(did, pasid, vpn, 0, false);
      },
      raiseEvent: () =>
        sim.timer(timing.prqWriteNs + timing.irqLatencyNs, this.id, this.id, PRQ_IRQ),
    });
    this.prqEntriesConfigured = prqEntries;
  }

  /** PRQ size the unit was built with (the driver programs PQA with it). */
  readonly prqEntriesConfigured: number;

  /** RTADDR: frame of the scalable-mode root table, programmed by the driver. */
  get rootTablePfn(): number {
    return this.pipeline.rootTablePfn;
  }

  /**
   * Software writes RTADDR and sets the root table pointer (GCMD.SRTP): translation and page
   * request reception start their table walks at frame `pfn` from now on.
   */
  setRootTable(pfn: number): void {
    this.pipeline.rootTablePfn = pfn;
  }

  /** `iommu.max_pasids = 2 << ecap.PSS` (0 without PASID support). */
  get maxPasids(): number {
    return this.caps.pasid ? 2 ** this.caps.pasidBits : 0;
  }

  /** Connects a device: its requester id, endpoint, index for counters and DMA data buffer. */
  attachDevice(rid: number, endpoint: number, index: number, buffer: Uint8Array): void {
    const buffer32 = new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength >> 2);
    const d = { endpoint, index, buffer, buffer32, lastArrivalNs: 0 };
    this.byRid.set(rid, d);
    this.byEndpoint.set(endpoint, d);
  }

  /** Decoded invalidation descriptors in execution order, each with its raw qwords. */
  get invalidationLog(): readonly InvLogEntry[] {
    return this.qi.log;
  }

  /** Every fault hardware recorded: `{ reason, sid, pasidPresent, pasid, addr, write, timeNs }`. */
  get faultRecords() {
    return this.faults.records;
  }

  /** PRQ registers: `{ entries, head, tail, ppr, pro }`. */
  get prqStatus(): { entries: number; head: number; tail: number; ppr: boolean; pro: boolean } {
    return this.prq.status();
  }

  /** The eight raw qwords (bigint) of `device`'s PASID-table entry for `pasid` (DESIGN §6). */
  pasidEntry(device: { readonly rid: number }, pasid: number): bigint[] {
    const addr = pasidEntryAddress(this.mem, this.rootTablePfn, device.rid, pasid);
    const out: bigint[] = [];
    for (let q = 0; q < 8; q++) {
      if (addr < 0) {
        out.push(0n);
        continue;
      }
      const i = addr / 4 + q * 2;
      out.push((BigInt(this.mem.u32[i + 1]!) << 32n) | BigInt(this.mem.u32[i]!));
    }
    return out;
  }

  /** Config writes waiting for their completion, by device endpoint. */
  private readonly pendingConfig = new Map<number, Completion>();

  /**
   * Sends a configuration write that sets the PASID / PRI / ATS enables and the PRI
   * allocation in the capabilities of the function at `endpoint` (as the root port does for
   * `pci_enable_pasid` / `pci_enable_pri` / `pci_enable_ats`); the returned completion fires
   * when the function's completion comes back.
   */
  configWrite(
    endpoint: number,
    pasid: boolean,
    pri: boolean,
    ats: boolean,
    priAllocation: number,
  ): Completion {
    const dev = this.byEndpoint.get(endpoint);
    if (!dev)
      throw new Error(`VT-d unit ${this.index}: config write to unknown endpoint ${endpoint}`);
    const done = new Completion();
    this.pendingConfig.set(endpoint, done);
    const pool = this.sim.pool;
    const slot = pool.alloc();
    const b = pool.base(slot);
    pool.words[b + MW.KIND] = MsgKind.CONFIG_WRITE;
    pool.words[b + MW.SRC] = this.id;
    pool.words[b + MW.A] = (pasid ? 1 : 0) | (pri ? 2 : 0) | (ats ? 4 : 0);
    pool.words[b + MW.A + 1] = priAllocation;
    this.toDevice(dev, this.pcieNs, slot);
    return done;
  }

  /** Event entry point: messages from devices and the unit's own timers. */
  handle(arg: number, nowNs: number): void {
    if (arg < 0) {
      const code = -1 - arg;
      if (code === QI_STEP) this.qi.step();
      else if (code === FAULT_IRQ) {
        this.faults.service();
        this.onFaultEvent();
      } else if (code === PRQ_IRQ) this.onPrqEvent();
      return;
    }
    const pool = this.sim.pool;
    const w = pool.words;
    const b = pool.base(arg);
    const kind = w[b + MW.KIND]! & 0xff;
    const dev = this.byEndpoint.get(w[b + MW.SRC]!);
    if (!dev)
      throw new Error(
        `VT-d unit ${this.index}: message kind ${kind} from unknown endpoint ${w[b + MW.SRC]}`,
      );
    switch (kind) {
      case MsgKind.ATS_REQ:
        this.atsRequest(arg, b, dev, nowNs);
        return;
      case MsgKind.DMA_REQ:
        this.dmaRequest(arg, b, dev, nowNs);
        return;
      case MsgKind.PAGE_REQ: {
        const code = this.prq.receive(w, b + MW.A, dev.index, nowNs);
        if (code === PRQ_NO_RESPONSE) pool.release(arg);
        else {
          // the hardware page group response, written over the request
          w[b + MW.KIND] = MsgKind.PGRP_RESP;
          this.observer?.autoResponse(dev.index, code);
          this.toDevice(dev, this.timing.prqWriteNs + this.pcieNs, arg);
        }
        return;
      }
      case MsgKind.CONFIG_CPL: {
        pool.release(arg);
        const done = this.pendingConfig.get(dev.endpoint);
        this.pendingConfig.delete(dev.endpoint);
        done?.complete();
        return;
      }
      case MsgKind.DEVTLB_INV_CPL: {
        const issued = pool.getWide(b + MW.B);
        pool.release(arg);
        this.observer?.invalidation('devtlb', nowNs - issued);
        this.qi.devtlbCompleted();
        return;
      }
      default:
        throw new Error(`VT-d unit ${this.index}: unexpected message kind ${kind}`);
    }
  }

  /**
   * Sends `slot` to `dev` to arrive `delayNs` from now, but never before a message sent
   * earlier on the same link (PCIe ordering: a completion computed before an invalidation
   * request must reach the device first).
   */
  private toDevice(dev: AttachedDevice, delayNs: number, slot: number): void {
    const now = this.sim.nowNs;
    let at = now + delayNs;
    if (at < dev.lastArrivalNs) at = dev.lastArrivalNs;
    dev.lastArrivalNs = at;
    this.sim.send(at - now, this.id, dev.endpoint, slot);
  }

  /** ATS translation request → completion (spec §6.1 "ATS translation req" column, §4.7). */
  private atsRequest(slot: number, b: number, dev: AttachedDevice, nowNs: number): void {
    const pool = this.sim.pool;
    const w = pool.words;
    const flags = w[b]!;
    const pasid = w[b + MW.A]!;
    const vpn = pool.getWide(b + MW.A + 1);
    const rid = w[b + MW.A + 3]!;
    const write = (flags & MsgFlag.WRITE) !== 0;
    const priv = (flags & MsgFlag.PRIV) !== 0;
    const p = this.pipeline;
    const cls = p.translate(rid, pasid, vpn, write, priv, nowNs);
    this.observer?.translation(dev.index, p.outHit, p.outWalkNs);
    w[b + MW.KIND] = MsgKind.ATS_CPL;
    if (cls === Xlate.UR) {
      w[b + MW.A] = CplStatus.UR;
      w[b + MW.A + 3] = 0;
    } else {
      // Success: R=W=0 for a fault (S0), else the effective permissions (Seff).
      w[b + MW.A] = CplStatus.SUCCESS;
      pool.setWide(b + MW.A + 1, cls === Xlate.OK ? p.outPfn : 0);
      w[b + MW.A + 3] = cls === Xlate.OK ? p.outPerms : 0;
      w[b + MW.A + 4] = cls === Xlate.OK ? p.outSize : 0;
    }
    this.toDevice(dev, p.outReadyNs - nowNs + this.pcieNs, slot);
  }

  /** Untranslated or translated DMA: moves real bytes, or UR with a fault record. */
  private dmaRequest(slot: number, b: number, dev: AttachedDevice, nowNs: number): void {
    const pool = this.sim.pool;
    const w = pool.words;
    const flags = w[b]!;
    const pasid = w[b + MW.A]!;
    const addr = pool.getWide(b + MW.A + 1);
    const length = w[b + MW.A + 3]!;
    const offset = w[b + MW.A + 4]!;
    const rid = w[b + MW.A + 5]!;
    const write = (flags & MsgFlag.WRITE) !== 0;
    const vpn = Math.floor(addr / 4096);
    const pageOff = addr - vpn * 4096; // not %: a double modulo is a slow fmod call
    let ok: boolean;
    let ready: number;
    let pfn: number;
    if (length === 0 || pageOff + length > 4096) {
      throw new Error(
        `DMA of ${length} bytes at ${addr.toString(16)} crosses a page: devices split DMA per page`,
      );
    }
    if ((flags & MsgFlag.TRANSLATED) !== 0) {
      // Translated request: allowed when the context entry enables the device TLB (DTE).
      const ctx = contextEntryAddress(this.mem, this.rootTablePfn, rid);
      ok = ctx >= 0 && getField(this.mem.u32, ctx / 4, CE.dte) === 1;
      pfn = vpn; // the address is already physical
      ready = nowNs;
      if (ok) this.observer?.dmaAccess?.(rid, pasid, pool.getWide(b + MW.A + 6), pfn, write);
    } else {
      const p = this.pipeline;
      const cls = p.translate(rid, pasid, vpn, write, (flags & MsgFlag.PRIV) !== 0, nowNs);
      this.observer?.translation(dev.index, p.outHit, p.outWalkNs);
      ready = p.outReadyNs;
      pfn = p.outPfn;
      let reason = p.outFault;
      if (cls === Xlate.OK && write && (p.outPerms & Perm.W) === 0) reason = FaultReason.SGN_6;
      ok = cls === Xlate.OK && reason === 0;
      if (!ok)
        this.recordFault(reason, rid, true, pasid, vpn * 4096, write, p.outFpd, dev.index, nowNs);
    }
    if (ok) {
      if (pfn <= 0 || pfn >= this.mem.totalFrames) ok = false;
    }
    if (ok) {
      const pa = pfn * 4096 + pageOff;
      if (write) this.mem.copyIn(pa, dev.buffer, offset, length, dev.buffer32);
      else this.mem.copyOut(pa, dev.buffer, offset, length, dev.buffer32);
      ready += this.memReadNs + Math.ceil(length / this.dmaBytesPerNs);
    }
    this.observer?.dma(dev.index, ok ? length : 0, ok);
    w[b + MW.KIND] = MsgKind.DMA_CPL;
    w[b + MW.A] = ok ? CplStatus.SUCCESS : CplStatus.UR;
    this.toDevice(dev, ready - nowNs + this.pcieNs, slot);
  }

  /** Records a non-recoverable fault unless an FPD bit suppresses it (spec §6.1, §6.2). */
  private recordFault(
    reason: number,
    sid: number,
    pasidPresent: boolean,
    pasid: number,
    pageAddr: number,
    write: boolean,
    fpd: boolean,
    dev: number,
    nowNs: number,
  ): void {
    if (fpd) return;
    const written = this.faults.record(
      reason,
      sid,
      pasidPresent,
      pasid,
      pageAddr,
      write,
      nowNs,
      () => this.sim.timer(this.timing.irqLatencyNs, this.id, this.id, FAULT_IRQ),
    );
    if (written) this.observer?.faultRecorded(dev);
  }

  /** Applies one invalidation descriptor; returns its latency (see InvalidationTargets). */
  private executeInvalidation(code: number, u32: Uint32Array, dw: number, nowNs: number): number {
    switch (code) {
      case QI_CC_TYPE: {
        // Context-cache invalidation: the model caches context fields with PASID entries.
        const g = getField(u32, dw, CC.g);
        if (g === 3) this.pasidCache.invalidateRid(getField(u32, dw, CC.sid));
        else this.pasidCache.invalidateAll();
        return this.invLatency();
      }
      case QI_PC_TYPE: {
        const g = getField(u32, dw, PC.g);
        const did = getField(u32, dw, PC.did);
        if (g === QI_PC_PASID_SEL)
          this.pasidCache.invalidatePasid(did, getField(u32, dw, PC.pasid));
        else if (g === QI_PC_ALL_PASIDS) this.pasidCache.invalidateDomain(did);
        else this.pasidCache.invalidateAll();
        return this.invLatency();
      }
      case QI_EIOTLB_TYPE: {
        const g = getField(u32, dw, PI.g);
        const did = getField(u32, dw, PI.did);
        const pasid = getField(u32, dw, PI.pasid);
        if (g === QI_GRAN_PSI_PASID) {
          const vpn = getField(u32, dw, PI.addr);
          const am = getField(u32, dw, PI.am);
          this.iotlb.invalidatePageInPasid(did, pasid, vpn, am);
          this.psc.invalidateRange(did, pasid, vpn, am, getField(u32, dw, PI.ih) === 1);
        } else {
          this.iotlb.invalidatePasid(did, pasid);
          this.psc.invalidatePasid(did, pasid);
          this.walker.forgetPasid(did, pasid);
        }
        return this.invLatency();
      }
      case QI_DIOTLB_TYPE:
      case QI_DEIOTLB_TYPE: {
        // Sent to the device named by SID; completes when its completion message returns.
        // SID: bits 47:32 in type 3h, bits 31:16 in type 8h
        const sid = code === QI_DIOTLB_TYPE ? u32[dw + 1]! & 0xffff : (u32[dw]! >>> 16) & 0xffff;
        const dev = this.byRid.get(sid);
        if (!dev) return this.timing.iotlbLookupNs; // no such function: nothing to wait for
        const pool = this.sim.pool;
        const slot = pool.alloc();
        const b = pool.base(slot);
        pool.words[b + MW.KIND] = MsgKind.DEVTLB_INV;
        pool.words[b + MW.SRC] = this.id;
        for (let i = 0; i < 8; i++) pool.words[b + MW.A + i] = u32[dw + i]!;
        pool.setWide(b + MW.B, nowNs);
        this.qi.devtlbIssued();
        this.toDevice(dev, this.timing.pcieLatencyNs, slot);
        return this.timing.iotlbLookupNs;
      }
      case QI_PGRP_RESP_TYPE: {
        const rid = getField(u32, dw, RESP.rid);
        const dev = this.byRid.get(rid);
        if (dev) {
          const pool = this.sim.pool;
          const slot = pool.alloc();
          const b = pool.base(slot);
          pool.words[b + MW.KIND] = MsgKind.PGRP_RESP;
          pool.words[b + MW.SRC] = this.id;
          for (let i = 0; i < 8; i++) pool.words[b + MW.A + i] = u32[dw + i]!;
          this.toDevice(dev, this.timing.pcieLatencyNs, slot);
        }
        return this.timing.iotlbLookupNs;
      }
      default:
        // IOTLB (2h) does not touch first-stage entries in scalable mode; IEC is not modelled.
        return this.invLatency();
    }
  }

  private invLatency(): number {
    const ns = this.timing.sampleInvIotlbNs();
    this.observer?.invalidation('iotlb', ns);
    return ns;
  }
}
