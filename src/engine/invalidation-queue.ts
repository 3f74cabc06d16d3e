/**
 * The VT-d invalidation queue, hardware side (spec §7; VTD 6.5.2).
 *
 * Software writes 256-bit descriptors into a ring in (simulated) physical memory and moves
 * the tail register IQT; hardware fetches from IQH, checks type and reserved bits, and
 * executes descriptors one after another in modelled time, in QEMU's `vtd_process_inv_desc`
 * shape: fetch, check, dispatch per type to one `process…` method each —
 *
 * - context-cache (1h): the PASID-cache entries of the device (G = 11b) or all of them (the
 *   model keeps context fields with PASID entries);
 * - PASID-cache (7h): PASID-selective, domain-selective or global;
 * - PASID-based IOTLB (6h): page-selective-within-PASID over IOTLB and PSC (IH spares the
 *   PSC), or PASID-selective over IOTLB, PSC and the walker's in-flight walks;
 * - device-TLB (3h, 8h) and page group response (9h): forwarded to the function named by
 *   SID / RID; a device-TLB invalidation completes when the function's completion returns;
 * - invalidation wait (5h): completes only after every earlier descriptor (device-TLB
 *   completions included), then writes its status data to memory and signals
 *   {@link InvalidationQueue.statusWritten}, which `qi_submit_sync` waits on;
 * - IOTLB (2h) and IEC (4h): take time and change nothing (in scalable mode type 2h does not
 *   touch first-stage entries; interrupt remapping is not modelled).
 *
 * The caches, the devices and the clock are reached through {@link InvalidationTargets},
 * which the unit wires; a queue without targets completes every descriptor at once and only
 * performs wait status writes.
 *
 * Errors (VTD 6.5.2.11): a descriptor with an unknown type or reserved bits set raises IQE;
 * the head stops at it and nothing further is fetched until software clears IQE.
 *
 * Not modelled: device-TLB invalidation time-out (ITE), invalid completion (ICE), the
 * completion interrupt (IF), the page-drain (PD) and fence (FN) semantics beyond in-order
 * execution, concurrent execution of independent invalidations.
 */

import {
  CONTEXT_CACHE_INV,
  checkInvDesc,
  DEVTLB_INV,
  decodeInvDesc,
  getField,
  INV_DESC_BYTES,
  type InvDesc,
  invDescCodeU32,
  isInvDescValidU32,
  PAGE_GROUP_RESPONSE,
  PASID_CACHE_INV,
  PDEVTLB_INV,
  PIOTLB_INV,
  QI_CC_TYPE,
  QI_DEIOTLB_TYPE,
  QI_DIOTLB_TYPE,
  QI_EIOTLB_TYPE,
  QI_GRAN_PSI_PASID,
  QI_IWD_TYPE,
  QI_PC_ALL_PASIDS,
  QI_PC_PASID_SEL,
  QI_PC_TYPE,
  QI_PGRP_RESP_TYPE,
  readQwords,
  WAIT_DESC,
} from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';
import { Completion } from '../sim/kthread.js';
import { MsgKind } from '../sim/message.js';
import type { Iotlb } from './iotlb.js';
import type { PasidCache } from './pasid-cache.js';
import type { PagingStructureCache } from './psc.js';
import type { FirstLevelWalker } from './walker.js';

/** One executed descriptor as it appears in `iommu.invalidationLog`. */
export type InvLogEntry = InvDesc & { readonly raw: readonly bigint[]; readonly timeNs: number };

/** What descriptors act on; the unit wires its caches, walker, devices and timer behind it. */
export interface InvalidationTargets {
  readonly pasidCache: PasidCache;
  readonly iotlb: Iotlb;
  readonly psc: PagingStructureCache;
  /** Its in-flight walks of a PASID are forgotten by a PASID-selective P_IOTLB. */
  readonly walker: FirstLevelWalker;
  /** Time to issue a descriptor another agent completes (device-TLB invalidation, response). */
  readonly issueNs: number;
  /** Samples the latency of one IOTLB / PASID-cache / context-cache invalidation (and reports it). */
  cacheInvalidationNs(): number;
  /**
   * Sends the 8 descriptor dwords at `u32[dw]` to the function with requester id `rid` as a
   * message of `kind` (`MsgKind.DEVTLB_INV` or `MsgKind.PGRP_RESP`); false when no function
   * has that requester id.
   */
  forward(rid: number, kind: number, u32: Uint32Array, dw: number, nowNs: number): boolean;
  /** Schedules the queue's next step after `delayNs`. */
  schedule(delayNs: number): void;
  /** Current simulated time. */
  now(): number;
}

const W = WAIT_DESC.fields;
const CC = CONTEXT_CACHE_INV.fields;
const PC = PASID_CACHE_INV.fields;
const PI = PIOTLB_INV.fields;
const DEVTLB = DEVTLB_INV.fields;
const PDEVTLB = PDEVTLB_INV.fields;
const RESP = PAGE_GROUP_RESPONSE.fields;

