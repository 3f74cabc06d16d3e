/**
 * Will a scenario run out? The checks `svasim validate` warns with (it does not refuse: running
 * out is an outcome a run reports, machine/failures.ts), on the machine the scenario builds:
 *
 * - PASIDs. One PASID space is shared by every unit and device (spec §2.1 step 7): a bind
 *   allocates the lowest free PASID in [1, pasid_max − 1] (PASID 0 is reserved for RID2PASID),
 *   pasid_max = min(2^device pasidBits, 2^iommu.pasidBits, 2^20). Every client process holds
 *   one PASID while bound and a slot's next process binds only after the previous one
 *   unbound, so `clients.count` PASIDs are in use at the peak. More clients on devices of a
 *   width than that width leaves is certain exhaustion; more clients in all than the narrowest
 *   width leaves may exhaust (wider devices' clients can hold the low PASIDs).
 * - Frames. Measured, not guessed: one client process is set up on the built machine the way
 *   the clients do (buffers mapped, prefaulted as configured), then every buffer page is
 *   touched, and the frames each step took (pages and page tables) are counted. The peak is
 *   the machine's own tables + `clients.count` fully touched processes + the devices' PASID
 *   leaf tables; below the set-up need the run certainly runs out while its clients prefault,
 *   below the peak it likely does once the devices touch the buffers.
 *
 * Not counted: frames of a process that exits while bound and waits for its unbind (its pages
 * are freed at exit, only its root table waits).
 */

import { PASID_ENTRY_BYTES } from '../layout/index.js';
import type { Scenario } from '../scenario/types.js';
import type { System } from './system.js';

/** PASIDs one 4 KiB PASID leaf table covers. */
const PASIDS_PER_TABLE = 4096 / PASID_ENTRY_BYTES;

/** The largest PASID space of the v5.8 allocator: 2^20. */
const PASID_SPACE = 2 ** 20;

/** What a scenario may run out of, one warning a line (empty: nothing expected to run out). */
export function exhaustionWarnings(sys: System, sc: Scenario): string[] {
  return [...pasidWarnings(sc), ...frameWarnings(sys, sc)];
}

/** The width that limits each device's PASIDs, and how many it leaves. */
interface DeviceWidth {
  /** Usable PASIDs: pasid_max − 1. */
  readonly pasids: number;
  /** The scenario field that sets it. */
  readonly field: string;
  readonly bits: number;
}

function deviceWidths(sc: Scenario): DeviceWidth[] {
  const out: DeviceWidth[] = [];
  for (const [g, group] of sc.devices.entries()) {
    const iommuLimits = sc.iommu.pasidBits <= group.pasidBits;
    const bits = Math.min(sc.iommu.pasidBits, group.pasidBits);
    const pasidMax = Math.min(2 ** bits, PASID_SPACE);
    const field = iommuLimits ? 'iommu.pasidBits' : `devices[${g}].pasidBits`;
    for (let i = 0; i < group.count; i++) out.push({ pasids: pasidMax - 1, field, bits });
  }
  return out;
}

function pasidWarnings(sc: Scenario): string[] {
  const widths = deviceWidths(sc);
  if (widths.length === 0) return [];
  // client i binds device i mod n
  const clientsOn = new Array<number>(widths.length).fill(0);
  for (let i = 0; i < sc.clients.count; i++) clientsOn[i % widths.length]!++;
  const used = widths.filter((_, d) => clientsOn[d]! > 0);
  if (used.length === 0) return [];
  const need = (n: number): number => Math.ceil(Math.log2(n + 1));
  // certain: the clients of devices at most this wide outnumber the PASIDs that width leaves
  for (const w of [...new Set(used.map((u) => u.pasids))].sort((a, b) => a - b)) {
    const clients = widths.reduce((n, u, d) => n + (u.pasids <= w ? clientsOn[d]! : 0), 0);
    if (clients > w) {
      const field = used.find((u) => u.pasids === w)!;
      return [
        `${field.field} ${field.bits} leaves ${w} PASID${w === 1 ? '' : 's'} (1..${w}; PASID 0 is ` +
          `reserved) for the ${clients} clients bound at once: binds will fail ` +
          `(ENOSPC) and those clients wait and retry; raise it to ${need(clients)} or more, or lower ` +
          'clients.count',
      ];
    }
  }
  const narrowest = used.reduce((a, b) => (b.pasids < a.pasids ? b : a));
  if (sc.clients.count > narrowest.pasids) {
    return [
      `${narrowest.field} ${narrowest.bits} leaves ${narrowest.pasids} PASIDs and the ` +
        `${sc.clients.count} clients share one PASID space: clients of wider devices may hold ` +
        `the low PASIDs, so binds may fail (ENOSPC); raise it to ${need(sc.clients.count)} or more`,
    ];
  }
  return [];
}

