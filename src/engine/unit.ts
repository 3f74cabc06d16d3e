/**
 * One VT-d remapping unit (DMAR unit; spec §1, §4.1, §6, §7): the thin object that builds its
 * hardware units, wires them to each other and to the simulator, and dispatches the messages
 * and timers that reach it. It is an event endpoint: devices send it ATS translation
 * requests, untranslated and translated DMA, page requests, configuration and device-TLB
 * invalidation completions over links with `pcieLatencyNs`.
 *
 * | Unit | File |
 * |---|---|
 * | capabilities, timing, cache sizes, observer | caps.ts |
 * | translation pipeline (PASID cache, IOTLB, PSC, first-stage walker) | translate.ts, pasid-cache.ts, iotlb.ts, psc.ts, walker.ts, walk.ts |
 * | ATS completions and DMA data movement | dma-remapping.ts |
 * | page request queue: registers, reception, auto-response | prq.ts |
 * | invalidation queue: fetch, check, dispatch per type | invalidation-queue.ts |
 * | fault recording registers | fault-recording.ts |
 * | the links to the devices (in-order delivery) | links.ts |
 *
 * The unit itself keeps RTADDR (through the pipeline), the pending configuration writes, the
 * fault-record path shared by DMA and page requests, and what the invalidation queue sends
 * to devices.
 *
 * Not modelled: ATS and DMA requests without PASID, interrupt remapping, posted interrupts, the
 * performance-monitoring unit, register-based invalidation, the register file's offsets.
 */

import { codedError, ErrorCode } from '../errors.js';
import type { PhysicalMemory } from '../mem/index.js';
import { DESC, DevtlbInv, MsgKind, MW } from '../sim/message.js';
import type { Endpoint, Simulator } from '../sim/simulator.js';
import type { UnitCacheParams, UnitObserver, UnitTiming, VtdUnitCaps } from './caps.js';
import { DmaRemapping } from './dma-remapping.js';
import { FaultRecorder, type RecordFault } from './fault-recording.js';
import { InvalidationQueue, type InvLogEntry } from './invalidation-queue.js';
import { Iotlb } from './iotlb.js';
import { DeviceLinks } from './links.js';
import { PasidCache } from './pasid-cache.js';
import { PageRequestQueue, PRQ_NO_RESPONSE } from './prq.js';
import { PagingStructureCache } from './psc.js';
import { TranslationPipeline } from './translate.js';
import { pasidEntryAddress } from './walk.js';
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
  /** ATS translation requests and DMA of the devices behind the unit. */
  readonly remapping: DmaRemapping;
  private readonly links: DeviceLinks;
  private readonly mem: PhysicalMemory;
  private readonly sim: Simulator;
  private readonly timing: UnitTiming;
  private readonly pcieNs: number;

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
    this.links = new DeviceLinks(sim, this.id);
    this.remapping = new DmaRemapping(
      mem,
      sim,
      this.pipeline,
      this.links,
      timing,
      this.recordFault,
    );
    this.qi = new InvalidationQueue(mem);
    this.qi.attach({
      pasidCache: this.pasidCache,
      iotlb: this.iotlb,
      psc: this.psc,
      walker: this.walker,
      issueNs: timing.iotlbLookupNs,
      cacheInvalidationNs: () => this.cacheInvalidationNs(),
      forward: (rid, kind, u32, dw, now) => this.forward(rid, kind, u32, dw, now),
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
      recordFault: this.recordFault,
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

  /** Counters and latency recorders the unit reports to (they live outside the model). */
  get observer(): UnitObserver | null {
    return this.remapping.observer;
  }

  set observer(observer: UnitObserver | null) {
    this.remapping.observer = observer;
  }

  /** `iommu.max_pasids = 2 << ecap.PSS` (0 without PASID support). */
  get maxPasids(): number {
    return this.caps.pasid ? 2 ** this.caps.pasidBits : 0;
  }

  /** Connects a device: its requester id, endpoint, index for counters and DMA data buffer. */
  attachDevice(rid: number, endpoint: number, index: number, buffer: Uint8Array): void {
    this.links.attach(rid, endpoint, index, buffer);
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
    const dev = this.links.byEndpoint(w[b + MW.SRC]!);
    if (!dev)
      throw codedError(
        ErrorCode.EINVAL,
        `VT-d unit ${this.index}: message kind ${kind} from endpoint ${w[b + MW.SRC]}, which ` +
          'is no device linked to this unit',
      );
    switch (kind) {
      case MsgKind.ATS_REQ:
        this.remapping.atsRequest(arg, b, dev, nowNs);
        return;
      case MsgKind.DMA_REQ:
        this.remapping.dmaRequest(arg, b, dev, nowNs);
        return;
      case MsgKind.PAGE_REQ: {
        const code = this.prq.receive(w, b + DESC, dev.index, nowNs);
        if (code === PRQ_NO_RESPONSE) pool.release(arg);
        else {
          // the hardware page group response, written over the request
          w[b + MW.KIND] = MsgKind.PGRP_RESP;
          this.observer?.autoResponse(dev.index, code);
          this.links.send(dev, this.timing.prqWriteNs + this.pcieNs, arg);
        }
        return;
      }
      case MsgKind.DEVTLB_INV_CPL: {
        const issued = pool.getWide(b + DevtlbInv.ISSUED_NS_WIDE);
        pool.release(arg);
        this.observer?.invalidation('devtlb', nowNs - issued);
        this.qi.devtlbCompleted();
        return;
      }
      default:
        throw codedError(
          ErrorCode.EINVAL,
          `VT-d unit ${this.index}: message kind ${kind} from device ${dev.index} is none a ` +
            'unit receives (ATS_REQ, DMA_REQ, PAGE_REQ, DEVTLB_INV_CPL)',
        );
    }
  }

  /** Records a non-recoverable fault unless an FPD bit suppresses it (spec §6.1, §6.2). */
  private readonly recordFault: RecordFault = (
    reason,
    sid,
    pp,
    pasid,
    addr,
    write,
    fpd,
    dev,
    now,
  ) => {
    if (fpd) return;
    const raiseEvent = () => this.sim.timer(this.timing.irqLatencyNs, this.id, this.id, FAULT_IRQ);
    if (this.faults.record(reason, sid, pp, pasid, addr, write, now, raiseEvent))
      this.observer?.faultRecorded(dev);
  };

  /**
   * Sends descriptor words to the function `rid` as a message of `kind` (the invalidation
   * queue's device-TLB invalidations and page group responses); false when there is none.
   */
  private forward(rid: number, kind: number, u32: Uint32Array, dw: number, nowNs: number): boolean {
    const dev = this.links.byRid(rid);
    if (!dev) return false;
    const pool = this.sim.pool;
    const slot = pool.alloc();
    const b = pool.base(slot);
    pool.words[b + MW.KIND] = kind;
    pool.words[b + MW.SRC] = this.id;
    for (let i = 0; i < 8; i++) pool.words[b + DESC + i] = u32[dw + i]!;
    // the issue time comes back with the completion: the device-TLB invalidation latency
    if (kind === MsgKind.DEVTLB_INV) pool.setWide(b + DevtlbInv.ISSUED_NS_WIDE, nowNs);
    this.links.send(dev, this.pcieNs, slot);
    return true;
  }

  /** Samples the latency of one cache invalidation descriptor and reports it. */
  private cacheInvalidationNs(): number {
    const ns = this.timing.sampleInvIotlbNs();
    this.observer?.invalidation('iotlb', ns);
    return ns;
  }
}
