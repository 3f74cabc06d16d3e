/**
 * An emulated PCIe function on the bus (DESIGN §6 `system.addDevice`, spec §4.7): its
 * requester id, PASID capability width, ATS and PRI, the device TLB (ATC) that device-TLB
 * invalidations act on, and the raw bus transactions the public API exposes — ATS
 * translation requests, page requests, untranslated DMA reads and writes — each a fixed-size
 * message over a link with `pcieLatencyNs` to its VT-d unit.
 *
 * Page group responses are matched against the groups the device has outstanding (by PRG
 * index, and PASID when one was sent); a response that matches none is discarded and counted
 * (VTD 7.9, "Unexpected PRG Index"). A Response Failure (or a reserved code) turns PRI off
 * for the function (spec §4.7).
 *
 * The public calls (`translate`, `pageRequest`, `dmaRead`, `dmaWrite`, `nextResponse`) send
 * their transaction at once and wait on the machine's testbench (machine/testbench.ts): they
 * never run the simulator themselves, so calls issued together overlap in simulated time.
 * Each DMA call takes its own range of the data buffer. The device records the page requests
 * the public API sent and the responses it accepted for them (`pageRequests`, `responses`).
 * A removed function (`removed`, a hot unplug) fails its calls with ENODEV.
 *
 * Not modelled here: the accelerator's work queue and job engine (see accelerator.ts).
 */

import { codedError, ErrorCode } from '../errors.js';
import {
  DEVTLB_INV,
  decodeDevTlbRange,
  decodePageGroupResponse,
  encodePageRequest,
  getField,
  isResponseFailure,
  PAGE_GROUP_RESPONSE,
  PAGE_REQUEST,
  type PageGroupResponse,
  PDEVTLB_INV,
  QI_DEIOTLB_TYPE,
  readQwords,
  setField,
  writeQwords,
} from '../layout/index.js';
import { Counters } from '../metrics/counters.js';
import {
  AtsCpl,
  AtsReq,
  CplStatus,
  DESC,
  DmaCpl,
  DmaReq,
  MsgFlag,
  MsgKind,
  MW,
  Perm,
} from '../sim/message.js';
import type { Endpoint, Simulator } from '../sim/simulator.js';
import {
  type AddressSpace,
  addressSpace,
  checkData,
  checkFlag,
  checkLength,
  checkPasid,
  checkPrgIndex,
  checkRange,
  checkRequest,
} from './bus-args.js';
import { DevTlb } from './devtlb.js';
import { FunctionState } from './function-state.js';
import { PrgIndexMap } from './prg-index-map.js';

/** Options of `system.addDevice`. */
const PR = PAGE_REQUEST.fields;

export interface DeviceOptions {
  /** Requester id: bus << 8 | device << 3 | function, 0..0xffff. */
  readonly rid: number;
  /** PASID capability width in bits, 0..20; 0 = no PASID capability. Default 20. */
  readonly pasidBits?: number;
  /** ATS (device TLB) supported. Default true. */
  readonly ats?: boolean;
  /** PRI (page requests) supported; requires ATS. Default true. */
  readonly pri?: boolean;
  /** ATS invalidate queue depth reported by the function; 0 means 32. Default 32. */
  readonly atsQdep?: number;
  /**
   * PRI Status "PRG Response PASID Required": the function wants the PASID echoed in page
   * group responses. The v5.8 driver enables PRI on a function with PASID only when it is set.
   * Default true. (The model's function matches responses by PASID whenever it sent one.)
   */
  readonly prgRespPasidRequired?: boolean;
  /** Index of the VT-d unit the device sits behind. Default 0. */
  readonly unit?: number;
  /** Device TLB entries. Default 32. */
  readonly devtlbEntries?: number;
}

/** What a device takes for every option it is not given (the rid aside). */
export const defaultDeviceOptions: Readonly<Required<Omit<DeviceOptions, 'rid'>>> = Object.freeze({
  pasidBits: 20,
  ats: true,
  pri: true,
  atsQdep: 32,
  prgRespPasidRequired: true,
  unit: 0,
  devtlbEntries: 32,
});

