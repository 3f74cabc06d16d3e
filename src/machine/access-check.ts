/**
 * The DMA isolation invariant of DESIGN §8, for one access: a DMA that reached frame `pfn`
 * for page `vpn` of (rid, PASID) must land in the frame the process bound to that (device,
 * PASID) maps at that page — unless an invalidation of that process is still running, when
 * the old translation is legitimate (spec §5.1: the flush completes before the frames are
 * reused).
 *
 * The two sides come from different places, which is what makes the check a check: the unit
 * reached `pfn` through its own state (device TLB, IOTLB, the PASID entry's FSPTPTR in
 * simulated memory and the tables it points to), while the expectation comes from the
 * kernel's bookkeeping — which mm the SVA layer bound at that PASID, for which devices — and
 * that mm's own page-table object. A PASID entry pointing at another process's tables, a
 * stale cache entry or a process of another system (whose frame numbers mean nothing in this
 * memory) all make them disagree.
 *
 * A mismatch is kernel behaviour, not a violation, when the profile's own flushes left that
 * translation stale (`SvaLayer.kernelLeftStale`, asked only once the mm's mapping differs):
 * v5.8's unaligned range flush keeps the pages past its aligned block cached, and its
 * `svm->iommu` routing never flushes a second unit of a bond (spec §5.1, §2.1.1, §9). Such an
 * access is {@link STALE_BY_KERNEL}, counted as `staleByKernel`; any other mismatch is still
 * a `stale-translation` violation.
 *
 * Used twice: the public System throws on a violation (a broken invariant), and the scenario
 * runner's InvariantChecker records it; both count the accesses stale by the kernel.
 */

import type { Violation } from '../report/types.js';
import type { System } from './system.js';

const hex = (n: number): string => n.toString(16);

/** The verdict on a DMA through a translation the kernel's own flushes left stale. */
export const STALE_BY_KERNEL = 'stale-by-kernel';

/** What a DMA's check found: nothing wrong (null), a violation, or kernel-left staleness. */
export type AccessVerdict = Violation | typeof STALE_BY_KERNEL | null;

/**
 * What is wrong with a DMA of device `rid` at `pasid` for page `vpn` that reached frame
 * `pfn` (a write when `write`): null when the bound process maps exactly that,
 * {@link STALE_BY_KERNEL} when it does not but the kernel's flushes left that page stale for
 * the device, else the violation. Allocates nothing on the path that finds no violation,
 * besides the page-table lookup's result.
 */
export function dmaAccessViolation(
  sys: System,
  rid: number,
  pasid: number,
  vpn: number,
  pfn: number,
  write: boolean,
): AccessVerdict {
  const dev = sys.deviceOf(rid);
  if (dev === undefined) {
    return {
      what: 'dma-unknown-device',
      detail: `a DMA of rid ${hex(rid)} PASID ${pasid} (vpn ${hex(vpn)}) reached pfn ${hex(pfn)}, but no device has that rid`,
    };
  }
  const svm = sys.sva.pasidBinding(pasid);
  // an invalidation of this mm is under way: the old translation is still legitimate
  if (svm !== undefined && svm.flushesRunning > 0) return null;
  let bound = false;
  if (svm !== undefined) {
    const devs = svm.devs;
    for (let i = 0; i < devs.length; i++) if (devs[i]!.info === dev.info) bound = true;
  }
  if (!bound) {
    return {
      what: 'dma-unbound',
      detail: `device ${hex(rid)} used PASID ${pasid} (vpn ${hex(vpn)}) while not bound`,
    };
  }
  // a supervisor bind (mm null) binds the kernel's own address space
  const mm = svm!.mm ?? sys.initMm;
  if (mm.mem !== sys.memory) {
    return {
      what: 'dma-foreign-mm',
      detail: `device ${hex(rid)} PASID ${pasid} vpn ${hex(vpn)} reached pfn ${hex(pfn)} of this system's memory, but the bound process ${mm.id} keeps its page tables in another system's memory`,
    };
  }
  const leaf = mm.alive ? mm.pageTable.lookup(vpn) : null;
  if (leaf === null || !leaf.present || leaf.pfn !== pfn || (write && !leaf.write)) {
    if (sys.sva.kernelLeftStale?.(dev.info.iommu.unit.index, rid, pasid, vpn) === true) {
      return STALE_BY_KERNEL;
    }
    return {
      what: 'stale-translation',
      detail: `at ${sys.sim.nowNs} ns: device ${hex(rid)} PASID ${pasid} vpn ${hex(vpn)} → pfn ${hex(pfn)}${write ? ' (write)' : ''}, but the bound process ${mm.id} maps ${leaf?.present ? `${hex(leaf.pfn)}${leaf.write ? ' rw' : ' r'}` : 'nothing'}`,
    };
  }
  return null;
}
