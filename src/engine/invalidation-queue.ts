/**
 * The VT-d invalidation queue, hardware side (spec §7; VTD 6.5.2).
 *
 * Software writes 256-bit descriptors into a ring in (simulated) physical memory and moves
 * the tail register IQT; hardware fetches from IQH, checks type and reserved bits, and
 * executes descriptors one after another in modelled time (QEMU `vtd_process_inv_desc`
 * shape: fetch, check, dispatch per type). The effect of each descriptor is applied when it
 * completes, through {@link InvalidationTargets}. Device-TLB invalidations are sent to the
 * device and complete when its completion message returns; an Invalidation Wait completes
 * only after every earlier descriptor (device-TLB completions included), then writes its
 * status data to memory and signals {@link statusWritten}, which `qi_submit_sync` waits on.
 *
 * Errors (VTD 6.5.2.11): a descriptor with an unknown type or reserved bits set raises IQE;
 * the head stops at it and nothing further is fetched until software clears IQE.
 *
 * Not modelled: device-TLB invalidation time-out (ITE), invalid completion (ICE), the
 * completion interrupt (IF), concurrent execution of independent invalidations.
 */

import {
  checkInvDesc,
  decodeInvDesc,
  getField,
  INV_DESC_BYTES,
  type InvDesc,
  invDescCodeU32,
  isInvDescValidU32,
  QI_IWD_TYPE,
  QI_PGRP_RESP_TYPE,
  readQwords,
  WAIT_DESC,
} from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';
import { Completion } from '../sim/kthread.js';

/** One executed descriptor as it appears in `iommu.invalidationLog`. */
export type InvLogEntry = InvDesc & { readonly raw: readonly bigint[]; readonly timeNs: number };

/** What executing a descriptor does; the unit wires the caches and devices behind it. */
export interface InvalidationTargets {
  /**
   * Applies descriptor `code` whose words start at dword `dw` of memory; returns its
   * modelled latency in ns. Device-TLB invalidations return the time to issue the request
   * and call `qi.devtlbIssued()`; their completion arrives through `qi.devtlbCompleted()`.
   */
  execute(code: number, u32: Uint32Array, dw: number, nowNs: number): number;
  /** Schedules the queue's next step after `delayNs`. */
  schedule(delayNs: number): void;
  /** Current simulated time. */
  now(): number;
}

const W = WAIT_DESC.fields;

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
    const u32 = this.mem.u32;
    const dw = this.slotAddress(this.head) / 4;
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
    let latency = 0;
    if (code === QI_IWD_TYPE) {
      if (getField(u32, dw, W.sw)) {
        // Status write: 32-bit status data to the 4-byte aligned status address (VTD 6.5.2.8).
        u32[getField(u32, dw, W.statusAddr)] = getField(u32, dw, W.statusData) >>> 0;
        this.statusWritten.complete();
      }
    } else if (this.targets) {
      latency = this.targets.execute(code, u32, dw, now);
    } else if (code === QI_PGRP_RESP_TYPE) {
      // a bare queue has nobody to deliver responses to
    }
    this.head = (this.head + 1) % this.entries;
    if (this.targets) {
      if (this.head === this.tail) this.busy = false;
      else this.targets.schedule(latency);
    }
  }
}