/** What a device needs from the machine it is plugged into. */
export interface BusContext {
  readonly sim: Simulator;
  /** Endpoint id of the device's VT-d unit. */
  readonly unitEndpoint: number;
  readonly pcieLatencyNs: number;
  /** Device-side time to process one device-TLB invalidation (sampled). */
  devtlbInvNs(): number;
  /**
   * Resolves true at the first simulated instant `done()` holds, false once nothing is left
   * to run (machine/testbench.ts): the public bus calls wait on it and never run the
   * simulator themselves.
   */
  until(done: () => boolean): Promise<boolean>;
  /** The device's counters (the system's per-device totals); a fresh set when not given. */
  readonly counters?: Counters;
  /** The device's data buffer when it must be shared memory (threaded runtime). */
  readonly buffer?: Uint8Array;
  /** The byte addresses requests may carry (the system's paging mode). Default 4-level. */
  readonly addressSpace?: AddressSpace;
}

/** An ATS completion as the public API returns it. */
export interface AtsCompletion {
  readonly status: 'ok' | 'UR';
  readonly r: boolean;
  readonly w: boolean;
  readonly x: boolean;
  readonly u: boolean;
  readonly s: boolean;
  /** Translated (physical) byte address of the page; 0 when R=W=0. */
  readonly addr: number;
  /** Size of the translation in bytes (4 KiB or 2 MiB). */
  readonly size: number;
}

/** A page request as the public API takes it (spec §4.2 fields, addr a byte address). */
export interface PageRequestFields {
  readonly pasid?: number;
  readonly addr: number;
  readonly read?: boolean;
  readonly write?: boolean;
  readonly exec?: boolean;
  readonly priv?: boolean;
  readonly lpig: boolean;
  readonly prgIndex: number;
}

/**
 * A page request the public API sent (`pageRequest`, `postPageRequest`), as it travelled:
 * simulated times in ns, the request's fields, and what the unit did with it (spec §4.1).
 */
export interface PageRequestEvent {
  /** When the device sent it. */
  readonly sentNs: number;
  /** When the unit received it; null while it is on the link. */
  readonly receivedNs: number | null;
  readonly prgIndex: number;
  /** The PASID it carried; null for a request without PASID. */
  readonly pasid: number | null;
  /** Byte address of the page. */
  readonly addr: number;
  readonly read: boolean;
  readonly write: boolean;
  readonly exec: boolean;
  readonly priv: boolean;
  readonly lpig: boolean;
  /** True when the queue was full or PRO set: the request was not queued (VTD 7.5). */
  readonly overflowed: boolean;
  /**
   * Response code of the unit's own page group response (an LPIG=1 request the unit did not
   * queue: Success on overflow, Invalid on a table fault), or null when the unit sent none.
   */
  readonly autoResponse: number | null;
}

/** A page group response the function accepted for one of the public API's groups. */
export interface PageResponseEvent {
  /** When it arrived at the device. */
  readonly timeNs: number;
  readonly prgIndex: number;
  /** The PASID it echoed; null when it carried none. */
  readonly pasid: number | null;
  /** Response code (0 Success, 1 Invalid Request, 0xF / reserved: Response Failure). */
  readonly code: number;
  /**
   * `hardware`: the unit answered the request itself (overflow or table fault, spec §4.1);
   * `software`: the kernel answered through the invalidation queue.
   */
  readonly from: 'hardware' | 'software';
}

type MutablePageRequestEvent = { -readonly [K in keyof PageRequestEvent]: PageRequestEvent[K] };

/** Tags at or above this value belong to the agent; below, to the synchronous bus API. */
export const AGENT_TAG_BASE = 0x8000_0000;

/** What drives a device besides the public bus API: the accelerator's job engine. */
export interface DeviceAgent {
  /** An ATS or DMA completion with an agent tag. */
  completion(slot: number, nowNs: number): void;
  /** True when page request group `prgIndex` is the agent's. */
  ownsGroup(prgIndex: number): boolean;
  /** The response of one of the agent's groups arrived. */
  pageResponse(prgIndex: number, code: number, nowNs: number): void;
  /** A response to one of the agent's stop markers arrived (and was discarded). */
  stopMarkerAnswered?(prgIndex: number): void;
}

/** Tags at or above this value belong to the function's hostile stream (scenario `adversary`). */
export const HOSTILE_TAG_BASE = 0xc000_0000;

/**
 * A second stream of transactions the function sends besides its job engine's: the hostile
 * one (device/adversary.ts). It owns the tags from {@link HOSTILE_TAG_BASE} and a range of PRG
 * indexes the job engine never uses, so its completions and page group responses reach it
 * and nothing of the job engine's state.
 */