/** Frames one client process takes: set up as configured, then with every page touched. */
interface ProcessFrames {
  readonly setUp: number;
  readonly touched: number;
}

/**
 * Sets up one client process on `sys` and counts its frames (see the file header); null when
 * the memory cannot hold even one.
 */
function measureProcess(sys: System, sc: Scenario): ProcessFrames | null {
  const mem = sys.memory;
  const before = mem.framesInUse;
  const { count, size, prefault } = sc.clients.buffers;
  let p: ReturnType<System['createProcess']> | null = null;
  try {
    p = sys.createProcess();
    const buffers: number[] = [];
    for (let b = 0; b < count; b++) buffers.push(p.mmap({ length: size, prot: 'rw' }));
    for (const [b, base] of buffers.entries()) {
      if (prefault === 'all' || (prefault === 'src' && b === 0)) p.fillPages(base, size, () => 1);
    }
    const setUp = mem.framesInUse - before;
    for (const base of buffers) p.fillPages(base, size, () => 1);
    return { setUp, touched: mem.framesInUse - before };
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOMEM') throw e;
    return null;
  } finally {
    p?.exit();
  }
}

function frameWarnings(sys: System, sc: Scenario): string[] {
  const usable = sys.memory.totalFrames - 1; // frame 0 is reserved
  const own = sys.memory.framesInUse;
  const clients = sc.clients.count;
  const per = measureProcess(sys, sc);
  const raise = (n: number): string => `raise memory.frames to ${n + 1} or more`;
  if (per === null) {
    return [
      `memory.frames ${sc.memory.frames} cannot hold one client's buffers and page tables ` +
        `beside the machine's own ${own} frames: every client runs out (ENOMEM); ` +
        'raise memory.frames',
    ];
  }
  // each device's PASID leaf tables beyond the first (allocated at probe for the RID2PASID
  // entry, so among the machine's own frames): its clients' PASIDs lie in 1..clients
  const leafTables = sys.devices.length * (Math.ceil((clients + 1) / PASIDS_PER_TABLE) - 1);
  const setUpPeak = own + clients * per.setUp + leafTables;
  const peak = own + clients * per.touched + leafTables;
  const parts = (frames: number): string =>
    `the machine's own ${own}, ${clients} clients × ${frames} (buffers and page tables)` +
    (leafTables > 0 ? `, more PASID tables up to ${leafTables}` : '');
  if (usable < setUpPeak) {
    return [
      `memory.frames ${sc.memory.frames} is below what the clients take to set up ` +
        `(${setUpPeak} frames: ${parts(per.setUp)}): prefaults will run out (ENOMEM) and ` +
        `those clients exit and retry; ${raise(setUpPeak)}`,
    ];
  }
  if (usable < peak) {
    return [
      `memory.frames ${sc.memory.frames} is below the peak once every buffer page is touched ` +
        `(${peak} frames: ${parts(per.touched)}): page faults will likely run out (ENOMEM) ` +
        `and fail their jobs; ${raise(peak)}`,
    ];
  }
  return [];
}
