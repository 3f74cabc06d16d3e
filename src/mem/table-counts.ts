/**
 * Used-entry counts of page-table frames, kept per frame of simulated memory instead of in a
 * map per address space.
 *
 * Every process's page table counts the used entries of each of its table frames (it frees a
 * table when its count drops to 0). A `Map` per process cost ~270 bytes for the four tables a
 * small process has; here one `Uint16Array` of counts (a table has at most 512 entries) and
 * one `Int32Array` of owners, shared by every page table of a `PhysicalMemory` and indexed by
 * pfn, hold them: 6 bytes per frame of the machine, nothing per process. The owner word keeps
 * the map's meaning exactly: a frame has a count in one page table only, the one that set it.
 *
 * Not provided: iteration, and counts above 65535.
 */

import type { PhysicalMemory } from './physical-memory.js';

/** Counts and owners of one memory's frames, and the last owner id handed out. */
interface Shared {
  readonly count: Uint16Array;
  readonly owner: Int32Array;
  lastId: number;
}

const byMemory = new WeakMap<PhysicalMemory, Shared>();

/** The entry counts of one page table's frames, with `Map`'s get / set / delete. */
export class TableCounts {
  private readonly count: Uint16Array;
  private readonly owner: Int32Array;
  /** This table's owner id (ids start at 1: 0 marks a frame no table counts). */
  private readonly id: number;

  /** Counts over the frames of `mem`, shared with every other page table in it. */
  constructor(mem: PhysicalMemory) {
    let shared = byMemory.get(mem);
    if (shared === undefined) {
      shared = {
        count: new Uint16Array(mem.totalFrames),
        owner: new Int32Array(mem.totalFrames),
        lastId: 0,
      };
      byMemory.set(mem, shared);
    }
    if (shared.lastId === 0x7fff_ffff) throw new Error('TableCounts: owner ids exhausted');
    this.id = ++shared.lastId;
    this.count = shared.count;
    this.owner = shared.owner;
  }

  /** The count of frame `pfn`, or undefined when this table keeps none for it. */
  get(pfn: number): number | undefined {
    return this.owner[pfn] === this.id ? this.count[pfn] : undefined;
  }

  /** Sets the count of frame `pfn` (0..65535), which becomes one of this table's frames. */
  set(pfn: number, n: number): void {
    if (!(n >= 0 && n <= 0xffff)) throw new RangeError(`TableCounts: count ${n} out of range`);
    this.owner[pfn] = this.id;
    this.count[pfn] = n;
  }

  /** Forgets frame `pfn`; true when this table kept a count for it. */
  delete(pfn: number): boolean {
    if (this.owner[pfn] !== this.id) return false;
    this.owner[pfn] = 0;
    this.count[pfn] = 0;
    return true;
  }
}