export interface HostileStream {
  /** True when `prgIndex` is one of the stream's. */
  ownsPrgIndex(prgIndex: number): boolean;
  /** An ATS or DMA completion with a hostile tag (the stream releases the slot). */
  completion(slot: number, nowNs: number): void;
  /** A page group response for one of the stream's PRG indexes (slot already released). */
  pageResponse(prgIndex: number, pasidPresent: boolean, pasid: number, code: number): void;
}

/** Bytes of the device's DMA data buffer. */
export const DEVICE_BUFFER_BYTES = 1 << 20;

const RESP = PAGE_GROUP_RESPONSE.fields;
const DEVTLB = DEVTLB_INV.fields;
const PDEVTLB = PDEVTLB_INV.fields;

/**
 * A PCIe function with PASID, ATS and PRI capabilities. `Info` is the type of the driver's
 * per-function data the function carries (the machine names it; the device never looks in).
 */
export class Device<Info = unknown> implements Endpoint {
  readonly rid: number;
  readonly pasidBits: number;
  readonly ats: boolean;
  readonly pri: boolean;
  readonly unit: number;
  /** Index of the device in the system (counters). */
  readonly index: number;
  /** The driver's per-function data, set when the driver probed the function. */
  readonly info: Info;
  /** Endpoint id of the device. */
  readonly id: number;
  /** DMA data buffer: DMA reads land here, DMA writes take their bytes from here. */
  readonly buffer: Uint8Array;
  /** The ATS translation cache. */
  readonly devtlb: DevTlb;
  /** False once a Response Failure turned PRI off (until reset). */
  priActive = true;
  /** Page group responses that matched no outstanding group (nor a stop marker). */
  unexpectedResponses = 0;
  /** Responses to stop markers, which need none (profile v5.8 sends them), discarded. */
  stopMarkerResponses = 0;
  /** Stop markers sent and not answered: PRG index → PASID. */
  private readonly stopMarkers = new PrgIndexMap();
  /** Device-TLB invalidations processed. */
  invalidationsReceived = 0;
  /** The accelerator engine driving this function, if any (receives its own completions). */
  agent: DeviceAgent | null = null;
  /** The function's hostile stream, if it has one (receives its own completions). */
  hostile: HostileStream | null = null;
  private readonly bus: BusContext;
  /** The byte addresses the public bus API accepts. */
  private readonly space: AddressSpace;
  private nextTag = 1;
  /** Completed bus transactions by tag, until collected. */
  private readonly replies = new Map<number, number>();
  /** Outstanding page request groups: prgIndex → pasid (−1 without PASID). */
  private readonly outstandingGroups = new PrgIndexMap();
  /** Responses delivered for groups, by prgIndex, until collected. */
  private readonly delivered = new Map<number, PageGroupResponse>();
  /** The device's counters (per-device totals of the system it is plugged into). */
  readonly counters: Counters;
  /** Every page request the public API sent, in sending order (see {@link PageRequestEvent}). */
  readonly pageRequests: readonly PageRequestEvent[] = [];
  /** Every page group response accepted for the public API's groups, in arrival order. */
  readonly responses: readonly PageResponseEvent[] = [];
  /** The public API's page requests on the link, oldest first (the link is FIFO). */
  private readonly onLink: MutablePageRequestEvent[] = [];
  /** The request the unit received last, while its reception is being reported. */
  private lastReceived: MutablePageRequestEvent | null = null;
  /** The last LPIG=1 request of each PRG index, to tell who answered its group. */
  private readonly lastOfGroup = new Map<number, MutablePageRequestEvent>();
  /** Byte ranges of the data buffer in use by DMA calls in flight: [start, end), sorted. */
  private readonly bufferInUse: [number, number][] = [];
  /** True once the function was hot-removed (`system.removeDevice`). */
  removed = false;

  constructor(
    options: Required<DeviceOptions>,
    index: number,
    bus: BusContext,
    attach: (dev: Device<Info>) => Info,
  ) {
    this.rid = options.rid;
    this.pasidBits = options.pasidBits;
    this.ats = options.ats;
    this.pri = options.pri;
    this.unit = options.unit;
    this.index = index;
    this.bus = bus;
    this.space = bus.addressSpace ?? addressSpace(false);
    this.buffer = bus.buffer ?? new Uint8Array(DEVICE_BUFFER_BYTES);
    this.devtlb = new DevTlb({ entries: options.devtlbEntries, assoc: options.devtlbEntries });
    this.counters = bus.counters ?? new Counters();
    this.id = bus.sim.register(this);
    this.info = attach(this);
  }