/** Hardware state of one invalidation queue. */
export class InvalidationQueue {
  /** IQA: base frame of the queue and its length in descriptors (0 = queue not enabled). */
  basePfn = 0;
  entries = 0;
  /** IQH / IQT as descriptor indexes (the registers hold index × 32 in bits 18:5). */
  head = 0;
  tail = 0;
  /** FSTS.IQE: a descriptor at `head` was rejected. */
  iqe = false;
  /** Why the last IQE was raised (for error messages). */
  iqeReason = '';
  /** Keep decoded descriptors in {@link log} (costs an allocation per descriptor). */
  logging = true;
  /** Every descriptor executed, in order, with its raw qwords, while logging is on. */
  readonly log: InvLogEntry[] = [];
  /** Descriptors executed. */
  executed = 0;
  /** Completes after every status write of an Invalidation Wait and on IQE; re-armed by waiters. */
  readonly statusWritten = new Completion();
  /** Device-TLB invalidations sent and not yet completed. */
  private devtlbPending = 0;
  /** A step is scheduled or the queue waits for device-TLB completions. */
  private busy = false;
  private waitingForDevtlb = false;
  private readonly mem: PhysicalMemory;
  private targets: InvalidationTargets | null = null;

  constructor(mem: PhysicalMemory) {
    this.mem = mem;
  }

  /** Connects the queue to what its descriptors act on. */
  attach(targets: InvalidationTargets): void {
    this.targets = targets;
  }

  /** Programs IQA (queue base and size); resets head and tail as enabling the queue does. */
  setQueue(basePfn: number, entries: number): void {
    this.basePfn = basePfn;
    this.entries = entries;
    this.head = 0;
    this.tail = 0;
  }

  /** Software writes IQT: hardware starts fetching if idle. */
  writeTail(tail: number): void {
    if (!Number.isInteger(tail) || tail < 0 || tail >= this.entries) {
      throw new Error(`IQT write out of range: ${tail} (queue of ${this.entries} descriptors)`);
    }
    this.tail = tail;
    this.kick();
  }

  /** Software clears FSTS.IQE (write 1 to clear): fetching resumes at the head. */
  clearIqe(): void {
    this.iqe = false;
    this.iqeReason = '';
    this.kick();
  }

  /** Byte address of descriptor slot `index`. */
  slotAddress(index: number): number {
    return this.basePfn * 4096 + index * INV_DESC_BYTES;
  }

  /** A device-TLB invalidation was sent to a device. */
  devtlbIssued(): void {
    this.devtlbPending++;
  }

  /** A device-TLB invalidation completion arrived. */
  devtlbCompleted(): void {
    if (this.devtlbPending <= 0)
      throw new Error('device-TLB invalidation completion without a pending request');
    this.devtlbPending--;
    if (this.devtlbPending === 0 && this.waitingForDevtlb) {
      this.waitingForDevtlb = false;
      this.step();
    }
  }

  private kick(): void {
    if (this.busy || this.iqe || this.head === this.tail) return;
    this.busy = true;
    if (this.targets) this.targets.schedule(0);
    else this.runUnattached();
  }

  /** Without targets (a bare queue) descriptors complete at once. */
  private runUnattached(): void {
    while (this.busy) this.step();
  }

  /** Executes the descriptor at the head; called by the unit's timer. */
  step(): void {
    if (this.iqe || this.head === this.tail) {
      this.busy = false;
      return;
    }
    // Fetch.
    const u32 = this.mem.u32;
    const dw = this.slotAddress(this.head) / 4;
    // Type and reserved-bit check.
    if (!isInvDescValidU32(u32, dw)) {
      const problem = checkInvDesc(readQwords(u32, dw, 4));
      this.iqe = true;
      this.iqeReason = problem?.message ?? 'invalid descriptor';
      this.busy = false;
      // The kernel's qi_submit_sync polls the fault status while it spins: wake it.
      this.statusWritten.complete();
      return;
    }
    const code = invDescCodeU32(u32, dw);
    if (code === QI_IWD_TYPE && this.devtlbPending > 0) {
      // An Invalidation Wait completes only after every earlier descriptor completed.
      this.waitingForDevtlb = true;
      return;
    }
    const now = this.targets ? this.targets.now() : 0;
    if (this.logging) {
      const raw = readQwords(u32, dw, 4);
      this.log.push(
        Object.freeze({
          ...decodeInvDesc(raw),
          raw: Object.freeze(raw),
          timeNs: now,
        }) as InvLogEntry,
      );
    }
    this.executed++;
    // Dispatch.
    const latency = this.process(code, u32, dw, now);
    this.head = (this.head + 1) % this.entries;
    if (this.targets) {
      if (this.head === this.tail) this.busy = false;
      else this.targets.schedule(latency);
    }
  }

