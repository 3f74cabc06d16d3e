/**
 * The VT-d invalidation queue, hardware side (spec §7; VTD 6.5.2).
 *
 * Software writes 256-bit descriptors into a ring in (simulated) physical memory and moves
 * the tail register IQT; hardware fetches from IQH up to IQT, checks each descriptor's type
 * and reserved bits, and executes it. This model fetches and executes at the doorbell
 * (IQT write): every descriptor completes in order at once. Invalidation Wait writes its
 * status data to the status address in memory and signals {@link statusWritten}, which is
 * what the kernel's `qi_submit_sync` waits for.
 *
 * Errors (VTD 6.5.2.11): a descriptor with an unknown type or reserved bits set raises IQE
 * in FSTS; the head stops at it and nothing further is fetched until software clears IQE.
 *
 * Not modelled yet: execution latency, the IOTLB / PASID-cache / device-TLB effects of each
 * descriptor (the caches they act on belong to the translation engine), device-TLB
 * invalidation time-out (ITE) and invalid completion (ICE), the completion interrupt (IF).
 */

import {
  checkInvDesc,
  decodeInvDesc,
  INV_DESC_BYTES,
  type InvDesc,
  readQwords,
} from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';
import { Completion } from '../sim/kthread.js';

/** One executed descriptor as it appears in `iommu.invalidationLog`. */
export type InvLogEntry = InvDesc & { readonly raw: readonly bigint[] };

/** Where the executed descriptors act; the translation engine provides the real targets. */
export interface InvalidationTargets {
  /** A page group response (type 9h) to deliver to the device with requester id `rid`. */
  pageGroupResponse?(desc: InvLogEntry): void;
}

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
  /** Every descriptor executed, in order, with its raw qwords. */
  readonly log: InvLogEntry[] = [];
  /** Completes after every status write of an Invalidation Wait; re-armed by waiters. */
  readonly statusWritten = new Completion();

  private readonly mem: PhysicalMemory;
  private readonly targets: InvalidationTargets;

  constructor(mem: PhysicalMemory, targets: InvalidationTargets = {}) {
    this.mem = mem;
    this.targets = targets;
  }

  /** Programs IQA (queue base and size); resets head and tail as enabling the queue does. */
  setQueue(basePfn: number, entries: number): void {
    this.basePfn = basePfn;
    this.entries = entries;
    this.head = 0;
    this.tail = 0;
  }

  /** Software writes IQT: hardware fetches and executes every descriptor up to it. */
  writeTail(tail: number): void {
    if (!Number.isInteger(tail) || tail < 0 || tail >= this.entries) {
      throw new Error(`IQT write out of range: ${tail} (queue of ${this.entries} descriptors)`);
    }
    this.tail = tail;
    this.process();
  }

  /** Software clears FSTS.IQE (write 1 to clear): fetching resumes at the head. */
  clearIqe(): void {
    this.iqe = false;
    this.iqeReason = '';
    this.process();
  }

  /** Byte address of descriptor slot `index`. */
  slotAddress(index: number): number {
    return this.basePfn * 4096 + index * INV_DESC_BYTES;
  }

  private process(): void {
    const u32 = this.mem.u32;
    let wroteStatus = false;
    while (!this.iqe && this.head !== this.tail) {
      const raw = readQwords(u32, this.slotAddress(this.head) / 4, 4);
      const problem = checkInvDesc(raw);
      if (problem) {
        this.iqe = true;
        this.iqeReason = problem.message;
        break;
      }
      const desc = decodeInvDesc(raw);
      const entry = Object.freeze({ ...desc, raw: Object.freeze(raw) }) as InvLogEntry;
      this.log.push(entry);
      if (desc.type === 'wait' && desc.sw) {
        // Status write: 32-bit status data to the 4-byte aligned status address (VTD 6.5.2.8).
        u32[desc.statusAddr / 4] = desc.statusData >>> 0;
        wroteStatus = true;
      } else if (desc.type === 'page-group-response') {
        this.targets.pageGroupResponse?.(entry);
      }
      this.head = (this.head + 1) % this.entries;
    }
    if (wroteStatus) this.statusWritten.complete();
  }
}