  /** PASID / ATS / PRI enables and PRI allocation in the capabilities (set when the driver enables them at attach). */
  readonly functionState = new FunctionState();

  /** True while PASID, ATS and PRI are enabled in the function's capabilities. */
  get enabled(): { pasid: boolean; ats: boolean; pri: boolean } {
    const f = this.functionState;
    return { pasid: f.pasidEnabled, ats: f.atsEnabled, pri: f.priEnabled };
  }

  /** Page request groups sent with LPIG=1 and not yet answered. */
  get outstandingPageRequests(): number {
    return this.outstandingGroups.size;
  }

  /** Event entry point: completions, page group responses, device-TLB invalidations. */
  handle(slot: number, nowNs: number): void {
    const pool = this.bus.sim.pool;
    const w = pool.words;
    const b = pool.base(slot);
    const kind = w[b + MW.KIND]! & 0xff;
    if (this.removed && kind !== MsgKind.DEVTLB_INV) {
      // the function is gone: what still arrives for it goes nowhere (a device-TLB
      // invalidation still completes, so the unit's invalidation queue never waits on it)
      pool.release(slot);
      return;
    }
    switch (kind) {
      case MsgKind.ATS_CPL:
      case MsgKind.DMA_CPL: {
        const tag = w[b + MW.TAG]!;
        if (this.hostile && tag >= HOSTILE_TAG_BASE) this.hostile.completion(slot, nowNs);
        else if (this.agent && tag >= AGENT_TAG_BASE) this.agent.completion(slot, nowNs);
        else this.replies.set(tag, slot);
        return;
      }
      case MsgKind.PGRP_RESP:
        this.pageGroupResponse(slot, b + DESC, nowNs);
        return;
      case MsgKind.DEVTLB_INV: {
        this.invalidate(b + DESC);
        w[b + MW.KIND] = MsgKind.DEVTLB_INV_CPL;
        w[b + MW.SRC] = this.id;
        this.bus.sim.send(
          this.bus.devtlbInvNs() + this.bus.pcieLatencyNs,
          this.id,
          this.bus.unitEndpoint,
          slot,
        );
        return;
      }
      default:
        throw codedError(
          ErrorCode.EINVAL,
          `device ${this.rid.toString(16)}: unexpected message kind ${kind}`,
        );
    }
  }

  /** Applies a device-TLB invalidation descriptor (type 3h: every PASID; type 8h: one PASID). */
  private invalidate(d: number): void {
    const w = this.bus.sim.pool.words;
    this.invalidationsReceived++;
    const type = getField(w, d, PDEVTLB.type);
    const pasidBased = type === QI_DEIOTLB_TYPE;
    const s = getField(w, d, pasidBased ? PDEVTLB.s : DEVTLB.s) === 1;
    const range = decodeDevTlbRange(getField(w, d, PDEVTLB.addr) * 4096, s);
    const base = range.base / 4096;
    // the non-PASID form (3h) and a global PASID-based one (GI) flush every PASID
    if (!pasidBased || getField(w, d, PDEVTLB.gi) === 1)
      this.devtlb.invalidateAllPasids(base, range.pages);
    else this.devtlb.invalidateRange(getField(w, d, PDEVTLB.pasid), base, range.pages);
  }

  private pageGroupResponse(slot: number, d: number, nowNs: number): void {
    const pool = this.bus.sim.pool;
    const w = pool.words;
    const prgIndex = getField(w, d, RESP.prgIndex);
    const pp = getField(w, d, RESP.pasidPresent) === 1;
    const pasid = getField(w, d, RESP.pasid);
    if (this.hostile?.ownsPrgIndex(prgIndex)) {
      // the hostile stream's group; a Response Failure still stops PRI for the whole function
      const code = getField(w, d, RESP.code);
      if (isResponseFailure(code)) this.priActive = false;
      pool.release(slot);
      this.hostile.pageResponse(prgIndex, pp, pasid, code);
      return;
    }
    const expected = this.outstandingGroups.get(prgIndex);
    const marker = this.stopMarkers.get(prgIndex);
    if (expected === undefined && marker !== undefined && (!pp || marker === pasid)) {
      // v5.8 answers stop markers; the function discards the answer (no group is outstanding)
      this.stopMarkers.delete(prgIndex);
      this.stopMarkerResponses++;
      pool.release(slot);
      this.agent?.stopMarkerAnswered?.(prgIndex);
      return;
    }
    if (expected === undefined || (pp && expected !== pasid)) {
      this.unexpectedResponses++;
      pool.release(slot);
      return;
    }
    this.outstandingGroups.delete(prgIndex);
    const code = getField(w, d, RESP.code);
    if (isResponseFailure(code)) this.priActive = false;
    if (this.agent?.ownsGroup(prgIndex)) {
      pool.release(slot);
      this.agent.pageResponse(prgIndex, code, nowNs);
      return;
    }
    const resp = decodePageGroupResponse(readQwords(w, d, 4));
    this.delivered.set(prgIndex, resp);
    pool.release(slot);
    const ev = this.lastOfGroup.get(prgIndex);
    this.lastOfGroup.delete(prgIndex);
    (this.responses as PageResponseEvent[]).push({
      timeNs: nowNs,
      prgIndex,
      pasid: pp ? pasid : null,
      code,
      from: ev !== undefined && ev.autoResponse !== null ? 'hardware' : 'software',
    });
  }

