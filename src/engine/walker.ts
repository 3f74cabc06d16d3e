/**
 * First-level (first-stage) page walker (spec §3.2, §6.1; VTD 3.6, 9.7): walks the process's
 * x86-64 page tables in simulated memory from FSPTPTR, starting below the deepest level the
 * paging-structure cache holds, accumulating permissions (W and U are the AND of every
 * level's R/W and U/S; XD the OR), and setting A (and D for writes) on the leaf as hardware
 * does. The functional walk happens when the request is looked up; its timing is modelled by
 * a limited number of walk slots and a miss-status table that merges concurrent misses to the
 * same page (STYLE: gem5 hazard4k / Akita MSHR).
 *
 * Not modelled: reserved-bit checks in first-stage entries (SFS.3), 1 GiB leaves, A/D on
 * non-leaf entries, extended-access (EAFE), page-walk snooping.
 */

import {
  FaultReason,
  PTE_A,
  PTE_D,
  PTE_HI_XD,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_US,
  ptePfn,
} from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';
import { Perm } from '../sim/message.js';
import type { PagingStructureCache } from './psc.js';

const MSHR_SLOTS = 256;
/** Pages covered by one entry at each level (index = level). */
const LEVEL_SPAN = [0, 1, 512, 512 ** 2, 512 ** 3, 512 ** 4];

/** Page walker with walk slots and miss merging. */
export class FirstLevelWalker {
  private readonly mem: PhysicalMemory;
  private readonly psc: PagingStructureCache;
  private readonly walkLevelNs: number;
  private readonly slotFree: Float64Array;
  private readonly mshrDid = new Int32Array(MSHR_SLOTS).fill(-1);
  private readonly mshrPasid = new Int32Array(MSHR_SLOTS);
  private readonly mshrVpn = new Float64Array(MSHR_SLOTS);
  private readonly mshrDone = new Float64Array(MSHR_SLOTS);

  /** Outputs of the last {@link walk}. */
  outPfn = 0;
  outLeafPfn = 0;
  /** 0 = 4 KiB, 1 = 2 MiB. */
  outSize = 0;
  outPerms = 0;
  /** Fault reason of the walk, 0 when a present leaf was found. */
  outFault = 0;
  /** Table levels read from memory (those the paging-structure cache did not cover). */
  outLevelsRead = 0;

  /** Walks started (counted for the report). */
  walks = 0;

  constructor(
    mem: PhysicalMemory,
    psc: PagingStructureCache,
    walkers: number,
    walkLevelNs: number,
  ) {
    this.mem = mem;
    this.psc = psc;
    this.walkLevelNs = walkLevelNs;
    this.slotFree = new Float64Array(Math.max(1, walkers));
  }

  /**
   * Functional walk of `vpn` under the table rooted at `rootPfn` with `levels` levels; fills
   * the out* fields. Returns true when a present leaf was found. `write` sets D on the leaf
   * when the walk grants write permission.
   */
  walk(
    did: number,
    pasid: number,
    rootPfn: number,
    levels: number,
    vpn: number,
    write: boolean,
  ): boolean {
    const u32 = this.mem.u32;
    let level = this.psc.lookupDeepest(did, pasid, vpn, levels);
    let table = this.psc.lastPfn;
    if (level < 0) {
      level = levels;
      table = rootPfn;
    }
    let w = 1;
    let u = 1;
    let xd = 0;
    let read = 0;
    for (;;) {
      const prefix = Math.floor(vpn / LEVEL_SPAN[level]!);
      const index = prefix - Math.floor(prefix / 512) * 512;
      const wi = table * 1024 + index * 2;
      const lo = u32[wi]!;
      const hi = u32[wi + 1]!;
      read++;
      if ((lo & PTE_P) === 0) {
        this.outFault = FaultReason.SFS_2;
        this.outLevelsRead = read;
        return false;
      }
      w &= (lo & PTE_RW) !== 0 ? 1 : 0;
      u &= (lo & PTE_US) !== 0 ? 1 : 0;
      xd |= (hi & PTE_HI_XD) !== 0 ? 1 : 0;
      const pfn = ptePfn(lo, hi);
      if (level === 1 || (level === 2 && (lo & PTE_PS) !== 0)) {
        const big = level === 2;
        let next = lo | PTE_A;
        if (write && w) next |= PTE_D;
        if (next !== lo) u32[wi] = next >>> 0;
        this.outLeafPfn = pfn;
        this.outPfn = big ? pfn + (vpn % 512) : pfn;
        this.outSize = big ? 1 : 0;
        this.outPerms = Perm.R | (w ? Perm.W : 0) | (xd ? 0 : Perm.X) | (u ? Perm.U : Perm.S);
        this.outFault = 0;
        this.outLevelsRead = read;
        return true;
      }
      this.psc.insert(did, pasid, level, vpn, pfn);
      table = pfn;
      level--;
    }
  }

  /**
   * Timing of a walk that reads `levelsRead` levels and may start at `readyNs`: takes the
   * earliest free walk slot; returns the completion time.
   */
  schedule(readyNs: number, levelsRead: number): number {
    let best = 0;
    const slots = this.slotFree;
    for (let i = 1; i < slots.length; i++) if (slots[i]! < slots[best]!) best = i;
    const start = Math.max(readyNs, slots[best]!);
    const done = start + levelsRead * this.walkLevelNs;
    slots[best] = done;
    this.walks++;
    return done;
  }

  /** Completion time of an in-flight walk of the same page, or −1. */
  inFlight(did: number, pasid: number, vpn: number, nowNs: number): number {
    const i = this.mshrIndex(pasid, vpn);
    if (this.mshrDid[i] === did && this.mshrPasid[i] === pasid && this.mshrVpn[i] === vpn) {
      const done = this.mshrDone[i]!;
      if (done > nowNs) return done;
    }
    return -1;
  }

  /** Records an in-flight walk of a page until `doneNs`. */
  track(did: number, pasid: number, vpn: number, doneNs: number): void {
    const i = this.mshrIndex(pasid, vpn);
    this.mshrDid[i] = did;
    this.mshrPasid[i] = pasid;
    this.mshrVpn[i] = vpn;
    this.mshrDone[i] = doneNs;
  }

  /** Forgets in-flight walks of a PASID (their results were invalidated). */
  forgetPasid(did: number, pasid: number): void {
    for (let i = 0; i < MSHR_SLOTS; i++) {
      if (this.mshrDid[i] === did && this.mshrPasid[i] === pasid) this.mshrDid[i] = -1;
    }
  }

  private mshrIndex(pasid: number, vpn: number): number {
    return ((vpn >>> 0) * 31 + pasid * 131) & (MSHR_SLOTS - 1);
  }
}
