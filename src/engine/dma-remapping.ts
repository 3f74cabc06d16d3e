/**
 * DMA remapping of the requests devices send (spec §6.1 Table 30, §4.7): an ATS translation
 * request gets a completion built from the translation pipeline's result (UR when the context
 * entry does not enable the device TLB, DTE); an untranslated DMA request is translated and
 * moves real bytes between simulated memory and the device's data buffer, or completes with
 * UR and a fault record; a translated DMA request passes the checks of Table 30's "Translated
 * req" column (PASID width, context and PASID-table entries: UR and a fault record) and DTE,
 * then moves bytes at the physical address it carries.
 *
 * The ATS trust gap: past those checks hardware uses a translated request's address as it
 * is. Nothing tells the unit whether a translation it gave led to that address, so a device
 * that sends translated requests for pages it was never granted reaches them (scenario
 * `adversary`, counter `atsTrustBreaches`). Real VT-d behaves the same.
 *
 * Every translated DMA allowed, and every untranslated one while the observer asks for it, is
 * shown to the observer's `dmaAccess` (the DESIGN §8 check).
 *
 * Timing: the completion leaves when the pipeline's result is ready, plus `memReadNs` and
 * `length / dmaBytesPerNs` for the data of a DMA, and arrives `pcieLatencyNs` later.
 *
 * Not modelled: ATS and DMA requests without PASID (the second-stage translation of the
 * RID_PASID entry), the fault reason of a request blocked by DTE=0 (it completes UR without a
 * record), DMA crossing a page (devices split DMA per page), atomics, the ATS completion's N,
 * Global and U bits.
 */

import { codedError, ErrorCode } from '../errors.js';
import { CONTEXT_ENTRY, FaultReason, getField } from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';
import {
  AtsCpl,
  AtsReq,
  CplStatus,
  DmaCpl,
  DmaReq,
  MsgFlag,
  MsgKind,
  MW,
  Perm,
} from '../sim/message.js';
import type { Simulator } from '../sim/simulator.js';
import type { UnitObserver, UnitTiming } from './caps.js';
import type { RecordFault } from './fault-recording.js';
import type { DeviceLink, DeviceLinks } from './links.js';
import { type TranslationPipeline, Xlate } from './translate.js';
import { checkPasidEntry, pasidEntryCheck } from './walk.js';

const CE = CONTEXT_ENTRY.fields;

/** Serves ATS translation requests and DMA requests of the devices behind one unit. */
export class DmaRemapping {
  /** Where translations, DMA and the invariant checker's hook are reported. */
  observer: UnitObserver | null = null;
  private readonly mem: PhysicalMemory;
  private readonly sim: Simulator;
  private readonly pipeline: TranslationPipeline;
  private readonly links: DeviceLinks;
  private readonly recordFault: RecordFault;
  // Hot-path copies of timing parameters.
  private readonly pcieNs: number;
  private readonly memReadNs: number;
  private readonly dmaBytesPerNs: number;
  /** Scratch of the translated-request table check (no allocation). */
  private readonly check = pasidEntryCheck();

  constructor(
    mem: PhysicalMemory,
    sim: Simulator,
    pipeline: TranslationPipeline,
    links: DeviceLinks,
    timing: UnitTiming,
    recordFault: RecordFault,
  ) {
    this.mem = mem;
    this.sim = sim;
    this.pipeline = pipeline;
    this.links = links;
    this.recordFault = recordFault;
    this.pcieNs = timing.pcieLatencyNs;
    this.memReadNs = timing.memReadNs;
    this.dmaBytesPerNs = timing.dmaBytesPerNs;
  }

  /** ATS translation request → completion (spec §6.1 "ATS translation req" column, §4.7). */
  atsRequest(slot: number, b: number, dev: DeviceLink, nowNs: number): void {
    const pool = this.sim.pool;
    const w = pool.words;
    const flags = w[b]!;
    const pasid = w[b + AtsReq.PASID]!;
    const vpn = pool.getWide(b + AtsReq.VPN_WIDE);
    const rid = w[b + AtsReq.RID]!;
    if (rid > RID_MAX) throw badRid('ATS request', rid, dev);
    const write = (flags & MsgFlag.WRITE) !== 0;
    const priv = (flags & MsgFlag.PRIV) !== 0;
    const p = this.pipeline;
    const cls = p.translate(rid, pasid, vpn, write, priv, nowNs);
    this.observer?.translation(dev.index, p.outHit, p.outWalkNs);
    w[b + MW.KIND] = MsgKind.ATS_CPL;
    // UR for a table fault that fails even a translation request, and for a function whose
    // context entry does not enable the device TLB (DTE clear: translation requests blocked)
    if (cls === Xlate.UR || !p.outDte) {
      w[b + AtsCpl.STATUS] = CplStatus.UR;
      w[b + AtsCpl.PERMS] = 0;
    } else {
      // Success: R=W=0 for a fault (S0), else the effective permissions (Seff).
      w[b + AtsCpl.STATUS] = CplStatus.SUCCESS;
      pool.setWide(b + AtsCpl.PFN_WIDE, cls === Xlate.OK ? p.outPfn : 0);
      w[b + AtsCpl.PERMS] = cls === Xlate.OK ? p.outPerms : 0;
      w[b + AtsCpl.SIZE] = cls === Xlate.OK ? p.outSize : 0;
    }
    this.links.send(dev, p.outReadyNs - nowNs + this.pcieNs, slot);
  }