  /**
   * @internal The unit received the oldest page request on the link at `nowNs` (the system
   * reports it from the unit's observer). Only the public API's requests are tracked; the
   * job engine and the hostile stream send theirs untracked.
   */
  pageRequestReceived(nowNs: number): void {
    const ev = this.onLink.shift() ?? null;
    if (ev !== null) ev.receivedNs = nowNs;
    this.lastReceived = ev;
  }

  /** @internal The request just received was not queued: the PRQ was full or PRO set. */
  pageRequestOverflowed(): void {
    if (this.lastReceived !== null) this.lastReceived.overflowed = true;
  }

  /** @internal The unit answered the request just received itself, with `code`. */
  pageRequestAutoResponded(code: number): void {
    if (this.lastReceived !== null) this.lastReceived.autoResponse = code;
  }

  /** The ENODEV error of a call on (or in flight at) a removed function. */
  private gone(op: string, inFlight: boolean): Error {
    return codedError(
      ErrorCode.ENODEV,
      inFlight
        ? `${op}: device ${this.rid.toString(16)} was removed while the request was in flight`
        : `${op}: device ${this.rid.toString(16)} was removed (system.removeDevice); add a device to send requests`,
    );
  }

  /** Throws ENODEV when the function was removed. */
  private present(op: string): void {
    if (this.removed) throw this.gone(op, false);
  }

  /** Records a stop marker the agent sends, so an answer to it is not taken as unexpected. */
  noteStopMarker(prgIndex: number, pasid: number): void {
    this.stopMarkers.set(prgIndex, pasid);
  }

  /** Opens an outstanding page request group for the agent (the accelerator's PRI engine). */
  openGroup(prgIndex: number, pasid: number): void {
    this.outstandingGroups.set(prgIndex, pasid);
  }

  /** Sends a prepared message slot to the unit (the agent's requests). */
  post(slot: number): void {
    this.send(slot);
  }

  /**
   * Builds and sends a page request for the device's own agents (the job engine, the hostile
   * stream), unchecked and without allocation: PASID `pasid` (−1: without PASID), R and W as
   * given, LPIG, PRG index `prg`, page `vpn`.
   */
  postPageRequestWords(
    pasid: number,
    prg: number,
    read: boolean,
    write: boolean,
    lpig: boolean,
    vpn: number,
  ): void {
    const pool = this.bus.sim.pool;
    const slot = pool.alloc();
    const mb = pool.base(slot);
    const w = pool.words;
    w[mb + MW.KIND] = MsgKind.PAGE_REQ;
    w[mb + MW.SRC] = this.id;
    const d = mb + DESC;
    setField(w, d, PR.type, 1);
    setField(w, d, PR.pasidPresent, pasid >= 0 ? 1 : 0);
    setField(w, d, PR.rid, this.rid);
    setField(w, d, PR.pasid, Math.max(pasid, 0));
    setField(w, d, PR.rdReq, read ? 1 : 0);
    setField(w, d, PR.wrReq, write ? 1 : 0);
    setField(w, d, PR.lpig, lpig ? 1 : 0);
    setField(w, d, PR.prgIndex, prg);
    setField(w, d, PR.addr, vpn);
    this.post(slot);
  }

  private request(kind: number, flags: number): { slot: number; b: number; tag: number } {
    const pool = this.bus.sim.pool;
    const slot = pool.alloc();
    const b = pool.base(slot);
    const tag = this.nextTag++;
    pool.words[b + MW.KIND] = kind | flags;
    pool.words[b + MW.TAG] = tag;
    pool.words[b + MW.SRC] = this.id;
    return { slot, b, tag };
  }

