/**
 * The invariants of DESIGN §8, checked during a run and at its end: DMA reaches only memory
 * of a process bound to that (device, PASID) and never through a stale translation; every
 * LPIG=1 page request answered once and no response for a group not outstanding; binds and
 * unbinds balance — handles, PASIDs, notifiers, mms and frames all back to zero; no message
 * slot leaked.
 *
 * Hostile accelerators (scenario `adversary`): their translated DMA is not held to the first
 * invariant. VT-d passes a translated request's address through unchecked (the ATS trust
 * gap), so what a hostile stream reaches that way is counted as `atsTrustBreaches`, the
 * hardware's outcome, not a model violation. Their page requests are held to the same
 * one-response rule as honest ones.
 *
 * DMA through a translation the kernel's own flushes left stale (profile v5.8's unaligned
 * range flush and `svm->iommu` routing, spec §5.1, §2.1.1) is the kernel's behaviour too: it
 * is counted as `staleByKernel`, for the run and the device; any staleness the kernel's
 * ledger does not explain stays a `stale-translation` violation (access-check.ts).
 */

import type { Adversary } from '../device/adversary.js';
import { Counter } from '../metrics/counters.js';
import type { Violation } from '../report/types.js';
import { dmaAccessViolation, STALE_BY_KERNEL } from './access-check.js';
import type { System } from './system.js';

/** Violations kept per run (the count of checks goes on). */
const MAX_VIOLATIONS = 100;

/** Collects the invariant checks and violations of one run. */
export class InvariantChecker {
  readonly violations: Violation[] = [];
  /** Checks made. */
  checked = 0;
  private readonly sys: System;
  private readonly devIndexByRid = new Map<number, number>();
  /** Frames in use once the machine is built: what must remain after every client is gone. */
  private readonly baselineFrames: number;
  /** PASID leaf tables among them (the RID2PASID entries' tables, allocated at probe). */
  private readonly baselineLeafTables: number;

  /** The hostile streams of the run's devices (scenario `adversary`), checked at the end. */
  private readonly adversaries: readonly Adversary[];

  /**
   * Call once the machine is built; installs the DMA check at the units, recording instead of
   * throwing. A run checks translated DMA only: its untranslated DMA is translated by the unit
   * from PASID entries the run's own kernel wrote for its own processes, and checking it would
   * add a page walk to every request of the data path (a quarter of the wall time of the
   * translation-heavy benchmark) — the public API, where tables can come from misuse, checks it.
   */
  constructor(sys: System, adversaries: readonly Adversary[] = []) {
    this.sys = sys;
    this.adversaries = adversaries;
    this.baselineFrames = sys.memory.framesInUse;
    this.baselineLeafTables = leafTables(sys);
    for (const d of sys.devices) this.devIndexByRid.set(d.rid, d.index);
    sys.accessCheck = (rid, pasid, vpn, pfn, write, hostile) => {
      if (hostile) this.breach(rid);
      else this.checkAccess(rid, pasid, vpn, pfn, write);
    };
    sys.checkUntranslatedDma = false;
  }

  /** Records a violation. */
  violate(what: string, detail: string): void {
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push({ what, detail });
  }

  /**
   * A hostile stream's translated DMA reached memory: its address never came from a
   * translation the unit gave (the adversary makes it up), so it is a breach through the ATS
   * trust gap — counted, for the run and the device.
   */
  private breach(rid: number): void {
    const devIndex = this.devIndexByRid.get(rid)!;
    this.sys.counters.add(Counter.atsTrustBreaches);
    this.sys.deviceCounters[devIndex]!.add(Counter.atsTrustBreaches);
  }

  /** DESIGN §8, checked where a translated DMA reaches the unit (see access-check.ts). */
  private checkAccess(rid: number, pasid: number, vpn: number, pfn: number, write: boolean): void {
    this.checked++;
    const v = dmaAccessViolation(this.sys, rid, pasid, vpn, pfn, write);
    if (v === STALE_BY_KERNEL) this.sys.staleByKernel(rid);
    else if (v !== null) this.violate(v.what, v.detail);
  }

  /**
   * The checks at the end of a run, over what this thread hosts: `hosts(p)` says whether it
   * runs partition `p` (0 is the engine side).
   */
  finalChecks(hosts: (partition: number) => boolean): void {
    const sys = this.sys;
    if (hosts(0)) this.engineChecks();
    // counted once, by the engine side, so every runtime counts the same checks
    if (hosts(0)) this.checked += 1;
    for (const d of sys.devices) {
      if (!hosts(sys.partitionOf(d.index))) continue;
      if (d.priActive && d.outstandingPageRequests > 0) {
        this.violate(
          'page-response-missing',
          `device ${d.rid.toString(16)} has ${d.outstandingPageRequests} page request groups unanswered`,
        );
      }
      if (d.unexpectedResponses > 0) {
        this.violate(
          'unexpected-response',
          `device ${d.rid.toString(16)} received ${d.unexpectedResponses} responses for groups it did not have outstanding`,
        );
      }
    }
    for (const a of this.adversaries) {
      if (!hosts(sys.partitionOf(a.device.index))) continue;
      const rid = a.device.rid.toString(16);
      if (a.outstandingGroups > 0) {
        this.violate(
          'page-response-missing',
          `hostile stream of device ${rid} has ${a.outstandingGroups} page request groups unanswered`,
        );
      }
      if (a.unexpectedResponses > 0) {
        this.violate(
          'unexpected-response',
          `hostile stream of device ${rid} received ${a.unexpectedResponses} responses it did not expect`,
        );
      }
    }
    let slots = 0;
    const sims = sys.world ? sys.world.sims : [sys.sim];
    for (const [p, s] of sims.entries()) if (hosts(p)) slots += s.pool.inUse;
    if (slots !== 0) this.violate('message-leak', `${slots} message slots still allocated`);
  }

  /** What the engine side can check at the end: bonds, PASIDs, notifiers, mms, frames. */
  private engineChecks(): void {
    const sys = this.sys;
    this.checked += 5;
    for (const e of sys.kernelErrors)
      this.violate('kernel-thread', `${e.what}: ${(e.error as Error).message}`);
    if (sys.sva.liveBonds !== 0)
      this.violate('bonds', `${sys.sva.liveBonds} handles still bound at the end`);
    if (sys.sva.pasidsInUse !== 0)
      this.violate('pasids', `${sys.sva.pasidsInUse} PASIDs still allocated at the end`);
    // a process whose mm was freed has exited with no notifier and mm_count 0: only the
    // ones whose mm still exists can fail these two checks
    for (const p of sys.processes) {
      if (p.mmuNotifiers.length > 0)
        this.violate('notifiers', `process ${p.id} still has ${p.mmuNotifiers.length} notifiers`);
      if (p.mmCountRefs !== 0)
        this.violate('mm-leak', `process ${p.id} mm_count ${p.mmCountRefs} at the end`);
    }
    // every frame a client used came back: what remains is the machine's own tables, and the
    // PASID leaf tables binds allocated (the driver keeps them)
    const expected = this.baselineFrames + leafTables(sys) - this.baselineLeafTables;
    if (sys.memory.framesInUse !== expected) {
      this.violate(
        'frame-leak',
        `${sys.memory.framesInUse} frames in use at the end, expected ${expected}`,
      );
    }
  }
}

/** PASID leaf tables the driver holds for every device. */
function leafTables(sys: System): number {
  return sys.devices.reduce((n, d) => n + d.info.leafTables.size, 0);
}