  /**
   * The checks of a translated request (see {@link dmaRequest}); false for UR, with the fault
   * recorded unless FPD. A present entry in the PASID cache answers for the tables, as it
   * does for translation (peeked: the check is not a lookup of its own, so it leaves the
   * cache's counters and replacement order as they were); otherwise the tables are read.
   */
  private translatedAllowed(
    rid: number,
    pasid: number,
    page: number,
    write: boolean,
    dev: number,
    nowNs: number,
  ): boolean {
    const pc = this.pipeline.pasidCache;
    const e = pasid < this.pipeline.pasidLimit ? pc.peek(rid, pasid) : -1;
    if (e >= 0 && pc.presentOf(e)) return pc.dteOf(e);
    const c = this.check;
    const reason =
      pasid >= this.pipeline.pasidLimit
        ? FaultReason.SGN_10
        : checkPasidEntry(this.mem, this.pipeline.rootTablePfn, rid, true, pasid, false, c);
    if (reason !== 0) {
      const fpd = reason !== FaultReason.SGN_10 && c.fpd;
      this.recordFault(reason, rid, true, pasid, page * 4096, write, fpd, dev, nowNs);
      return false;
    }
    return getField(this.mem.u32, c.contextDw, CE.dte) === 1;
  }

  /** Untranslated or translated DMA: moves real bytes, or UR with a fault record. */
  dmaRequest(slot: number, b: number, dev: DeviceLink, nowNs: number): void {
    const pool = this.sim.pool;
    const w = pool.words;
    const flags = w[b]!;
    const pasid = w[b + DmaReq.PASID]!;
    const addr = pool.getWide(b + DmaReq.ADDR_WIDE);
    const length = w[b + DmaReq.LENGTH]!;
    const offset = w[b + DmaReq.BUFFER_OFFSET]!;
    const rid = w[b + DmaReq.RID]!;
    if (rid > RID_MAX) throw badRid('DMA request', rid, dev);
    const write = (flags & MsgFlag.WRITE) !== 0;
    const vpn = Math.floor(addr / 4096);
    const pageOff = addr - vpn * 4096; // not %: a double modulo is a slow fmod call
    let ok: boolean;
    let ready: number;
    let pfn: number;
    if (length === 0 || pageOff + length > 4096) {
      throw codedError(
        ErrorCode.EINVAL,
        `DMA request of ${length} bytes at 0x${addr.toString(16)} from device ${dev.index} is ` +
          'not inside one 4 KiB page: devices split DMA per page',
      );
    }
    if ((flags & MsgFlag.TRANSLATED) !== 0) {
      // Translated request (Table 30 "Translated req"): PASID width (SGN.10), then context,
      // PASID directory and PASID-table entries, each failure UR and recorded unless FPD;
      // then the context entry must enable the device TLB (DTE). The address is not checked:
      // it is already physical (the ATS trust gap, see the file header).
      ok = this.translatedAllowed(rid, pasid, vpn, write, dev.index, nowNs);
      pfn = vpn; // the address is already physical
      ready = nowNs;
      if (ok) {
        this.observer?.dmaAccess?.(
          rid,
          pasid,
          pool.getWide(b + DmaReq.VPN_WIDE),
          pfn,
          write,
          w[b + DmaReq.HOSTILE] === 1,
        );
      }
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
      else if (this.observer?.checkUntranslatedDma)
        this.observer.dmaAccess?.(rid, pasid, vpn, pfn, write, false);
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
    w[b + DmaCpl.STATUS] = ok ? CplStatus.SUCCESS : CplStatus.UR;
    this.links.send(dev, ready - nowNs + this.pcieNs, slot);
  }
}

/** A requester id is 16 bits (bus 15:8, devfn 7:0). */
const RID_MAX = 0xffff;

/**
 * A request whose RID word does not fit 16 bits: malformed (no PCIe requester id is wider),
 * and read as a bus number it would index past the root table.
 */
function badRid(what: string, rid: number, dev: DeviceLink): Error {
  return codedError(
    ErrorCode.EINVAL,
    `${what} from device ${dev.index}: rid 0x${rid.toString(16)} does not fit 16 bits`,
  );
}