  /** Sends a message slot to the unit over the link. */
  private send(slot: number): void {
    this.bus.sim.send(this.bus.pcieLatencyNs, this.id, this.bus.unitEndpoint, slot);
  }

  /** Waits for the completion of tag `tag` (ENODEV if the function is removed meanwhile). */
  private async reply(op: string, tag: number): Promise<number> {
    await this.bus.until(() => this.replies.has(tag) || this.removed);
    if (this.removed) throw this.gone(op, true);
    const slot = this.replies.get(tag);
    if (slot === undefined)
      throw new Error(`device ${this.rid.toString(16)}: no completion for tag ${tag}`);
    this.replies.delete(tag);
    return slot;
  }

  /**
   * Sends an ATS translation request for the page holding `addr` and waits for its
   * completion (spec §6.1, §4.7). EINVAL for a PASID beyond the function's PASID width, an
   * address that is not an integer inside the address space, or a flag that is not a boolean.
   */
  async translate(req: {
    pasid: number;
    addr: number;
    write?: boolean;
    exec?: boolean;
    priv?: boolean;
  }): Promise<AtsCompletion> {
    const op = 'translate';
    this.present(op);
    checkRequest(op, req, 'pasid, addr, write?, exec?, priv?');
    checkPasid(op, req.pasid, this.pasidBits, this.rid);
    checkRange(op, req.addr, 1, this.space);
    checkFlag(op, 'write', req.write);
    checkFlag(op, 'exec', req.exec);
    checkFlag(op, 'priv', req.priv);
    const flags =
      MsgFlag.PASID |
      (req.write ? MsgFlag.WRITE : 0) |
      (req.exec ? MsgFlag.EXEC : 0) |
      (req.priv ? MsgFlag.PRIV : 0);
    const { slot, b, tag } = this.request(MsgKind.ATS_REQ, flags);
    const pool = this.bus.sim.pool;
    pool.words[b + AtsReq.PASID] = req.pasid;
    pool.setWide(b + AtsReq.VPN_WIDE, Math.floor(req.addr / 4096));
    pool.words[b + AtsReq.RID] = this.rid;
    this.send(slot);
    const r = await this.reply(op, tag);
    const rb = pool.base(r);
    const w = pool.words;
    const ok = w[rb + AtsCpl.STATUS] === CplStatus.SUCCESS;
    const perms = ok ? w[rb + AtsCpl.PERMS]! : 0;
    const pfn = pool.getWide(rb + AtsCpl.PFN_WIDE);
    const size = w[rb + AtsCpl.SIZE] === 1 ? 2 << 20 : 4096;
    pool.release(r);
    return {
      status: ok ? 'ok' : 'UR',
      r: (perms & Perm.R) !== 0,
      w: (perms & Perm.W) !== 0,
      x: (perms & Perm.X) !== 0,
      u: (perms & Perm.U) !== 0,
      s: (perms & Perm.S) !== 0,
      addr: perms ? pfn * 4096 : 0,
      size,
    };
  }

  /**
   * Sends a page request without waiting (`pageRequest` waits). An LPIG=1 request with R or
   * W set opens an outstanding group until its response arrives; returns false when PRI is
   * off for the function (the request is not sent). EINVAL for a PRG index beyond 9 bits, a
   * PASID beyond the function's PASID width (omit it for a request without PASID), an address
   * that is not an integer inside the address space, or flags that are not booleans.
   */
  postPageRequest(req: PageRequestFields): boolean {
    this.checkPageRequest('pageRequest', req);
    return this.sendPageRequest(req);
  }

  /**
   * A burst: sends every request of `reqs` in order, at the same simulated instant, without
   * waiting; returns for each whether it was sent (see {@link postPageRequest}). Every
   * request is checked before any is sent (EINVAL names the index).
   */
  postPageRequests(reqs: readonly PageRequestFields[]): boolean[] {
    const op = 'postPageRequests';
    if (!Array.isArray(reqs)) {
      throw codedError(ErrorCode.EINVAL, `${op}: expected an array of page requests`);
    }
    for (const [i, r] of reqs.entries()) this.checkPageRequest(`${op}[${i}]`, r);
    return reqs.map((r) => this.sendPageRequest(r));
  }