  /** Executes the checked descriptor `code` at dword `dw`; returns its latency in ns. */
  private process(code: number, u32: Uint32Array, dw: number, nowNs: number): number {
    if (code === QI_IWD_TYPE) return this.processWait(u32, dw);
    const t = this.targets;
    if (t === null) return 0; // a bare queue completes every other descriptor at once
    switch (code) {
      case QI_CC_TYPE:
        return this.processContextCache(t, u32, dw);
      case QI_PC_TYPE:
        return this.processPasidCache(t, u32, dw);
      case QI_EIOTLB_TYPE:
        return this.processPiotlb(t, u32, dw);
      case QI_DIOTLB_TYPE:
      case QI_DEIOTLB_TYPE:
        return this.processDevtlb(t, code, u32, dw, nowNs);
      case QI_PGRP_RESP_TYPE:
        return this.processPageGroupResponse(t, u32, dw, nowNs);
      default:
        // IOTLB (2h) does not touch first-stage entries in scalable mode; IEC is not modelled.
        return t.cacheInvalidationNs();
    }
  }

  /** Invalidation wait (5h): the status write, 32-bit data to a 4-byte aligned address. */
  private processWait(u32: Uint32Array, dw: number): number {
    if (getField(u32, dw, W.sw)) {
      // Status write (VTD 6.5.2.8).
      u32[getField(u32, dw, W.statusAddr)] = getField(u32, dw, W.statusData) >>> 0;
      this.statusWritten.complete();
    }
    return 0;
  }

  /**
   * Context-cache invalidation (1h): the model keeps context fields with PASID entries, so a
   * device-selective one (G = 11b) drops the device's PASID-cache entries, any other all.
   */
  private processContextCache(t: InvalidationTargets, u32: Uint32Array, dw: number): number {
    if (getField(u32, dw, CC.g) === 3) t.pasidCache.invalidateRid(getField(u32, dw, CC.sid));
    else t.pasidCache.invalidateAll();
    return t.cacheInvalidationNs();
  }

  /** PASID-cache invalidation (7h, spec §7.2): PASID-selective, domain-selective or global. */
  private processPasidCache(t: InvalidationTargets, u32: Uint32Array, dw: number): number {
    const g = getField(u32, dw, PC.g);
    const did = getField(u32, dw, PC.did);
    if (g === QI_PC_PASID_SEL) t.pasidCache.invalidatePasid(did, getField(u32, dw, PC.pasid));
    else if (g === QI_PC_ALL_PASIDS) t.pasidCache.invalidateDomain(did);
    else t.pasidCache.invalidateAll();
    return t.cacheInvalidationNs();
  }

  /**
   * PASID-based IOTLB invalidation (6h, spec §7.3): page-selective-within-PASID over IOTLB
   * and PSC (the PSC kept when IH = 1), else PASID-selective over IOTLB, PSC and the walks.
   */
  private processPiotlb(t: InvalidationTargets, u32: Uint32Array, dw: number): number {
    const did = getField(u32, dw, PI.did);
    const pasid = getField(u32, dw, PI.pasid);
    if (getField(u32, dw, PI.g) === QI_GRAN_PSI_PASID) {
      const vpn = getField(u32, dw, PI.addr);
      const am = getField(u32, dw, PI.am);
      t.iotlb.invalidatePageInPasid(did, pasid, vpn, am);
      t.psc.invalidateRange(did, pasid, vpn, am, getField(u32, dw, PI.ih) === 1);
    } else {
      t.iotlb.invalidatePasid(did, pasid);
      t.psc.invalidatePasid(did, pasid);
      t.walker.forgetPasid(did, pasid);
    }
    return t.cacheInvalidationNs();
  }

  /**
   * Device-TLB invalidation (3h, 8h, spec §7.0, §7.4): sent to the function named by SID; an
   * Invalidation Wait behind it waits for its completion ({@link devtlbCompleted}).
   */
  private processDevtlb(
    t: InvalidationTargets,
    code: number,
    u32: Uint32Array,
    dw: number,
    nowNs: number,
  ): number {
    const sid = getField(u32, dw, code === QI_DIOTLB_TYPE ? DEVTLB.sid : PDEVTLB.sid);
    // no such function: nothing to wait for
    if (t.forward(sid, MsgKind.DEVTLB_INV, u32, dw, nowNs)) this.devtlbIssued();
    return t.issueNs;
  }

  /** Page group response (9h, spec §4.5): sent to the function named by RID. */
  private processPageGroupResponse(
    t: InvalidationTargets,
    u32: Uint32Array,
    dw: number,
    nowNs: number,
  ): number {
    t.forward(getField(u32, dw, RESP.rid), MsgKind.PGRP_RESP, u32, dw, nowNs);
    return t.issueNs;
  }
}