  private checkPageRequest(op: string, req: PageRequestFields): void {
    this.present(op);
    checkRequest(op, req, 'pasid?, addr, read?, write?, exec?, priv?, lpig, prgIndex');
    checkPrgIndex(op, req.prgIndex);
    if (req.pasid !== undefined) checkPasid(op, req.pasid, this.pasidBits, this.rid);
    checkRange(op, req.addr, 1, this.space);
    checkFlag(op, 'lpig', req.lpig, true);
    checkFlag(op, 'read', req.read);
    checkFlag(op, 'write', req.write);
    checkFlag(op, 'exec', req.exec);
    checkFlag(op, 'priv', req.priv);
  }

  private sendPageRequest(req: PageRequestFields): boolean {
    if (!this.priActive || !this.functionState.priEnabled) return false;
    const pool = this.bus.sim.pool;
    const slot = pool.alloc();
    const b = pool.base(slot);
    pool.words[b + MW.KIND] = MsgKind.PAGE_REQ;
    pool.words[b + MW.SRC] = this.id;
    const qw = encodePageRequest({
      pasidPresent: req.pasid !== undefined,
      rid: this.rid,
      pasid: req.pasid ?? 0,
      exeReq: req.exec ?? false,
      pmReq: req.priv ?? false,
      rdReq: req.read ?? false,
      wrReq: req.write ?? false,
      lpig: req.lpig,
      prgIndex: req.prgIndex,
      addr: Math.floor(req.addr / 4096) * 4096,
    });
    writeQwords(pool.words, b + DESC, qw);
    if (req.lpig && (req.read || req.write))
      this.outstandingGroups.set(req.prgIndex, req.pasid ?? -1);
    const ev: MutablePageRequestEvent = {
      sentNs: this.bus.sim.nowNs,
      receivedNs: null,
      prgIndex: req.prgIndex,
      pasid: req.pasid ?? null,
      addr: Math.floor(req.addr / 4096) * 4096,
      read: req.read ?? false,
      write: req.write ?? false,
      exec: req.exec ?? false,
      priv: req.priv ?? false,
      lpig: req.lpig,
      overflowed: false,
      autoResponse: null,
    };
    (this.pageRequests as PageRequestEvent[]).push(ev);
    this.onLink.push(ev);
    if (req.lpig) this.lastOfGroup.set(req.prgIndex, ev);
    this.send(slot);
    return true;
  }

  /** The response delivered for group `prgIndex`, once (undefined until it arrives). */
  takeResponse(prgIndex: number): PageGroupResponse | undefined {
    checkPrgIndex('takeResponse', prgIndex);
    const r = this.delivered.get(prgIndex);
    this.delivered.delete(prgIndex);
    return r;
  }

  /**
   * The response delivered for group `prgIndex` and not yet taken, without taking it
   * (undefined until it arrives): how a fire-and-forget script reads its answers later.
   */
  responseFor(prgIndex: number): PageGroupResponse | undefined {
    checkPrgIndex('responseFor', prgIndex);
    return this.delivered.get(prgIndex);
  }

  /**
   * Waits for the response of group `prgIndex` and takes it: resolves at the simulated time
   * it arrives (at once if it already did), or to null when the simulator has nothing left
   * to run and none came. Rejects ENODEV when the function is removed meanwhile.
   */
  async nextResponse(prgIndex: number): Promise<PageGroupResponse | null> {
    const op = 'nextResponse';
    checkPrgIndex(op, prgIndex);
    this.present(op);
    await this.bus.until(() => this.delivered.has(prgIndex) || this.removed);
    if (this.removed) throw this.gone(op, true);
    return this.takeResponse(prgIndex) ?? null;
  }

  /**
   * Sends a page request and resolves to the decoded page group response at the simulated
   * time it arrives, or to null when none comes: PRI turned off (at once), or LPIG=0, a
   * stop marker, a dropped request (once the simulator has nothing left to run). Requests
   * issued in the same turn (`Promise.all`) are all sent at the same simulated instant.
   */
  async pageRequest(req: PageRequestFields): Promise<PageGroupResponse | null> {
    if (!this.postPageRequest(req)) return null;
    if (!req.lpig || !(req.read || req.write)) {
      await this.bus.until(() => this.removed);
      return null;
    }
    return this.nextResponse(req.prgIndex);
  }

  /**
   * A range of `length` bytes of the data buffer no other DMA call in flight uses, so calls
   * that overlap in simulated time never share bytes: waits while the buffer is full.
   */
  private async reserveBuffer(op: string, length: number): Promise<number> {
    let base = this.tryReserve(length);
    if (base < 0) {
      await this.bus.until(() => {
        if (!this.removed) base = this.tryReserve(length);
        return this.removed || base >= 0;
      });
      if (this.removed) throw this.gone(op, true);
      if (base < 0) throw new Error(`${op}: the data buffer stayed full with nothing left to run`);
    }
    return base;
  }

  /** First fit in the data buffer; −1 when no gap is long enough. */
  private tryReserve(length: number): number {
    const used = this.bufferInUse;
    let start = 0;
    let i = 0;
    for (; i < used.length; i++) {
      if (used[i]![0] - start >= length) break;
      start = used[i]![1];
    }
    if (i === used.length && DEVICE_BUFFER_BYTES - start < length) return -1;
    used.splice(i, 0, [start, start + length]);
    return start;
  }

  private releaseBuffer(base: number): void {
    const i = this.bufferInUse.findIndex((r) => r[0] === base);
    if (i >= 0) this.bufferInUse.splice(i, 1);
  }

  private async dma(
    op: string,
    pasid: number,
    addr: number,
    length: number,
    offset: number,
    write: boolean,
  ): Promise<boolean> {
    const { slot, b, tag } = this.request(
      MsgKind.DMA_REQ,
      MsgFlag.PASID | (write ? MsgFlag.WRITE : 0),
    );
    const pool = this.bus.sim.pool;
    pool.words[b + DmaReq.PASID] = pasid;
    pool.setWide(b + DmaReq.ADDR_WIDE, addr);
    pool.words[b + DmaReq.LENGTH] = length;
    pool.words[b + DmaReq.BUFFER_OFFSET] = offset;
    pool.words[b + DmaReq.RID] = this.rid;
    this.send(slot);
    const r = await this.reply(op, tag);
    const ok = pool.words[pool.base(r) + DmaCpl.STATUS] === CplStatus.SUCCESS;
    pool.release(r);
    return ok;
  }

  /**
   * Untranslated DMA read, split per page: `{ status: 'ok', data }` or `{ status: 'UR' }`.
   * EINVAL for a PASID beyond the function's PASID width, a length outside 1..1 MiB (the data
   * buffer), or a range that is not integers inside the address space.
   */
  async dmaRead(req: {
    pasid: number;
    addr: number;
    length: number;
  }): Promise<{ status: 'ok'; data: Uint8Array } | { status: 'UR' }> {
    const op = 'dmaRead';
    this.present(op);
    checkRequest(op, req, 'pasid, addr, length');
    checkPasid(op, req.pasid, this.pasidBits, this.rid);
    checkLength(op, req.length, DEVICE_BUFFER_BYTES);
    checkRange(op, req.addr, req.length, this.space);
    const base = await this.reserveBuffer(op, req.length);
    try {
      let done = 0;
      while (done < req.length) {
        const a = req.addr + done;
        const n = Math.min(req.length - done, 4096 - (a % 4096));
        if (!(await this.dma(op, req.pasid, a, n, base + done, false))) return { status: 'UR' };
        done += n;
      }
      return { status: 'ok', data: this.buffer.slice(base, base + req.length) };
    } finally {
      this.releaseBuffer(base);
    }
  }

  /**
   * Untranslated DMA write, split per page: `{ status: 'ok' }` or `{ status: 'UR' }`. EINVAL
   * as {@link dmaRead}, and for data that is not a Uint8Array.
   */
  async dmaWrite(req: {
    pasid: number;
    addr: number;
    data: Uint8Array;
  }): Promise<{ status: 'ok' } | { status: 'UR' }> {
    const op = 'dmaWrite';
    this.present(op);
    checkRequest(op, req, 'pasid, addr, data');
    checkPasid(op, req.pasid, this.pasidBits, this.rid);
    checkData(op, req.data);
    checkLength(op, req.data.length, DEVICE_BUFFER_BYTES);
    checkRange(op, req.addr, req.data.length, this.space);
    const length = req.data.length;
    const data = req.data.slice();
    const base = await this.reserveBuffer(op, length);
    try {
      this.buffer.set(data, base);
      let done = 0;
      while (done < length) {
        const a = req.addr + done;
        const n = Math.min(length - done, 4096 - (a % 4096));
        if (!(await this.dma(op, req.pasid, a, n, base + done, true))) return { status: 'UR' };
        done += n;
      }
      return { status: 'ok' };
    } finally {
      this.releaseBuffer(base);
    }
  }
}
